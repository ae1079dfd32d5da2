"""The workspace's own Node tools: where they are installed and how to run them.

Only `<workspace>/node_modules/.bin/<tool>` is ever used: never `npx` (which may download
code) nor a tool on PATH (which may be another version than the one the project pins).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from engine.errors import ToolchainMissing

__all__ = ["NPM_PACKAGES", "ToolRun", "find_tool", "output_tail", "require_tool", "run_tool"]

# The npm package that provides each binary, for the install hint.
NPM_PACKAGES: Mapping[str, str] = {"tsc": "typescript", "eslint": "eslint", "vitest": "vitest"}

_BIN_DIR = ("node_modules", ".bin")
# `env` exits 127 when the `#!/usr/bin/env node` line of a tool script finds no node.
_EXIT_COMMAND_NOT_FOUND = 127
_TAIL_CHARS = 2000


def find_tool(root: Path, tool: str) -> Path | None:
    """The executable `<root>/node_modules/.bin/<tool>`, or None if it is not installed."""
    path = root.joinpath(*_BIN_DIR, tool)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def require_tool(root: Path, tool: str) -> Path:
    """Like `find_tool`, but a missing tool raises ToolchainMissing with a one-line install hint."""
    path = find_tool(root, tool)
    if path is not None:
        return path
    package = NPM_PACKAGES.get(tool, tool)
    raise ToolchainMissing(
        f"{tool} not found at {root.joinpath(*_BIN_DIR, tool)}: run `npm install` in {root} "
        f"(or `npm install --save-dev {package}` if the project does not depend on it yet)"
    )


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str


def run_tool(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = False,
) -> ToolRun:
    """Run a tool in its own process group and collect its output.

    The process group matters for timeouts: tools start workers (vitest, eslint's
    multithreading) that keep the output pipes open, so only killing the whole group
    ends the wait. Raises subprocess.TimeoutExpired after the kill, and ToolchainMissing
    when the tool cannot start or its `#!/usr/bin/env node` line finds no node.
    """
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolchainMissing(f"{command[0]} could not be started: {exc}") from exc
    with proc:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # It may have exited between the timeout and the kill.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    run = ToolRun(proc.returncode, _decode(out), _decode(err))
    if run.returncode == _EXIT_COMMAND_NOT_FOUND:
        raise ToolchainMissing(
            f"{command[0]} could not run (is node on PATH?): {output_tail(run.stdout + run.stderr)}"
        )
    return run


def output_tail(output: str) -> str:
    """The end of a tool's output, short enough to quote in a finding or an error line."""
    text = output.strip()
    if not text:
        return "(no output)"
    return text if len(text) <= _TAIL_CHARS else "..." + text[-_TAIL_CHARS:]


def _decode(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


def relative_posix(name: str, root: Path | None) -> str:
    """A tool's file name as a workspace-relative POSIX path when it lies under `root`, so
    findings read the same from the workspace and from a staging copy."""
    path = PurePath(name)
    if root is not None and path.is_absolute():
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()
