"""`vibehq tasks`: read and change tasks.json."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.commands import tasks_links
from cli.context import open_workspace, tasks_file
from cli.errors import guarded
from cli.options import (
    PRIORITY_CHOICES,
    STATUS_CHOICES,
    ActorOpt,
    DescriptionOpt,
    DetailsOpt,
    JsonOpt,
    TagOpt,
    TasksFileOpt,
    TestStrategyOpt,
    TitleOpt,
    WorkspaceOpt,
)
from cli.output import emit_json, escape, get_console
from cli.render.tasks import print_task
from cli.tasks_plan import change_plan, read_plan, split_ids

tasks_app = typer.Typer(
    help="The task plan: task-master tasks.json, read and changed exactly and safely.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
tasks_app.add_typer(tasks_links.dep_app, name="dep")
tasks_app.add_typer(tasks_links.deps_app, name="deps")
tasks_app.add_typer(tasks_links.subtask_app, name="subtask")
# `tasks epic create` was the old name of `tasks merge`: "epic" also names `vibehq epic run`.
tasks_app.add_typer(tasks_links.epic_app, name="epic", hidden=True)


@tasks_app.command("list")
@guarded
def tasks_list(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only tasks with this status: {STATUS_CHOICES}.")
    ] = None,
    priority: Annotated[
        str | None,
        typer.Option("--priority", help=f"Only tasks with this priority: {PRIORITY_CHOICES}."),
    ] = None,
    ready: Annotated[bool, typer.Option("--ready", help="Only tasks whose deps are done.")] = False,
    blocking: Annotated[
        bool, typer.Option("--blocking", help="Only tasks others wait on.")
    ] = False,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, filtered."""
    from engine.plan.ops import list_tasks

    views = list_tasks(
        read_plan(workspace, file, tag),
        status=status,
        priority=priority,
        ready=ready,
        blocking=blocking,
    )
    if as_json:
        emit_json([v.model_dump(mode="json") for v in views])
        return
    from rich.table import Table

    table = Table("id", "status", "priority", "deps", "title")
    for v in views:
        table.add_row(
            str(v.id), v.status, v.priority or "", ",".join(v.dependencies), escape(v.title)
        )
    get_console().print(table if views else "no tasks match")


@tasks_app.command("show")
@guarded
def tasks_show(
    task_id: Annotated[str, typer.Argument(help="Task id, or 3.1 for a subtask.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one task or subtask."""
    from engine.plan.ops import show_task

    view = show_task(read_plan(workspace, file, tag), task_id)
    if as_json:
        emit_json(view.model_dump(mode="json"))
        return
    print_task(view)


@tasks_app.command("next")
@guarded
def tasks_next(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The next task to work on, by task-master's rule."""
    from engine.plan.ops import next_task

    view = next_task(read_plan(workspace, file, tag))
    if as_json:
        emit_json(None if view is None else view.model_dump(mode="json"))
        return
    if view is None:
        get_console().print("nothing is ready: every open task waits on an unfinished dependency")
        return
    print_task(view)


@tasks_app.command("add")
@guarded
def tasks_add(
    title: TitleOpt,
    description: Annotated[
        str, typer.Option("--description", help="What the task is, in a sentence or two.")
    ],
    details: DetailsOpt = None,
    test_strategy: TestStrategyOpt = None,
    priority: Annotated[
        str, typer.Option("--priority", help=f"One of {PRIORITY_CHOICES}.")
    ] = "medium",
    dependencies: Annotated[str, typer.Option("--dependencies", help="Comma-separated ids.")] = "",
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task."""
    from engine.plan.ops import add_task

    change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: add_task(
            tf,
            title=title,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            dependencies=split_ids(dependencies),
        ),
    )


@tasks_app.command("update")
@guarded
def tasks_update(
    task_id: Annotated[str, typer.Argument(help="Task id, or 3.1 for a subtask.")],
    title: Annotated[str | None, typer.Option("--title", help="The task's title.")] = None,
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    test_strategy: TestStrategyOpt = None,
    priority: Annotated[
        str | None, typer.Option("--priority", help=f"One of {PRIORITY_CHOICES}.")
    ] = None,
    append_details: Annotated[
        str | None,
        typer.Option("--append-details", help="A paragraph added after the current details."),
    ] = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a task's fields (or append to its details)."""
    from engine.plan.ops import update_task

    change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: update_task(
            tf,
            task_id,
            title=title,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            append_details=append_details,
        ),
    )


@tasks_app.command("set-status")
@guarded
def tasks_set_status(
    task_ids: Annotated[str, typer.Argument(help="Comma-separated ids, e.g. 9,10,11.1")],
    status: Annotated[str, typer.Argument(help=f"The new status: {STATUS_CHOICES}.")],
    cascade: Annotated[bool, typer.Option("--cascade", help="Recompute the parents.")] = False,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the status of tasks or subtasks."""
    from engine.plan.ops import set_status

    change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: set_status(tf, split_ids(task_ids), status, cascade_parent=cascade),
    )


@tasks_app.command("remove")
@guarded
def tasks_remove(
    task_id: Annotated[str, typer.Argument(help="Task id, or 3.1 for a subtask.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a task and strip every reference to it."""
    from engine.plan.ops import remove_task

    change_plan(workspace, file, tag, actor, as_json, lambda tf: remove_task(tf, task_id))


@tasks_app.command("move")
@guarded
def tasks_move(
    from_id: Annotated[str, typer.Argument(help="The task or subtask to move, e.g. 5 or 3.2.")],
    to_id: Annotated[
        str, typer.Argument(help="A free task id, or a parent's id for a subtask (e.g. 7).")
    ],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a task to a free id, or a subtask to another parent; references follow."""
    from engine.plan.ops import move_task

    change_plan(workspace, file, tag, actor, as_json, lambda tf: move_task(tf, from_id, to_id))


tasks_app.command("merge")(tasks_links.tasks_merge)
tasks_app.command("deprecate")(tasks_links.tasks_deprecate)


@tasks_app.command("emit-commands")
@guarded
def tasks_emit_commands(
    file: TasksFileOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The npx task-master-ai commands equivalent to every change made through vibehq."""
    from engine.ledger.store import Ledger
    from engine.plan.history import emit_commands, plan_changes

    ws, settings = open_workspace(workspace)
    path = tasks_file(ws, settings, file)
    if not ws.ledger_path.is_file():
        lines: list[str] = []
    else:
        with Ledger.open(ws.ledger_path) as ledger:
            lines = emit_commands([c.change for c in plan_changes(ledger, path)])
    if as_json:
        emit_json(lines)
        return
    sys.stdout.write("".join(line + "\n" for line in lines))


@tasks_app.command("render")
@guarded
def tasks_render(
    markdown: Annotated[Path, typer.Option("--markdown", help="Write the plan document here.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the plan as a Markdown document with a To-dos checklist."""
    from engine.plan.render import render_markdown

    text = render_markdown(read_plan(workspace, file, tag))
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"ok": True, "path": str(markdown), "bytes": len(text.encode())})
        return
    get_console().print(f"wrote {markdown}")
