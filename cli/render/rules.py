"""Printer of the quality rules, for `vibehq scan --rules`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.validate.rules import RuleInfo


def print_rules(rules: list[RuleInfo]) -> None:
    from rich.table import Table

    table = Table("code", "kind", "severity", "languages", "summary")
    for info in rules:
        table.add_row(
            info.code, info.kind, info.severity, ", ".join(info.languages), escape(info.summary)
        )
    get_console().print(table)
    get_console().print(f"{len(rules)} rules")
