"""Renamed options and commands: the new name works, the old one is a hidden alias that
still works, and a choice flag refuses a value outside its choices in one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TASKS_FIXTURE, batch_file, write

TASKS_REL = Path(".taskmaster/tasks/tasks.json")


def plan_copy(root: Path) -> Path:
    path = root / TASKS_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TASKS_FIXTURE, path)
    return path


def tasks_of(path: Path) -> dict[int, dict[str, Any]]:
    return {t["id"]: t for t in json.loads(path.read_text())["master"]["tasks"]}


def test_tasks_merge_and_its_old_name_make_the_same_plan(cli: Any, tmp_path: Path) -> None:
    new, old = tmp_path / "new", tmp_path / "old"
    new_plan, old_plan = plan_copy(new), plan_copy(old)
    merged = cli("tasks", "merge", "9,10,11", "--title", "Epic: API", "--mark", "done", "-w", new)
    assert merged.code == 0, merged.err
    legacy = cli(
        "tasks", "epic", "create", "--title", "Epic: API", "--merge", "9,10,11",
        "--mark", "done", "-w", old,
    )  # fmt: skip
    assert legacy.code == 0, legacy.err
    after = tasks_of(new_plan)
    assert after == tasks_of(old_plan)
    epic = max(after)
    assert after[epic]["title"] == "Epic: API"
    assert {after[n]["status"] for n in (9, 10, 11)} == {"done"}


def test_the_old_tasks_epic_group_is_hidden(cli: Any) -> None:
    listing = cli("tasks", "--help").out
    assert "merge" in listing
    assert "epic" not in [line.split()[0] for line in listing.splitlines() if line.strip()]


@pytest.mark.parametrize("flag", ["--into", "--by"])
def test_deprecate_takes_its_successor_as_into_or_the_old_by(cli: Any, ws: Path, flag: str) -> None:
    plan = plan_copy(ws)
    done = cli("tasks", "deprecate", "34", flag, "35", "-w", ws)
    assert done.code == 0, done.err
    assert tasks_of(plan)[34]["deprecatedBy"] == 35
    assert "--by" not in cli("tasks", "deprecate", "--help").out


def test_deprecate_without_a_successor_is_one_line_exit_2(cli: Any, ws: Path) -> None:
    plan = plan_copy(ws)
    before = plan.read_bytes()
    result = cli("tasks", "deprecate", "34", "-w", ws)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "--into" in result.err
    assert plan.read_bytes() == before


@pytest.mark.parametrize("flag", ["--approver", "--by"])
def test_the_approver_is_named_by_approver_or_the_old_by(
    cli: Any, ws: Path, tmp_path: Path, flag: str
) -> None:
    write(ws, "src/x.ts", "export const x = 1;\n")
    code = batch_file(
        tmp_path, [{"op": "append", "file": "src/x.ts", "block": "export const y = 2;"}]
    )
    item = cli("approvals", "submit", code, "-w", ws, "--json").json()
    rejected = cli("approvals", "reject", str(item["id"]), "--reason", "no", flag, "bob", "-w", ws)
    assert rejected.code == 0, rejected.err
    shown = cli("approvals", "show", str(item["id"]), "-w", ws, "--json").json()
    assert shown["decision"]["by"] == "bob"


def test_approver_and_by_that_disagree_are_refused(cli: Any, ws: Path) -> None:
    result = cli(
        "approvals", "reject", "1", "--reason", "no", "--approver", "a", "--by", "b", "-w", ws
    )
    assert result.code == 2 and result.err.count("\n") == 1
    assert "--approver" in result.err


@pytest.mark.parametrize("flag", ["--group-by", "--by"])
def test_trends_are_grouped_by_group_by_or_the_old_by(
    cli: Any, ws: Path, tmp_path: Path, flag: str
) -> None:
    write(ws, "a.ts", "x\n")
    for task in ("7", "8"):
        path = batch_file(
            tmp_path, [{"op": "append", "file": "a.ts", "block": f"// {task}", "taskId": task}]
        )
        assert cli("patch", "apply", path, "-w", ws).code == 0
    rows = cli("report", "patches", "trends", flag, "task", "-w", ws, "--json").json()
    assert sorted(row["key"] for row in rows) == ["7", "8"]


@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "apply", "m.yaml", "--on-conflict", "merge"],
        ["report", "patches", "logs", "--order", "sideways"],
        ["report", "patches", "trends", "--group-by", "daily"],
        ["approvals", "list", "--state", "maybe"],
        ["queue", "list", "--status", "later"],
        ["tasks", "merge", "1,2", "--title", "T", "--mark", "gone"],
        ["epic", "report", "epic-x", "--format", "pdf"],
    ],
)
def test_a_value_outside_a_choice_is_one_line_exit_2(cli: Any, ws: Path, args: list[str]) -> None:
    result = cli(*args, "-w", ws)
    assert result.code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert "is not one of" in result.err
