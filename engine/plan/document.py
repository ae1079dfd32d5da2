"""A task-master `tasks.json` on disk: read, written back byte-identically, edited under a lock.

The file is kept as the parsed JSON itself (dicts keep their key order), not as models: task-master
adds fields between versions and users add their own, and a round trip must not drop or reorder
any of them. `json.dumps(indent=2, ensure_ascii=False)` is exactly what task-master's
`JSON.stringify(data, null, 2)` writes, so a task nobody touched keeps its bytes.

Ids follow task-master's conventions:

- a task id is a number, stored as a JSON number or a numeric string (its two writers disagree,
  issue #1583), and is written back in the form it had;
- a subtask id is local to its parent and shown as `"3.1"`;
- a dependency is a number or numeric string (a task) or `"3.1"` (a subtask). Inside a subtask,
  a plain integer means a sibling subtask of the same parent, so a subtask that depends on a
  top-level task names it as a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import BadInput
from engine.filelock import exclusive_lock, write_atomic
from engine.inputs import check_path_text, decode_utf8, load_json, read_input

__all__ = [
    "DONE",
    "PRIORITIES",
    "STATUSES",
    "PlanError",
    "Ref",
    "TaskIndex",
    "TasksFile",
    "check_priority",
    "check_status",
    "dump_tasks",
    "editing",
    "encode_dependency",
    "find_task",
    "format_id",
    "format_ref",
    "index_tasks",
    "load_tasks",
    "parse_id",
    "resolve_dependency",
    "save_tasks",
    "stored_id",
]

STATUSES = ("pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked")
PRIORITIES = ("critical", "high", "medium", "low")
DONE = "done"

# (task id, subtask id or None): one task or subtask, whatever form its id was written in.
Ref = tuple[int, int | None]

_ID = re.compile(r"(\d+)(?:\.(\d+))?")


class PlanError(BadInput):
    """A tasks file, id, status or plan change that cannot be accepted as given."""


@dataclass
class TasksFile:
    """One tag of a tasks file, plus everything else in the file so a write keeps it."""

    path: Path
    tag: str | None
    data: dict[str, Any]
    tasks: list[dict[str, Any]]
    trailing_newline: bool

    @property
    def string_ids(self) -> bool:
        """Whether most tasks store their id as a string: new ids follow the file's habit."""
        strings = sum(1 for task in self.tasks if isinstance(task.get("id"), str))
        return strings * 2 > len(self.tasks)


@dataclass
class TaskIndex:
    """Tasks and subtasks by id, built once per operation so nothing scans the list twice."""

    tasks: dict[int, dict[str, Any]]
    subtasks: dict[Ref, dict[str, Any]]
    position: dict[int, int]

    def get(self, ref: Ref) -> dict[str, Any] | None:
        if ref[1] is None:
            return self.tasks.get(ref[0])
        return self.subtasks.get(ref)

    def __contains__(self, ref: Ref) -> bool:
        return self.get(ref) is not None

    def require(self, ref: Ref) -> dict[str, Any]:
        item = self.get(ref)
        if item is None:
            kind = "task" if ref[1] is None else "subtask"
            raise PlanError(f"unknown {kind} id {format_ref(ref)}")
        return item


# --- ids --------------------------------------------------------------------------------------


def parse_id(value: str | int) -> Ref:
    """`"3"` -> `(3, None)`, `"3.1"` -> `(3, 1)`; anything else is a PlanError."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return (value, None)
    match = _ID.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise PlanError(f"invalid task id {value!r}: expected a number like 3 or 3.1 for a subtask")
    sub = match.group(2)
    return (int(match.group(1)), int(sub) if sub is not None else None)


def format_id(task_id: int, subtask_id: int | None = None) -> str:
    return str(task_id) if subtask_id is None else f"{task_id}.{subtask_id}"


def format_ref(ref: Ref) -> str:
    return format_id(ref[0], ref[1])


def stored_id(value: object) -> int | None:
    """The number behind a stored task or subtask id (`3` or `"3"`), or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def resolve_dependency(dep: object, parent: int | None) -> Ref | None:
    """What a stored dependency points at, read from a task (`parent` None) or from a subtask
    of `parent`; None when the value is not an id at all."""
    if isinstance(dep, bool):
        return None
    if isinstance(dep, int):
        if dep < 0:
            return None
        return (parent, dep) if parent is not None else (dep, None)
    if isinstance(dep, str):
        match = _ID.fullmatch(dep.strip())
        if match is None:
            return None
        sub = match.group(2)
        return (int(match.group(1)), int(sub) if sub is not None else None)
    return None


def encode_dependency(ref: Ref, parent: int | None, like: object, string_ids: bool) -> int | str:
    """The stored form of a dependency on `ref` held by a task (`parent` None) or a subtask of
    `parent`, keeping the form of `like` (the value it replaces) where that still means `ref`."""
    task_id, sub_id = ref
    if sub_id is None:
        if parent is not None:
            # Inside a subtask an integer would name a sibling, so a task is always a string.
            return str(task_id)
        if isinstance(like, bool) or like is None:
            return str(task_id) if string_ids else task_id
        return task_id if isinstance(like, int) else str(task_id)
    if parent == task_id and isinstance(like, int) and not isinstance(like, bool):
        return sub_id
    return format_id(task_id, sub_id)


def index_tasks(tf: TasksFile) -> TaskIndex:
    tasks: dict[int, dict[str, Any]] = {}
    subtasks: dict[Ref, dict[str, Any]] = {}
    position: dict[int, int] = {}
    for n, task in enumerate(tf.tasks):
        task_id = stored_id(task.get("id"))
        if task_id is None:
            raise PlanError(f"{tf.path}: task #{n + 1} has no usable id ({task.get('id')!r})")
        if task_id in tasks:
            raise PlanError(f"{tf.path}: task id {task_id} appears more than once")
        tasks[task_id] = task
        position[task_id] = n
        for sub in task.get("subtasks") or ():
            sub_id = stored_id(sub.get("id"))
            if sub_id is None:
                raise PlanError(
                    f"{tf.path}: a subtask of task {task_id} has no usable id ({sub.get('id')!r})"
                )
            if (task_id, sub_id) in subtasks:
                raise PlanError(f"{tf.path}: subtask id {task_id}.{sub_id} appears more than once")
            subtasks[(task_id, sub_id)] = sub
    return TaskIndex(tasks, subtasks, position)


def find_task(tf: TasksFile, id: str) -> dict[str, Any]:
    """The task or subtask dict (live, inside `tf.data`) with this id."""
    return index_tasks(tf).require(parse_id(id))


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise PlanError(f"invalid status {status!r}: expected one of {', '.join(STATUSES)}")
    return status


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise PlanError(f"invalid priority {priority!r}: expected one of {', '.join(PRIORITIES)}")
    return priority


# --- reading ----------------------------------------------------------------------------------


def load_tasks(path: Path, *, tag: str | None = None) -> TasksFile:
    """Read `path`, choosing the tag given, else the one `.taskmaster/state.json` names, else
    `master`, else the only one. The old flat `{"tasks": [...]}` form loads with tag None."""
    check_path_text(str(path), field="tasks file path", error=PlanError)
    try:
        if not path.exists():
            raise PlanError(f"tasks file not found: {path}")
    except OSError as exc:
        raise PlanError(f"cannot read tasks file {path}: {exc.strerror or exc}") from None
    raw = read_input(path, what="tasks file", error=PlanError)
    text = decode_utf8(raw, source=str(path), error=PlanError)
    try:
        data = load_json(text, source=str(path), error=PlanError)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    chosen, tasks = _select_tag(path, data, tag)
    _check_tasks(path, chosen, tasks)
    return TasksFile(
        path=path, tag=chosen, data=data, tasks=tasks, trailing_newline=text.endswith("\n")
    )


def _select_tag(path: Path, data: Any, tag: str | None) -> tuple[str | None, list[dict[str, Any]]]:
    if not isinstance(data, dict):
        raise PlanError(f"{path}: expected a JSON object of tags, got {type(data).__name__}")
    if isinstance(data.get("tasks"), list):
        if tag not in (None, "master"):
            raise PlanError(f"unknown tag {tag!r}: {path} is an untagged (flat) tasks file")
        return None, data["tasks"]
    tags = [k for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("tasks"), list)]
    if not tags:
        raise PlanError(f'{path}: no tag with a tasks list (expected {{"master": {{"tasks"...')
    if tag is None:
        tag = _state_tag(path)
        if tag is not None and tag not in tags:
            raise PlanError(
                f"state.json selects tag {tag!r}, which {path} does not have "
                f"(tags: {', '.join(tags)}); choose one explicitly"
            )
    if tag is None:
        if "master" in tags:
            tag = "master"
        elif len(tags) == 1:
            tag = tags[0]
        else:
            raise PlanError(f"{path} has several tags ({', '.join(tags)}); choose one")
    if tag not in tags:
        raise PlanError(f"unknown tag {tag!r} in {path} (tags: {', '.join(tags)})")
    tasks: list[dict[str, Any]] = data[tag]["tasks"]
    return tag, tasks


def _state_tag(path: Path) -> str | None:
    """The `currentTag` task-master keeps in `.taskmaster/state.json`, if there is one."""
    folder = path.parent
    candidates = [
        folder.parent / ".taskmaster" / "state.json",
        folder / ".taskmaster" / "state.json",
    ]
    if folder.parent.name == ".taskmaster":
        candidates.insert(0, folder.parent / "state.json")
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            state = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlanError(f"{candidate}: unreadable task-master state: {exc}") from None
        current = state.get("currentTag") if isinstance(state, dict) else None
        return current if isinstance(current, str) and current else None
    return None


def _check_tasks(path: Path, tag: str | None, tasks: list[Any]) -> None:
    where = f"{path}" if tag is None else f"{path} [{tag}]"
    seen: set[int] = set()
    for n, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise PlanError(f"{where}: task #{n + 1} is not an object")
        if "id" not in task:
            raise PlanError(f"{where}: task #{n + 1} ({task.get('title', 'untitled')!r}) has no id")
        task_id = stored_id(task["id"])
        if task_id is None:
            raise PlanError(f"{where}: task #{n + 1} has id {task['id']!r}, which is not a number")
        if task_id in seen:
            raise PlanError(f"{where}: task id {task_id} appears more than once")
        seen.add(task_id)
        if not isinstance(task.get("dependencies", []), list):
            raise PlanError(f"{where}: task {task_id}: dependencies is not a list")
        subtasks = task.get("subtasks", [])
        if subtasks is None:
            continue
        if not isinstance(subtasks, list):
            raise PlanError(f"{where}: task {task_id}: subtasks is not a list")
        local: set[int] = set()
        for m, sub in enumerate(subtasks):
            if not isinstance(sub, dict):
                raise PlanError(f"{where}: task {task_id}: subtask #{m + 1} is not an object")
            if "id" not in sub:
                raise PlanError(f"{where}: task {task_id}: subtask #{m + 1} has no id")
            sub_id = stored_id(sub["id"])
            if sub_id is None:
                raise PlanError(
                    f"{where}: task {task_id}: subtask #{m + 1} has id {sub['id']!r}, "
                    "which is not a number"
                )
            if sub_id in local:
                raise PlanError(f"{where}: subtask id {task_id}.{sub_id} appears more than once")
            local.add(sub_id)
            if not isinstance(sub.get("dependencies", []), list):
                raise PlanError(f"{where}: subtask {task_id}.{sub_id}: dependencies is not a list")


# --- writing ----------------------------------------------------------------------------------


def dump_tasks(tf: TasksFile) -> bytes:
    text = json.dumps(tf.data, indent=2, ensure_ascii=False)
    if tf.trailing_newline:
        text += "\n"
    return text.encode("utf-8")


def save_tasks(tf: TasksFile) -> None:
    """Write the whole file atomically: a reader sees the old file or the new one, never half."""
    write_atomic(tf.path, dump_tasks(tf))


@contextmanager
def editing(
    path: Path, *, tag: str | None = None, lock_timeout_s: float = 30
) -> Iterator[TasksFile]:
    """Lock `<path>.lock`, read the file fresh, yield it, and save it if the body finished and
    changed it.

    Reading inside the lock is the point: task-master lost updates from concurrent agents
    (issue #1567) because each wrote back a copy read before another's write landed.
    """
    if not path.is_file():
        raise PlanError(f"tasks file not found: {path}")
    lock_path = path.with_name(path.name + ".lock")
    with exclusive_lock(lock_path, lock_timeout_s):
        tf = load_tasks(path, tag=tag)
        before = dump_tasks(tf)
        yield tf
        after = dump_tasks(tf)
        if after != before:
            write_atomic(tf.path, after)
