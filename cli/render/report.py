"""Printers of ledger reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import get_console

if TYPE_CHECKING:
    from engine.patch.reports import LogPage, PatchStats, TrendRow


def print_logs(data: LogPage) -> None:
    from rich.table import Table

    console = get_console()
    table = Table("ts", "kind", "batch", "task", "file", "op", "+", "-", "error")
    for e in data.items:
        table.add_row(
            e.ts[:19],
            e.kind,
            e.batch_id,
            e.task_id or "",
            e.file or "",
            e.op or "",
            str(e.lines_added),
            str(e.lines_removed),
            e.error or "",
        )
    console.print(table)
    console.print(f"{len(data.items)} of {data.total} events (offset {data.offset})")


def print_trends(data: list[TrendRow]) -> None:
    from rich.table import Table

    console = get_console()
    table = Table("key", "batches", "applied", "failed", "rolled back", "success", "first", "last")
    for row in data:
        table.add_row(
            str(row.key),
            str(row.batches),
            str(row.applied),
            str(row.failed),
            str(row.rolled_back),
            rate(row.success_rate),
            row.first_ts[:10],
            row.last_ts[:10],
        )
    console.print(table)


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_stats(stats: PatchStats) -> None:
    from rich.table import Table

    console = get_console()
    span = f"{(stats.first_ts or '-')[:19]} .. {(stats.last_ts or '-')[:19]}"
    console.print(f"[bold]{stats.total_events}[/] events, {span}")
    days = Table("day", "requested", "applied", "failed", "rolled back", title="per day")
    for d in stats.daily:
        days.add_row(d.day, str(d.requested), str(d.applied), str(d.failed), str(d.rolled_back))
    people = Table("requester", "applied", "failed", "success", title="per requester")
    for r in stats.requesters:
        people.add_row(r.requester or "-", str(r.applied), str(r.failed), rate(r.success_rate))
    ops = Table("op", "count", title="operations")
    for o in stats.operations:
        ops.add_row(o.op or "-", str(o.count))
    console.print(days, people, ops)
    if stats.errors:
        errors = Table("count", "error", title="errors")
        for e in stats.errors:
            errors.add_row(str(e.count), e.error)
        console.print(errors)
