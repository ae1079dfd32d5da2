"""Printers of epic runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.workspace import Workspace

from typing import Any

from cli.output import escape, get_console


def print_epic_summary(ws: Workspace, summary: Any) -> None:
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
