"""The epic task an epic run updates in the plan, and how the run names its tasks file."""

from __future__ import annotations

from pathlib import Path

from engine.epic.models import EpicSpec
from engine.epic.run_models import REQUESTER
from engine.settings import Settings
from engine.workspace import Workspace


def epic_task(
    ws: Workspace, settings: Settings, spec: EpicSpec, tasks_path: Path | None
) -> str | None:
    """The epic task the run updates: the spec's (it must exist), or one made for the run."""
    if tasks_path is None or not tasks_path.is_file():
        return spec.epic
    from engine.plan.change import change_plan, read_plan
    from engine.plan.document import find_task
    from engine.plan.ops import add_task

    if spec.epic is not None:
        find_task(read_plan(ws, settings, file=tasks_path), spec.epic)
        return spec.epic
    change = change_plan(
        ws,
        settings,
        lambda tf: add_task(
            tf,
            title=f"Epic: {spec.name}",
            description=spec.description or f"Migration epic {spec.name}",
            priority="high",
        ),
        REQUESTER,
        file=tasks_path,
    ).change
    return change.ids[0]


def relative_or_absolute(ws: Workspace, path: Path) -> str:
    try:
        return path.resolve().relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
