"""Printers shared by several groups: diffs, findings, violations, code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.patch.validation import ValidationResult
    from engine.validate.quality import Violation

import sys

from cli.output import escape, get_console


def print_diff(diff: str) -> None:
    # A terminal (or FORCE_COLOR) gets colour; a pipe gets the plain diff, fit for `git apply`.
    if get_console().is_terminal:
        from rich.syntax import Syntax

        get_console().print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(diff)


def print_findings(result: ValidationResult) -> None:
    console = get_console(stderr=True)
    for f in result.findings[:20]:
        where = f"{f.file}:{f.line}:{f.column}" if f.file else result.validator
        console.print(f"  {escape(where)} [red]{f.code or f.severity}[/] {escape(f.message)}")
    if len(result.findings) > 20:
        console.print(f"  and {len(result.findings) - 20} more")


def print_violations(violations: Sequence[Violation], *, stderr: bool) -> None:
    console = get_console(stderr=stderr)
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
    for v in violations[:30]:
        colour = colours.get(v.severity, "")
        console.print(
            f"  [{colour}]{v.severity}[/] {v.kind} {escape(v.file)}:{v.line} {escape(v.message)}"
        )
    if len(violations) > 30:
        console.print(f"  and {len(violations) - 30} more")
