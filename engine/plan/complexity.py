"""task-master's complexity report (`.taskmaster/reports/task-complexity-report.json`).

task-master writes it with tab indentation and adds fields between versions, so the models
accept extra fields and keep them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.plan.document import PlanError, format_ref, parse_id

__all__ = [
    "ComplexityMeta",
    "ComplexityReport",
    "TaskComplexity",
    "complexity_of",
    "load_complexity_report",
]


class ComplexityMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    generatedAt: str | None = None
    tasksAnalyzed: int | None = None
    totalTasks: int | None = None
    analysisCount: int | None = None
    thresholdScore: float | None = None
    projectName: str | None = None
    usedResearch: bool | None = None


class TaskComplexity(BaseModel):
    model_config = ConfigDict(extra="allow")

    taskId: int | str
    taskTitle: str = ""
    complexityScore: int = Field(ge=1, le=10)
    recommendedSubtasks: int = Field(0, ge=0)
    expansionPrompt: str = ""
    reasoning: str = ""


class ComplexityReport(BaseModel):
    model_config = ConfigDict(extra="allow")

    meta: ComplexityMeta = Field(default_factory=ComplexityMeta)
    complexityAnalysis: list[TaskComplexity]


def load_complexity_report(path: Path) -> ComplexityReport:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"complexity report not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read complexity report {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return ComplexityReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PlanError(f"{path}: {where}: {first['msg']}{more}") from None


def complexity_of(report: ComplexityReport, task_id: str | int) -> int | None:
    """The score the report gives a task (`5`, `"5"` or `"5.2"`), or None if it has none."""
    wanted = format_ref(parse_id(task_id))
    for entry in report.complexityAnalysis:
        try:
            entry_id = format_ref(parse_id(entry.taskId))
        except PlanError:
            continue
        if entry_id == wanted:
            return entry.complexityScore
    return None
