"""`vibehq tasks dep|deps|subtask|merge|deprecate`: the links between tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import guarded
from cli.options import (
    PRIORITY_CHOICES,
    ActorOpt,
    DescriptionOpt,
    DetailsOpt,
    JsonOpt,
    MergeMark,
    TagOpt,
    TasksFileOpt,
    TitleOpt,
    WorkspaceOpt,
    either,
)
from cli.output import emit_json, escape, get_console
from cli.tasks_plan import change_plan, read_plan, split_ids

dep_app = typer.Typer(
    help="Add or remove one dependency.", no_args_is_help=True, rich_markup_mode=None
)
deps_app = typer.Typer(
    help="Check or repair every dependency.", no_args_is_help=True, rich_markup_mode=None
)
subtask_app = typer.Typer(
    help="Add or remove subtasks.", no_args_is_help=True, rich_markup_mode=None
)
epic_app = typer.Typer(
    help="Batch granular tasks into epics.", no_args_is_help=True, rich_markup_mode=None
)

TaskIdArg = Annotated[str, typer.Argument(help="The task (or subtask, e.g. 3.1) that waits.")]
DependsOnArg = Annotated[str, typer.Argument(help="The task (or subtask) it waits on.")]


@dep_app.command("add")
@guarded
def tasks_dep_add(
    task_id: TaskIdArg,
    depends_on: DependsOnArg,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """TASK now depends on DEPENDS_ON (cycles and missing ids are refused)."""
    from engine.plan.ops import add_dependency

    change_plan(
        workspace, file, tag, actor, as_json, lambda tf: add_dependency(tf, task_id, depends_on)
    )


@dep_app.command("remove")
@guarded
def tasks_dep_remove(
    task_id: TaskIdArg,
    depends_on: DependsOnArg,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove one dependency."""
    from engine.plan.ops import remove_dependency

    change_plan(
        workspace, file, tag, actor, as_json, lambda tf: remove_dependency(tf, task_id, depends_on)
    )


@deps_app.command("validate")
@guarded
def tasks_deps_validate(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dangling, self, duplicate and cyclic dependencies (exit 1 if any)."""
    from engine.plan.ops import validate_dependencies

    issues = validate_dependencies(read_plan(workspace, file, tag))
    if as_json:
        emit_json([i.model_dump(mode="json") for i in issues])
    else:
        for issue in issues:
            get_console().print(f"  {escape(str(issue.kind))}: {escape(issue.message)}")
        get_console().print(f"{len(issues)} dependency problems" if issues else "dependencies ok")
    if issues:
        raise typer.Exit(1)


@deps_app.command("fix")
@guarded
def tasks_deps_fix(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove dangling, self and duplicate references and break cycles."""
    from engine.plan.ops import fix_dependencies

    change_plan(workspace, file, tag, actor, as_json, fix_dependencies)


@subtask_app.command("add")
@guarded
def tasks_subtask_add(
    parent: Annotated[str, typer.Argument(help="The task the subtask goes under.")],
    title: TitleOpt,
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    dependencies: Annotated[
        str, typer.Option("--dependencies", help="Comma-separated ids it waits on, e.g. 3.1,3.2.")
    ] = "",
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a subtask under PARENT."""
    from engine.plan.ops import add_subtask

    change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: add_subtask(
            tf,
            parent,
            title=title,
            description=description,
            details=details,
            dependencies=split_ids(dependencies),
        ),
    )


@subtask_app.command("remove")
@guarded
def tasks_subtask_remove(
    subtask_id: Annotated[str, typer.Argument(help="e.g. 3.2")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a subtask and every reference to it."""
    from engine.plan.ops import remove_subtask

    change_plan(workspace, file, tag, actor, as_json, lambda tf: remove_subtask(tf, subtask_id))


def _merge(
    ids: str,
    title: str,
    mark: MergeMark,
    priority: str,
    description: str | None,
    details: str | None,
    where: tuple[Path | None, Path | None, str | None, str | None, bool],
) -> None:
    from engine.plan.ops import create_epic

    workspace, file, tag, actor, as_json = where
    change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: create_epic(
            tf,
            title=title,
            merge=split_ids(ids),
            mark=mark.value,
            priority=priority,
            description=description,
            details=details,
        ),
    )


MarkOpt = Annotated[MergeMark, typer.Option("--mark", help="What becomes of the merged tasks.")]
PriorityOpt = Annotated[
    str, typer.Option("--priority", help=f"The new task's priority: {PRIORITY_CHOICES}.")
]


@guarded
def tasks_merge(
    ids: Annotated[str, typer.Argument(help="Comma-separated ids to absorb, e.g. 9,10,11.")],
    title: TitleOpt,
    mark: MarkOpt = MergeMark.subsumed,
    priority: PriorityOpt = "high",
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge granular tasks into one new epic task; dependents are re-pointed to it."""
    where = (workspace, file, tag, actor, as_json)
    _merge(ids, title, mark, priority, description, details, where)


@epic_app.command("create")
@guarded
def tasks_epic_create(
    title: TitleOpt,
    merge: Annotated[str, typer.Option("--merge", help="Comma-separated ids to absorb.")],
    mark: MarkOpt = MergeMark.subsumed,
    priority: PriorityOpt = "high",
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The old name of `tasks merge` (ids given with --merge)."""
    where = (workspace, file, tag, actor, as_json)
    _merge(merge, title, mark, priority, description, details, where)


@guarded
def tasks_deprecate(
    task_id: Annotated[str, typer.Argument(help="The task that is superseded.")],
    into: Annotated[
        str | None,
        typer.Option("--into", help="The task (epic) that supersedes it.", show_default=False),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", hidden=True)] = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deprecate a task in favour of another; its dependents move over."""
    from engine.errors import BadInput
    from engine.plan.ops import deprecate

    successor = either(into, by, name="--into", alias="--by")
    if successor is None:
        raise BadInput("give --into ID: the task (epic) that supersedes it")
    change_plan(
        workspace, file, tag, actor, as_json, lambda tf: deprecate(tf, task_id, by=successor)
    )
