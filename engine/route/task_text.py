"""The text of a task-master task as the complexity score reads it."""

from __future__ import annotations

from engine.plan.document import TasksFile
from engine.plan.ops import TaskView, show_task

__all__ = ["task_text", "task_view_text"]


def task_view_text(view: TaskView) -> str:
    """Title, description, details and test strategy, then one list item per subtask: the
    breakdown is evidence of how many steps the task takes."""
    parts = [view.title, view.description, view.details, view.testStrategy]
    parts += [f"- {sub.title}: {sub.description}" for sub in view.subtasks]
    return "\n\n".join(part for part in parts if part)


def task_text(tf: TasksFile, task_id: str) -> tuple[TaskView, str]:
    """The task (or `3.1` subtask) and its text; an unknown id raises PlanError (exit 2)."""
    view = show_task(tf, task_id)
    return view, task_view_text(view)
