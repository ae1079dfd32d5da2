"""The `npx task-master-ai` command lines that make the same change as an operation, so a
change made here can be replayed with task-master itself."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from engine.plan.document import (
    Ref,
    TasksFile,
    format_ref,
)

__all__ = ["TASK_MASTER", "add_task_command", "taskmaster_command"]

TASK_MASTER = "npx task-master-ai"


def taskmaster_command(tf: TasksFile, name: str, *flags: tuple[str, str] | str) -> str:
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


def add_task_command(
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
    return taskmaster_command(tf, "add-task", *flags)
