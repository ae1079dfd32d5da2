"""Run one fuzz case through the real CLI entry (`main.run`), in this process, and judge it.

The verdict is issue 17's: no traceback, an exit code of 0, 1 or 2, and on exit 2 nothing
written in the workspace or beside the input (not a lock file, not `.vibehq/`). A case that
runs past `timeout_s` is a hang; it is stopped by SIGALRM, so this runs in the main thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from devtools.fuzz.cases import Case

ALLOWED_EXITS = (0, 1, 2)
FIXTURE_FILES = {
    "src/a.ts": "export const a = 1;\n",
    "src/b.ts": 'import { a } from "./a";\nexport const b = a;\n',
    "STAGING/app/src/x.ts": "export const x = 1;\n",
    "m-app.yaml": "name: app\nsources:\n  - from: STAGING/app\n    to: apps/app\n",
}


@dataclass(frozen=True)
class Outcome:
    case: Case
    code: int | None
    seconds: float
    stdout: str
    stderr: str
    wrote_on_refusal: list[str]
    hung: bool

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stdout + self.stderr

    @property
    def failed(self) -> bool:
        return (
            self.hung
            or self.traceback
            or self.code not in ALLOWED_EXITS
            or bool(self.wrote_on_refusal)
        )

    def describe(self) -> str:
        why = (
            "hang"
            if self.hung
            else "traceback"
            if self.traceback
            else f"exit {self.code}"
            if self.code not in ALLOWED_EXITS
            else f"exit 2 wrote {', '.join(self.wrote_on_refusal[:3])}"
        )
        last = (self.stderr.strip().splitlines() or [""])[-1][:200]
        return f"{self.case.kind} {self.case.label}: {why}; {last}"


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so no `except Exception` in vibehq swallows it."""


def command(case: Case, input_path: str, workspace: Path) -> list[str]:
    w = ["-w", str(workspace)]
    if case.kind == "batch":
        return ["patch", "apply", input_path, *w]
    if case.kind == "manifest":
        return ["migrate", "plan", input_path, *w]
    if case.kind == "tasks":
        return ["tasks", "set-status", "1", "done", "--file", input_path, *w]
    return ["epic", "run", input_path, "--auto-approve", "none", *w]


def run_case(case: Case, *, timeout_s: float = 10.0) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="vibehq-fuzz-") as tmp:
        root = Path(tmp)
        workspace = root / "ws"
        for rel, text in FIXTURE_FILES.items():
            path = workspace / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        input_file = workspace / case.name
        input_file.write_bytes(case.data)
        before = _tree(root)
        argv = ["vibehq", *command(case, case.path_arg or str(input_file), workspace)]
        start = time.monotonic()
        code, out, err, hung = _invoke(argv, timeout_s)
        seconds = time.monotonic() - start
        wrote = _changed(before, _tree(root)) if code == 2 else []
        shutil.rmtree(root, ignore_errors=True)
    return Outcome(case, code, seconds, out, err, wrote, hung)


def _invoke(argv: list[str], timeout_s: float) -> tuple[int | None, str, str, bool]:
    import main

    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    hung = False
    with (
        _argv(argv),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _alarm(timeout_s),
    ):
        try:
            main.run()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except _Hang:
            hung = True
        except Exception:
            import traceback

            err.write(traceback.format_exc())
            code = None
    return code, out.getvalue(), err.getvalue(), hung


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _tree(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "link"
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel + "/"] = "dir"
    return found


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
