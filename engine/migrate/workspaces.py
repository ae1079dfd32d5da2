"""Migrated folders join the target's package-manager workspaces, and their dependencies are
installed once for the whole set.

The package manager is read from the target: `pnpm-workspace.yaml` means pnpm, `yarn.lock` or
`.yarnrc.yml` means yarn, otherwise npm (`workspaces` in the root package.json). Every edit
(the root's member list, a renamed package) is returned as a PatchBatch, so the patch engine
journals it and rolls it back with the run; nothing here writes those files itself.

Conflicts get a deterministic resolution and a recorded reason:
- two members with one package name: the later folder (in path order) is renamed to a name
  derived from its destination path;
- dependencies declared with different ranges (peer conflicts included): npm installs with
  `--legacy-peer-deps`, so each member keeps its own range.

The install is one command at the workspace root. With no registry reachable it returns a
`needs-install` outcome instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, Field

from engine.errors import BadInput
from engine.migrate.seedcopy import glob_matches
from engine.patch.models import PatchBatch, PatchOperation

PackageManager = Literal["npm", "pnpm", "yarn"]
InstallStatus = Literal["installed", "needs-install", "failed"]

LOCKFILES: dict[PackageManager, str] = {
    "npm": "package-lock.json",
    "pnpm": "pnpm-lock.yaml",
    "yarn": "yarn.lock",
}
NPM_INSTALL = ("install", "--legacy-peer-deps", "--no-audit", "--no-fund")
_INSTALL_ARGS: dict[PackageManager, tuple[str, ...]] = {
    "npm": NPM_INSTALL,
    "pnpm": ("install", "--no-frozen-lockfile"),
    "yarn": ("install",),
}
_DEFAULT_REGISTRY = "https://registry.npmjs.org/"
# npm, pnpm and yarn word the same network failures these ways.
_OFFLINE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH"
    r"|network request to .* failed|getaddrinfo",
    re.I,
)
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")
# A dependency version the registry does not have (unpublished, or a typo in a template).
_UNAVAILABLE = re.compile(
    r"No matching version found for (?P<a>(?:@[^/\s]+/)?[^@\s]+)@(?P<av>\S+?)\.?$"
    r"|'(?P<b>(?:@[^/\s]+/)?[^@\s']+)@(?P<bv>[^'\s]*)' is not in (?:this|the npm) registry",
    re.M,
)


class WorkspaceConfigError(BadInput):
    """The target's package.json or pnpm-workspace.yaml cannot be read."""


class WorkspaceLayout(BaseModel):
    manager: PackageManager
    config: str = Field(description="file holding the member list: package.json or pnpm-workspace")
    members: list[str] = Field(description="member patterns as the config lists them")
    reason: str = Field(description="why this package manager")


class Resolution(BaseModel):
    """A conflict and what was done about it, for the run's report."""

    kind: Literal["duplicate-name", "dependency-range", "peer-dependencies"]
    folder: str | None = None
    detail: str


class WorkspaceEdit(BaseModel):
    layout: WorkspaceLayout
    added: list[str] = Field(description="folders added to the member list")
    already: list[str] = Field(description="folders a member pattern already covers")
    names: dict[str, str] = Field(description="folder -> package name after the edit")
    resolutions: list[Resolution] = Field(default_factory=list)
    install_args: list[str]
    batch: PatchBatch | None = Field(None, description="None when nothing needs to change")


class InstallOutcome(BaseModel):
    status: InstallStatus
    manager: PackageManager
    command: list[str]
    folders: list[str]
    seconds: float
    item: str | None = Field(None, description="the named item a waiting folder shows")
    reason: str | None = None
    lockfile: str | None = None
    lockfile_before: str | None = Field(None, description="sha256 before the install")
    lockfile_after: str | None = None
    log_tail: str = ""
    blocked: dict[str, str] = Field(
        default_factory=dict,
        description="folder -> the dependency the registry does not have; install the rest"
        " without these folders, which wait with that as their needs-install item",
    )


# --- detection ------------------------------------------------------------------------------


def detect_layout(root: Path) -> WorkspaceLayout:
    pnpm = root / "pnpm-workspace.yaml"
    if pnpm.is_file():
        data = _read_yaml(pnpm)
        packages = data.get("packages") if isinstance(data, dict) else None
        return WorkspaceLayout(
            manager="pnpm",
            config="pnpm-workspace.yaml",
            members=[str(p) for p in packages or []],
            reason="pnpm-workspace.yaml",
        )
    package = _read_json(root / "package.json")
    members = _package_members(package)
    for marker in ("yarn.lock", ".yarnrc.yml"):
        if (root / marker).is_file():
            return WorkspaceLayout(
                manager="yarn", config="package.json", members=members, reason=marker
            )
    why = "package-lock.json" if (root / "package-lock.json").is_file() else "package.json"
    return WorkspaceLayout(manager="npm", config="package.json", members=members, reason=why)


def _package_members(package: Mapping[str, Any]) -> list[str]:
    workspaces = package.get("workspaces")
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages")
    return [str(w) for w in workspaces] if isinstance(workspaces, list) else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceConfigError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkspaceConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WorkspaceConfigError(f"{path}: not a JSON object")
    return data


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WorkspaceConfigError(f"{path}: not valid YAML: {exc}") from None


def covered(pattern: str, folder: str) -> bool:
    """Does a workspace member pattern (npm, yarn and pnpm share the glob form) name `folder`?"""
    clean = pattern.removeprefix("./").rstrip("/")
    if clean.startswith("!"):
        return False
    return clean == folder or glob_matches(clean, folder)


def _member_folders(root: Path, patterns: Sequence[str]) -> list[str]:
    found: set[str] = set()
    for pattern in patterns:
        clean = pattern.removeprefix("./").rstrip("/")
        if clean.startswith("!"):
            continue
        for path in root.glob(clean):
            if (path / "package.json").is_file() and "node_modules" not in path.parts:
                found.add(path.relative_to(root).as_posix())
    return sorted(found)


# --- the edit -------------------------------------------------------------------------------


def join_workspace(
    root: Path, folders: Sequence[str], *, requester: str = "vibehq", reason: str | None = None
) -> WorkspaceEdit:
    """The edit that makes every folder (workspace-relative, with a package.json) a member."""
    layout = detect_layout(root)
    wanted = sorted({PurePosixPath(f).as_posix() for f in folders})
    for folder in wanted:
        if not (root / folder / "package.json").is_file():
            raise BadInput(f"{folder}: has no package.json, so it cannot join the workspace")
    already = [f for f in wanted if any(covered(p, f) for p in layout.members)]
    added = [f for f in wanted if f not in already]
    patches: list[PatchOperation] = []
    if added:
        patches.append(_members_op(root, layout, added))

    existing = [f for f in _member_folders(root, layout.members) if f not in wanted]
    taken: dict[str, str] = {}
    for folder in existing:
        name = _read_json(root / folder / "package.json").get("name")
        if isinstance(name, str):
            taken.setdefault(name, folder)
    root_name = _read_json(root / "package.json").get("name")
    if isinstance(root_name, str):
        taken.setdefault(root_name, ".")
    names: dict[str, str] = {}
    resolutions: list[Resolution] = []
    for folder in wanted:
        path = root / folder / "package.json"
        package = _read_json(path)
        name = package.get("name")
        if not isinstance(name, str) or not name:
            name = _derived_name(folder, taken)
            patches.append(_rename_op(path, folder, package, name))
            resolutions.append(
                Resolution(
                    kind="duplicate-name",
                    folder=folder,
                    detail=f"{folder} has no package name; named {name!r} after its path",
                )
            )
        elif name in taken:
            new = _derived_name(folder, taken)
            patches.append(_rename_op(path, folder, package, new))
            resolutions.append(
                Resolution(
                    kind="duplicate-name",
                    folder=folder,
                    detail=f"package name {name!r} is also {taken[name]}'s; {folder} renamed"
                    f" to {new!r} (from its destination path)",
                )
            )
            name = new
        taken[name] = folder
        names[folder] = name

    resolutions.extend(_range_conflicts(root, [*existing, *wanted], layout.manager))
    batch = (
        PatchBatch(
            requester=requester,
            reason=reason or f"join {len(wanted)} folder(s) to the {layout.manager} workspace",
            patches=patches,
        )
        if patches
        else None
    )
    return WorkspaceEdit(
        layout=layout,
        added=added,
        already=already,
        names=names,
        resolutions=resolutions,
        install_args=list(_INSTALL_ARGS[layout.manager]),
        batch=batch,
    )


def move_members(root: Path, moves: Mapping[str, str]) -> PatchOperation | None:
    """The edit that moves members listed by name (a STAGING folder) to where the folder now
    lives (its destination), in place in the member list; None when none is listed so."""
    layout = detect_layout(root)
    listed = {m.removeprefix("./").rstrip("/"): m for m in layout.members}
    renamed = {listed[src]: dest for src, dest in moves.items() if src in listed}
    if not renamed:
        return None
    path = root / layout.config
    original = path.read_bytes()
    text = original.decode("utf-8")
    if layout.manager == "pnpm":
        new = text
        for old, dest in renamed.items():
            line = re.compile(r"^(\s*-\s*)(['\"]?)" + re.escape(old) + r"\2[ \t]*$", re.M)
            new = line.sub(r"\g<1>" + json.dumps(dest).replace("\\", "\\\\"), new)
    else:
        members = [renamed.get(m, m) for m in layout.members]
        new = _package_members_text(text, [], members=members)
    return _config_op(layout, original, new)


def _members_op(root: Path, layout: WorkspaceLayout, added: list[str]) -> PatchOperation:
    path = root / layout.config
    original = path.read_bytes()
    text = original.decode("utf-8")
    if layout.manager == "pnpm":
        new = _pnpm_members(text, added)
    else:
        new = _package_members_text(text, added)
    return _config_op(layout, original, new)


def _config_op(layout: WorkspaceLayout, original: bytes, new: str) -> PatchOperation:
    """The member list's file rewritten whole, pinned to the bytes it was read from."""
    return PatchOperation(
        op="create",
        file=layout.config,
        block=new,
        overwrite=True,
        base_sha256=hashlib.sha256(original).hexdigest(),
    )


def _indent_unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\"", text)
    return match.group(1) if match else "  "


def _package_members_text(text: str, added: list[str], *, members: list[str] | None = None) -> str:
    """package.json with `added` appended to its workspaces (or the list replaced by
    `members`), the rest of the text untouched."""
    data = json.loads(text)
    unit = _indent_unit(text)
    workspaces = data.get("workspaces")
    nested = isinstance(workspaces, dict)
    current = _package_members(data)
    members = [*current, *added] if members is None else members
    depth = 2 if nested else 1
    body = ",\n".join(unit * (depth + 1) + json.dumps(m) for m in members)
    array = "[\n" + body + "\n" + unit * depth + "]"
    key = r'"packages"\s*:\s*' if nested else r'"workspaces"\s*:\s*'
    match = re.search(key + r"\[[^\]]*\]", text)
    if match is not None and (workspaces is not None):
        prefix = re.match(key, text[match.start() :])
        assert prefix is not None
        start = match.start() + prefix.end()
        return text[:start] + array + text[match.end() :]
    # No member list yet: add one after the opening brace.
    brace = text.index("{")
    return text[: brace + 1] + f'\n{unit}"workspaces": {array},' + text[brace + 1 :]


def _pnpm_members(text: str, added: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    entries = "".join(f"  - {json.dumps(f)}\n" for f in added)
    for index, line in enumerate(lines):
        if re.match(r"packages\s*:", line):
            end = index + 1
            while end < len(lines) and (
                lines[end].startswith((" ", "\t", "-")) or not lines[end].strip()
            ):
                end += 1
            while end > index + 1 and not lines[end - 1].strip():
                end -= 1
            if lines[end - 1] and not lines[end - 1].endswith("\n"):
                lines[end - 1] += "\n"
            return "".join(lines[:end]) + entries + "".join(lines[end:])
    sep = "" if not text or text.endswith("\n") else "\n"
    return text + sep + "packages:\n" + entries


def _derived_name(folder: str, taken: Mapping[str, str]) -> str:
    base = _NAME_CHARS.sub("-", folder.lower()).strip("-._") or "package"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _rename_op(path: Path, folder: str, package: dict[str, Any], name: str) -> PatchOperation:
    original = path.read_bytes()
    text = original.decode("utf-8")
    match = re.search(r'("name"\s*:\s*)"(?:\\.|[^"\\])*"', text)
    if match is not None and "name" in package:
        new = text[: match.start()] + match.group(1) + json.dumps(name) + text[match.end() :]
    else:
        brace = text.index("{")
        new = (
            text[: brace + 1]
            + f'\n{_indent_unit(text)}"name": {json.dumps(name)},'
            + text[brace + 1 :]
        )
    return PatchOperation(
        op="create",
        file=f"{folder}/package.json",
        block=new,
        overwrite=True,
        base_sha256=hashlib.sha256(original).hexdigest(),
    )


def _range_conflicts(
    root: Path, folders: Sequence[str], manager: PackageManager
) -> list[Resolution]:
    declared: dict[str, dict[str, list[str]]] = {}
    peers: list[str] = []
    for folder in [".", *folders]:
        package = _read_json(root / folder / "package.json")
        for field in ("dependencies", "devDependencies", "peerDependencies"):
            deps = package.get(field)
            if not isinstance(deps, dict):
                continue
            for dep, spec in deps.items():
                declared.setdefault(dep, {}).setdefault(str(spec), []).append(folder)
            if field == "peerDependencies" and deps:
                peers.append(folder)
    out: list[Resolution] = []
    how = (
        "npm installs with --legacy-peer-deps and each member keeps its own range"
        if manager == "npm"
        else f"{manager} keeps each member's own range"
    )
    for dep in sorted(declared):
        ranges = declared[dep]
        if len(ranges) > 1:
            shown = "; ".join(f"{spec} ({', '.join(ws)})" for spec, ws in sorted(ranges.items()))
            out.append(Resolution(kind="dependency-range", detail=f"{dep}: {shown}: {how}"))
    for folder in peers:
        out.append(
            Resolution(
                kind="peer-dependencies",
                folder=folder,
                detail=f"{folder} declares peerDependencies: {how}",
            )
        )
    return out


# --- the install ----------------------------------------------------------------------------


def registry_url(root: Path, manager: PackageManager, env: Mapping[str, str]) -> str:
    for key in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if env.get(key):
            return env[key]
    exe = shutil.which("npm", path=env.get("PATH"))
    if exe is None:
        return _DEFAULT_REGISTRY
    try:
        done = subprocess.run(
            [exe, "config", "get", "registry"],
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return _DEFAULT_REGISTRY
    value = done.stdout.strip()
    return value if done.returncode == 0 and value.startswith("http") else _DEFAULT_REGISTRY


def registry_reachable(url: str, timeout: float = 5.0) -> str | None:
    """None when a TCP connection to the registry opens; otherwise why not."""
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        return f"registry {url!r} has no host"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"registry {url} is not reachable ({exc.strerror or exc})"


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def install(
    root: Path,
    folders: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800.0,
) -> InstallOutcome:
    """One install at the workspace root for every member, with the target's own package
    manager. An unreachable registry (before or during the install) is `needs-install`."""
    layout = detect_layout(root)
    run_env = dict(os.environ if env is None else env)
    args = _INSTALL_ARGS[layout.manager]
    exe = shutil.which(layout.manager, path=run_env.get("PATH"))
    command = [layout.manager, *args]
    lockfile = root / LOCKFILES[layout.manager]
    outcome = InstallOutcome(
        status="needs-install",
        manager=layout.manager,
        command=command,
        folders=list(folders),
        seconds=0.0,
        item=f"needs-install: {' '.join(command)} in {root}",
        lockfile=LOCKFILES[layout.manager],
        lockfile_before=_sha(lockfile),
    )
    if exe is None:
        outcome.reason = f"{layout.manager} is not installed"
        return outcome
    unreachable = registry_reachable(registry_url(root, layout.manager, run_env))
    if unreachable is not None:
        outcome.reason = unreachable
        return outcome
    started = time.monotonic()
    try:
        done = subprocess.run(
            [exe, *args], cwd=root, env=run_env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        outcome.seconds = time.monotonic() - started
        outcome.status, outcome.item = "failed", None
        outcome.reason = f"{' '.join(command)} timed out after {timeout:.0f} s"
        return outcome
    outcome.seconds = time.monotonic() - started
    log = (done.stdout or "") + (done.stderr or "")
    outcome.log_tail = "\n".join(log.strip().splitlines()[-20:])
    outcome.lockfile_after = _sha(lockfile)
    if done.returncode == 0:
        outcome.status, outcome.item = "installed", None
        return outcome
    if _OFFLINE.search(log):
        outcome.reason = "the registry could not be reached during the install"
        return outcome
    outcome.blocked = blocked_folders(root, folders, log)
    outcome.status, outcome.item = "failed", None
    last = log.strip().splitlines()[-1] if log.strip() else f"exit {done.returncode}"
    outcome.reason = f"{' '.join(command)} exited {done.returncode}: {last}"
    return outcome


def blocked_folders(root: Path, folders: Sequence[str], log: str) -> dict[str, str]:
    """The folders that declare a dependency version the install log says does not exist."""
    missing = {(m["a"] or m["b"]): (m["av"] or m["bv"] or "") for m in _UNAVAILABLE.finditer(log)}
    blocked: dict[str, str] = {}
    for folder in folders:
        package = _read_json(root / folder / "package.json")
        for name, version in missing.items():
            for deps_field in ("dependencies", "devDependencies", "optionalDependencies"):
                deps = package.get(deps_field)
                if isinstance(deps, dict) and name in deps:
                    blocked[folder] = (
                        f"needs-install: {name}@{version or deps[name]} is not in the registry"
                    )
    return blocked


def lockfile_batch(
    root: Path, outcome: InstallOutcome, before: bytes | None, *, requester: str = "vibehq"
) -> PatchBatch | None:
    """Put the lockfile back as it was before the install and return the batch that makes the
    install's change, so the patch engine journals it (and a rollback restores the old one)."""
    if outcome.lockfile is None:
        return None
    path = root / outcome.lockfile
    after = path.read_bytes() if path.is_file() else None
    if after == before or after is None:
        return None
    if before is None:
        path.unlink()
    else:
        path.write_bytes(before)
    return PatchBatch(
        requester=requester,
        reason=f"{' '.join(outcome.command)}: lockfile change",
        patches=[
            PatchOperation(
                op="create",
                file=outcome.lockfile,
                block=after.decode("utf-8"),
                overwrite=before is not None,
                base_sha256=None if before is None else hashlib.sha256(before).hexdigest(),
            )
        ],
    )
