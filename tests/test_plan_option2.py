"""Acceptance: the "Option 2: Comprehensive Automation" plan update of
seeds/option2-strategy-and-staging-report.txt, made on the real 35-task plan.

The seed asks for two batching epics (9-11 and 12-15), a P1 epic for the migration script,
task 34 deprecated by it, tasks 24 and 25 rewritten to depend on it, and the series of
`npx task-master-ai` commands that makes the same update. P1 is task-master's `high`
(`critical` is kept for P0 work).
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.plan import ops
from engine.plan.document import PlanError, dump_tasks, editing, load_tasks
from engine.plan.history import emit_commands, plan_changes, record_change
from tests.conftest import TASKS_FIXTURE

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = TASKS_FIXTURE

OPTION2_TITLE = "Epic: Implement Option 2 Migration Automation"
OPTION2_DESCRIPTION = (
    "Create a new manifest-driven Python script (migrate_staging.py) that automates file "
    "copying and import-path fixing, triggers the standardized AI refactoring (D1-to-RPC) by "
    "calling the AIProviderOps RPC entrypoint (Task 19/21), and runs automated validation "
    "(tsc and lint) upon completion."
)
OPTION2_DETAILS = (
    "Adopts Option 2: Comprehensive Automation from staging_migration_report.html.\n"
    "1. migrate_staging.py reads a migration manifest: each STAGING/ source, its target "
    "folder and its import rewrites.\n"
    "2. It copies the files and fixes import paths onto @shared/... deterministically.\n"
    "3. It triggers the standardized D1-to-RPC refactoring through the AIProviderOps RPC "
    "entrypoint (Task 19/21).\n"
    "4. On completion it runs tsc and lint and reports the result."
)
TASK25_DESCRIPTION = (
    "This task is now the primary goal of the 'Implement Option 2' automation script."
)
TASK24_DESCRIPTION = (
    "No longer a manual task: moving the factories onto @shared/contracts (patch schemas, event "
    "types, PatchBatch) is now a goal of the 'Implement Option 2' epic, whose migrate_staging.py "
    "rewrites the imports; this task checks the result."
)
# The tasks the update may touch; every other task must keep its bytes.
TOUCHED = {9, 10, 11, 12, 13, 14, 15, 17, 24, 25, 27, 34}


def task_text(task: dict[str, Any]) -> str:
    return json.dumps(task, indent=2, ensure_ascii=False)


def by_id(tasks: list[dict[str, Any]], task_id: int) -> dict[str, Any]:
    return next(t for t in tasks if t["id"] == task_id)


def apply_option2(path: Path, ledger: Ledger) -> None:
    """The update as an agent makes it: one locked edit and one ledger record per change."""

    def change(fn: Any) -> None:
        with editing(path) as tf:
            made = fn(tf)
        record_change(ledger, made, actor="auto", path=path)

    change(
        lambda tf: ops.create_epic(
            tf, title="Epic: Implement Core Analytics API", merge=["9", "10", "11"]
        )
    )
    change(
        lambda tf: ops.create_epic(
            tf, title="Epic: Implement Ops & Integrations API", merge=["12", "13", "14", "15"]
        )
    )
    change(
        lambda tf: ops.add_task(
            tf,
            title=OPTION2_TITLE,
            description=OPTION2_DESCRIPTION,
            details=OPTION2_DETAILS,
            priority="high",
            dependencies=["1", "3", "19", "21"],
        )
    )
    change(lambda tf: ops.deprecate(tf, "34", by="38"))
    change(lambda tf: ops.update_task(tf, "24", description=TASK24_DESCRIPTION))
    change(lambda tf: ops.add_dependency(tf, "24", "38"))
    change(lambda tf: ops.update_task(tf, "25", description=TASK25_DESCRIPTION))
    change(lambda tf: ops.add_dependency(tf, "25", "38"))


@pytest.fixture
def updated(tmp_path: Path) -> Iterator[tuple[Path, Ledger]]:
    assert FIXTURE.is_file(), f"the real task-master fixture is missing: {FIXTURE}"
    path = tmp_path / "tasks.json"
    shutil.copyfile(FIXTURE, path)
    ledger = Ledger.open(tmp_path / ".vibehq" / "ledger.sqlite")
    try:
        apply_option2(path, ledger)
        yield path, ledger
    finally:
        ledger.close()


def test_option2_update_builds_the_epics(updated: tuple[Path, Ledger]) -> None:
    path, _ = updated
    tf = load_tasks(path)
    tasks = tf.tasks
    assert [t["id"] for t in tasks] == list(range(1, 39))

    analytics, ops_epic, option2 = tasks[35], tasks[36], tasks[37]
    assert (analytics["id"], analytics["title"]) == (36, "Epic: Implement Core Analytics API")
    assert analytics["dependencies"] == [1, 2, 8]
    assert (ops_epic["id"], ops_epic["title"]) == (37, "Epic: Implement Ops & Integrations API")
    assert ops_epic["dependencies"] == [1, 2, 5]
    for line in (
        "- Task 9: Patch Logs API Implementation (status: pending)",
        "- Task 10: Patch Stats API Implementation (status: pending)",
        "- Task 11: Patch Trends API Implementation (status: pending)",
    ):
        assert line in analytics["details"]
    assert (
        "- Task 15: Scheduled Cron Handler Implementation (status: pending)" in ops_epic["details"]
    )

    assert option2["title"] == OPTION2_TITLE
    assert option2["priority"] == "high"
    assert option2["description"] == OPTION2_DESCRIPTION
    for phrase in (
        "manifest-driven Python script (migrate_staging.py)",
        "file copying and import-path fixing",
        "AI refactoring (D1-to-RPC)",
        "AIProviderOps RPC entrypoint (Task 19/21)",
        "automated validation (tsc and lint) upon completion",
    ):
        assert phrase in option2["description"]
    assert option2["dependencies"] == [1, 3, 19, 21]
    assert option2["status"] == "pending"

    for merged, epic in ((9, 36), (10, 36), (11, 36), (12, 37), (13, 37), (14, 37), (15, 37)):
        task = by_id(tasks, merged)
        assert task["status"] == "cancelled"
        assert task["subsumedBy"] == epic
        assert task["details"].endswith(f"Subsumed by Epic #{epic}: {by_id(tasks, epic)['title']}")

    deprecated = by_id(tasks, 34)
    assert deprecated["status"] == "cancelled"
    assert deprecated["deprecatedBy"] == 38
    assert deprecated["details"].endswith(f"Deprecated: superseded by #38 {OPTION2_TITLE}")

    assert by_id(tasks, 24)["description"] == TASK24_DESCRIPTION
    assert by_id(tasks, 24)["dependencies"] == [1, 20, 22, 38]
    assert by_id(tasks, 25)["description"] == TASK25_DESCRIPTION
    assert by_id(tasks, 25)["dependencies"] == [1, 7, 20, 22, 24, 38]
    # Dependents of the merged tasks now wait on the epics, each once.
    assert by_id(tasks, 27)["dependencies"] == [1, 6, 7, 8, 36, 37, 22]
    assert by_id(tasks, 17)["dependencies"] == [1, 37]


def test_option2_plan_is_still_a_valid_task_master_file(updated: tuple[Path, Ledger]) -> None:
    path, _ = updated
    tf = load_tasks(path)
    assert ops.validate_dependencies(tf) == []
    assert dump_tasks(tf) == path.read_bytes()
    assert path.read_bytes().endswith(b"\n") is FIXTURE.read_bytes().endswith(b"\n")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["master"]
    assert data["master"]["metadata"] == json.loads(FIXTURE.read_text())["master"]["metadata"]
    statuses = {t["status"] for t in tf.tasks} | {
        s["status"] for t in tf.tasks for s in t.get("subtasks", [])
    }
    assert statuses <= {"pending", "in-progress", "done", "cancelled"}
    # No task waits on a cancelled one: every reference to 9-15 and 34 was moved.
    cancelled = {t["id"] for t in tf.tasks if t["status"] == "cancelled"}
    for task in tf.tasks:
        if task["status"] != "cancelled":
            assert not cancelled & set(task["dependencies"]), task["id"]
    nxt = ops.next_task(tf)
    assert nxt is not None and nxt.id == "4"


def test_option2_leaves_every_other_task_byte_identical(updated: tuple[Path, Ledger]) -> None:
    path, _ = updated
    before = {t["id"]: task_text(t) for t in load_tasks(FIXTURE).tasks}
    after = {t["id"]: task_text(t) for t in load_tasks(path).tasks}
    changed = {task_id for task_id, text in before.items() if after[task_id] != text}
    assert changed == TOUCHED
    raw = path.read_text(encoding="utf-8")
    for task_id in set(before) - TOUCHED:
        assert before[task_id].replace("\n", "\n      ") in raw


def test_option2_refuses_a_cycle_through_the_new_epic(updated: tuple[Path, Ledger]) -> None:
    path, _ = updated
    raw = path.read_bytes()
    # 30 (linting) waits on 24, which now waits on the epic: the epic cannot wait on 30.
    with (
        pytest.raises(PlanError, match="close the cycle 38 -> 30 -> 24 -> 38"),
        editing(path) as tf,
    ):
        ops.add_dependency(tf, "38", "30")
    assert path.read_bytes() == raw


def test_option2_emits_the_task_master_commands(updated: tuple[Path, Ledger]) -> None:
    path, ledger = updated
    recorded = plan_changes(ledger, path)
    assert [r.change.op for r in recorded] == [
        "create_epic",
        "create_epic",
        "add_task",
        "deprecate",
        "update_task",
        "add_dependency",
        "update_task",
        "add_dependency",
    ]
    assert {r.actor for r in recorded} == {"auto"}
    commands = emit_commands(recorded)
    words = [shlex.split(c) for c in commands]
    assert all(w[:2] == ["npx", "task-master-ai"] for w in words)

    def flags(command: list[str]) -> dict[str, str]:
        return dict(w[2:].split("=", 1) for w in command[3:] if "=" in w)

    add_tasks = [flags(w) for w in words if w[2] == "add-task"]
    assert [(a["title"], a["dependencies"], a["priority"]) for a in add_tasks] == [
        ("Epic: Implement Core Analytics API", "1,2,8", "high"),
        ("Epic: Implement Ops & Integrations API", "1,2,5", "high"),
        (OPTION2_TITLE, "1,3,19,21", "high"),
    ]
    assert add_tasks[2]["description"] == OPTION2_DESCRIPTION
    assert add_tasks[2]["details"] == OPTION2_DETAILS

    for line in (
        "npx task-master-ai set-status --id=9,10,11 --status=cancelled",
        "npx task-master-ai set-status --id=12,13,14,15 --status=cancelled",
        "npx task-master-ai add-dependency --id=27 --depends-on=36",
        "npx task-master-ai remove-dependency --id=27 --depends-on=9",
        "npx task-master-ai remove-dependency --id=27 --depends-on=11",
        "npx task-master-ai add-dependency --id=17 --depends-on=37",
        "npx task-master-ai remove-dependency --id=17 --depends-on=13",
        "npx task-master-ai set-status --id=34 --status=cancelled",
        "npx task-master-ai add-dependency --id=24 --depends-on=38",
        "npx task-master-ai add-dependency --id=25 --depends-on=38",
    ):
        assert line in commands, line

    updates = {flags(w)["id"]: flags(w)["prompt"] for w in words if w[2] == "update-task"}
    assert TASK25_DESCRIPTION in updates["25"]
    assert TASK24_DESCRIPTION in updates["24"]
    assert f"Deprecated: superseded by #38 {OPTION2_TITLE}" in updates["34"]
    assert "Subsumed by Epic #36: Epic: Implement Core Analytics API" in updates["9"]
    # The epic exists before anything is pointed at it, and 34 is retired only after.
    order = [" ".join(w[2:4]) for w in words]
    assert order.index("add-task --title=" + OPTION2_TITLE) < order.index("set-status --id=34")
    assert order.index("set-status --id=34") < order.index("add-dependency --id=24")
