"""Epics and deprecation: merging tasks into a new or existing epic, and superseding a task.

Both move the dependents of the tasks that go onto the one that stays, and refuse a change
that would close a cycle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine.plan.document import (
    DONE,
    PlanError,
    Ref,
    TaskIndex,
    TasksFile,
    check_priority,
    encode_dependency,
    format_id,
    format_ref,
    index_tasks,
    parse_id,
    stored_id,
)
from engine.plan.fields import item_status, required_text, unique, with_paragraph
from engine.plan.graph import (
    Owner,
    collect_owners,
    cycle_text,
    dependency_graph,
    find_path,
    rewrite_references,
    task_family,
)
from engine.plan.models import EpicMark, PlanChange
from engine.plan.taskmaster import add_task_command, taskmaster_command

__all__ = ["create_epic", "deprecate", "merge_tasks"]

_MARKS = ("subsumed", "done", "cancelled")


def create_epic(
    tf: TasksFile,
    *,
    title: str,
    merge: Sequence[str],
    mark: EpicMark = "subsumed",
    priority: str = "high",
    description: str | None = None,
    details: str | None = None,
) -> PlanChange:
    """Create an epic task absorbing `merge`.

    The epic depends on what the merged tasks depended on outside the merge; whatever depended
    on a merged task (or one of its subtasks) depends on the epic instead. Each merged task is
    marked: `subsumed` (task-master has no such status) stores `cancelled` plus a `subsumedBy`
    field, and every mark appends "Subsumed by Epic #N: title" to the task's details.
    """
    title = required_text(title, "title")
    check_priority(priority)
    _check_mark(mark)
    index = index_tasks(tf)
    merged = _merge_refs(index, merge)
    epic_ref: Ref = (max(index.tasks, default=0) + 1, None)
    owners = collect_owners(tf)
    external = _plan_absorb(owners, index, epic_ref, [], merged)
    string_ids = tf.string_ids
    epic_value: int | str = str(epic_ref[0]) if string_ids else epic_ref[0]
    absorbed = _absorbed_lines(index, merged)
    epic_details = with_paragraph(details, "Absorbs:\n" + "\n".join(absorbed))
    epic_description = description or (
        f"Consolidates tasks {_and_list([format_ref(m) for m in merged])} into one epic: "
        + "; ".join(str(index.tasks[m[0]].get("title", "")) for m in merged)
        + "."
    )
    tf.tasks.append(
        {
            "id": epic_value,
            "title": title,
            "description": epic_description,
            "details": epic_details,
            "testStrategy": "",
            "priority": priority,
            "dependencies": [encode_dependency(r, None, None, string_ids) for r in external],
            "status": "pending",
            "subtasks": [],
        }
    )
    epic_shown = format_ref(epic_ref)
    note = f"Subsumed by Epic #{epic_shown}: {title}"
    cascaded = _mark_merged(index, merged, mark, note, epic_value)
    repointed, repoint_commands = _repoint(tf, owners, _family_of(owners, merged), epic_ref)
    merged_shown = [format_ref(m) for m in merged]
    commands = [
        add_task_command(tf, title, epic_description, epic_details, None, external, priority),
        *_mark_commands(tf, merged_shown, mark, note),
        *repoint_commands,
    ]
    return PlanChange(
        op="create_epic",
        ids=[epic_shown, *merged_shown],
        summary=f"created epic {epic_shown} ({title}) from {', '.join(merged_shown)}, "
        f"marked {mark}",
        fields={
            "epic": epic_shown,
            "title": title,
            "description": epic_description,
            "priority": priority,
            "merged": merged_shown,
            "mark": mark,
            "dependencies": [format_ref(r) for r in external],
            "repointed": repointed,
            "cascaded": cascaded,
        },
        commands=commands,
    )


def merge_tasks(
    tf: TasksFile, into: str, merge: Sequence[str], *, mark: EpicMark = "subsumed"
) -> PlanChange:
    """Like `create_epic`, with an existing task (`into`) as the epic: it keeps its title and
    priority and gains the merged tasks' outside dependencies."""
    _check_mark(mark)
    into_ref = parse_id(into)
    if into_ref[1] is not None:
        raise PlanError(f"{format_ref(into_ref)} is a subtask; tasks merge into a task")
    index = index_tasks(tf)
    target = index.require(into_ref)
    merged = _merge_refs(index, merge, into=into_ref)
    owners = collect_owners(tf)
    own = next(o for o in owners if o.item is target)
    merged_ids = {m[0] for m in merged}
    kept = [t for t in own.targets if t is not None and t[0] not in merged_ids]
    external = _plan_absorb(owners, index, into_ref, kept, merged)
    into_shown = format_ref(into_ref)
    title = str(target.get("title", ""))
    target["details"] = with_paragraph(
        target.get("details"), "Absorbs:\n" + "\n".join(_absorbed_lines(index, merged))
    )
    dropped = [format_ref(t) for t in own.targets if t is not None and t[0] in merged_ids]
    if dropped or external:
        deps = [
            d
            for d, t in zip(own.deps, own.targets, strict=True)
            if t is None or t[0] not in merged_ids
        ]
        deps += [encode_dependency(r, None, None, tf.string_ids) for r in external]
        target["dependencies"] = deps
    note = f"Subsumed by Epic #{into_shown}: {title}"
    cascaded = _mark_merged(index, merged, mark, note, target["id"])
    repointed, repoint_commands = _repoint(
        tf, owners, _family_of(owners, merged), into_ref, skip={into_ref}
    )
    merged_shown = [format_ref(m) for m in merged]
    commands = _mark_commands(tf, merged_shown, mark, note)
    commands.append(
        taskmaster_command(
            tf,
            "update-task",
            ("id", into_shown),
            ("prompt", f"Append to the details that this task absorbs {', '.join(merged_shown)}."),
        )
    )
    commands += [
        taskmaster_command(tf, "add-dependency", ("id", into_shown), ("depends-on", format_ref(r)))
        for r in external
    ]
    commands += [
        taskmaster_command(tf, "remove-dependency", ("id", into_shown), ("depends-on", d))
        for d in dropped
    ]
    commands += repoint_commands
    return PlanChange(
        op="merge_tasks",
        ids=[into_shown, *merged_shown],
        summary=f"merged {', '.join(merged_shown)} into {into_shown}, marked {mark}",
        fields={
            "epic": into_shown,
            "merged": merged_shown,
            "mark": mark,
            "dependencies": [format_ref(r) for r in external],
            "droppedDependencies": dropped,
            "repointed": repointed,
            "cascaded": cascaded,
        },
        commands=commands,
    )


def deprecate(tf: TasksFile, id: str, *, by: str) -> PlanChange:
    """Cancel a task superseded by `by`: a `deprecatedBy` field and a note record why, and
    whatever depended on it depends on `by` instead (a cancelled dependency blocks forever)."""
    ref, by_ref = parse_id(id), parse_id(by)
    shown, by_shown = format_ref(ref), format_ref(by_ref)
    if ref == by_ref:
        raise PlanError(f"task {shown} cannot be deprecated by itself")
    index = index_tasks(tf)
    item = index.require(ref)
    by_item = index.require(by_ref)
    family = task_family(index, ref)
    if by_ref in family:
        raise PlanError(f"task {shown} cannot be deprecated by its own subtask {by_shown}")
    owners = collect_owners(tf)
    adj = dependency_graph(owners, redirect=family, to=by_ref)
    successors = [t for t in adj.get(by_ref, []) if t != by_ref]
    path = find_path(adj, successors, by_ref)
    if path is not None:
        raise PlanError(
            f"deprecating {shown} by {by_shown} would close the cycle {cycle_text([by_ref, *path])}"
        )
    by_value: int | str = by_item["id"] if by_ref[1] is None else by_shown
    note = f"Deprecated: superseded by #{by_shown} {by_item.get('title', '')}".rstrip()
    item["status"] = "cancelled"
    item["deprecatedBy"] = by_value
    item["details"] = with_paragraph(item.get("details"), note)
    repointed, repoint_commands = _repoint(tf, owners, set(family), by_ref)
    commands = [
        taskmaster_command(tf, "set-status", ("id", shown), ("status", "cancelled")),
        taskmaster_command(
            tf,
            "update-task" if ref[1] is None else "update-subtask",
            ("id", shown),
            ("prompt", f'Append to the details: "{note}".'),
        ),
        *repoint_commands,
    ]
    return PlanChange(
        op="deprecate",
        ids=[shown],
        summary=f"deprecated {shown}, superseded by {by_shown}",
        fields={"by": by_shown, "status": "cancelled", "note": note, "repointed": repointed},
        commands=commands,
    )


def _merge_refs(index: TaskIndex, merge: Sequence[str], *, into: Ref | None = None) -> list[Ref]:
    refs: list[Ref] = []
    for raw in merge:
        for part in str(raw).split(","):
            if not part.strip():
                continue
            ref = parse_id(part)
            if ref[1] is not None:
                raise PlanError(f"{format_ref(ref)} is a subtask; only tasks merge into an epic")
            if into is not None and ref == into:
                raise PlanError(f"task {ref[0]} cannot be merged into itself")
            if ref in refs:
                raise PlanError(f"task {ref[0]} is listed twice; a task merges only once")
            index.require(ref)
            refs.append(ref)
    if not refs:
        raise PlanError("no tasks to merge")
    return refs


def _plan_absorb(
    owners: list[Owner], index: TaskIndex, epic: Ref, epic_deps: list[Ref], merged: list[Ref]
) -> list[Ref]:
    """The merged tasks' outside dependencies the epic gains, after checking that pointing their
    dependents at the epic closes no cycle."""
    merged_ids = {m[0] for m in merged}
    by_ref = {o.ref: o for o in owners}
    external: list[Ref] = []
    for ref in merged:
        for target in by_ref[ref].targets:
            if target is None or target[0] in merged_ids or target == epic:
                continue
            if target in index and target not in epic_deps and target not in external:
                external.append(target)
    family = [o.ref for o in owners if o.ref[0] in merged_ids]
    adj = dependency_graph(owners, redirect=family, to=epic)
    successors = [t for t in epic_deps if t != epic] + external
    adj[epic] = successors
    path = find_path(adj, successors, epic)
    if path is not None:
        raise PlanError(
            f"merging {', '.join(format_ref(m) for m in merged)} into {format_ref(epic)} would "
            f"close the cycle {cycle_text([epic, *path])}; merge {format_ref(path[0])} too or "
            "drop that dependency"
        )
    return external


def _absorbed_lines(index: TaskIndex, merged: list[Ref]) -> list[str]:
    lines = []
    for ref in merged:
        task = index.tasks[ref[0]]
        lines.append(f"- Task {ref[0]}: {task.get('title', '')} (status: {item_status(task)})")
    return lines


def _mark_merged(
    index: TaskIndex, merged: list[Ref], mark: str, note: str, epic_value: Any
) -> list[str]:
    cascaded: list[str] = []
    for ref in merged:
        task = index.tasks[ref[0]]
        if mark == "done":
            task["status"] = DONE
            for sub in task.get("subtasks") or ():
                if sub.get("status") != DONE:
                    sub["status"] = DONE
                    cascaded.append(format_id(ref[0], stored_id(sub["id"])))
        else:
            task["status"] = "cancelled"
        if mark == "subsumed":
            task["subsumedBy"] = epic_value
        task["details"] = with_paragraph(task.get("details"), note)
    return cascaded


def _family_of(owners: Iterable[Owner], merged: list[Ref]) -> set[Ref]:
    """The merged tasks and all their subtasks."""
    merged_ids = {m[0] for m in merged}
    return {o.ref for o in owners if o.ref[0] in merged_ids}


def _repoint(
    tf: TasksFile,
    owners: list[Owner],
    family: set[Ref],
    to: Ref,
    *,
    skip: set[Ref] | None = None,
) -> tuple[dict[str, list[str]], list[str]]:
    """Point every holder outside `family` that depended on something in it at `to` instead.

    Returns each changed holder with the references it lost, and the task-master lines that
    make the same change (`to` itself only loses its reference, it cannot depend on itself).
    """
    skip = {*(skip or ()), *family}
    to_shown = format_ref(to)
    lost: dict[str, list[str]] = {}
    commands: list[str] = []
    for owner in owners:
        if owner.ref in skip:
            continue
        old = unique(format_ref(t) for t in owner.targets if t is not None and t in family)
        if not old:
            continue
        holder = format_ref(owner.ref)
        lost[holder] = old
        if owner.ref != to and to not in owner.targets:
            commands.append(
                taskmaster_command(tf, "add-dependency", ("id", holder), ("depends-on", to_shown))
            )
        commands += [
            taskmaster_command(tf, "remove-dependency", ("id", holder), ("depends-on", ref))
            for ref in old
        ]
    rewrite_references(tf, owners, dict.fromkeys(family, to), skip=skip)
    return lost, commands


def _check_mark(mark: str) -> None:
    if mark not in _MARKS:
        raise PlanError(f"invalid mark {mark!r}: expected one of {', '.join(_MARKS)}")


def _mark_commands(tf: TasksFile, merged: list[str], mark: str, note: str) -> list[str]:
    status = DONE if mark == "done" else "cancelled"
    commands = [taskmaster_command(tf, "set-status", ("id", ",".join(merged)), ("status", status))]
    commands += [
        taskmaster_command(
            tf, "update-task", ("id", m), ("prompt", f'Append to the details: "{note}".')
        )
        for m in merged
    ]
    return commands


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
