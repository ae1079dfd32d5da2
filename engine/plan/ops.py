"""Operations on a loaded tasks file: the ones task-master offers, plus epics and deprecation.

A changing operation checks everything first and then mutates `tf` in place, so a refused
change leaves the file as it was. It touches only the tasks it has to (an untouched task keeps
its bytes) and returns a `PlanChange`: what changed, and the `npx task-master-ai` command lines
that would make the same change with task-master itself.

Every operation builds its id index and dependency graph once, so none of them is quadratic in
the size of the plan.
"""

from __future__ import annotations

import shlex
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.plan.document import (
    DONE,
    PlanError,
    Ref,
    TaskIndex,
    TasksFile,
    check_priority,
    check_status,
    encode_dependency,
    format_id,
    format_ref,
    index_tasks,
    parse_id,
    resolve_dependency,
    stored_id,
)

__all__ = [
    "TASK_MASTER",
    "DependencyIssue",
    "EpicMark",
    "IssueKind",
    "PlanChange",
    "TaskView",
    "add_dependency",
    "add_subtask",
    "add_task",
    "create_epic",
    "deprecate",
    "fix_dependencies",
    "list_tasks",
    "merge_tasks",
    "move_task",
    "next_task",
    "remove_dependency",
    "remove_subtask",
    "remove_task",
    "set_status",
    "show_task",
    "update_task",
    "validate_dependencies",
]

TASK_MASTER = "npx task-master-ai"
EpicMark = Literal["subsumed", "done", "cancelled"]
_MARKS = ("subsumed", "done", "cancelled")
_PRIORITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
_WORKABLE = ("pending", "in-progress")


class TaskView(BaseModel):
    """A task or subtask as a reader sees it. Dependencies are full ids (`"5"`, `"3.1"`)."""

    id: str
    title: str
    status: str
    priority: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    description: str = ""
    details: str = ""
    # task-master's own field name, so the JSON a caller prints matches tasks.json.
    testStrategy: str = ""
    subtasks: list[TaskView] = Field(default_factory=list)
    parent_id: str | None = None


class PlanChange(BaseModel):
    """One applied change and the task-master command lines that make the same change."""

    op: str
    ids: list[str]
    summary: str
    fields: dict[str, Any] = Field(default_factory=dict)
    commands: list[str] = Field(default_factory=list)


IssueKind = Literal["dangling", "self", "cycle", "duplicate"]


class DependencyIssue(BaseModel):
    kind: IssueKind
    id: str
    dependency: str
    message: str
    cycle: list[str] = Field(default_factory=list)


@dataclass
class _Owner:
    """A task or subtask that holds dependencies, with each one resolved to what it names."""

    ref: Ref
    item: dict[str, Any]
    parent: int | None
    deps: list[Any]
    targets: list[Ref | None]


# --- reading ----------------------------------------------------------------------------------


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
    owners = _owners(tf)
    done = _done_refs(owners)
    depended_on: set[Ref] = set()
    if blocking:
        for owner in owners:
            depended_on.update(t for t in owner.targets if t is not None and t != owner.ref)
    views: list[TaskView] = []
    for owner in owners:
        if owner.parent is not None:
            continue
        task = owner.item
        task_status = _status(task)
        if statuses and task_status not in statuses:
            continue
        if priority is not None and (task.get("priority") or "medium") != priority:
            continue
        if ready and not (task_status in _WORKABLE and _satisfied(owner, done)):
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
    owners = _owners(tf)
    done = _done_refs(owners)
    parents = {o.ref[0]: o.item for o in owners if o.parent is None}
    in_progress = {task_id for task_id, task in parents.items() if _status(task) == "in-progress"}
    best: tuple[tuple[int, int, int, int], _Owner] | None = None
    for owner in owners:
        if owner.parent not in in_progress or _status(owner.item) not in _WORKABLE:
            continue
        if not _satisfied(owner, done):
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
        if owner.parent is not None or _status(owner.item) not in _WORKABLE:
            continue
        if not _satisfied(owner, done):
            continue
        prio = owner.item.get("priority") or "medium"
        key = (-_PRIORITY_RANK.get(prio, 2), len(owner.deps), owner.ref[0], 0)
        if best is None or key < best[0]:
            best = (key, owner)
    return _view(best[1].item, best[1].ref, None) if best is not None else None


def validate_dependencies(tf: TasksFile) -> list[DependencyIssue]:
    """Dangling, self and duplicate dependencies in file order, then cycles. Each cycle is
    reported once, at the reference that closes it (the one `fix_dependencies` removes)."""
    issues, _ = _analyse(_owners(tf), index_tasks(tf))
    return issues


# --- changing ---------------------------------------------------------------------------------


def add_task(
    tf: TasksFile,
    *,
    title: str,
    description: str,
    details: str | None = None,
    test_strategy: str | None = None,
    priority: str = "medium",
    dependencies: Sequence[str] = (),
) -> PlanChange:
    title = _required(title, "title")
    check_priority(priority)
    index = index_tasks(tf)
    refs = _existing_refs(index, dependencies)
    task_id = max(index.tasks, default=0) + 1
    string_ids = tf.string_ids
    dep_values = [encode_dependency(r, None, None, string_ids) for r in refs]
    # task-master's own field order for a new task.
    tf.tasks.append(
        {
            "id": str(task_id) if string_ids else task_id,
            "title": title,
            "description": description,
            "details": details or "",
            "testStrategy": test_strategy or "",
            "priority": priority,
            "dependencies": dep_values,
            "status": "pending",
            "subtasks": [],
        }
    )
    new_id = str(task_id)
    return PlanChange(
        op="add_task",
        ids=[new_id],
        summary=f"added task {new_id}: {title}",
        fields={
            "title": title,
            "description": description,
            "details": details or "",
            "testStrategy": test_strategy or "",
            "priority": priority,
            "dependencies": [format_ref(r) for r in refs],
        },
        commands=[
            _add_task_command(tf, title, description, details, test_strategy, refs, priority)
        ],
    )


def update_task(
    tf: TasksFile,
    id: str,
    *,
    title: str | None = None,
    description: str | None = None,
    details: str | None = None,
    test_strategy: str | None = None,
    priority: str | None = None,
    append_details: str | None = None,
) -> PlanChange:
    """Replace fields of a task or subtask (`"3.1"`); `append_details` adds a paragraph."""
    ref = parse_id(id)
    item = index_tasks(tf).require(ref)
    if details is not None and append_details is not None:
        raise PlanError("give either details (to replace them) or text to append, not both")
    if priority is not None:
        check_priority(priority)
    changes: dict[str, Any] = {}
    prompt: list[str] = []
    if title is not None:
        changes["title"] = _required(title, "title")
        prompt.append(f'Change the title to "{changes["title"]}".')
    if description is not None:
        changes["description"] = description
        prompt.append(f'Replace the description with exactly: "{description}".')
    if details is not None:
        changes["details"] = details
        prompt.append(f'Replace the implementation details with exactly: "{details}".')
    if test_strategy is not None:
        changes["testStrategy"] = test_strategy
        prompt.append(f'Replace the test strategy with exactly: "{test_strategy}".')
    if priority is not None:
        changes["priority"] = priority
        prompt.append(f"Set the priority to {priority}.")
    if append_details is not None:
        changes["details"] = _with_paragraph(item.get("details"), append_details)
        prompt.append(f'Append this paragraph to the details: "{append_details}".')
    if not changes:
        raise PlanError(f"nothing to update for task {format_ref(ref)}")
    item.update(changes)
    shown = format_ref(ref)
    command = "update-task" if ref[1] is None else "update-subtask"
    return PlanChange(
        op="update_task",
        ids=[shown],
        summary=f"updated {', '.join(changes)} of task {shown}",
        fields=changes,
        commands=[_cmd(tf, command, ("id", shown), ("prompt", " ".join(prompt)))],
    )


def set_status(
    tf: TasksFile, ids: Sequence[str], status: str, *, cascade_parent: bool = False
) -> PlanChange:
    """Set the status of tasks and subtasks. A task set to done takes its subtasks with it, as in
    task-master; with `cascade_parent`, a subtask change recomputes its parent (all subtasks
    done: done; any in progress: in-progress)."""
    check_status(status)
    refs = _unique(parse_id(part) for raw in ids for part in raw.split(",") if part.strip())
    if not refs:
        raise PlanError("no task ids given")
    index = index_tasks(tf)
    items = [index.require(ref) for ref in refs]
    cascaded: list[str] = []
    for ref, item in zip(refs, items, strict=True):
        item["status"] = status
        if ref[1] is None and status == DONE:
            for sub in item.get("subtasks") or ():
                if sub.get("status") != DONE:
                    sub["status"] = DONE
                    cascaded.append(format_id(ref[0], stored_id(sub["id"])))
    parents: dict[str, str] = {}
    if cascade_parent:
        for parent_id in _unique(ref[0] for ref in refs if ref[1] is not None):
            parent = index.tasks[parent_id]
            subs = parent.get("subtasks") or []
            derived: str | None = None
            if subs and all(_status(s) == DONE for s in subs):
                derived = DONE
            elif any(_status(s) == "in-progress" for s in subs):
                derived = "in-progress"
            if derived is not None and _status(parent) != derived:
                parent["status"] = derived
                parents[str(parent_id)] = derived
    shown = [format_ref(r) for r in refs]
    commands = [_cmd(tf, "set-status", ("id", ",".join(shown)), ("status", status))]
    for derived in _unique(parents.values()):
        group = [p for p, s in parents.items() if s == derived]
        commands.append(_cmd(tf, "set-status", ("id", ",".join(group)), ("status", derived)))
    summary = f"set {', '.join(shown)} to {status}"
    if cascaded:
        summary += f" (and subtasks {', '.join(cascaded)})"
    if parents:
        summary += "; parents " + ", ".join(f"{p} -> {s}" for p, s in parents.items())
    return PlanChange(
        op="set_status",
        ids=shown,
        summary=summary,
        fields={"status": status, "cascaded": cascaded, "parents": parents},
        commands=commands,
    )


def add_dependency(tf: TasksFile, id: str, depends_on: str) -> PlanChange:
    ref, dep = parse_id(id), parse_id(depends_on)
    index = index_tasks(tf)
    item = index.require(ref)
    index.require(dep)
    shown, dep_shown = format_ref(ref), format_ref(dep)
    if ref == dep:
        raise PlanError(f"task {shown} cannot depend on itself")
    if ref[1] is not None and dep == (ref[0], None):
        raise PlanError(f"subtask {shown} cannot depend on its own parent task {dep_shown}")
    parent = ref[0] if ref[1] is not None else None
    deps = item.get("dependencies") or []
    if any(resolve_dependency(d, parent) == dep for d in deps):
        raise PlanError(f"task {shown} already depends on {dep_shown}")
    path = _find_path(_graph(_owners(tf)), [dep], ref)
    if path is not None:
        raise PlanError(
            f"task {shown} cannot depend on {dep_shown}: that would close the cycle "
            f"{_cycle_text([ref, *path])}"
        )
    value = encode_dependency(dep, parent, None, tf.string_ids)
    if "dependencies" in item and isinstance(item["dependencies"], list):
        item["dependencies"].append(value)
    else:
        item["dependencies"] = [value]
    return PlanChange(
        op="add_dependency",
        ids=[shown],
        summary=f"task {shown} now depends on {dep_shown}",
        fields={"dependsOn": dep_shown},
        commands=[_cmd(tf, "add-dependency", ("id", shown), ("depends-on", dep_shown))],
    )


def remove_dependency(tf: TasksFile, id: str, depends_on: str) -> PlanChange:
    ref, dep = parse_id(id), parse_id(depends_on)
    item = index_tasks(tf).require(ref)
    shown, dep_shown = format_ref(ref), format_ref(dep)
    parent = ref[0] if ref[1] is not None else None
    deps = item.get("dependencies") or []
    kept = [d for d in deps if resolve_dependency(d, parent) != dep]
    if len(kept) == len(deps):
        raise PlanError(f"task {shown} does not depend on {dep_shown}")
    item["dependencies"] = kept
    return PlanChange(
        op="remove_dependency",
        ids=[shown],
        summary=f"task {shown} no longer depends on {dep_shown}",
        fields={"dependsOn": dep_shown},
        commands=[_cmd(tf, "remove-dependency", ("id", shown), ("depends-on", dep_shown))],
    )


def fix_dependencies(tf: TasksFile) -> PlanChange:
    """Remove dangling, self and duplicate references, then break each cycle by removing the
    reference that closes it."""
    owners = _owners(tf)
    issues, drops = _analyse(owners, index_tasks(tf))
    changed: list[str] = []
    for owner in owners:
        dropped = drops.get(owner.ref)
        if dropped:
            owner.item["dependencies"] = [d for n, d in enumerate(owner.deps) if n not in dropped]
            changed.append(format_ref(owner.ref))
    counts = {kind: sum(1 for i in issues if i.kind == kind) for kind in _ISSUE_KINDS}
    summary = (
        "no dependency issues"
        if not issues
        else f"removed {len(issues)} dependency reference(s): "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    )
    return PlanChange(
        op="fix_dependencies",
        ids=changed,
        summary=summary,
        fields={"removed": [issue.model_dump() for issue in issues]},
        commands=[_cmd(tf, "fix-dependencies")],
    )


def add_subtask(
    tf: TasksFile,
    parent: str,
    *,
    title: str,
    description: str | None = None,
    details: str | None = None,
    dependencies: Sequence[str] = (),
) -> PlanChange:
    """Add a subtask. A dependency is `"3.1"` for a subtask (a sibling too) or `"5"` for a task."""
    parent_ref = parse_id(parent)
    if parent_ref[1] is not None:
        raise PlanError(f"{format_ref(parent_ref)} is a subtask; subtasks cannot have subtasks")
    title = _required(title, "title")
    index = index_tasks(tf)
    task = index.require(parent_ref)
    refs = _existing_refs(index, dependencies)
    parent_id = parent_ref[0]
    if parent_ref in refs:
        raise PlanError(f"a subtask of task {parent_id} cannot depend on its own parent")
    subs = task.get("subtasks")
    if not isinstance(subs, list):
        subs = task["subtasks"] = []
    sub_id = max((stored_id(s["id"]) or 0 for s in subs), default=0) + 1
    string_sub_ids = sum(isinstance(s["id"], str) for s in subs) * 2 > len(subs)
    # The field order task-master's subtasks have in real files.
    subs.append(
        {
            "id": str(sub_id) if string_sub_ids else sub_id,
            "title": title,
            "description": description or "",
            "dependencies": [encode_dependency(r, parent_id, None, tf.string_ids) for r in refs],
            "details": details or "",
            "status": "pending",
            "testStrategy": "",
        }
    )
    shown = format_id(parent_id, sub_id)
    flags: list[tuple[str, str]] = [("parent", str(parent_id)), ("title", title)]
    if description:
        flags.append(("description", description))
    if details:
        flags.append(("details", details))
    if refs:
        flags.append(("dependencies", ",".join(format_ref(r) for r in refs)))
    return PlanChange(
        op="add_subtask",
        ids=[shown],
        summary=f"added subtask {shown}: {title}",
        fields={
            "title": title,
            "description": description or "",
            "details": details or "",
            "dependencies": [format_ref(r) for r in refs],
        },
        commands=[_cmd(tf, "add-subtask", *flags)],
    )


def remove_subtask(tf: TasksFile, id: str) -> PlanChange:
    ref = parse_id(id)
    if ref[1] is None:
        raise PlanError(f"{ref[0]} is a task, not a subtask (subtask ids look like {ref[0]}.1)")
    index = index_tasks(tf)
    sub = index.require(ref)
    owners = _owners(tf)
    subs = index.tasks[ref[0]]["subtasks"]
    subs[:] = [s for s in subs if s is not sub]
    stripped = _rewrite(tf, owners, {ref: None}, skip={ref})
    return _removal(tf, "remove_subtask", ref, sub, stripped)


def remove_task(tf: TasksFile, id: str) -> PlanChange:
    """Remove a task (or a subtask) and every reference to it, or to its subtasks, elsewhere."""
    ref = parse_id(id)
    if ref[1] is not None:
        return remove_subtask(tf, id)
    index = index_tasks(tf)
    task = index.require(ref)
    owners = _owners(tf)
    family = _family(index, ref)
    del tf.tasks[index.position[ref[0]]]
    stripped = _rewrite(tf, owners, dict.fromkeys(family), skip=set(family))
    return _removal(tf, "remove_task", ref, task, stripped)


def move_task(tf: TasksFile, from_id: str, to_id: str) -> PlanChange:
    """Give a task a new (free) id, move a subtask to another parent (`5.2` -> `7.3`), turn a
    subtask into a task (`5.2` -> `9`) or a task without subtasks into a subtask (`9` -> `5.3`).

    Every reference is rewritten to the new id, in the form its holder needs: a subtask's plain
    integer means a sibling, so one that stops being a sibling becomes `"P.S"` (the integers
    task-master left pointing at the wrong subtask after a move).
    """
    src, dst = parse_id(from_id), parse_id(to_id)
    if src == dst:
        raise PlanError(f"task {format_ref(src)} is already at {format_ref(dst)}")
    index = index_tasks(tf)
    item = index.require(src)
    if dst in index:
        raise PlanError(f"cannot move to {format_ref(dst)}: that id is taken; pick a free one")
    if dst[1] is not None:
        if dst[0] not in index.tasks:
            raise PlanError(f"cannot move to {format_ref(dst)}: unknown task id {dst[0]}")
        if src[1] is None and dst[0] == src[0]:
            raise PlanError(f"task {src[0]} cannot become a subtask of itself")
        if src[1] is None and item.get("subtasks"):
            raise PlanError(
                f"task {src[0]} has subtasks, so it cannot become a subtask; move them first"
            )
    owners = _owners(tf)
    mapping: dict[Ref, Ref | None] = {src: dst}
    new_parent: dict[Ref, int | None] = {src: dst[0] if dst[1] is not None else None}
    if src[1] is None:
        for sub in item.get("subtasks") or ():
            sub_id = stored_id(sub["id"])
            mapping[(src[0], sub_id)] = (dst[0], sub_id)
            new_parent[(src[0], sub_id)] = dst[0]
    moved_parent = dst[0] if dst[1] is not None else None
    if moved_parent is not None:
        own = next(o for o in owners if o.item is item)
        if (moved_parent, None) in own.targets:
            raise PlanError(
                f"{format_ref(src)} depends on task {moved_parent}, so it cannot become one "
                "of its subtasks"
            )
    _detach(tf, index, src, item)
    item["id"] = _same_kind(item["id"], dst[1] if dst[1] is not None else dst[0])
    if dst[1] is None:
        if src[1] is not None:
            for key, value in (("priority", _promoted_priority(index, src)), ("subtasks", [])):
                item.setdefault(key, value)
        _insert_task(tf, item, dst[0])
    else:
        item.pop("subtasks", None)
        target = index.tasks[dst[0]]
        subs = target.get("subtasks")
        if not isinstance(subs, list):
            subs = target["subtasks"] = []
        _insert_sorted(subs, item, dst[1])
    rewritten = _rewrite(tf, owners, mapping, new_parent=new_parent)
    shown_src, shown_dst = format_ref(src), format_ref(dst)
    return PlanChange(
        op="move_task",
        ids=[shown_src, shown_dst],
        summary=f"moved {shown_src} to {shown_dst}"
        + (f"; rewrote references in {', '.join(rewritten)}" if rewritten else ""),
        fields={"from": shown_src, "to": shown_dst, "rewritten": rewritten},
        commands=[_cmd(tf, "move", ("from", shown_src), ("to", shown_dst))],
    )


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
    title = _required(title, "title")
    check_priority(priority)
    _check_mark(mark)
    index = index_tasks(tf)
    merged = _merge_refs(index, merge)
    epic_ref: Ref = (max(index.tasks, default=0) + 1, None)
    owners = _owners(tf)
    external = _plan_absorb(owners, index, epic_ref, [], merged)
    string_ids = tf.string_ids
    epic_value: int | str = str(epic_ref[0]) if string_ids else epic_ref[0]
    absorbed = _absorbed_lines(index, merged)
    epic_details = _with_paragraph(details, "Absorbs:\n" + "\n".join(absorbed))
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
        _add_task_command(tf, title, epic_description, epic_details, None, external, priority),
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
    owners = _owners(tf)
    own = next(o for o in owners if o.item is target)
    merged_ids = {m[0] for m in merged}
    kept = [t for t in own.targets if t is not None and t[0] not in merged_ids]
    external = _plan_absorb(owners, index, into_ref, kept, merged)
    into_shown = format_ref(into_ref)
    title = str(target.get("title", ""))
    target["details"] = _with_paragraph(
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
        _cmd(
            tf,
            "update-task",
            ("id", into_shown),
            ("prompt", f"Append to the details that this task absorbs {', '.join(merged_shown)}."),
        )
    )
    commands += [
        _cmd(tf, "add-dependency", ("id", into_shown), ("depends-on", format_ref(r)))
        for r in external
    ]
    commands += [
        _cmd(tf, "remove-dependency", ("id", into_shown), ("depends-on", d)) for d in dropped
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
    family = _family(index, ref)
    if by_ref in family:
        raise PlanError(f"task {shown} cannot be deprecated by its own subtask {by_shown}")
    owners = _owners(tf)
    adj = _graph(owners, redirect=family, to=by_ref)
    successors = [t for t in adj.get(by_ref, []) if t != by_ref]
    path = _find_path(adj, successors, by_ref)
    if path is not None:
        raise PlanError(
            f"deprecating {shown} by {by_shown} would close the cycle "
            f"{_cycle_text([by_ref, *path])}"
        )
    by_value: int | str = by_item["id"] if by_ref[1] is None else by_shown
    note = f"Deprecated: superseded by #{by_shown} {by_item.get('title', '')}".rstrip()
    item["status"] = "cancelled"
    item["deprecatedBy"] = by_value
    item["details"] = _with_paragraph(item.get("details"), note)
    repointed, repoint_commands = _repoint(tf, owners, set(family), by_ref)
    commands = [
        _cmd(tf, "set-status", ("id", shown), ("status", "cancelled")),
        _cmd(
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


# --- dependency graph -------------------------------------------------------------------------

_ISSUE_KINDS = ("dangling", "self", "duplicate", "cycle")


def _owners(tf: TasksFile) -> list[_Owner]:
    owners: list[_Owner] = []
    for task in tf.tasks:
        task_id = stored_id(task.get("id"))
        if task_id is None:
            raise PlanError(f"{tf.path}: task {task.get('id')!r} has no usable id")
        deps = list(task.get("dependencies") or ())
        targets = [resolve_dependency(d, None) for d in deps]
        owners.append(_Owner((task_id, None), task, None, deps, targets))
        for sub in task.get("subtasks") or ():
            sub_id = stored_id(sub.get("id"))
            if sub_id is None:
                raise PlanError(f"{tf.path}: a subtask of task {task_id} has no usable id")
            deps = list(sub.get("dependencies") or ())
            targets = [resolve_dependency(d, task_id) for d in deps]
            owners.append(_Owner((task_id, sub_id), sub, task_id, deps, targets))
    return owners


def _graph(
    owners: Iterable[_Owner], *, redirect: Iterable[Ref] = (), to: Ref | None = None
) -> dict[Ref, list[Ref]]:
    """Edges from each holder to what it depends on; with `redirect`, as they would be once the
    holders outside that set point at `to` instead of anything inside it."""
    moved = set(redirect)
    adj: dict[Ref, list[Ref]] = {}
    for owner in owners:
        targets = [t for t in owner.targets if t is not None]
        if moved and to is not None and owner.ref not in moved:
            targets = [to if t in moved else t for t in targets]
        adj[owner.ref] = targets
    return adj


def _find_path(
    adj: Mapping[Ref, Sequence[Ref]], sources: Iterable[Ref], goal: Ref
) -> list[Ref] | None:
    """The shortest path from any of `sources` to `goal` (both ends included), or None."""
    prev: dict[Ref, Ref | None] = {}
    queue: deque[Ref] = deque()
    for source in sources:
        if source not in prev:
            prev[source] = None
            queue.append(source)
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            back = prev[node]
            while back is not None:
                path.append(back)
                back = prev[back]
            return path[::-1]
        for nxt in adj.get(node, ()):
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return None


def _analyse(
    owners: list[_Owner], index: TaskIndex
) -> tuple[list[DependencyIssue], dict[Ref, set[int]]]:
    """Every dependency issue, and which entries (by holder and position) a fix removes."""
    issues: list[DependencyIssue] = []
    drops: dict[Ref, set[int]] = {}
    edges: dict[Ref, list[tuple[Ref, int]]] = {}
    holder: dict[Ref, _Owner] = {}

    def drop(
        owner: _Owner, n: int, kind: IssueKind, message: str, cycle: list[str] | None = None
    ) -> None:
        issues.append(
            DependencyIssue(
                kind=kind,
                id=format_ref(owner.ref),
                dependency=_dep_text(owner.deps[n], owner.targets[n]),
                message=message,
                cycle=cycle or [],
            )
        )
        drops.setdefault(owner.ref, set()).add(n)

    for owner in owners:
        holder[owner.ref] = owner
        shown = format_ref(owner.ref)
        seen: set[Ref] = set()
        kept: list[tuple[Ref, int]] = []
        for n, (raw, target) in enumerate(zip(owner.deps, owner.targets, strict=True)):
            if target is None:
                drop(owner, n, "dangling", f"task {shown} depends on {raw!r}, which is not an id")
            elif target == owner.ref:
                drop(owner, n, "self", f"task {shown} depends on itself")
            elif target in seen:
                drop(owner, n, "duplicate", f"task {shown} lists {format_ref(target)} twice")
            elif target not in index:
                drop(owner, n, "dangling", _dangling_message(owner, raw, target, index))
            else:
                seen.add(target)
                kept.append((target, n))
        edges[owner.ref] = kept

    # Depth-first in file order; every edge back onto the current path closes a cycle, and
    # removing exactly those edges leaves a graph without cycles.
    state: dict[Ref, int] = {}
    for root in owners:
        if root.ref in state:
            continue
        state[root.ref] = 1
        path = [root.ref]
        on_path = {root.ref: 0}
        stack = [(root.ref, iter(edges[root.ref]))]
        while stack:
            node, pending = stack[-1]
            for target, n in pending:
                seen_state = state.get(target, 0)
                if seen_state == 0:
                    state[target] = 1
                    on_path[target] = len(path)
                    path.append(target)
                    stack.append((target, iter(edges.get(target, ()))))
                    break
                if seen_state == 1:
                    cycle = [format_ref(r) for r in (*path[on_path[target] :], target)]
                    drop(
                        holder[node],
                        n,
                        "cycle",
                        f"cycle {' -> '.join(cycle)}, closed by {format_ref(node)}'s "
                        f"dependency on {format_ref(target)}",
                        cycle,
                    )
            else:
                stack.pop()
                path.pop()
                del on_path[node]
                state[node] = 2
    return issues, drops


def _dangling_message(owner: _Owner, raw: Any, target: Ref, index: TaskIndex) -> str:
    shown = format_ref(owner.ref)
    message = f"task {shown} depends on {format_ref(target)}, which does not exist"
    if owner.parent is not None and isinstance(raw, int) and (raw, None) in index:
        message += (
            f" (an integer in a subtask's dependencies names a sibling subtask; "
            f'write "{raw}" to depend on task {raw})'
        )
    return message


def _rewrite(
    tf: TasksFile,
    owners: Iterable[_Owner],
    mapping: Mapping[Ref, Ref | None],
    *,
    skip: set[Ref] | None = None,
    new_parent: Mapping[Ref, int | None] | None = None,
) -> list[str]:
    """Point every dependency found in `mapping` at its new ref (None: drop it), writing each in
    the form its holder needs, and return the holders whose list changed. Only those lists are
    assigned, so every other task keeps its bytes. A holder mapped onto itself loses that entry,
    and an entry that becomes a duplicate of another is dropped."""
    string_ids = tf.string_ids
    skip = skip or set()
    changed: list[str] = []
    for owner in owners:
        if owner.ref in skip:
            continue
        parent = new_parent.get(owner.ref, owner.parent) if new_parent else owner.parent
        self_ref = mapping.get(owner.ref, owner.ref) or owner.ref
        moved = parent != owner.parent
        if not moved and not any(t in mapping for t in owner.targets if t is not None):
            continue
        new_deps: list[Any] = []
        seen: set[Ref] = set()
        produced: set[Ref] = set()
        for raw, target in zip(owner.deps, owner.targets, strict=True):
            if target is None:
                new_deps.append(raw)
                continue
            mapped = mapping.get(target, target)
            if mapped is None or (mapped == self_ref and mapped != target):
                continue
            if mapped in seen and (mapped != target or mapped in produced):
                continue
            seen.add(mapped)
            if mapped != target:
                produced.add(mapped)
            if mapped == target and not moved:
                new_deps.append(raw)
            else:
                new_deps.append(encode_dependency(mapped, parent, raw, string_ids))
        if not _same_values(new_deps, owner.deps):
            owner.item["dependencies"] = new_deps
            changed.append(format_ref(self_ref))
    return changed


def _same_values(a: Sequence[Any], b: Sequence[Any]) -> bool:
    # 1 == "1" is False but 1 == 1.0 == True is True; compare types too so a form change counts.
    return len(a) == len(b) and all(
        type(x) is type(y) and x == y for x, y in zip(a, b, strict=True)
    )


# --- epics ------------------------------------------------------------------------------------


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
    owners: list[_Owner], index: TaskIndex, epic: Ref, epic_deps: list[Ref], merged: list[Ref]
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
    adj = _graph(owners, redirect=family, to=epic)
    successors = [t for t in epic_deps if t != epic] + external
    adj[epic] = successors
    path = _find_path(adj, successors, epic)
    if path is not None:
        raise PlanError(
            f"merging {', '.join(format_ref(m) for m in merged)} into {format_ref(epic)} would "
            f"close the cycle {_cycle_text([epic, *path])}; merge {format_ref(path[0])} too or "
            "drop that dependency"
        )
    return external


def _absorbed_lines(index: TaskIndex, merged: list[Ref]) -> list[str]:
    lines = []
    for ref in merged:
        task = index.tasks[ref[0]]
        lines.append(f"- Task {ref[0]}: {task.get('title', '')} (status: {_status(task)})")
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
        task["details"] = _with_paragraph(task.get("details"), note)
    return cascaded


def _family_of(owners: Iterable[_Owner], merged: list[Ref]) -> set[Ref]:
    """The merged tasks and all their subtasks."""
    merged_ids = {m[0] for m in merged}
    return {o.ref for o in owners if o.ref[0] in merged_ids}


def _family(index: TaskIndex, ref: Ref) -> list[Ref]:
    if ref[1] is not None:
        return [ref]
    family = [ref]
    for sub in index.tasks[ref[0]].get("subtasks") or ():
        sub_id = stored_id(sub.get("id"))
        if sub_id is not None:
            family.append((ref[0], sub_id))
    return family


def _repoint(
    tf: TasksFile,
    owners: list[_Owner],
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
        old = _unique(format_ref(t) for t in owner.targets if t is not None and t in family)
        if not old:
            continue
        holder = format_ref(owner.ref)
        lost[holder] = old
        if owner.ref != to and to not in owner.targets:
            commands.append(_cmd(tf, "add-dependency", ("id", holder), ("depends-on", to_shown)))
        commands += [
            _cmd(tf, "remove-dependency", ("id", holder), ("depends-on", ref)) for ref in old
        ]
    _rewrite(tf, owners, dict.fromkeys(family, to), skip=skip)
    return lost, commands


def _check_mark(mark: str) -> None:
    if mark not in _MARKS:
        raise PlanError(f"invalid mark {mark!r}: expected one of {', '.join(_MARKS)}")


# --- commands ---------------------------------------------------------------------------------


def _cmd(tf: TasksFile, name: str, *flags: tuple[str, str] | str) -> str:
    """One task-master command line, every value shell-quoted."""
    parts = [TASK_MASTER, name]
    for flag in flags:
        if isinstance(flag, str):
            parts.append(flag)
        else:
            parts.append(f"--{flag[0]}={shlex.quote(flag[1])}")
    # Without --tag task-master works on its current tag, which is only safe to assume for master.
    if tf.tag is not None and tf.tag != "master":
        parts.append(f"--tag={shlex.quote(tf.tag)}")
    return " ".join(parts)


def _add_task_command(
    tf: TasksFile,
    title: str,
    description: str,
    details: str | None,
    test_strategy: str | None,
    deps: Sequence[Ref],
    priority: str,
) -> str:
    flags: list[tuple[str, str]] = [("title", title), ("description", description)]
    if details:
        flags.append(("details", details))
    if test_strategy:
        flags.append(("test-strategy", test_strategy))
    if deps:
        flags.append(("dependencies", ",".join(format_ref(r) for r in deps)))
    flags.append(("priority", priority))
    return _cmd(tf, "add-task", *flags)


def _mark_commands(tf: TasksFile, merged: list[str], mark: str, note: str) -> list[str]:
    status = DONE if mark == "done" else "cancelled"
    commands = [_cmd(tf, "set-status", ("id", ",".join(merged)), ("status", status))]
    commands += [
        _cmd(tf, "update-task", ("id", m), ("prompt", f'Append to the details: "{note}".'))
        for m in merged
    ]
    return commands


def _removal(
    tf: TasksFile, op: str, ref: Ref, item: dict[str, Any], stripped: list[str]
) -> PlanChange:
    shown = format_ref(ref)
    summary = f"removed {shown}: {item.get('title', '')}"
    if stripped:
        summary += f"; removed references to it from {', '.join(stripped)}"
    return PlanChange(
        op=op,
        ids=[shown],
        summary=summary,
        fields={"title": item.get("title", ""), "strippedFrom": stripped},
        commands=[_cmd(tf, "remove-task", ("id", shown), "-y")],
    )


# --- small pieces -----------------------------------------------------------------------------


def _status(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if isinstance(status, str) and status else "pending"


def _done_refs(owners: Iterable[_Owner]) -> set[Ref]:
    return {o.ref for o in owners if _status(o.item) == DONE}


def _satisfied(owner: _Owner, done: set[Ref]) -> bool:
    return all(t is not None and t in done for t in owner.targets)


def _view(item: Mapping[str, Any], ref: Ref, parent: Mapping[str, Any] | None) -> TaskView:
    holder = ref[0] if ref[1] is not None else None
    deps = [_dep_text(d, resolve_dependency(d, holder)) for d in item.get("dependencies") or ()]
    subtasks: list[TaskView] = []
    if ref[1] is None:
        for sub in item.get("subtasks") or ():
            sub_id = stored_id(sub.get("id"))
            if sub_id is not None:
                subtasks.append(_view(sub, (ref[0], sub_id), item))
    priority = item.get("priority") or (parent.get("priority") if parent is not None else None)
    return TaskView(
        id=format_ref(ref),
        title=_text(item.get("title")),
        status=_status(item),
        priority=priority if isinstance(priority, str) else None,
        dependencies=deps,
        description=_text(item.get("description")),
        details=_text(item.get("details")),
        testStrategy=_text(item.get("testStrategy")),
        subtasks=subtasks,
        parent_id=str(ref[0]) if ref[1] is not None else None,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _dep_text(raw: Any, target: Ref | None) -> str:
    return format_ref(target) if target is not None else str(raw)


def _cycle_text(path: Sequence[Ref]) -> str:
    return " -> ".join(format_ref(r) for r in path)


def _required(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"a {what} is required")
    return value


def _with_paragraph(existing: Any, paragraph: str) -> str:
    text = existing if isinstance(existing, str) else ""
    return f"{text}\n\n{paragraph}" if text.strip() else paragraph


def _existing_refs(index: TaskIndex, ids: Iterable[str]) -> list[Ref]:
    refs: list[Ref] = []
    for raw in ids:
        for part in str(raw).split(","):
            if not part.strip():
                continue
            ref = parse_id(part)
            index.require(ref)
            if ref not in refs:
                refs.append(ref)
    return refs


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _same_kind(old: Any, new: int) -> int | str:
    return str(new) if isinstance(old, str) else new


def _promoted_priority(index: TaskIndex, src: Ref) -> str:
    priority = index.tasks[src[0]].get("priority")
    return priority if isinstance(priority, str) and priority else "medium"


def _detach(tf: TasksFile, index: TaskIndex, src: Ref, item: dict[str, Any]) -> None:
    if src[1] is None:
        del tf.tasks[index.position[src[0]]]
    else:
        subs = index.tasks[src[0]]["subtasks"]
        subs[:] = [s for s in subs if s is not item]


def _insert_task(tf: TasksFile, task: dict[str, Any], task_id: int) -> None:
    _insert_sorted(tf.tasks, task, task_id)


def _insert_sorted(items: list[dict[str, Any]], item: dict[str, Any], item_id: int) -> None:
    """Insert before the first entry with a larger id, so an ordered list stays ordered."""
    for n, other in enumerate(items):
        other_id = stored_id(other.get("id"))
        if other_id is not None and other_id > item_id:
            items.insert(n, item)
            return
    items.append(item)
