"""Printers of patch results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.patch.apply import BatchResult

from cli.output import escape, get_console
from cli.render.common import print_diff


def print_batch(result: BatchResult) -> None:
    from rich.table import Table

    console = get_console()
    if result.diff:
        print_diff(result.diff)
    table = Table("action", "file", "+", "-", box=None, pad_edge=False)
    for f in result.files:
        colour = {"created": "green", "deleted": "red", "unchanged": "dim"}.get(f.action, "cyan")
        table.add_row(f"[{colour}]{f.action}[/]", f.path, str(f.lines_added), str(f.lines_removed))
    console.print(table)
    if result.validation is not None:
        console.print(f"validation: [green]{escape(result.validation.summary)}[/]")
    verb = {
        "dry-run": "dry run, nothing written:",
        "applied": "applied",
        "unchanged": "nothing to do, files already match:",
        "rolled-back": "rolled back as",
        "already-applied": "already applied:",
    }[result.status]
    console.print(
        f"[bold]{verb}[/] batch {result.batch_id}: {result.ops} ops on {len(result.files)} "
        f"files (+{result.lines_added} -{result.lines_removed})"
    )
    if result.webhook is not None and not result.webhook.delivered:
        console.print(
            f"[yellow]warning:[/] webhook {result.webhook.url} failed after "
            f"{result.webhook.attempts} attempts ({result.webhook.error}); the patch stands"
        )
