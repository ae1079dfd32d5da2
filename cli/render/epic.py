"""Printers of epic runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.epic.grid import StepGrid
    from engine.epic.models import EpicRun
    from engine.epic.runner import EpicSummary
    from engine.workspace import Workspace


from cli.output import escape, get_console


def print_epic_summary(ws: Workspace, summary: EpicSummary) -> None:
    console = get_console()
    colour = {"done": "green", "paused": "yellow", "failed": "red"}.get(summary.status, "white")
    console.print(
        f"\n[bold {colour}]{summary.status}[/] run {summary.run_id}: {escape(summary.message)}"
    )
    for folder, where in summary.folders.items():
        extra = f" ({escape(summary.failed[folder])})" if folder in summary.failed else ""
        console.print(f"  {folder}: {where}{extra}")
    if summary.waiting:
        console.print("[bold]still to do[/] (a human decides with `vibehq approvals`):")
        for item in summary.waiting:
            console.print(f"  #{item.id} [{item.kind}] {item.folder}: {escape(item.why)}")
    if summary.model_note:
        console.print(f"[yellow]needs a model:[/] {escape(summary.model_note)}")
    if summary.report:
        for kind, path in summary.report.items():
            console.print(f"delivery report ({kind}): {ws.root / path}")


_MARKS = {
    "done": "[green]done[/]",
    "waiting": "[yellow]waiting[/]",
    "failed": "[red]failed[/]",
    "running": "[cyan]running[/]",
    "skipped": "[dim]skipped[/]",
}


def print_run_grid(run: EpicRun, grid: StepGrid) -> None:
    """The folders x steps table of a run, then what it says and what it waits for."""
    from rich.table import Table

    table = Table(title=f"{run.run_id}: {run.status}")
    table.add_column("folder")
    for step in grid.steps:
        table.add_column(step)
    for row in grid.rows:
        cells = ["" if c is None else _MARKS.get(c, c) for c in row.cells]
        table.add_row(row.folder, *cells)
    console = get_console()
    console.print(table)
    summary = run.summary or {}
    if summary.get("message"):
        console.print(escape(str(summary["message"])))
    for item in summary.get("waiting", []):
        console.print(f"  #{item['id']} [{item['kind']}] {item['folder']}: {escape(item['why'])}")
