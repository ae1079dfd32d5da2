"""tasks.json on disk: byte-identical round trips, tags and flat files, id forms, atomic saves,
and the lock that keeps concurrent editors from losing each other's updates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import LockTimeout
from engine.plan import ops
from engine.plan.document import (
    PlanError,
    TasksFile,
    dump_tasks,
    editing,
    find_task,
    format_id,
    load_tasks,
    parse_id,
    save_tasks,
)
from tests.conftest import TASKS_FIXTURE

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = TASKS_FIXTURE


@pytest.fixture
def plan_path(tmp_path: Path) -> Path:
    assert FIXTURE.is_file(), f"the real task-master fixture is missing: {FIXTURE}"
    path = tmp_path / "tasks.json"
    shutil.copyfile(FIXTURE, path)
    return path


def write_json(path: Path, data: Any, *, newline: bool = True) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + ("\n" if newline else ""))
    return path


def task_text(task: dict[str, Any]) -> str:
    return json.dumps(task, indent=2, ensure_ascii=False)


def common_prefix(a: bytes, b: bytes) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def by_id(tf: TasksFile, task_id: int | str) -> dict[str, Any]:
    return next(t for t in tf.tasks if str(t["id"]) == str(task_id))


# --- round trips ------------------------------------------------------------------------------


def test_real_fixture_round_trips_byte_identically(plan_path: Path) -> None:
    raw = plan_path.read_bytes()
    tf = load_tasks(plan_path)
    assert tf.tag == "master"
    assert len(tf.tasks) == 35
    assert tf.trailing_newline is raw.endswith(b"\n")
    assert dump_tasks(tf) == raw
    save_tasks(tf)
    assert plan_path.read_bytes() == raw


def test_changing_one_task_leaves_every_other_task_byte_identical(plan_path: Path) -> None:
    before = plan_path.read_bytes()
    original = load_tasks(plan_path)
    old_texts = {t["id"]: task_text(t) for t in original.tasks}
    with editing(plan_path) as tf:
        ops.update_task(tf, "24", description="Now a goal of the Option 2 epic.")
    after = plan_path.read_bytes()
    assert after != before

    reloaded = load_tasks(plan_path)
    for task in reloaded.tasks:
        if task["id"] != 24:
            assert task_text(task) == old_texts[task["id"]], f"task {task['id']} changed"
    assert by_id(reloaded, 24)["description"] == "Now a goal of the Option 2 epic."

    # The bytes differ only inside task 24's span: the serialised task, indented as in the file.
    needle = task_text(by_id(original, 24)).replace("\n", "\n      ").encode()
    start = before.find(needle)
    assert start > 0 and before.count(needle) == 1
    end = start + len(needle)
    assert common_prefix(before, after) >= start
    assert common_prefix(before[::-1], after[::-1]) >= len(before) - end


def test_other_tags_are_kept_byte_identical(tmp_path: Path) -> None:
    feature = {"tasks": [{"id": 1, "title": "Other tag", "status": "pending", "extra": [1, 2]}]}
    data = {
        "master": {"tasks": [{"id": 1, "title": "A", "dependencies": [], "status": "pending"}]},
        "feature": feature,
    }
    path = write_json(tmp_path / "tasks.json", data)
    with editing(path) as tf:
        ops.set_status(tf, ["1"], "done")
    saved = json.loads(path.read_text())
    assert saved["master"]["tasks"][0]["status"] == "done"
    assert saved["feature"] == feature
    assert list(saved) == ["master", "feature"]


def test_flat_form_is_read_and_written_flat(tmp_path: Path) -> None:
    data = {"tasks": [{"id": 1, "title": "A", "dependencies": [], "status": "pending"}]}
    path = write_json(tmp_path / "tasks.json", data)
    tf = load_tasks(path)
    assert tf.tag is None
    ops.add_task(tf, title="B", description="second", dependencies=["1"])
    save_tasks(tf)
    saved = json.loads(path.read_text())
    assert list(saved) == ["tasks"]
    assert [t["id"] for t in saved["tasks"]] == [1, 2]
    assert load_tasks(path, tag="master").tag is None
    with pytest.raises(PlanError, match="unknown tag 'feature'"):
        load_tasks(path, tag="feature")


def test_numeric_and_string_ids_are_written_back_as_they_were(tmp_path: Path) -> None:
    strings = {
        "master": {
            "tasks": [
                {"id": "1", "title": "A", "dependencies": [], "status": "done"},
                {"id": "2", "title": "B", "dependencies": ["1"], "status": "pending"},
            ]
        }
    }
    path = write_json(tmp_path / "strings.json", strings)
    tf = load_tasks(path)
    change = ops.add_task(tf, title="C", description="third", dependencies=["2"])
    save_tasks(tf)
    saved = json.loads(path.read_text())["master"]["tasks"]
    assert change.ids == ["3"]
    assert [t["id"] for t in saved] == ["1", "2", "3"]
    assert saved[1]["dependencies"] == ["1"]
    assert saved[2]["dependencies"] == ["2"]

    numbers = {"master": {"tasks": [{"id": 1, "title": "A", "dependencies": [], "status": "done"}]}}
    path = write_json(tmp_path / "numbers.json", numbers)
    tf = load_tasks(path)
    ops.add_task(tf, title="B", description="second", dependencies=["1"])
    assert tf.tasks[1]["id"] == 2
    assert tf.tasks[1]["dependencies"] == [1]


@pytest.mark.parametrize("newline", [True, False])
def test_trailing_newline_is_kept(tmp_path: Path, newline: bool) -> None:
    data = {"master": {"tasks": [{"id": 1, "title": "A", "status": "pending"}]}}
    path = write_json(tmp_path / "tasks.json", data, newline=newline)
    with editing(path) as tf:
        ops.update_task(tf, "1", title="A2")
    assert path.read_bytes().endswith(b"}\n") is newline
    assert path.read_bytes().endswith(b"}") is not newline


def test_unknown_fields_and_key_order_survive(tmp_path: Path) -> None:
    task = {"status": "pending", "id": 1, "custom": {"z": 1, "a": 2}, "title": "A", "ü": "ä"}
    path = write_json(tmp_path / "tasks.json", {"master": {"tasks": [task], "metadata": {"x": 1}}})
    with editing(path) as tf:
        ops.update_task(tf, "1", title="B")
    saved = json.loads(path.read_text())
    assert list(saved["master"]["tasks"][0]) == ["status", "id", "custom", "title", "ü"]
    assert saved["master"]["tasks"][0]["custom"] == {"z": 1, "a": 2}
    assert saved["master"]["metadata"] == {"x": 1}
    assert "ä" in path.read_text(encoding="utf-8")


# --- bad input --------------------------------------------------------------------------------


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('{\n  "master": {\n    "tasks": [,]\n  }\n}\n')
    with pytest.raises(PlanError) as err:
        load_tasks(path)
    assert f"{path}:3:15: invalid JSON" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("data", "tag", "message"),
    [
        ({"master": {"tasks": [{"title": "no id"}]}}, None, "task #1 ('no id') has no id"),
        ({"master": {"tasks": [{"id": "x"}]}}, None, "not a number"),
        ({"master": {"tasks": [{"id": 1}, {"id": "1"}]}}, None, "appears more than once"),
        ({"a": {"tasks": []}, "b": {"tasks": []}}, None, "several tags"),
        ({"master": {"tasks": []}}, "feature", "unknown tag 'feature'"),
        ({"master": {}}, None, "no tag with a tasks list"),
        ([1, 2], None, "expected a JSON object"),
        ({"master": {"tasks": [{"id": 1, "subtasks": [{"title": "s"}]}]}}, None, "has no id"),
    ],
)
def test_bad_files_are_one_line_plan_errors(
    tmp_path: Path, data: Any, tag: str | None, message: str
) -> None:
    path = write_json(tmp_path / "tasks.json", data)
    with pytest.raises(PlanError, match=r"^[^\n]*$") as err:
        load_tasks(path, tag=tag)
    assert message in str(err.value)


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="tasks file not found"):
        load_tasks(tmp_path / "nope.json")
    with (
        pytest.raises(PlanError, match="tasks file not found"),
        editing(tmp_path / "missing" / "tasks.json"),
    ):
        pytest.fail("the body must not run without a file")
    assert not (tmp_path / "missing").exists()


def test_tag_comes_from_taskmaster_state(tmp_path: Path) -> None:
    folder = tmp_path / ".taskmaster" / "tasks"
    folder.mkdir(parents=True)
    data = {"master": {"tasks": [{"id": 1}]}, "feature": {"tasks": [{"id": 7}]}}
    path = write_json(folder / "tasks.json", data)
    assert load_tasks(path).tag == "master"
    (tmp_path / ".taskmaster" / "state.json").write_text('{"currentTag": "feature"}')
    tf = load_tasks(path)
    assert tf.tag == "feature"
    assert tf.tasks[0]["id"] == 7
    assert load_tasks(path, tag="master").tag == "master"
    (tmp_path / ".taskmaster" / "state.json").write_text('{"currentTag": "gone"}')
    with pytest.raises(PlanError, match=r"state\.json selects tag 'gone'"):
        load_tasks(path)


def test_only_tag_is_chosen_without_master(tmp_path: Path) -> None:
    path = write_json(tmp_path / "tasks.json", {"feature": {"tasks": [{"id": 1}]}})
    assert load_tasks(path).tag == "feature"


# --- ids --------------------------------------------------------------------------------------


def test_parse_and_format_ids() -> None:
    assert parse_id("3") == (3, None)
    assert parse_id("3.1") == (3, 1)
    assert parse_id(" 12 ") == (12, None)
    assert parse_id(4) == (4, None)
    assert format_id(3) == "3"
    assert format_id(3, 1) == "3.1"
    for bad in ("", "a", "3.", "3.1.2", "-1", "1,2"):
        with pytest.raises(PlanError, match="invalid task id"):
            parse_id(bad)


def test_find_task_finds_tasks_and_subtasks(plan_path: Path) -> None:
    tf = load_tasks(plan_path)
    assert find_task(tf, "25")["title"].startswith("Update Factory-to-Orchestrator Calls")
    assert find_task(tf, "3.2") is tf.tasks[2]["subtasks"][1]
    with pytest.raises(PlanError, match="unknown task id 99"):
        find_task(tf, "99")
    with pytest.raises(PlanError, match=r"unknown subtask id 3\.9"):
        find_task(tf, "3.9")


# --- saving and locking -----------------------------------------------------------------------


def test_atomic_save_leaves_no_temp_files_and_keeps_the_mode(plan_path: Path) -> None:
    plan_path.chmod(0o640)
    tf = load_tasks(plan_path)
    ops.set_status(tf, ["4"], "in-progress")
    save_tasks(tf)
    assert sorted(p.name for p in plan_path.parent.iterdir()) == ["tasks.json"]
    assert plan_path.stat().st_mode & 0o777 == 0o640
    assert load_tasks(plan_path).tasks[3]["status"] == "in-progress"


def test_failed_save_keeps_the_old_file(plan_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = plan_path.read_bytes()
    tf = load_tasks(plan_path)
    ops.set_status(tf, ["4"], "done")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        save_tasks(tf)
    assert plan_path.read_bytes() == raw
    assert sorted(p.name for p in plan_path.parent.iterdir()) == ["tasks.json"]


def test_editing_saves_only_a_completed_changed_body(plan_path: Path) -> None:
    raw = plan_path.read_bytes()
    inode = plan_path.stat().st_ino
    with editing(plan_path) as tf:
        ops.show_task(tf, "4")
    assert plan_path.stat().st_ino == inode, "an unchanged plan must not be rewritten"

    with pytest.raises(RuntimeError), editing(plan_path) as tf:
        ops.set_status(tf, ["4"], "done")
        raise RuntimeError("agent crashed mid-edit")
    assert plan_path.read_bytes() == raw

    with pytest.raises(PlanError), editing(plan_path) as tf:
        ops.set_status(tf, ["4"], "done")
        ops.set_status(tf, ["99"], "done")
    assert plan_path.read_bytes() == raw

    with editing(plan_path) as tf:
        ops.set_status(tf, ["4"], "done")
    assert load_tasks(plan_path).tasks[3]["status"] == "done"


def test_editing_rereads_the_file_inside_the_lock(plan_path: Path) -> None:
    entered = threading.Event()
    release = threading.Event()
    seen: dict[str, str] = {}

    def first() -> None:
        with editing(plan_path) as tf:
            entered.set()
            assert release.wait(10)
            by_id(tf, 4)["title"] = "changed by the first editor"

    def second() -> None:
        with editing(plan_path) as tf:
            seen["title"] = by_id(tf, 4)["title"]
            by_id(tf, 5)["title"] = "changed by the second editor"

    one = threading.Thread(target=first)
    one.start()
    assert entered.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.2)
    assert two.is_alive(), "the second editor must wait for the lock"
    release.set()
    one.join(10)
    two.join(10)
    assert seen["title"] == "changed by the first editor"
    tf = load_tasks(plan_path)
    assert by_id(tf, 4)["title"] == "changed by the first editor"
    assert by_id(tf, 5)["title"] == "changed by the second editor"


def test_lock_timeout_is_reported(plan_path: Path) -> None:
    entered = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with editing(plan_path):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert entered.wait(10)
        with (
            pytest.raises(LockTimeout, match=r"tasks\.json\.lock"),
            editing(plan_path, lock_timeout_s=0.1),
        ):
            pytest.fail("the body must not run without the lock")
    finally:
        release.set()
        thread.join(10)


_EDITOR = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.plan.document import editing

    path, task_id, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[4])
    rounds = int(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    for n in range(rounds):
        with editing(path) as tf:
            task = next(t for t in tf.tasks if t["id"] == task_id)
            count = task.get("editCount", 0)
            time.sleep(0.002)
            task["editCount"] = count + 1
            task["details"] += f"\\nedit {n}"
    """
)


def test_two_processes_editing_different_tasks_lose_nothing(plan_path: Path) -> None:
    go = plan_path.parent / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _EDITOR, str(plan_path), task_id, "20", str(go)],
            cwd=REPO_ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for task_id in ("4", "5")
    ]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    tf = load_tasks(plan_path)
    for task_id in (4, 5):
        task = by_id(tf, task_id)
        assert task["editCount"] == 20
        assert [line for line in task["details"].splitlines() if line.startswith("edit ")] == [
            f"edit {n}" for n in range(20)
        ]
