"""vibehq's typed errors become one line and an exit code; never a traceback.

Anything else is a bug, and still gets one line on stderr, exit code `CRASH_EXIT` (70, the
BSD EX_SOFTWARE), and the traceback in `.vibehq/logs/<timestamp>.log` when the workspace
already has its state folder (a crash never creates one). Every line printed and logged
goes through `engine.redact`, so an API key an upstream echoed is not shown.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import typer

from cli.output import emit_json, escape, get_console

F = TypeVar("F", bound=Callable[..., None])

CRASH_EXIT = 70


def guarded(fn: F) -> F:
    """Turn vibehq's typed errors into one line and an exit code (2 bad input, 1 check failed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from cli.root_options import json_requested
        from engine.errors import VibehqError

        # `vibehq --json CMD` asks for what `vibehq CMD --json` does.
        if "as_json" in kwargs and json_requested():
            kwargs["as_json"] = True
        as_json = bool(kwargs.get("as_json"))
        try:
            fn(*args, **kwargs)
        except VibehqError as exc:
            result = getattr(exc, "result", None)
            report = getattr(exc, "report", None)
            if as_json:
                payload: dict[str, Any] = {
                    "ok": False,
                    "error": exc.message,
                    "errorType": type(exc).__name__,
                    "exitCode": exc.exit_code,
                }
                if result is not None:
                    payload["validation"] = result.model_dump(mode="json")
                if report is not None:
                    payload["quality"] = report.model_dump(mode="json")
                emit_json(payload)
            else:
                from cli.render.common import print_findings, print_violations

                if result is not None:
                    print_findings(result)
                if report is not None:
                    print_violations(report.violations, stderr=True)
                get_console(stderr=True).print(
                    f"[bold red]error:[/] {escape(one_line(exc.message))}"
                )
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def one_line(text: str) -> str:
    """`text` made safe to print: keys scrubbed, lone surrogates escaped (printing one would
    raise UnicodeEncodeError)."""
    from engine.redact import redact

    return redact(text).encode("utf-8", "backslashreplace").decode("utf-8")


def report_crash(exc: BaseException, argv: Sequence[str]) -> int:
    """One line for an unexpected exception, the traceback in a log; returns the exit code."""
    log = _crash_log(exc, argv)
    where = f"traceback in {log}" if log is not None else "no log written (no .vibehq folder)"
    detail = " ".join(one_line(f"{type(exc).__name__}: {exc}").split())[:300]
    sys.stderr.write(f"error: internal error, a bug in vibehq ({detail}); {where}\n")
    return CRASH_EXIT


def _crash_log(exc: BaseException, argv: Sequence[str]) -> Path | None:
    from engine.redact import redact
    from engine.workspace import STATE_DIR, real_dir

    state = _workspace_root(argv) / STATE_DIR
    try:
        if not stat.S_ISDIR(os.lstat(state).st_mode):
            return None
        logs = real_dir(state / "logs")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = logs / f"{stamp}-{os.getpid()}.log"
        text = "".join(traceback.format_exception(exc))
        body = redact(f"vibehq {' '.join(argv[1:])}\n{text}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(body)
    except Exception:
        # The log is a courtesy; the one line on stderr is the report.
        return None
    return path


def _workspace_root(argv: Sequence[str]) -> Path:
    args = list(argv[1:])
    for n, arg in enumerate(args):
        if arg in ("-w", "--workspace") and n + 1 < len(args):
            return Path(args[n + 1])
        if arg.startswith("--workspace="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get("VIBEHQ_WORKSPACE") or os.getcwd())


class _RedactingStream:
    """A text stream whose writes are scrubbed of API keys; the rest is the stream's own."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(one_line(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_output() -> Iterator[None]:
    """Scrub API keys from everything written to stdout and stderr while inside."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = _RedactingStream(out)
    sys.stderr = _RedactingStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
