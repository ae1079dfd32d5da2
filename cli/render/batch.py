"""Printers of batch runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.migrate.batchrun import BatchSummary


def print_batch_summary(summary: BatchSummary) -> None:
    from rich.table import Table

    table = Table(
        "folder",
        "status",
        "files",
        "rewritten",
        "unresolved",
        "sql sites",
        "conflicts",
        "time",
        "error",
        title=f"batch {summary.batch_id}",
    )
    for f in summary.folders:
        colour = {"done": "green", "failed": "red", "skipped": "dim"}.get(f.status, "")
        table.add_row(
            f.folder,
            f"[{colour}]{f.status}[/]",
            str(f.files),
            str(f.rewrites),
            str(f.unresolved),
            str(f.sql_sites),
            str(f.conflicts),
            f"{f.seconds:.2f}s",
            escape(f.error or ""),
        )
    console = get_console()
    console.print(table)
    console.print(
        f"{summary.done} done, {summary.failed} failed, {summary.skipped} skipped; "
        f"reports: {summary.report_dir}"
    )
