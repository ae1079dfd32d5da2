"""`vibehq queue`: the specialist queue."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.context import open_workspace
from cli.errors import guarded
from cli.options import JsonOpt, QueueStatus, WorkspaceOpt
from cli.output import emit_json, get_console

queue_app = typer.Typer(
    help="The specialist queue (DocString Architect, Lint Surgeon, Dependency Auditor).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@queue_app.command("list")
@guarded
def queue_list(
    status: Annotated[
        QueueStatus | None, typer.Option("--status", help="Only open or only done work.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Work the specialist rules queued (each at most once)."""
    from engine.ledger.store import Ledger
    from engine.validate.triggers import queue_items

    ws, _ = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        items = queue_items(ledger, status=None if status is None else status.value)
    if as_json:
        emit_json([i.model_dump(mode="json") for i in items])
        return
    from rich.table import Table

    table = Table("id", "specialist", "rule", "batch", "task", "detail", "status")
    for i in items:
        table.add_row(
            str(i.id),
            i.specialist,
            i.rule,
            i.batch_id or "",
            i.task_id or "",
            json.dumps(i.detail),
            i.status,
        )
    get_console().print(table if items else "the specialist queue is empty")
