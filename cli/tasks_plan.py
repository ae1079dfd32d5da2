"""Reading tasks.json and changing it under its lock, with each change recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cli.context import open_workspace
from cli.output import emit_json, escape, get_console

if TYPE_CHECKING:
    from engine.plan.document import TasksFile
    from engine.plan.ops import PlanChange


def read_plan(workspace: Path | None, file: Path | None, tag: str | None) -> TasksFile:
    from engine.plan.change import read_plan as read_tasks

    ws, settings = open_workspace(workspace)
    return read_tasks(ws, settings, file=file, tag=tag)


def change_plan(
    workspace: Path | None,
    file: Path | None,
    tag: str | None,
    actor: str | None,
    as_json: bool,
    change_fn: Callable[[TasksFile], PlanChange],
) -> None:
    """Apply one plan operation under the tasks.json lock, record it, print it."""
    import getpass

    from engine.plan.change import change_plan as change_tasks

    ws, settings = open_workspace(workspace)
    result = change_tasks(ws, settings, change_fn, actor or getpass.getuser(), file=file, tag=tag)
    change = result.change
    if as_json:
        emit_json({"ok": True, **change.model_dump(mode="json")})
        return
    console = get_console()
    console.print(f"[bold]{escape(change.summary)}[/]")
    for line in change.commands:
        console.print(f"  [dim]{escape(line)}[/]")


def split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
