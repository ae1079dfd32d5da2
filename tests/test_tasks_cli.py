"""`vibehq tasks ...` on a copy of the real 35-task plan: the Option 2 update end to end,
and every bad input as one line, exit 2, file untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TASKS_FIXTURE

OPTION2_DESCRIPTION = (
    "Create a new manifest-driven Python script (migrate_staging.py). The script automates "
    "file copying and import-path fixing, triggers the standardized AI refactoring (D1-to-RPC) "
    "by calling the AIProviderOps RPC entrypoint (Task 19/21), and runs automated validation "
    "(tsc and lint) upon completion."
)


@pytest.fixture
def plan(ws: Path) -> Path:
    path = ws / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    shutil.copyfile(TASKS_FIXTURE, path)
    return path


def tasks_by_id(path: Path) -> dict[int, dict[str, Any]]:
    return {t["id"]: t for t in json.loads(path.read_text())["master"]["tasks"]}


def test_option2_update_through_the_cli(cli: Any, ws: Path, plan: Path) -> None:
    before = tasks_by_id(plan)
    steps = [
        ("epic", "create", "--title", "Epic: Implement Core Analytics API", "--merge", "9,10,11"),
        (
            "epic",
            "create",
            "--title",
            "Epic: Implement Ops & Integrations API",
            "--merge",
            "12,13,14,15",
        ),
        (
            "add",
            "--title",
            "Epic: Implement Option 2 Migration Automation",
            "--description",
            OPTION2_DESCRIPTION,
            "--priority",
            "high",
            "--dependencies",
            "1,3,19,21",
        ),
    ]
    for step in steps:
        result = cli("tasks", *step, "-w", ws, "--actor", "auto")
        assert result.code == 0, result.err
    epic = max(tasks_by_id(plan))
    more = [
        ("deprecate", "34", "--by", str(epic)),
        (
            "update",
            "24",
            "--description",
            "A goal of the 'Implement Option 2' epic: the "
            "migration script rewrites factory imports to @shared/contracts.",
        ),
        ("dep", "add", "24", str(epic)),
        (
            "update",
            "25",
            "--description",
            "This task is now the primary goal of the 'Implement Option 2' automation script.",
        ),
        ("dep", "add", "25", str(epic)),
    ]
    for step in more:
        result = cli("tasks", *step, "-w", ws, "--actor", "auto")
        assert result.code == 0, result.err
    after = tasks_by_id(plan)
    assert after[34]["status"] == "cancelled" and after[34]["deprecatedBy"] == epic
    assert after[25]["description"].startswith("This task is now the primary goal")
    assert epic in after[24]["dependencies"] and epic in after[25]["dependencies"]
    touched = {9, 10, 11, 12, 13, 14, 15, 24, 25, 34}
    for task_id, task in before.items():
        if task_id not in touched and not any(
            str(d) in {"9", "10", "11", "12", "13", "14", "15", "34"} for d in task["dependencies"]
        ):
            assert after[task_id] == task
    assert cli("tasks", "deps", "validate", "-w", ws).code == 0
    commands = cli("tasks", "emit-commands", "-w", ws).out.splitlines()
    assert any(
        c.startswith("npx task-master-ai add-task") and "Core Analytics API" in c for c in commands
    )
    assert f"npx task-master-ai add-dependency --id=25 --depends-on={epic}" in commands
    assert any("set-status --id=9,10,11 --status=cancelled" in c for c in commands)
    md = ws / "PLAN.md"
    assert cli("tasks", "render", "--markdown", md, "-w", ws).code == 0
    assert "Epic: Implement Option 2 Migration Automation" in md.read_text()
    assert "- [x]" in md.read_text() and "- [ ]" in md.read_text()


def test_read_commands(cli: Any, ws: Path, plan: Path) -> None:
    listed = cli("tasks", "list", "--status", "done", "-w", ws, "--json").json()
    assert listed and all(t["status"] == "done" for t in listed)
    shown = cli("tasks", "show", "3.1", "-w", ws, "--json").json()
    assert shown["title"] == "Implement comprehensive unit test suite"
    nxt = cli("tasks", "next", "-w", ws, "--json").json()
    assert nxt is not None and nxt["status"] in ("pending", "in-progress")
    human = cli("tasks", "show", "3", "-w", ws)
    assert human.code == 0 and "#3 Patch Manager Python Script Implementation" in human.out
    assert "test strategy" in human.out and "3.1 [done]" in human.out
    assert cli("tasks", "next", "-w", ws).code == 0
    assert "Patch Manager" in cli("tasks", "list", "-w", ws).out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("show", "999"), "999"),
        (("set-status", "3", "finished"), "finished"),
        (("dep", "add", "3", "3"), "itself"),
        (("dep", "add", "1", "3"), "cycle"),
        (("epic", "create", "--title", "E", "--merge", "9,9"), "9"),
        (("epic", "create", "--title", "E", "--merge", "9", "--mark", "gone"), "--mark"),
        (("update", "77", "--title", "x"), "77"),
    ],
)
def test_bad_plan_input_is_one_line_exit_2_and_file_untouched(
    cli: Any, ws: Path, plan: Path, args: tuple[str, ...], fragment: str
) -> None:
    before = plan.read_bytes()
    result = cli("tasks", *args, "-w", ws)
    assert result.code == 2, (result.out, result.err)
    assert len(result.err.strip().splitlines()) == 1 and fragment in result.err
    assert plan.read_bytes() == before


def test_malformed_tasks_json(cli: Any, ws: Path, plan: Path) -> None:
    plan.write_text('{"master": {"tasks": [')
    result = cli("tasks", "list", "-w", ws)
    assert result.code == 2 and "tasks.json:1:23: invalid JSON" in result.err
    assert plan.read_text() == '{"master": {"tasks": ['
