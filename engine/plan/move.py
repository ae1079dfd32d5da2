"""Moving a task or subtask to a new id, with every reference rewritten to the new one."""

from __future__ import annotations

from typing import Any

from engine.plan.document import (
    PlanError,
    Ref,
    TaskIndex,
    TasksFile,
    format_ref,
    index_tasks,
    parse_id,
    stored_id,
)
from engine.plan.graph import collect_owners, rewrite_references
from engine.plan.models import PlanChange
from engine.plan.taskmaster import taskmaster_command

__all__ = ["move_task"]


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
    owners = collect_owners(tf)
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
    rewritten = rewrite_references(tf, owners, mapping, new_parent=new_parent)
    shown_src, shown_dst = format_ref(src), format_ref(dst)
    return PlanChange(
        op="move_task",
        ids=[shown_src, shown_dst],
        summary=f"moved {shown_src} to {shown_dst}"
        + (f"; rewrote references in {', '.join(rewritten)}" if rewritten else ""),
        fields={"from": shown_src, "to": shown_dst, "rewritten": rewritten},
        commands=[taskmaster_command(tf, "move", ("from", shown_src), ("to", shown_dst))],
    )


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
