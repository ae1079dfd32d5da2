"""Printers of tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.output import escape, get_console

if TYPE_CHECKING:
    from engine.plan.ops import TaskView


def print_task(view: TaskView) -> None:
    console = get_console()
    console.print(f"[bold]#{view.id} {escape(view.title)}[/]")
    console.print(
        f"status: {view.status}  priority: {view.priority or '-'}  "
        f"dependencies: {', '.join(view.dependencies) or 'none'}"
    )
    for label, text in (
        ("description", view.description),
        ("details", view.details),
        ("test strategy", view.testStrategy),
    ):
        if text:
            console.print(f"\n[bold]{label}[/]\n{escape(text)}")
    for sub in view.subtasks:
        console.print(escape(f"  - {sub.id} [{sub.status}] {sub.title}"))
