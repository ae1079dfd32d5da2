"""Plan tools: read tasks.json (task-master format) and propose changes to it.

Reading tools answer with task summaries; the changing ones (set status, add a task or a
subtask, update a task) answer with the proposal id of a plan_change approval item. The plan
owner's proposals pass the policy at once, anyone else's wait for a human.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.plan.document import load_tasks
from engine.plan.ops import (
    TaskView,
    list_tasks,
    next_task,
    show_task,
    validate_dependencies,
)
from tools.base import ToolArgs, VibehqTool, clip, listing
from tools.plan_proposals import propose_plan_change

Status = Literal["pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked"]
Priority = Literal["critical", "high", "medium", "low"]
LIST_CAP = 40
SUBTASK_CAP = 20


def _summary(view: TaskView) -> dict[str, Any]:
    out: dict[str, Any] = {"id": view.id, "title": view.title, "status": view.status}
    if view.priority:
        out["priority"] = view.priority
    if view.dependencies:
        out["dependencies"] = view.dependencies
    if view.subtasks:
        done = sum(1 for s in view.subtasks if s.status == "done")
        out["subtasks"] = f"{done}/{len(view.subtasks)} done"
    return out


class _PlanReader(VibehqTool):
    def _tasks(self) -> Any:
        return load_tasks(self.ctx.tasks_path(), tag=self.ctx.settings.plan.tag)


class TasksListArgs(ToolArgs):
    status: str | None = Field(
        None, description="only these statuses, comma-separated (e.g. 'pending,in-progress')"
    )
    ready: bool = Field(False, description="only workable tasks whose dependencies are all done")
    blocking: bool = Field(False, description="only unfinished tasks something depends on")
    limit: int = Field(LIST_CAP, ge=1, le=200)


class TasksListTool(_PlanReader):
    name: str = "tasks_list"
    description: str = (
        "List the top-level tasks of tasks.json: id, title, status, priority, dependencies, "
        "subtask progress. Filter by status, readiness or blocking."
    )
    args_schema: type[ToolArgs] = TasksListArgs

    def invoke(self, args: TasksListArgs) -> dict[str, Any]:
        views = list_tasks(
            self._tasks(), status=args.status, ready=args.ready, blocking=args.blocking
        )
        return listing("tasks", [_summary(v) for v in views], args.limit)


class TaskIdArgs(ToolArgs):
    id: str = Field(description="task id ('25') or subtask id ('25.2')")


class TaskShowTool(_PlanReader):
    name: str = "task_show"
    description: str = (
        "Show one task or subtask: description, details, test strategy, subtasks, and which of "
        "its dependencies are not done yet (what blocks it)."
    )
    args_schema: type[ToolArgs] = TaskIdArgs

    def invoke(self, args: TaskIdArgs) -> dict[str, Any]:
        tf = self._tasks()
        view = show_task(tf, args.id)
        blocked_by = []
        for dep in view.dependencies:
            dep_view = show_task(tf, dep)
            if dep_view.status != "done":
                blocked_by.append({"id": dep, "title": dep_view.title, "status": dep_view.status})
        out = _summary(view)
        out.update(
            description=clip(view.description, 800),
            details=clip(view.details, 1500),
            testStrategy=clip(view.testStrategy, 400),
            blocked_by=blocked_by,
        )
        if view.parent_id:
            out["parent"] = view.parent_id
        out.update(listing("subtask_list", [_summary(s) for s in view.subtasks], SUBTASK_CAP))
        return out


class NoArgs(ToolArgs):
    pass


class TaskNextTool(_PlanReader):
    name: str = "task_next"
    description: str = (
        "The next task to work on, as task-master picks it: subtasks of in-progress tasks "
        "first, then ready tasks, by priority, fewest dependencies, lowest id."
    )
    args_schema: type[ToolArgs] = NoArgs

    def invoke(self, args: NoArgs) -> dict[str, Any]:
        view = next_task(self._tasks())
        return {"next": None if view is None else _summary(view)}


class DepsValidateTool(_PlanReader):
    name: str = "deps_validate"
    description: str = "Check every dependency: dangling, self, duplicate references and cycles."
    args_schema: type[ToolArgs] = NoArgs

    def invoke(self, args: NoArgs) -> dict[str, Any]:
        issues = [
            {"kind": i.kind, "id": i.id, "dependency": i.dependency, "message": i.message}
            for i in validate_dependencies(self._tasks())
        ]
        return listing("issues", issues, LIST_CAP)


class _PlanChanger(VibehqTool):
    changes = True

    def _propose(self, op: str, args: ToolArgs) -> dict[str, Any]:
        request = args.model_dump(exclude_none=True)
        return propose_plan_change(self.ctx, op, request).model_dump(exclude_none=True)


class SetStatusArgs(ToolArgs):
    ids: list[str] = Field(min_length=1, description="task or subtask ids, e.g. ['3', '5.2']")
    status: Status


class TaskSetStatusTool(_PlanChanger):
    name: str = "task_set_status"
    description: str = (
        "Propose setting the status of tasks or subtasks (a task set to done takes its "
        "subtasks with it; a subtask change updates its parent). Returns the proposal id."
    )
    args_schema: type[ToolArgs] = SetStatusArgs

    def invoke(self, args: SetStatusArgs) -> dict[str, Any]:
        return self._propose("set_status", args)


class TaskAddArgs(ToolArgs):
    title: str = Field(min_length=1)
    description: str = ""
    details: str | None = None
    test_strategy: str | None = None
    priority: Priority = "medium"
    dependencies: list[str] = Field(default_factory=list, description="ids it depends on")


class TaskAddTool(_PlanChanger):
    name: str = "task_add"
    description: str = "Propose a new top-level task. Returns the proposal id."
    args_schema: type[ToolArgs] = TaskAddArgs

    def invoke(self, args: TaskAddArgs) -> dict[str, Any]:
        return self._propose("add_task", args)


class SubtaskAddArgs(ToolArgs):
    parent: str = Field(description="the parent task id, e.g. '5'")
    title: str = Field(min_length=1)
    description: str | None = None
    details: str | None = None
    dependencies: list[str] = Field(
        default_factory=list, description="'5.1' for a sibling subtask, '3' for a task"
    )


class SubtaskAddTool(_PlanChanger):
    name: str = "subtask_add"
    description: str = "Propose a new subtask under a task. Returns the proposal id."
    args_schema: type[ToolArgs] = SubtaskAddArgs

    def invoke(self, args: SubtaskAddArgs) -> dict[str, Any]:
        return self._propose("add_subtask", args)


class TaskUpdateArgs(ToolArgs):
    id: str = Field(description="task or subtask id")
    title: str | None = None
    description: str | None = None
    details: str | None = Field(None, description="replaces the details")
    append_details: str | None = Field(None, description="a paragraph added to the details")
    test_strategy: str | None = None
    priority: Priority | None = None


class TaskUpdateTool(_PlanChanger):
    name: str = "task_update"
    description: str = (
        "Propose changing fields of a task or subtask (title, description, details or a "
        "paragraph appended to them, test strategy, priority). Returns the proposal id."
    )
    args_schema: type[ToolArgs] = TaskUpdateArgs

    def invoke(self, args: TaskUpdateArgs) -> dict[str, Any]:
        return self._propose("update_task", args)


PLAN_TOOLS: tuple[type[VibehqTool], ...] = (
    TasksListTool,
    TaskShowTool,
    TaskNextTool,
    TaskSetStatusTool,
    TaskAddTool,
    SubtaskAddTool,
    TaskUpdateTool,
    DepsValidateTool,
)
