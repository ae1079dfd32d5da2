"""The one plan-change service on copies of the real 35-task plan: the path and tag it edits,
the lock timeout it honours, the history and emit-commands record it leaves, and the bytes it
leaves alone."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.epic.plan_sync import ACTOR as EPIC_ACTOR
from engine.epic.plan_sync import folder_title, sync_folder_task
from engine.errors import LockTimeout, VibehqError
from engine.filelock import exclusive_lock
from engine.ledger.store import Ledger
from engine.plan.change import change_plan, read_plan, tasks_path
from engine.plan.document import PlanError, TasksFile, find_task
from engine.plan.history import PLAN_CHANGE, plan_changes
from engine.plan.ops import PlanChange, add_task, set_status, update_task
from engine.settings import load_settings
from engine.workspace import Workspace
from tests.conftest import TASKS_FIXTURE

TASKS_REL = ".taskmaster/tasks/tasks.json"


@pytest.fixture
def plan(ws: Path) -> Path:
    path = ws / TASKS_REL
    path.parent.mkdir(parents=True)
    shutil.copyfile(TASKS_FIXTURE, path)
    return path


def settings_file(ws: Path, text: str) -> None:
    (ws / "vibehq.toml").write_text(text, encoding="utf-8")


def with_feature_tag(plan: Path) -> dict[str, Any]:
    """The real plan plus a second tag `feature` holding a copy of its first three tasks."""
    data = json.loads(plan.read_text(encoding="utf-8"))
    data["feature"] = {
        "tasks": json.loads(json.dumps(data["master"]["tasks"][:3])),
        "metadata": {"description": "a feature branch"},
    }
    plan.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def recorded(ws: Path) -> int:
    if not (ws / ".vibehq" / "ledger.sqlite").is_file():
        return 0
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        return len(ledger.events(kind=PLAN_CHANGE))


def outside_task(original: bytes, tag: str, task_id: int) -> tuple[bytes, bytes]:
    """The bytes of the `original` file before and after task `task_id` of `tag`."""
    copy = json.loads(original)
    tasks = copy[tag]["tasks"]
    at = next(n for n, t in enumerate(tasks) if t["id"] == task_id)
    tasks[at] = "@@TASK@@"
    text = json.dumps(copy, indent=2, ensure_ascii=False)
    if original.endswith(b"\n"):
        text += "\n"
    before, after = text.split('"@@TASK@@"')
    return before.encode(), after.encode()


@pytest.fixture
def held_lock(plan: Path) -> Iterator[None]:
    """Another editor holding tasks.json's lock for the length of the test."""
    entered = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with exclusive_lock(plan.with_name(plan.name + ".lock"), 10):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert entered.wait(10)
        yield
    finally:
        release.set()
        thread.join(10)


def test_one_change_is_written_recorded_with_its_actor_and_replayed(
    cli: Any, ws: Path, plan: Path
) -> None:
    original = plan.read_bytes()
    assert outside_task(original, "master", 5) != (original, b"")
    home = Workspace.open(ws)
    result = change_plan(
        home,
        load_settings(ws),
        lambda tf: set_status(tf, ["5"], "in-progress"),
        "auto",
    )

    assert result.written
    assert result.tag == "master"
    assert result.actor == "auto"
    assert result.change.ids == ["5"]
    assert Path(result.path) == plan
    assert find_task(_load(plan), "5")["status"] == "in-progress"
    head, tail = outside_task(original, "master", 5)
    after = plan.read_bytes()
    assert after.startswith(head) and after.endswith(tail), "only task 5's bytes may change"

    with Ledger.open(home.ledger_path) as ledger:
        history = plan_changes(ledger, plan)
    assert [(h.actor, h.change.op, h.change.ids) for h in history] == [
        ("auto", "set_status", ["5"])
    ]
    replay = cli("tasks", "emit-commands", "-w", ws, "--json")
    assert replay.code == 0, replay.err
    assert replay.json() == result.commands
    assert replay.json() == ["npx task-master-ai set-status --id=5 --status=in-progress"]


def test_several_changes_of_one_edit_are_recorded_in_order(ws: Path, plan: Path) -> None:
    def edit(tf: TasksFile) -> list[PlanChange]:
        added = add_task(tf, title="Wire the RPC", description="Orchestrator RPC for D1")
        return [added, set_status(tf, added.ids, "in-progress")]

    home = Workspace.open(ws)
    result = change_plan(home, load_settings(ws), edit, "vibehq-epic")

    new_id = result.changes[0].ids[0]
    assert new_id == "36"
    assert find_task(_load(plan), new_id)["status"] == "in-progress"
    with Ledger.open(home.ledger_path) as ledger:
        history = plan_changes(ledger, plan)
    assert [h.change.op for h in history] == ["add_task", "set_status"]
    assert {h.actor for h in history} == {"vibehq-epic"}


def test_the_configured_tag_is_the_one_changed(ws: Path, plan: Path) -> None:
    data = with_feature_tag(plan)
    original = plan.read_bytes()
    settings_file(ws, '[plan]\ntag = "feature"\n')
    result = change_plan(
        Workspace.open(ws),
        load_settings(ws),
        lambda tf: update_task(tf, "2", title="feature-only title"),
        "auto",
    )

    assert result.tag == "feature"
    after = json.loads(plan.read_text(encoding="utf-8"))
    assert after["master"] == data["master"], "the master tag must not move"
    assert after["feature"]["tasks"][1]["title"] == "feature-only title"
    head, tail = outside_task(original, "feature", 2)
    assert plan.read_bytes().startswith(head) and plan.read_bytes().endswith(tail)


def test_an_explicit_tag_wins_over_the_setting(ws: Path, plan: Path) -> None:
    data = with_feature_tag(plan)
    settings_file(ws, '[plan]\ntag = "feature"\n')
    result = change_plan(
        Workspace.open(ws),
        load_settings(ws),
        lambda tf: set_status(tf, ["3"], "review"),
        "auto",
        tag="master",
    )

    assert result.tag == "master"
    after = json.loads(plan.read_text(encoding="utf-8"))
    assert after["feature"] == data["feature"]
    assert find_task(_load(plan, tag="master"), "3")["status"] == "review"


@pytest.mark.usefixtures("held_lock")
def test_a_held_lock_fails_after_the_configured_timeout_and_writes_nothing(
    ws: Path, plan: Path
) -> None:
    settings_file(ws, "[patch]\nlock_timeout_s = 0.2\n")
    before = plan.read_bytes()
    ran: list[bool] = []

    def edit(tf: TasksFile) -> PlanChange:
        ran.append(True)
        return set_status(tf, ["5"], "done")

    with pytest.raises(LockTimeout) as caught:
        change_plan(Workspace.open(ws), load_settings(ws), edit, "auto")

    message = caught.value.message
    assert isinstance(caught.value, VibehqError)
    assert "\n" not in message
    assert "waited 0.2s" in message and "[patch] lock_timeout_s" in message
    assert str(plan) in message
    assert not ran, "the operation must not run without the lock"
    assert plan.read_bytes() == before
    assert recorded(ws) == 0


def test_an_unknown_id_is_a_typed_error_and_nothing_is_written(ws: Path, plan: Path) -> None:
    before = plan.read_bytes()
    with pytest.raises(PlanError, match="unknown task id 999") as caught:
        change_plan(
            Workspace.open(ws),
            load_settings(ws),
            lambda tf: set_status(tf, ["999"], "done"),
            "auto",
        )
    assert caught.value.exit_code == 2
    assert plan.read_bytes() == before
    assert recorded(ws) == 0


def test_an_edit_that_fails_halfway_writes_and_records_nothing(ws: Path, plan: Path) -> None:
    before = plan.read_bytes()

    def edit(tf: TasksFile) -> list[PlanChange]:
        return [
            add_task(tf, title="Half done", description="added before the failure"),
            set_status(tf, ["999"], "done"),
        ]

    with pytest.raises(PlanError, match="999"):
        change_plan(Workspace.open(ws), load_settings(ws), edit, "auto")
    assert plan.read_bytes() == before
    assert recorded(ws) == 0


def test_an_edit_with_no_change_leaves_the_file_and_history_alone(ws: Path, plan: Path) -> None:
    before = plan.stat().st_mtime_ns, plan.read_bytes()
    result = change_plan(Workspace.open(ws), load_settings(ws), lambda tf: [], "auto")
    assert not result.written and result.changes == []
    assert (plan.stat().st_mtime_ns, plan.read_bytes()) == before
    assert recorded(ws) == 0


def test_a_change_needs_an_actor(ws: Path, plan: Path) -> None:
    before = plan.read_bytes()
    with pytest.raises(PlanError, match="actor"):
        change_plan(
            Workspace.open(ws), load_settings(ws), lambda tf: set_status(tf, ["1"], "done"), " "
        )
    assert plan.read_bytes() == before


def test_the_path_is_the_setting_inside_the_workspace_or_the_file_given(
    ws: Path, plan: Path, tmp_path: Path
) -> None:
    home = Workspace.open(ws)
    settings = load_settings(ws)
    assert tasks_path(home, settings) == home.root / TASKS_REL
    other = tmp_path / "elsewhere" / "tasks.json"
    other.parent.mkdir()
    shutil.copyfile(TASKS_FIXTURE, other)
    assert tasks_path(home, settings, other) == other

    result = change_plan(
        home, settings, lambda tf: set_status(tf, ["7"], "done"), "auto", file=other
    )
    assert Path(result.path) == other
    assert find_task(_load(other), "7")["status"] == "done"
    assert plan.read_bytes() == TASKS_FIXTURE.read_bytes()

    settings_file(ws, '[plan]\ntasks_file = "missing/tasks.json"\n')
    with pytest.raises(PlanError, match="tasks file not found"):
        change_plan(home, load_settings(ws), lambda tf: set_status(tf, ["1"], "done"), "auto")


def test_the_epic_sync_honours_the_workspace_tag(ws: Path, plan: Path) -> None:
    data = with_feature_tag(plan)
    settings_file(ws, '[plan]\ntag = "feature"\n')

    out = sync_folder_task(
        Workspace.open(ws),
        plan,
        "1",
        folder="analytics",
        dest="@shared/workers/analytics",
        where="failed",
        failure="3 new type errors",
        findings=[],
        open_items=[],
    )

    after = json.loads(plan.read_text(encoding="utf-8"))
    assert after["master"] == data["master"], "the epic must edit the configured tag only"
    subs = after["feature"]["tasks"][0]["subtasks"]
    titles = [s["title"] for s in subs]
    assert folder_title("analytics", "@shared/workers/analytics") in titles
    assert out["status"] == "blocked"
    assert len(out["remediation"]) == 1
    with Ledger.open(Workspace.open(ws).ledger_path) as ledger:
        history = plan_changes(ledger, plan)
    assert {h.actor for h in history} == {EPIC_ACTOR}
    assert [h.change.summary for h in history] == out["changes"]

    again = sync_folder_task(
        Workspace.open(ws),
        plan,
        "1",
        folder="analytics",
        dest="@shared/workers/analytics",
        where="failed",
        failure="3 new type errors",
        findings=[],
        open_items=[],
    )
    assert again["changes"] == [], "a re-run with nothing moved changes nothing"
    assert again["subtask"] == out["subtask"] and again["remediation"] == out["remediation"]


def _load(path: Path, *, tag: str | None = None) -> TasksFile:
    from engine.plan.document import load_tasks

    return load_tasks(path, tag=tag)


def test_a_read_sees_the_file_and_tag_a_change_would(ws: Path, plan: Path) -> None:
    with_feature_tag(plan)
    settings_file(ws, '[plan]\ntag = "feature"\n')
    tf = read_plan(Workspace.open(ws), load_settings(ws))
    assert tf.path == plan and tf.tag == "feature" and len(tf.tasks) == 3
