"""The plan as a Markdown document, in the shape of the team's own plan files (core-plan.md):
a summary, one `### Task N: Title` section per task, and a `### To-dos` checklist."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from engine.plan.document import DONE, STATUSES, TasksFile, format_id, resolve_dependency, stored_id

__all__ = ["render_markdown"]

_DATE_KEY = re.compile(r"(?:[a-z]+At|[a-z]+Date|created|updated|due)")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def render_markdown(tf: TasksFile, *, title: str | None = None) -> str:
    lines: list[str] = [f"# {title or 'Task Plan'}", "", "## Summary", ""]
    lines += _summary(tf)
    lines += ["", "## Tasks", ""]
    for task in tf.tasks:
        lines += _task_section(task)
    lines += ["### To-dos", ""]
    for task in tf.tasks:
        box = "x" if _status(task) == DONE else " "
        lines.append(f"- [{box}] Task {_id(task)}: {_line(task.get('title'))}")
    return "\n".join(lines) + "\n"


def _summary(tf: TasksFile) -> list[str]:
    subtasks = sum(len(t.get("subtasks") or ()) for t in tf.tasks)
    counts = Counter(_status(t) for t in tf.tasks)
    order = [s for s in STATUSES if counts[s]] + sorted(s for s in counts if s not in STATUSES)
    done = counts[DONE]
    total = len(tf.tasks)
    share = f" ({done * 100 // total}%)" if total else ""
    lines = [
        f"- **Total Tasks**: {total} main tasks with {subtasks} subtasks",
        f"- **Status**: {', '.join(f'{s} {counts[s]}' for s in order) or 'no tasks'}",
        f"- **Completed**: {done} of {total} main tasks{share}",
    ]
    if tf.tag is not None:
        lines.append(f"- **Tag**: {tf.tag}")
    return lines


def _task_section(task: Mapping[str, Any]) -> list[str]:
    task_id = stored_id(task.get("id"))
    header = [
        f"**Status**: {_status(task)}",
        f"**Priority**: {task.get('priority') or 'medium'}",
        f"**Dependencies**: {_deps(task.get('dependencies'), None)}",
    ]
    for key in ("subsumedBy", "deprecatedBy"):
        if task.get(key) is not None:
            label = "Subsumed by" if key == "subsumedBy" else "Deprecated by"
            header.append(f"**{label}**: Task {task[key]}")
    header += [
        f"**{_date_label(key)}**: {value}"
        for key, value in task.items()
        if _DATE_KEY.fullmatch(key) and isinstance(value, str) and value
    ]
    lines = [f"### Task {_id(task)}: {_line(task.get('title'))}", "", " | ".join(header), ""]
    for label, key in (
        ("", "description"),
        ("Details", "details"),
        ("Test Strategy", "testStrategy"),
    ):
        text = task.get(key)
        if isinstance(text, str) and text.strip():
            if label:
                lines += [f"**{label}**:", ""]
            lines += [text.strip(), ""]
    subtasks = task.get("subtasks") or []
    if subtasks:
        lines += ["**Subtasks**:", ""]
        for sub in subtasks:
            box = "x" if _status(sub) == DONE else " "
            shown = format_id(task_id, stored_id(sub.get("id"))) if task_id is not None else "?"
            deps = _deps(sub.get("dependencies"), task_id)
            after = f"; depends on {deps}" if deps != "none" else ""
            lines.append(f"- [{box}] {shown} {_line(sub.get('title'))} ({_status(sub)}{after})")
        lines.append("")
    return lines


def _deps(deps: Any, parent: int | None) -> str:
    if not deps:
        return "none"
    shown = []
    for dep in deps:
        ref = resolve_dependency(dep, parent)
        shown.append(format_id(ref[0], ref[1]) if ref is not None else str(dep))
    return f"[{', '.join(shown)}]"


def _date_label(key: str) -> str:
    base = key[:-2] if key.endswith("At") else key
    return _CAMEL.sub(" ", base).lower().capitalize()


def _status(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if isinstance(status, str) and status else "pending"


def _id(task: Mapping[str, Any]) -> str:
    return str(task.get("id"))


def _line(text: Any) -> str:
    # A title is one Markdown line; a newline inside one would end the heading early.
    return " ".join(str(text or "untitled").split())
