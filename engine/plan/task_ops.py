"""Adding, updating, re-statusing and removing tasks and subtasks.

Each operation checks everything first and then mutates `tf` in place, so a refused change
leaves the file as it was, and returns a `PlanChange` with the task-master lines that match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.plan.document import (
    DONE,
    PlanError,
    Ref,
    TasksFile,
    check_priority,
    check_status,
    encode_dependency,
    format_id,
    format_ref,
    index_tasks,
    parse_id,
    stored_id,
)
from engine.plan.fields import existing_refs, item_status, required_text, unique, with_paragraph
from engine.plan.graph import collect_owners, rewrite_references, task_family
from engine.plan.models import PlanChange
from engine.plan.taskmaster import add_task_command, taskmaster_command

__all__ = ["add_subtask", "add_task", "remove_subtask", "remove_task", "set_status", "update_task"]


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
    title = required_text(title, "title")
    check_priority(priority)
    index = index_tasks(tf)
    refs = existing_refs(index, dependencies)
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
        commands=[add_task_command(tf, title, description, details, test_strategy, refs, priority)],
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
        changes["title"] = required_text(title, "title")
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
        changes["details"] = with_paragraph(item.get("details"), append_details)
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
        commands=[taskmaster_command(tf, command, ("id", shown), ("prompt", " ".join(prompt)))],
    )


def set_status(
    tf: TasksFile, ids: Sequence[str], status: str, *, cascade_parent: bool = False
) -> PlanChange:
    """Set the status of tasks and subtasks. A task set to done takes its subtasks with it, as in
    task-master; with `cascade_parent`, a subtask change recomputes its parent (all subtasks
    done: done; any in progress: in-progress)."""
    check_status(status)
    refs = unique(parse_id(part) for raw in ids for part in raw.split(",") if part.strip())
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
        for parent_id in unique(ref[0] for ref in refs if ref[1] is not None):
            parent = index.tasks[parent_id]
            subs = parent.get("subtasks") or []
            derived: str | None = None
            if subs and all(item_status(s) == DONE for s in subs):
                derived = DONE
            elif any(item_status(s) == "in-progress" for s in subs):
                derived = "in-progress"
            if derived is not None and item_status(parent) != derived:
                parent["status"] = derived
                parents[str(parent_id)] = derived
    shown = [format_ref(r) for r in refs]
    commands = [taskmaster_command(tf, "set-status", ("id", ",".join(shown)), ("status", status))]
    for derived in unique(parents.values()):
        group = [p for p, s in parents.items() if s == derived]
        commands.append(
            taskmaster_command(tf, "set-status", ("id", ",".join(group)), ("status", derived))
        )
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
    title = required_text(title, "title")
    index = index_tasks(tf)
    task = index.require(parent_ref)
    refs = existing_refs(index, dependencies)
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
        commands=[taskmaster_command(tf, "add-subtask", *flags)],
    )


def remove_subtask(tf: TasksFile, id: str) -> PlanChange:
    ref = parse_id(id)
    if ref[1] is None:
        raise PlanError(f"{ref[0]} is a task, not a subtask (subtask ids look like {ref[0]}.1)")
    index = index_tasks(tf)
    sub = index.require(ref)
    owners = collect_owners(tf)
    subs = index.tasks[ref[0]]["subtasks"]
    subs[:] = [s for s in subs if s is not sub]
    stripped = rewrite_references(tf, owners, {ref: None}, skip={ref})
    return _removal(tf, "remove_subtask", ref, sub, stripped)


def remove_task(tf: TasksFile, id: str) -> PlanChange:
    """Remove a task (or a subtask) and every reference to it, or to its subtasks, elsewhere."""
    ref = parse_id(id)
    if ref[1] is not None:
        return remove_subtask(tf, id)
    index = index_tasks(tf)
    task = index.require(ref)
    owners = collect_owners(tf)
    family = task_family(index, ref)
    del tf.tasks[index.position[ref[0]]]
    stripped = rewrite_references(tf, owners, dict.fromkeys(family), skip=set(family))
    return _removal(tf, "remove_task", ref, task, stripped)


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
        commands=[taskmaster_command(tf, "remove-task", ("id", shown), "-y")],
    )
