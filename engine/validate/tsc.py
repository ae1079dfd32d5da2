"""The TypeScript validator: the workspace's own `tsc --noEmit`, run once over the staging copy.

It checks the whole project rather than only the changed files, because a type error
usually shows up in the files that *use* a changed declaration, not in the changed file.
It only ever runs the `tsc` the workspace installed (`node_modules/.bin/tsc`): never `npx`
or a global one, which could download code or check with a different TypeScript version.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path, PurePath

from engine.errors import ToolchainMissing
from engine.patch.validation import Finding, Severity, ValidationResult
from engine.workspace import resolve_inside

__all__ = ["TscValidator", "parse_tsc_output"]

TOOL = "tsc"
_TSC_BIN = ("node_modules", ".bin", "tsc")
_OUTPUT_TAIL_CHARS = 2000
# `env` exits 127 when the `#!/usr/bin/env node` line of the tsc script finds no node.
_EXIT_COMMAND_NOT_FOUND = 127

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
    Absolute paths under `root` are made relative to it, so findings name workspace files.
    Lines that are neither a diagnostic nor a continuation (banners, stack traces) are dropped.
    """
    findings: list[Finding] = []
    current: Finding | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line[0] in " \t":
            if current is not None:
                current.message = f"{current.message}\n{line.strip()}"
            continue
        current = _parse_head(line, root)
        if current is not None:
            findings.append(current)
    return findings


def _parse_head(line: str, root: Path | None) -> Finding | None:
    located = _LOCATED.match(line)
    if located is not None:
        return Finding(
            tool=TOOL,
            file=_relative(located["file"], root),
            line=int(located["line"]),
            column=int(located["column"]),
            code=located["code"],
            message=located["message"],
            severity=_SEVERITY[located["category"]],
        )
    unlocated = _UNLOCATED.match(line)
    if unlocated is not None:
        return Finding(
            tool=TOOL,
            code=unlocated["code"],
            message=unlocated["message"],
            severity=_SEVERITY[unlocated["category"]],
        )
    return None


def _relative(name: str, root: Path | None) -> str:
    path = PurePath(name)
    if root is not None and path.is_absolute():
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


class TscValidator:
    """Runs `tsc --noEmit --pretty false -p <tsconfig>` on a staging copy of the workspace."""

    name = TOOL

    def __init__(
        self, workspace_root: Path, tsconfig: str = "tsconfig.json", timeout_s: float = 300
    ) -> None:
        self.workspace_root = workspace_root.resolve()
        self.tsconfig = tsconfig
        self.timeout_s = timeout_s
        self.tsc_path = self.workspace_root.joinpath(*_TSC_BIN)
        if not os.access(self.tsc_path, os.X_OK):
            raise ToolchainMissing(
                f"tsc not found at {self.tsc_path}: run `npm install` in {self.workspace_root}"
            )
        config = resolve_inside(self.workspace_root, tsconfig, what="tsconfig")
        if not config.is_file():
            raise ToolchainMissing(
                f"tsconfig {tsconfig!r} not found in {self.workspace_root}: "
                "create it or pass the right one to the tsc validator"
            )

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
        command = [str(self.tsc_path), "--noEmit", "--pretty", "false", "-p", str(config)]
        try:
            returncode, output = _run(command, cwd=staging_root, timeout_s=self.timeout_s)
        except subprocess.TimeoutExpired:
            return self._result(
                started,
                ok=False,
                findings=[
                    Finding(tool=TOOL, message=f"tsc did not finish within {self.timeout_s:g}s")
                ],
                summary=f"tsc: timed out after {self.timeout_s:g}s",
            )
        except OSError as exc:
            raise ToolchainMissing(f"tsc at {self.tsc_path} could not be started: {exc}") from exc
        if returncode == _EXIT_COMMAND_NOT_FOUND:
            raise ToolchainMissing(
                f"tsc at {self.tsc_path} could not run (is node on PATH?): {_tail(output)}"
            )
        findings = parse_tsc_output(output, root=staging_root.resolve())
        errors = [f for f in findings if f.severity == "error"]
        if returncode != 0 and not errors:
            # tsc failed without a diagnostic we understand (a crash, an out-of-memory abort):
            # keep its output so the refusal explains itself.
            errors.append(
                Finding(tool=TOOL, message=f"tsc exited with {returncode}: {_tail(output)}")
            )
            findings.append(errors[-1])
        return self._result(
            started,
            ok=returncode == 0 and not errors,
            findings=findings,
            summary=_summary(findings),
        )

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


def _run(command: list[str], *, cwd: Path, timeout_s: float) -> tuple[int, str]:
    """Run tsc in its own process group, so a timeout ends it and anything it started."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # It may have exited between the timeout and the kill.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return proc.returncode, out.decode("utf-8", errors="replace")


def _tail(output: str) -> str:
    text = output.strip()
    if not text:
        return "(no output)"
    return text if len(text) <= _OUTPUT_TAIL_CHARS else "..." + text[-_OUTPUT_TAIL_CHARS:]


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
