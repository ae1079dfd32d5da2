"""vibehq's typed errors become one line and an exit code; never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from cli.output import emit_json, escape, get_console

F = TypeVar("F", bound=Callable[..., None])


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
                get_console(stderr=True).print(f"[bold red]error:[/] {escape(exc.message)}")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
