"""Operations on a loaded tasks file: the ones task-master offers, plus epics and deprecation.

A changing operation checks everything first and then mutates `tf` in place, so a refused
change leaves the file as it was. It touches only the tasks it has to (an untouched task keeps
its bytes) and returns a `PlanChange`: what changed, and the `npx task-master-ai` command lines
that would make the same change with task-master itself.

This module is the one place callers import the operations from; each idea lives in its own
module: `queries` (reading), `task_ops` (tasks and subtasks), `move`, `dependency_ops`,
`epic_ops` (epics and deprecation), on top of `graph` (the dependency graph), `models`,
`fields` and `taskmaster` (the equivalent command lines).
"""

from __future__ import annotations

from engine.plan.dependency_ops import add_dependency, fix_dependencies, remove_dependency
from engine.plan.epic_ops import create_epic, deprecate, merge_tasks
from engine.plan.models import DependencyIssue, EpicMark, IssueKind, PlanChange, TaskView
from engine.plan.move import move_task
from engine.plan.queries import list_tasks, next_task, show_task, validate_dependencies
from engine.plan.task_ops import (
    add_subtask,
    add_task,
    remove_subtask,
    remove_task,
    set_status,
    update_task,
)
from engine.plan.taskmaster import TASK_MASTER

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
