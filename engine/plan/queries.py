"""Reading the plan: filtered task lists, one task, task-master's `next`, dependency issues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.plan.document import (
    DONE,
    Ref,
    TasksFile,
    check_priority,
    check_status,
    format_ref,
    index_tasks,
    parse_id,
    resolve_dependency,
    stored_id,
)
from engine.plan.fields import as_text, item_status
from engine.plan.graph import (
    Owner,
    analyse_dependencies,
    collect_owners,
    dependency_text,
    deps_satisfied,
    done_refs,
)
from engine.plan.models import DependencyIssue, TaskView

__all__ = ["list_tasks", "next_task", "show_task", "validate_dependencies"]

_PRIORITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


_WORKABLE = ("pending", "in-progress")


def list_tasks(
    tf: TasksFile,
    *,
    status: str | None = None,
    priority: str | None = None,
    ready: bool = False,
    blocking: bool = False,
) -> list[TaskView]:
    """Top-level tasks, filtered. `status` may list several (`"pending,in-progress"`); `ready`
    keeps workable tasks whose dependencies are all done; `blocking` keeps unfinished tasks that
    something else depends on."""
    statuses = {check_status(s.strip()) for s in status.split(",")} if status else set()
    if priority is not None:
        check_priority(priority)
    owners = collect_owners(tf)
    done = done_refs(owners)
    depended_on: set[Ref] = set()
    if blocking:
        for owner in owners:
            depended_on.update(t for t in owner.targets if t is not None and t != owner.ref)
    views: list[TaskView] = []
    for owner in owners:
        if owner.parent is not None:
            continue
        task = owner.item
        task_status = item_status(task)
        if statuses and task_status not in statuses:
            continue
        if priority is not None and (task.get("priority") or "medium") != priority:
            continue
        if ready and not (task_status in _WORKABLE and deps_satisfied(owner, done)):
            continue
        if blocking and (owner.ref not in depended_on or task_status == DONE):
            continue
        views.append(_view(task, owner.ref, None))
    return views


def show_task(tf: TasksFile, id: str) -> TaskView:
    ref = parse_id(id)
    index = index_tasks(tf)
    item = index.require(ref)
    return _view(item, ref, index.tasks[ref[0]] if ref[1] is not None else None)


def next_task(tf: TasksFile) -> TaskView | None:
    """task-master's `next`: first the workable subtasks of in-progress tasks, then workable
    tasks, each with every dependency done; ranked by priority, fewest dependencies, lowest id.

    Only `done` finishes a dependency, so a cancelled one blocks forever, as in task-master.
    """
    owners = collect_owners(tf)
    done = done_refs(owners)
    parents = {o.ref[0]: o.item for o in owners if o.parent is None}
    in_progress = {
        task_id for task_id, task in parents.items() if item_status(task) == "in-progress"
    }
    best: tuple[tuple[int, int, int, int], Owner] | None = None
    for owner in owners:
        if owner.parent not in in_progress or item_status(owner.item) not in _WORKABLE:
            continue
        if not deps_satisfied(owner, done):
            continue
        parent_task = parents[owner.ref[0]]
        prio = owner.item.get("priority") or parent_task.get("priority") or "medium"
        sub_id = owner.ref[1] if owner.ref[1] is not None else 0
        key = (-_PRIORITY_RANK.get(prio, 2), len(owner.deps), owner.ref[0], sub_id)
        if best is None or key < best[0]:
            best = (key, owner)
    if best is not None:
        owner = best[1]
        return _view(owner.item, owner.ref, parents[owner.ref[0]])
    for owner in owners:
        if owner.parent is not None or item_status(owner.item) not in _WORKABLE:
            continue
        if not deps_satisfied(owner, done):
            continue
        prio = owner.item.get("priority") or "medium"
        key = (-_PRIORITY_RANK.get(prio, 2), len(owner.deps), owner.ref[0], 0)
        if best is None or key < best[0]:
            best = (key, owner)
    return _view(best[1].item, best[1].ref, None) if best is not None else None


def validate_dependencies(tf: TasksFile) -> list[DependencyIssue]:
    """Dangling, self and duplicate dependencies in file order, then cycles. Each cycle is
    reported once, at the reference that closes it (the one `fix_dependencies` removes)."""
    issues, _ = analyse_dependencies(collect_owners(tf), index_tasks(tf))
    return issues


def _view(item: Mapping[str, Any], ref: Ref, parent: Mapping[str, Any] | None) -> TaskView:
    holder = ref[0] if ref[1] is not None else None
    deps = [
        dependency_text(d, resolve_dependency(d, holder)) for d in item.get("dependencies") or ()
    ]
    subtasks: list[TaskView] = []
    if ref[1] is None:
        for sub in item.get("subtasks") or ():
            sub_id = stored_id(sub.get("id"))
            if sub_id is not None:
                subtasks.append(_view(sub, (ref[0], sub_id), item))
    priority = item.get("priority") or (parent.get("priority") if parent is not None else None)
    return TaskView(
        id=format_ref(ref),
        title=as_text(item.get("title")),
        status=item_status(item),
        priority=priority if isinstance(priority, str) else None,
        dependencies=deps,
        description=as_text(item.get("description")),
        details=as_text(item.get("details")),
        testStrategy=as_text(item.get("testStrategy")),
        subtasks=subtasks,
        parent_id=str(ref[0]) if ref[1] is not None else None,
    )
