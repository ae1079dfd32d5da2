"""The TypeScript validator: the workspace's own `tsc --noEmit`, run once over the staging copy.

It checks the whole project rather than only the changed files, because a type error
usually shows up in the files that *use* a changed declaration, not in the changed file.
It only ever runs the `tsc` the workspace installed (`node_modules/.bin/tsc`): never `npx`
or a global one, which could download code or check with a different TypeScript version.

With `incremental=True` the check keeps tsc's incremental state (a `.tsbuildinfo` file)
in the real workspace, under `.vibehq/tsc/`, so only files that changed since the last
run, and the files that depend on them, are type-checked again. See `TscBuildInfo` for
how a staging copy in another folder reuses that state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from engine.errors import ToolchainMissing
from engine.filelock import write_atomic
from engine.patch.validation import Finding, Severity, ValidationResult
from engine.validate.toolchain import output_tail, relative_posix, require_tool, run_tool
from engine.workspace import STATE_DIR, resolve_inside

__all__ = ["TscBuildInfo", "TscValidator", "parse_tsc_output"]

TOOL = "tsc"
BUILDINFO_DIR = (STATE_DIR, "tsc")

# With --pretty false every diagnostic starts at column 0 as either
#   path/file.ts(12,5): error TS2322: message
# or, for diagnostics without a location (bad tsconfig, missing files),
#   error TS5058: message
# and continues on lines indented with spaces (the elaboration chain).
_LOCATED = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<column>\d+)\): "
    r"(?P<category>error|warning|message) (?P<code>TS\d+): (?P<message>.*)$"
)
_UNLOCATED = re.compile(r"^(?P<category>error|warning|message) (?P<code>TS\d+): (?P<message>.*)$")
_SEVERITY: dict[str, Severity] = {"error": "error", "warning": "warning", "message": "info"}


def parse_tsc_output(text: str, *, root: Path | None = None) -> list[Finding]:
    """Turn `tsc --pretty false` output into findings, one per diagnostic.

    Indented continuation lines are joined to the diagnostic above them with newlines.
    Absolute paths under `root` are made relative to it, so findings name workspace files;
    that includes paths inside messages (`import("/tmp/…/src/types").Env`), so the same
    error reads the same whether tsc ran on the workspace or on a staging copy of it.
    Lines that are neither a diagnostic nor a continuation (banners, stack traces) are dropped.
    """
    prefix = None if root is None else str(root).rstrip(os.sep) + os.sep
    findings: list[Finding] = []
    current: Finding | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line[0] in " \t":
            if current is not None:
                current.message = f"{current.message}\n{_strip_root(line.strip(), prefix)}"
            continue
        current = _parse_head(line, root, prefix)
        if current is not None:
            findings.append(current)
    return findings


def _parse_head(line: str, root: Path | None, prefix: str | None) -> Finding | None:
    located = _LOCATED.match(line)
    if located is not None:
        return Finding(
            tool=TOOL,
            file=relative_posix(located["file"], root),
            line=int(located["line"]),
            column=int(located["column"]),
            code=located["code"],
            message=_strip_root(located["message"], prefix),
            severity=_SEVERITY[located["category"]],
        )
    unlocated = _UNLOCATED.match(line)
    if unlocated is not None:
        return Finding(
            tool=TOOL,
            code=unlocated["code"],
            message=_strip_root(unlocated["message"], prefix),
            severity=_SEVERITY[unlocated["category"]],
        )
    return None


def _strip_root(message: str, prefix: str | None) -> str:
    return message if prefix is None else message.replace(prefix, "")


class TscBuildInfo:
    """tsc's incremental state for one tsconfig, kept in `<workspace>/.vibehq/tsc/`.

    tsc writes the paths in a `.tsbuildinfo` relative to the file's own folder and resolves
    them back to absolute paths when it reads it, so its state is keyed by absolute paths:
    pointed at a staging copy in another folder, the workspace's state matches no file and
    the check starts cold (measured: no gain at all), and it would overwrite the
    workspace's state with paths into a folder that is about to be deleted.

    So every run works on a private scratch copy placed at the same relative position in
    the tree it checks (`<run root>/.vibehq/tsc/`): paths inside the tree are then the same
    strings in both places, and only paths that leave it (node_modules, which the staging
    copy links to the workspace's own, and TypeScript's lib files) are rewritten. After the
    run the scratch copy is rewritten back and atomically replaces the workspace's file,
    so the state always describes the last tree checked. That is safe whatever tree it was:
    tsc compares a content hash of every file with the one in the state and re-checks what
    differs and what depends on it. Concurrent runs never see a half-written file; the last
    to finish wins, and the next run just has a little more to re-check.
    """

    def __init__(self, workspace_root: Path, tsconfig: str) -> None:
        self.workspace_root = workspace_root
        stem = PurePosixPath(tsconfig.replace("\\", "/"))
        name = "__".join(stem.with_suffix("").parts if stem.suffix == ".json" else stem.parts)
        self.relative_path = Path(*BUILDINFO_DIR, f"{name}.tsbuildinfo")

    @property
    def path(self) -> Path:
        return self.workspace_root / self.relative_path

    @contextlib.contextmanager
    def scratch(self, run_root: Path) -> Iterator[tuple[Path, bool]]:
        """Yield a private buildinfo path under `run_root`, seeded from the workspace's state.

        The flag says whether it was seeded. Publish the result with `publish` inside the
        block; the scratch file and any folder made for it are removed afterwards.
        """
        folder = run_root / self.relative_path.parent
        made = [p for p in (folder.parent, folder) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=self.path.stem + ".", suffix=".scratch")
        os.close(fd)
        scratch = Path(name)
        try:
            seeded = self._seed(run_root, scratch)
            if not seeded:
                # No state yet: tsc starts cold, rather than parsing an empty file.
                scratch.unlink()
            yield scratch, seeded
        finally:
            scratch.unlink(missing_ok=True)
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    path.rmdir()

    def discard(self, scratch: Path) -> None:
        """Forget the seeded state of this run, so tsc starts cold."""
        scratch.unlink(missing_ok=True)

    def publish(self, run_root: Path, scratch: Path) -> None:
        """Make the state tsc left in `scratch` the workspace's state (atomic replace)."""
        if not scratch.is_file():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if run_root == self.workspace_root:
            os.replace(scratch, self.path)
            return
        data = _read_buildinfo(scratch)
        if data is None:
            return
        _rebase(data, from_root=run_root, to_root=self.workspace_root, rel_dir=self._rel_dir)
        write_atomic(self.path, json.dumps(data, separators=(",", ":")))

    @property
    def _rel_dir(self) -> Path:
        return self.relative_path.parent

    def _seed(self, run_root: Path, scratch: Path) -> bool:
        if not self.path.is_file():
            return False
        if run_root == self.workspace_root:
            shutil.copyfile(self.path, scratch)
            return True
        data = _read_buildinfo(self.path)
        if data is None:
            return False
        _rebase(data, from_root=self.workspace_root, to_root=run_root, rel_dir=self._rel_dir)
        scratch.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        return True


def _read_buildinfo(path: Path) -> dict[str, Any] | None:
    """The parsed buildinfo, or None if it is unreadable or not in a shape `_rebase` knows."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    # TypeScript 5.6 moved the program fields to the top level; earlier 4.x/5.x nest them.
    program = data.get("program", data)
    names = program.get("fileNames") if isinstance(program, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return data


def _rebase(data: dict[str, Any], *, from_root: Path, to_root: Path, rel_dir: Path) -> None:
    """Rewrite the file paths of a buildinfo written under `from_root` for one under `to_root`.

    Both files sit at `rel_dir` inside their root. A path to a file of the tree keeps its
    place in the tree; a path that leaves the tree, or goes through a node_modules folder
    (linked, in a staging copy, to the workspace's own), keeps its absolute target.
    """
    from_dir = os.path.join(from_root, rel_dir)
    to_dir = os.path.join(to_root, rel_dir)

    def move(name: str) -> str:
        absolute = os.path.normpath(os.path.join(from_dir, name))
        rel = os.path.relpath(absolute, from_root)
        parts = Path(rel).parts
        inside = parts[:1] != ("..",) and "node_modules" not in parts
        target = os.path.join(to_root, rel) if inside else absolute
        return Path(os.path.relpath(target, to_dir)).as_posix()

    program = data.get("program", data)
    program["fileNames"] = [move(name) for name in program["fileNames"]]
    if isinstance(program.get("latestChangedDtsFile"), str):
        program["latestChangedDtsFile"] = move(program["latestChangedDtsFile"])
    roots = program.get("root")
    if isinstance(roots, list):
        program["root"] = [move(r) if isinstance(r, str) else r for r in roots]


class TscValidator:
    """Runs `tsc --noEmit --pretty false -p <tsconfig>` on a staging copy of the workspace.

    With `incremental=True` it adds `--incremental --tsBuildInfoFile …` and keeps tsc's
    state in the workspace's `.vibehq/tsc/` (see `TscBuildInfo`). It is opt-in because the
    state is written into the workspace, which a plain check never does.
    """

    name = TOOL

    def __init__(
        self,
        workspace_root: Path,
        tsconfig: str = "tsconfig.json",
        timeout_s: float = 300,
        *,
        incremental: bool = False,
    ) -> None:
        self.workspace_root = workspace_root.resolve()
        self.tsconfig = tsconfig
        self.timeout_s = timeout_s
        self.tsc_path = require_tool(self.workspace_root, TOOL)
        config = resolve_inside(self.workspace_root, tsconfig, what="tsconfig")
        if not config.is_file():
            raise ToolchainMissing(
                f"tsconfig {tsconfig!r} not found in {self.workspace_root}: "
                "create it or pass the right one to the tsc validator"
            )
        self.buildinfo = TscBuildInfo(self.workspace_root, tsconfig) if incremental else None

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        # changed_files is not used to narrow the check: see the module docstring.
        started = time.monotonic()
        config = staging_root / self.tsconfig
        if not config.is_file():
            return self._result(
                started,
                ok=False,
                findings=[
                    Finding(tool=TOOL, file=self.tsconfig, message="the batch removes the tsconfig")
                ],
                summary=f"tsc: {self.tsconfig} is missing from the staging copy",
            )
        try:
            if self.buildinfo is None:
                returncode, output = self._run(config, staging_root, buildinfo=None)
            else:
                returncode, output = self._run_incremental(self.buildinfo, staging_root.resolve())
        except subprocess.TimeoutExpired:
            return self._result(
                started,
                ok=False,
                findings=[
                    Finding(tool=TOOL, message=f"tsc did not finish within {self.timeout_s:g}s")
                ],
                summary=f"tsc: timed out after {self.timeout_s:g}s",
            )
        findings = parse_tsc_output(output, root=staging_root.resolve())
        errors = [f for f in findings if f.severity == "error"]
        if returncode != 0 and not errors:
            # tsc failed without a diagnostic we understand (a crash, an out-of-memory abort):
            # keep its output so the refusal explains itself.
            errors.append(
                Finding(tool=TOOL, message=f"tsc exited with {returncode}: {output_tail(output)}")
            )
            findings.append(errors[-1])
        return self._result(
            started,
            ok=returncode == 0 and not errors,
            findings=findings,
            summary=_summary(findings),
        )

    def _run_incremental(self, buildinfo: TscBuildInfo, run_root: Path) -> tuple[int, str]:
        config = run_root / self.tsconfig
        with buildinfo.scratch(run_root) as (scratch, seeded):
            returncode, output = self._run(config, run_root, buildinfo=scratch)
            if returncode != 0 and seeded and not parse_tsc_output(output):
                # A crash right after reading a stale or damaged state must not reject a
                # batch: check once more from scratch before believing it.
                buildinfo.discard(scratch)
                returncode, output = self._run(config, run_root, buildinfo=scratch)
            buildinfo.publish(run_root, scratch)
        return returncode, output

    def _run(self, config: Path, cwd: Path, *, buildinfo: Path | None) -> tuple[int, str]:
        command = [str(self.tsc_path), "--noEmit"]
        if buildinfo is not None:
            command += ["--incremental", "--tsBuildInfoFile", str(buildinfo)]
        command += ["--pretty", "false", "-p", str(config)]
        run = run_tool(command, cwd=cwd, timeout_s=self.timeout_s, merge_stderr=True)
        return run.returncode, run.stdout

    def _result(
        self, started: float, *, ok: bool, findings: list[Finding], summary: str
    ) -> ValidationResult:
        return ValidationResult(
            validator=self.name,
            ok=ok,
            findings=findings,
            duration_s=round(time.monotonic() - started, 3),
            summary=summary,
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary(findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if not errors and not warnings:
        return "tsc: no errors"
    parts: list[str] = []
    if errors:
        files = {f.file for f in errors if f.file is not None}
        text = _plural(len(errors), "error")
        if files:
            text += f" in {_plural(len(files), 'file')}"
        parts.append(text)
    if warnings:
        parts.append(_plural(len(warnings), "warning"))
    return "tsc: " + ", ".join(parts)
