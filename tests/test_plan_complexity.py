"""task-master's complexity report: the tab-indented file it writes, scores by task id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.plan.complexity import complexity_of, load_complexity_report
from engine.plan.document import PlanError


def sample() -> dict[str, Any]:
    return {
        "meta": {
            "generatedAt": "2025-11-06T18:42:10.118Z",
            "tasksAnalyzed": 3,
            "totalTasks": 35,
            "analysisCount": 3,
            "thresholdScore": 5,
            "projectName": "Taskmaster",
            "usedResearch": False,
        },
        "complexityAnalysis": [
            {
                "taskId": 24,
                "taskTitle": "Update Factories to Use Shared Contracts",
                "complexityScore": 6,
                "recommendedSubtasks": 3,
                "expansionPrompt": "Break down the factory updates by factory worker.",
                "reasoning": "Touches every factory, but each change is mechanical.",
            },
            {
                "taskId": 25,
                "taskTitle": "Update Factory-to-Orchestrator Calls with PatchBatch Requests",
                "complexityScore": 8,
                "recommendedSubtasks": 4,
                "expansionPrompt": "Split into request models, RPC path, HTTP fallback, events.",
                "reasoning": "Replaces direct writes with RPC calls across services.",
                "reviewedBy": "auto",
            },
            {
                "taskId": "3.2",
                "taskTitle": "Bash wrapper",
                "complexityScore": 3,
                "recommendedSubtasks": 0,
                "expansionPrompt": "",
                "reasoning": "Small script.",
            },
        ],
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "task-complexity-report.json"
    # task-master writes this report with tabs.
    path.write_text(json.dumps(data, indent="\t") + "\n", encoding="utf-8")
    return path


def test_loads_a_tab_indented_report(tmp_path: Path) -> None:
    path = write(tmp_path, sample())
    assert '\n\t"meta"' in path.read_text()
    report = load_complexity_report(path)
    assert report.meta.projectName == "Taskmaster"
    assert report.meta.thresholdScore == 5
    assert report.meta.usedResearch is False
    assert [a.taskId for a in report.complexityAnalysis] == [24, 25, "3.2"]
    assert report.complexityAnalysis[1].recommendedSubtasks == 4
    assert report.complexityAnalysis[1].model_extra == {"reviewedBy": "auto"}


def test_complexity_of_a_task(tmp_path: Path) -> None:
    report = load_complexity_report(write(tmp_path, sample()))
    assert complexity_of(report, "25") == 8
    assert complexity_of(report, 24) == 6
    assert complexity_of(report, "3.2") == 3
    assert complexity_of(report, "26") is None


def test_extra_meta_fields_are_kept(tmp_path: Path) -> None:
    data = sample()
    data["meta"]["tag"] = "master"
    report = load_complexity_report(write(tmp_path, data))
    assert report.meta.model_extra == {"tag": "master"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["complexityAnalysis"][0].update(complexityScore=11), "complexityScore"),
        (lambda d: d["complexityAnalysis"][1].update(complexityScore=0), "complexityAnalysis.1"),
        (lambda d: d["complexityAnalysis"][0].pop("taskId"), "taskId: Field required"),
        (lambda d: d.pop("complexityAnalysis"), "complexityAnalysis: Field required"),
        (
            lambda d: d["complexityAnalysis"][2].update(recommendedSubtasks=-1),
            "recommendedSubtasks",
        ),
    ],
)
def test_malformed_reports_are_plan_errors(tmp_path: Path, mutate: Any, message: str) -> None:
    data = sample()
    mutate(data)
    with pytest.raises(PlanError) as err:
        load_complexity_report(write(tmp_path, data))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_broken_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "task-complexity-report.json"
    path.write_text('{\n\t"meta": {\n\t\t"x": }\n}')
    with pytest.raises(PlanError, match=r"task-complexity-report\.json:3:\d+: invalid JSON"):
        load_complexity_report(path)
    with pytest.raises(PlanError, match="complexity report not found"):
        load_complexity_report(tmp_path / "missing.json")
