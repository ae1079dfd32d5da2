"""What the plan operations return: a task as a reader sees it, one applied change, one
dependency issue."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["DependencyIssue", "EpicMark", "IssueKind", "PlanChange", "TaskView"]


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


EpicMark = Literal["subsumed", "done", "cancelled"]
