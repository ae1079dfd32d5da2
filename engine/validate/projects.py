"""Type-check the TypeScript projects that own a change, each with its own tsconfig.

A real monorepo is many projects: the root tsconfig is not the one a migrated worker is
checked with. The owner of a file is the nearest tsconfig.json up the tree (or a config it
lists in `references`) whose `files`/`include`, minus `exclude`, cover it, with `extends`
followed as tsc follows it (include, exclude and files are inherited when a config does not
set them, and stay relative to the config that wrote them). tsconfigs are JSONC.

`check_projects` runs `tsc -p <tsconfig> --noEmit --pretty false` once per owning project:
through the long-lived server of `tsc_server`, which keeps parsed files between projects,
or, with `VIBEHQ_TSC=cli` or no server, as a plain `tsc` process (no `--incremental`, like
the STAGING baseline it is judged against).

Two edits keep each project to its own files, returned as patch operations so the patch
engine journals them: a folder with no tsconfig gets one extending the workspace's base, and
a tsconfig above it whose include would pull the folder into its own program gets the folder
added to its `exclude`.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from engine.errors import BadInput, ToolchainMissing
from engine.migrate.seedcopy import glob_matches
from engine.migrate.tsconfig import strip_jsonc
from engine.patch.models import PatchOperation
from engine.patch.validation import Finding
from engine.validate.toolchain import find_tool, output_tail, run_tool
from engine.validate.tsc import parse_tsc_output
from engine.validate.tsc_scope import SCOPE_ALL, Scope, Served
from engine.validate.tsc_server import run_scoped

TSCONFIG = "tsconfig.json"
TS_EXTENSIONS = (".ts", ".tsx", ".mts", ".cts")
JS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs")
_DEFAULT_EXCLUDES = ("node_modules", "bower_components", "jspm_packages")
_NO_WILDCARD = re.compile(r"^[^*?]*$")


class TsconfigError(BadInput):
    """A tsconfig.json that does not parse as JSONC."""


def read_jsonc(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(strip_jsonc(path.read_text(encoding="utf-8-sig")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TsconfigError(f"{path}: not valid JSON(C): {exc}") from None
    if not isinstance(data, dict):
        raise TsconfigError(f"{path}: not a JSON object")
    return data


@dataclass
class TsProject:
    """One tsconfig with `extends` applied: absolute patterns and the options that matter."""

    path: Path
    files: list[str] | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    references: list[Path] = field(default_factory=list)
    allow_js: bool = False
    out_dir: str | None = None

    @property
    def dir(self) -> Path:
        return self.path.parent

    def covers(self, file: Path) -> bool:
        name = file.as_posix()
        if self.files is not None and name in self.files:
            return True
        extensions = TS_EXTENSIONS + (JS_EXTENSIONS if self.allow_js else ())
        if not name.endswith(extensions):
            return False
        include = self.include
        if include is None:
            include = [] if self.files is not None else [_abs(self.dir, "**/*")]
        if not any(_pattern_matches(p, name) for p in include):
            return False
        exclude = self.exclude
        if exclude is None:
            exclude = [_abs(self.dir, d) for d in _DEFAULT_EXCLUDES]
            if self.out_dir:
                exclude.append(self.out_dir)
        return not any(_pattern_matches(p, name, exclude=True) for p in exclude)


def _abs(base: Path, pattern: str) -> str:
    return posixpath.normpath(posixpath.join(base.as_posix(), pattern))


def _pattern_matches(pattern: str, name: str, *, exclude: bool = False) -> bool:
    """tsc's include/exclude glob over absolute POSIX paths: `**/` spans folders, `*` stays in
    one; a last segment without a wildcard and without an extension names a folder."""
    last = pattern.rsplit("/", 1)[-1]
    if last == "**":
        pattern += "/*"
    elif _NO_WILDCARD.match(last) and ("." not in last or exclude):
        if name == pattern:
            return True
        pattern += "/**/*"
    return glob_matches(pattern.lstrip("/"), name.lstrip("/"))


def load_project(path: Path, _seen: frozenset[Path] = frozenset()) -> TsProject:
    path = path.resolve()
    if path in _seen:
        raise TsconfigError(f"{path}: extends itself")
    data = read_jsonc(path)
    project = TsProject(path=path)
    bases = data.get("extends")
    for base in [bases] if isinstance(bases, str) else list(bases or []):
        parent_path = _extends_path(path.parent, str(base))
        if parent_path is None:
            continue
        parent = load_project(parent_path, _seen | {path})
        project.files = parent.files if parent.files is not None else project.files
        project.include = parent.include if parent.include is not None else project.include
        project.exclude = parent.exclude if parent.exclude is not None else project.exclude
        project.allow_js = parent.allow_js or project.allow_js
        project.out_dir = parent.out_dir or project.out_dir
    here = path.parent
    if isinstance(data.get("files"), list):
        project.files = [_abs(here, str(f)) for f in data["files"]]
    if isinstance(data.get("include"), list):
        project.include = [_abs(here, str(p)) for p in data["include"]]
    if isinstance(data.get("exclude"), list):
        project.exclude = [_abs(here, str(p)) for p in data["exclude"]]
    options = data.get("compilerOptions") or {}
    if "allowJs" in options:
        project.allow_js = bool(options["allowJs"])
    if options.get("outDir"):
        project.out_dir = _abs(here, str(options["outDir"]))
    for ref in data.get("references") or []:
        if isinstance(ref, dict) and isinstance(ref.get("path"), str):
            target = here / ref["path"]
            target = target / TSCONFIG if target.is_dir() else target
            if target.is_file():
                project.references.append(target.resolve())
    return project


def _extends_path(here: Path, base: str) -> Path | None:
    if base.startswith((".", "/")):
        candidate = (here / base).resolve()
        for option in (candidate, Path(f"{candidate}.json")):
            if option.is_file():
                return option
        return None
    # A package: node_modules/<name>[/<sub>], as Node resolves it, nearest first.
    for folder in (here, *here.parents):
        candidate = folder / "node_modules" / base
        for option in (candidate, Path(f"{candidate}.json"), candidate / TSCONFIG):
            if option.is_file():
                return option
    return None


class Owners:
    """Finds owning tsconfigs under one workspace root, each config read once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._projects: dict[Path, TsProject] = {}

    def project(self, path: Path) -> TsProject:
        key = path.resolve()
        if key not in self._projects:
            self._projects[key] = load_project(key)
        return self._projects[key]

    def owner(self, file: str) -> str | None:
        """The workspace-relative tsconfig that owns `file` (workspace-relative), or None."""
        absolute = (self.root / file).resolve()
        folder = absolute.parent
        while True:
            config = folder / TSCONFIG
            if config.is_file():
                project = self.project(config)
                for candidate in (project, *(self.project(r) for r in project.references)):
                    if candidate.covers(absolute):
                        return candidate.path.relative_to(self.root).as_posix()
            if folder == self.root or folder == folder.parent:
                return None
            folder = folder.parent


def group_by_project(root: Path, files: Sequence[str]) -> dict[str | None, list[str]]:
    """Changed files by owning tsconfig (None: no tsconfig covers them), in a stable order."""
    owners = Owners(root)
    groups: dict[str | None, list[str]] = {}
    for file in sorted(set(files)):
        groups.setdefault(owners.owner(file), []).append(file)
    return groups


# --- running tsc per project -----------------------------------------------------------------


class ProjectCheck(BaseModel):
    tsconfig: str
    files: list[str] = Field(default_factory=list, description="the changed files it owns")
    ok: bool
    findings: list[Finding] = Field(default_factory=list)
    seconds: float
    summary: str = ""
    scope: str = Field(default=SCOPE_ALL, description="what was checked: all or affected files")
    why: str = Field(default="", description="why every file was checked")
    checked: list[str] = Field(
        default_factory=list,
        description="the files an affected-files check checked, relative to the root",
    )


def project_hash(tsconfig: str) -> str:
    return hashlib.sha256(tsconfig.encode("utf-8")).hexdigest()[:16]


def find_tsc(root: Path, start: Path) -> Path:
    """The tsc installed nearest to `start` (a workspace member may have its own), up to root."""
    folder = start.resolve()
    root = root.resolve()
    while True:
        found = find_tool(folder, "tsc")
        if found is not None:
            return found
        if folder == root or folder == folder.parent:
            break
        folder = folder.parent
    raise ToolchainMissing(f"tsc not found in node_modules/.bin from {start} up to {root}")


@dataclass
class TscRun(Served):
    """One `tsc -p` check: what tsc printed, what it checked (`tsc_scope`), and its findings."""

    findings: list[Finding] = field(default_factory=list)


def run_tsc(
    tsc: Path,
    config: Path,
    *,
    cwd: Path,
    buildinfo: Path | None,
    timeout_s: float,
    scope: Scope | None = None,
) -> TscRun:
    """`tsc -p config --noEmit --pretty false` in `cwd`: its exit code, findings and output.

    Answered by the long-lived server of `tsc`'s installation when it runs (see `tsc_server`;
    it keeps parsed files in memory, so `buildinfo` is not used; `scope` may narrow what it
    checks), else by the CLI, which checks everything."""
    served = run_scoped(tsc, config, cwd=cwd, timeout_s=timeout_s, scope=scope)
    if served is None:
        command = [str(tsc), "-p", str(config), "--noEmit", "--pretty", "false"]
        if buildinfo is not None:
            buildinfo.parent.mkdir(parents=True, exist_ok=True)
            command += ["--incremental", "--tsBuildInfoFile", str(buildinfo)]
        run = run_tool(command, cwd=cwd, timeout_s=timeout_s, merge_stderr=True)
        served = Served(exit=run.returncode, output=run.stdout, why="the tsc CLI checks all")
    findings = parse_tsc_output(served.output, root=cwd)
    if served.exit != 0 and not any(f.severity == "error" for f in findings):
        findings.append(
            Finding(
                tool="tsc", message=f"tsc exited with {served.exit}: {output_tail(served.output)}"
            )
        )
    return TscRun(**{f.name: getattr(served, f.name) for f in fields(served)}, findings=findings)


def check_project(
    root: Path,
    tsconfig: str,
    files: Sequence[str] = (),
    *,
    timeout_s: float = 300,
    scope: Scope | None = None,
) -> ProjectCheck:
    root = root.resolve()
    config = root / tsconfig
    started = time.monotonic()
    try:
        # No --incremental: tsc then prints some union types with their members in another
        # order than a plain run, and the STAGING baseline a project is judged against is a
        # plain run; the same text is the same fingerprint.
        run = run_tsc(
            find_tsc(root, config.parent),
            config,
            cwd=root,
            buildinfo=None,
            timeout_s=timeout_s,
            scope=scope,
        )
    except subprocess.TimeoutExpired:
        timed_out = Finding(tool="tsc", message=f"tsc timed out after {timeout_s:g}s")
        run = TscRun(exit=1, output="", why="tsc timed out", findings=[timed_out])
    errors = [f for f in run.findings if f.severity == "error"]
    return ProjectCheck(
        tsconfig=tsconfig,
        files=list(files),
        ok=run.exit == 0 and not errors,
        findings=run.findings,
        seconds=round(time.monotonic() - started, 3),
        summary="tsc: ok" if not errors else f"tsc: {len(errors)} errors",
        scope=run.scope,
        why=run.why,
        checked=[os.path.relpath(f, root) for f in run.checked_files],
    )


def check_projects(
    root: Path, changed: Sequence[str], *, jobs: int | None = None, timeout_s: float = 300
) -> tuple[list[ProjectCheck], list[str]]:
    """One tsc run per project owning a changed file, `jobs` at a time. Returns the checks
    and the changed TypeScript files no tsconfig owns."""
    groups = group_by_project(root, changed)
    orphans = [f for f in groups.pop(None, []) if f.endswith(TS_EXTENSIONS)]
    workers = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        checks = list(
            pool.map(
                lambda item: check_project(root, item[0], item[1], timeout_s=timeout_s),
                sorted(groups.items()),
            )
        )
    return checks, orphans


# --- edits that give each folder its own project ------------------------------------------------


def base_tsconfig(root: Path) -> str | None:
    for name in ("tsconfig.base.json", TSCONFIG):
        if (root / name).is_file():
            return name
    return None


def folder_tsconfig_op(
    root: Path, folder: str, *, base: str | None = None
) -> PatchOperation | None:
    """A tsconfig for a folder that has none, extending the workspace's base; None if it has one.

    include and exclude are set here because tsc would otherwise inherit the base's, which
    are relative to the root (and often exclude the `.d.ts` files a worker declares Env in)."""
    if (root / folder / TSCONFIG).is_file():
        return None
    base = base if base is not None else base_tsconfig(root)
    data: dict[str, Any] = {}
    if base is not None:
        data["extends"] = posixpath.relpath(base, folder)
    data["include"] = ["**/*.ts", "**/*.tsx", "**/*.d.ts"]
    data["exclude"] = ["node_modules", "dist"]
    return PatchOperation(
        op="create", file=f"{folder}/{TSCONFIG}", block=json.dumps(data, indent=2) + "\n"
    )


def exclude_folder_ops(root: Path, folder: str) -> list[PatchOperation]:
    """For every tsconfig above `folder` whose program would take the folder's files in, an
    edit adding the folder to its `exclude`."""
    root = root.resolve()
    probe = (root / folder / "__vibehq_probe__.ts").resolve()
    ops: list[PatchOperation] = []
    current = (root / folder).resolve().parent
    while True:
        config = current / TSCONFIG
        if config.is_file():
            project = load_project(config)
            if project.covers(probe):
                rel = PurePosixPath(os.path.relpath(root / folder, current)).as_posix()
                ops.append(_exclude_op(root, config, rel))
        if current == root or current == current.parent:
            return ops
        current = current.parent


def exclude_folders_ops(root: Path, folders: Sequence[str]) -> list[PatchOperation]:
    """`exclude_folder_ops` for many folders at once: one edit per tsconfig, every folder it
    would take in added to its `exclude` (a file edited twice in one batch would conflict)."""
    root = root.resolve()
    entries: dict[str, list[str]] = {}
    for folder in sorted(set(folders)):
        for op in exclude_folder_ops(root, folder):
            config = (root / op.file).parent
            rel = PurePosixPath(os.path.relpath(root / folder, config)).as_posix()
            entries.setdefault(op.file, []).append(rel)
    ops: list[PatchOperation] = []
    for file, rels in sorted(entries.items()):
        original = (root / file).read_bytes()
        text = original.decode("utf-8")
        for rel in rels:
            text = _with_excluded(text, rel)
        ops.append(
            PatchOperation(
                op="create",
                file=file,
                block=text,
                overwrite=True,
                base_sha256=hashlib.sha256(original).hexdigest(),
            )
        )
    return ops


def _exclude_op(root: Path, config: Path, entry: str) -> PatchOperation:
    original = config.read_bytes()
    return PatchOperation(
        op="create",
        file=config.relative_to(root).as_posix(),
        block=_with_excluded(original.decode("utf-8"), entry),
        overwrite=True,
        base_sha256=hashlib.sha256(original).hexdigest(),
    )


def _with_excluded(text: str, entry: str) -> str:
    item = json.dumps(entry)
    span = _array_span(text, "exclude")
    if span is not None:
        open_at, close_at = span
        inner = text[open_at + 1 : close_at]
        indent = re.search(r"\n([ \t]*)\S", inner)
        lead = "\n" + indent.group(1) if indent else " "
        last = len(_blank_comments(inner).rstrip())
        if last and _blank_comments(inner)[last - 1] != ",":
            inner = inner[:last] + "," + inner[last:]
        body = inner.rstrip()
        tail = inner[len(body) :]
        new = text[: open_at + 1] + body + lead + item + tail + text[close_at:]
    else:
        brace = text.rindex("}")
        head = text[:brace].rstrip()
        comma = "" if head.endswith((",", "{")) else ","
        new = head + f'{comma}\n  "exclude": [{item}]\n' + text[brace:]
    return new


def _array_span(text: str, key: str) -> tuple[int, int] | None:
    """Offsets of `[` and its `]` for a top-level-looking `"key": [` outside comments."""
    blanked = _blank_comments(text)
    match = re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', blanked)
    if match is None:
        return None
    open_at = match.end() - 1
    depth, index, in_string = 0, open_at, False
    while index < len(blanked):
        char = blanked[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return open_at, index
        index += 1
    return None


_COMMENTS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)


def _blank_comments(text: str) -> str:
    """The text with comments replaced by spaces of the same length, so offsets still hold."""
    return _COMMENTS.sub(
        lambda m: m.group(0) if m.group(0).startswith('"') else re.sub(r"[^\n]", " ", m.group(0)),
        text,
    )
