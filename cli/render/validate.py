"""Printers of validation reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.validate.run import ValidateReport


def print_validate(report: ValidateReport) -> None:
    from rich.table import Table

    console = get_console()
    table = Table("tool", "baseline", "findings", "new", "fixed", "time", "summary")
    for r in report.results:
        table.add_row(
            r.tool,
            r.baseline,
            str(r.findings),
            str(len(r.new)),
            str(len(r.fixed)),
            f"{r.duration_s:.2f}s",
            escape(r.summary),
        )
    console.print(table)
    for f in report.new[:50]:
        where = f"{f.file}:{f.line}:{f.column}" if f.file else f.tool
        console.print(f"  [red]new[/] {escape(where)} {f.code or ''} {escape(f.message)}")
    for f in report.fixed[:20]:
        where = f"{f.file}:{f.line}" if f.file else f.tool
        console.print(f"  [green]fixed[/] {escape(where)} {f.code or ''} {escape(f.message)}")
    verb = "baseline recorded" if report.recorded else ("ok" if report.ok else "new findings")
    console.print(f"[bold]{verb}[/] in {report.duration_s:.2f}s")
