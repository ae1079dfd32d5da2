"""Plan operations: each one's effect, its refusals, and the task-master lines it reports."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.plan import ops
from engine.plan.document import PlanError, TasksFile, load_tasks, save_tasks
from engine.plan.history import emit_commands, plan_changes, record_change
from tests.conftest import TASKS_FIXTURE

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = TASKS_FIXTURE


def task(task_id: int | str, *deps: Any, status: str = "pending", **fields: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "title": fields.pop("title", f"Task {task_id}"),
        "description": fields.pop("description", f"About {task_id}"),
        "status": status,
        "dependencies": list(deps),
        "priority": fields.pop("priority", "medium"),
        **fields,
    }


def sub(sub_id: int, *deps: Any, status: str = "pending", **fields: Any) -> dict[str, Any]:
    return {
        "id": sub_id,
        "title": fields.pop("title", f"Subtask {sub_id}"),
        "dependencies": list(deps),
        "status": status,
        **fields,
    }


def plan(tmp_path: Path, *tasks: dict[str, Any]) -> TasksFile:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"master": {"tasks": list(tasks)}}, indent=2) + "\n")
    return load_tasks(path)


def get(tf: TasksFile, task_id: int, sub_id: int | None = None) -> dict[str, Any]:
    found = next(t for t in tf.tasks if int(t["id"]) == task_id)
    if sub_id is None:
        return found
    return next(s for s in found["subtasks"] if int(s["id"]) == sub_id)


def args(command: str) -> dict[str, str]:
    """The --flag=value pairs of a command line, as the shell would pass them."""
    words = shlex.split(command)
    assert words[:2] == ["npx", "task-master-ai"]
    return dict(w[2:].split("=", 1) for w in words[3:] if w.startswith("--") and "=" in w)


@pytest.fixture
def real(tmp_path: Path) -> TasksFile:
    assert FIXTURE.is_file(), f"the real task-master fixture is missing: {FIXTURE}"
    path = tmp_path / "tasks.json"
    shutil.copyfile(FIXTURE, path)
    return load_tasks(path)


# --- reading ----------------------------------------------------------------------------------


def test_list_filters(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, status="done"),
        task(2, 1, priority="high"),
        task(3, 2),
        task(4, 1, 3, status="in-progress", priority="low"),
        task(5, 9),
    )
    assert [v.id for v in ops.list_tasks(tf)] == ["1", "2", "3", "4", "5"]
    assert [v.id for v in ops.list_tasks(tf, status="pending")] == ["2", "3", "5"]
    assert [v.id for v in ops.list_tasks(tf, status="done,in-progress")] == ["1", "4"]
    assert [v.id for v in ops.list_tasks(tf, priority="high")] == ["2"]
    assert [v.id for v in ops.list_tasks(tf, ready=True)] == ["2"]
    assert [v.id for v in ops.list_tasks(tf, blocking=True)] == ["2", "3"]
    with pytest.raises(PlanError, match="invalid status 'open'"):
        ops.list_tasks(tf, status="open")
    with pytest.raises(PlanError, match="invalid priority 'urgent'"):
        ops.list_tasks(tf, priority="urgent")


def test_show_task_and_subtask_views(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, status="done"),
        task(3, 1, priority="high", subtasks=[sub(1), sub(2, 1), sub(3, "1", "3.2")]),
    )
    view = ops.show_task(tf, "3")
    assert view.dependencies == ["1"]
    assert [s.id for s in view.subtasks] == ["3.1", "3.2", "3.3"]
    assert view.subtasks[1].dependencies == ["3.1"]
    assert view.subtasks[2].dependencies == ["1", "3.2"]
    sub_view = ops.show_task(tf, "3.2")
    assert (sub_view.parent_id, sub_view.priority, sub_view.title) == ("3", "high", "Subtask 2")
    with pytest.raises(PlanError, match="unknown task id 7"):
        ops.show_task(tf, "7")


def test_next_prefers_subtasks_of_in_progress_parents(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, status="done"),
        task(2, priority="critical"),
        task(
            3,
            1,
            status="in-progress",
            priority="low",
            subtasks=[sub(1, status="done"), sub(2, 1), sub(3, 2)],
        ),
    )
    nxt = ops.next_task(tf)
    assert nxt is not None and nxt.id == "3.2"
    assert nxt.priority == "low"
    get(tf, 3, 2)["status"] = "done"
    assert (n := ops.next_task(tf)) is not None and n.id == "3.3"
    get(tf, 3, 3)["status"] = "done"
    assert (n := ops.next_task(tf)) is not None and n.id == "2"


def test_next_ranks_by_priority_then_fewest_dependencies_then_id(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, status="done"),
        task(2, status="done"),
        task(3, 1, 2, priority="high"),
        task(4, 1, priority="high"),
        task(5, priority="medium"),
        task(6, 1, priority="high"),
    )
    assert (n := ops.next_task(tf)) is not None and n.id == "4"
    get(tf, 4)["status"] = "done"
    assert (n := ops.next_task(tf)) is not None and n.id == "6"
    get(tf, 6)["status"] = "done"
    assert (n := ops.next_task(tf)) is not None and n.id == "3"
    get(tf, 3)["status"] = "review"
    assert (n := ops.next_task(tf)) is not None and n.id == "5"


def test_next_is_blocked_forever_by_a_cancelled_dependency(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1, status="cancelled"), task(2, 1, priority="critical"))
    assert ops.next_task(tf) is None
    tf = plan(tmp_path, task(1, status="cancelled"), task(2, 1, priority="critical"), task(3))
    assert (n := ops.next_task(tf)) is not None and n.id == "3"


def test_next_on_the_real_plan(real: TasksFile) -> None:
    nxt = ops.next_task(real)
    assert nxt is not None and nxt.id == "4"


# --- add / update -----------------------------------------------------------------------------


def test_add_task(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(7, 1, subtasks=[sub(1)]))
    change = ops.add_task(
        tf,
        title="Ship it",
        description="Ship the thing's parts",
        details="Line one\nLine two",
        test_strategy="pytest",
        priority="high",
        dependencies=["1", "7.1"],
    )
    new = tf.tasks[-1]
    assert change.ids == ["8"]
    assert list(new) == [
        "id",
        "title",
        "description",
        "details",
        "testStrategy",
        "priority",
        "dependencies",
        "status",
        "subtasks",
    ]
    assert new["id"] == 8 and new["dependencies"] == [1, "7.1"] and new["status"] == "pending"
    (command,) = change.commands
    assert args(command) == {
        "title": "Ship it",
        "description": "Ship the thing's parts",
        "details": "Line one\nLine two",
        "test-strategy": "pytest",
        "dependencies": "1,7.1",
        "priority": "high",
    }
    with pytest.raises(PlanError, match="unknown task id 99"):
        ops.add_task(tf, title="x", description="y", dependencies=["99"])
    with pytest.raises(PlanError, match="invalid priority"):
        ops.add_task(tf, title="x", description="y", priority="P1")
    with pytest.raises(PlanError, match="title is required"):
        ops.add_task(tf, title=" ", description="y")
    assert len(tf.tasks) == 3


def test_update_task_and_subtask(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1, details="First.", subtasks=[sub(1, details="")]))
    change = ops.update_task(tf, "1", description="New words", append_details="Second.")
    assert get(tf, 1)["description"] == "New words"
    assert get(tf, 1)["details"] == "First.\n\nSecond."
    assert args(change.commands[0])["id"] == "1"
    assert "New words" in args(change.commands[0])["prompt"]
    assert change.commands[0].split()[2] == "update-task"

    change = ops.update_task(tf, "1.1", title="Renamed", priority="critical")
    assert get(tf, 1, 1)["title"] == "Renamed"
    assert get(tf, 1, 1)["priority"] == "critical"
    assert change.commands[0].split()[2] == "update-subtask"

    with pytest.raises(PlanError, match="nothing to update"):
        ops.update_task(tf, "1")
    with pytest.raises(PlanError, match="not both"):
        ops.update_task(tf, "1", details="a", append_details="b")
    with pytest.raises(PlanError, match=r"unknown subtask id 1\.5"):
        ops.update_task(tf, "1.5", title="x")
    with pytest.raises(PlanError, match="invalid priority"):
        ops.update_task(tf, "1", priority="P0")


# --- status -----------------------------------------------------------------------------------


def test_set_status_marks_subtasks_done_with_their_parent(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1, subtasks=[sub(1), sub(2, status="done")]), task(2), task(3))
    change = ops.set_status(tf, ["1", "2,3"], "done")
    assert [t["status"] for t in tf.tasks] == ["done", "done", "done"]
    assert [s["status"] for s in get(tf, 1)["subtasks"]] == ["done", "done"]
    assert change.fields["cascaded"] == ["1.1"]
    assert change.commands == ["npx task-master-ai set-status --id=1,2,3 --status=done"]


def test_set_status_refuses_before_changing_anything(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2))
    with pytest.raises(PlanError, match="invalid status 'finished'"):
        ops.set_status(tf, ["1"], "finished")
    with pytest.raises(PlanError, match="unknown task id 5"):
        ops.set_status(tf, ["1", "5"], "done")
    assert [t["status"] for t in tf.tasks] == ["pending", "pending"]
    with pytest.raises(PlanError, match="no task ids"):
        ops.set_status(tf, [], "done")


def test_set_status_cascades_to_the_parent_on_request(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1, subtasks=[sub(1), sub(2)]))
    change = ops.set_status(tf, ["1.1"], "in-progress", cascade_parent=True)
    assert get(tf, 1)["status"] == "in-progress"
    assert change.fields["parents"] == {"1": "in-progress"}
    assert change.commands[-1] == "npx task-master-ai set-status --id=1 --status=in-progress"
    ops.set_status(tf, ["1.1", "1.2"], "done", cascade_parent=True)
    assert get(tf, 1)["status"] == "done"
    ops.set_status(tf, ["1.2"], "review")
    assert get(tf, 1)["status"] == "done", "without cascade_parent the parent is left alone"


# --- dependencies -----------------------------------------------------------------------------


def test_add_and_remove_dependency(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2), task(3, subtasks=[sub(1), sub(2)]))
    change = ops.add_dependency(tf, "2", "1")
    assert get(tf, 2)["dependencies"] == [1]
    assert change.commands == ["npx task-master-ai add-dependency --id=2 --depends-on=1"]
    ops.add_dependency(tf, "3.2", "1")
    ops.add_dependency(tf, "3.2", "3.1")
    # Inside a subtask a bare integer would mean a sibling, so a task is written as a string.
    assert get(tf, 3, 2)["dependencies"] == ["1", "3.1"]
    assert ops.show_task(tf, "3.2").dependencies == ["1", "3.1"]

    change = ops.remove_dependency(tf, "3.2", "3.1")
    assert get(tf, 3, 2)["dependencies"] == ["1"]
    assert change.commands == ["npx task-master-ai remove-dependency --id=3.2 --depends-on=3.1"]
    with pytest.raises(PlanError, match=r"task 3\.2 does not depend on 3\.1"):
        ops.remove_dependency(tf, "3.2", "3.1")
    with pytest.raises(PlanError, match="task 2 does not depend on 3"):
        ops.remove_dependency(tf, "2", "3")


def test_remove_dependency_matches_every_stored_form(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2, 1, "1"), task(3, subtasks=[sub(1), sub(2, 1, "3.1")]))
    ops.remove_dependency(tf, "2", "1")
    assert get(tf, 2)["dependencies"] == []
    ops.remove_dependency(tf, "3.2", "3.1")
    assert get(tf, 3, 2)["dependencies"] == []


def test_add_dependency_refusals(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(25, 34), task(34, 33), task(33), task(3, subtasks=[sub(1)]))
    with pytest.raises(PlanError, match="task 25 cannot depend on itself"):
        ops.add_dependency(tf, "25", "25")
    with pytest.raises(PlanError, match="unknown task id 99"):
        ops.add_dependency(tf, "25", "99")
    with pytest.raises(PlanError, match="unknown task id 98"):
        ops.add_dependency(tf, "98", "25")
    with pytest.raises(PlanError, match="close the cycle 34 -> 25 -> 34"):
        ops.add_dependency(tf, "34", "25")
    with pytest.raises(PlanError, match="close the cycle 33 -> 25 -> 34 -> 33"):
        ops.add_dependency(tf, "33", "25")
    with pytest.raises(PlanError, match="already depends on 34"):
        ops.add_dependency(tf, "25", "34")
    with pytest.raises(PlanError, match="own parent task 3"):
        ops.add_dependency(tf, "3.1", "3")
    assert [t["dependencies"] for t in tf.tasks[:3]] == [[34], [33], []]


def test_validate_and_fix_dependencies(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, 1, 99),
        task(2, 1, "1", 3),
        task(3, 4),
        task(4, 2),
        task(5, "x", subtasks=[sub(1, 2), sub(2, 1), sub(3, 4)]),
    )
    issues = ops.validate_dependencies(tf)
    found = {(i.kind, i.id, i.dependency) for i in issues}
    assert found == {
        ("self", "1", "1"),
        ("dangling", "1", "99"),
        ("duplicate", "2", "1"),
        ("dangling", "5", "x"),
        ("dangling", "5.3", "5.4"),
        ("cycle", "4", "2"),
        ("cycle", "5.2", "5.1"),
    }
    cycle = next(i for i in issues if i.id == "4")
    assert cycle.cycle == ["2", "3", "4", "2"]
    assert "cycle 2 -> 3 -> 4 -> 2" in cycle.message
    dangling = next(i for i in issues if i.id == "5.3")
    assert "sibling subtask" in dangling.message

    change = ops.fix_dependencies(tf)
    assert change.commands == ["npx task-master-ai fix-dependencies"]
    assert len(change.fields["removed"]) == 7
    assert ops.validate_dependencies(tf) == []
    assert get(tf, 1)["dependencies"] == []
    assert get(tf, 2)["dependencies"] == [1, 3]
    assert get(tf, 4)["dependencies"] == []
    assert get(tf, 5, 1)["dependencies"] == [2]
    assert get(tf, 5, 2)["dependencies"] == []
    assert ops.fix_dependencies(tf).summary == "no dependency issues"


def test_real_plan_validates_clean(real: TasksFile) -> None:
    assert ops.validate_dependencies(real) == []


# --- subtasks and removal ---------------------------------------------------------------------


def test_add_subtask(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(3, subtasks=[sub(1), sub(2)]))
    change = ops.add_subtask(
        tf, "3", title="Third", description="d", details="more", dependencies=["3.2", "1"]
    )
    new = get(tf, 3, 3)
    assert change.ids == ["3.3"]
    assert new["dependencies"] == ["3.2", "1"]
    assert list(new) == [
        "id",
        "title",
        "description",
        "dependencies",
        "details",
        "status",
        "testStrategy",
    ]
    assert args(change.commands[0]) == {
        "parent": "3",
        "title": "Third",
        "description": "d",
        "details": "more",
        "dependencies": "3.2,1",
    }
    ops.add_subtask(tf, "1", title="First child")
    assert get(tf, 1)["subtasks"][0]["id"] == 1
    with pytest.raises(PlanError, match="subtasks cannot have subtasks"):
        ops.add_subtask(tf, "3.1", title="x")
    with pytest.raises(PlanError, match="unknown task id 9"):
        ops.add_subtask(tf, "9", title="x")
    with pytest.raises(PlanError, match="own parent"):
        ops.add_subtask(tf, "3", title="x", dependencies=["3"])


def test_remove_subtask_strips_references_in_every_form(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, "3.2"),
        task(3, subtasks=[sub(1), sub(2, 1), sub(3, 2, "3.1"), sub(4, "3.2")]),
    )
    change = ops.remove_subtask(tf, "3.2")
    assert [s["id"] for s in get(tf, 3)["subtasks"]] == [1, 3, 4]
    assert get(tf, 1)["dependencies"] == []
    assert get(tf, 3, 3)["dependencies"] == ["3.1"]
    assert get(tf, 3, 4)["dependencies"] == []
    assert change.fields["strippedFrom"] == ["1", "3.3", "3.4"]
    assert change.commands == ["npx task-master-ai remove-task --id=3.2 -y"]
    assert ops.validate_dependencies(tf) == []
    with pytest.raises(PlanError, match="is a task, not a subtask"):
        ops.remove_subtask(tf, "3")


def test_remove_task_strips_references_to_it_and_its_subtasks(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1),
        task(2, 1, subtasks=[sub(1), sub(2, 1)]),
        task(3, 2, 1, "2.1", subtasks=[sub(1, "2"), sub(2, "2.2", "1")]),
    )
    untouched = json.dumps(get(tf, 1))
    change = ops.remove_task(tf, "2")
    assert [t["id"] for t in tf.tasks] == [1, 3]
    assert get(tf, 3)["dependencies"] == [1]
    assert get(tf, 3, 1)["dependencies"] == []
    assert get(tf, 3, 2)["dependencies"] == ["1"]
    assert json.dumps(get(tf, 1)) == untouched
    assert change.commands == ["npx task-master-ai remove-task --id=2 -y"]
    assert ops.validate_dependencies(tf) == []
    with pytest.raises(PlanError, match="unknown task id 2"):
        ops.remove_task(tf, "2")


# --- move -------------------------------------------------------------------------------------


def test_move_task_to_a_free_id_rewrites_every_reference(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1),
        task(2, 1, subtasks=[sub(1), sub(2, 1), sub(3, "2.2", "1")]),
        task(3, 2, "2.3", subtasks=[sub(1, "2"), sub(2, "2.1")]),
        task(9),
    )
    change = ops.move_task(tf, "2", "7")
    assert [t["id"] for t in tf.tasks] == [1, 3, 7, 9]
    moved = get(tf, 7)
    assert [s["dependencies"] for s in moved["subtasks"]] == [[], [1], ["7.2", "1"]]
    assert get(tf, 3)["dependencies"] == [7, "7.3"]
    assert get(tf, 3, 1)["dependencies"] == ["7"]
    assert get(tf, 3, 2)["dependencies"] == ["7.1"]
    assert change.commands == ["npx task-master-ai move --from=2 --to=7"]
    assert ops.validate_dependencies(tf) == []
    with pytest.raises(PlanError, match="that id is taken"):
        ops.move_task(tf, "7", "9")
    with pytest.raises(PlanError, match="unknown task id 2"):
        ops.move_task(tf, "2", "8")


def test_move_subtask_to_another_parent_keeps_sibling_integers_right(tmp_path: Path) -> None:
    # task-master bug: after a move, plain-integer subtask dependencies named the wrong subtask.
    tf = plan(
        tmp_path,
        task(5, subtasks=[sub(1), sub(2, 1), sub(3, 2)]),
        task(7, subtasks=[sub(1), sub(2, 1)]),
        task(8, "5.2"),
    )
    change = ops.move_task(tf, "5.2", "7.3")
    assert [s["id"] for s in get(tf, 5)["subtasks"]] == [1, 3]
    assert [s["id"] for s in get(tf, 7)["subtasks"]] == [1, 2, 3]
    assert get(tf, 7, 3)["dependencies"] == ["5.1"], "its old sibling is no longer a sibling"
    assert get(tf, 5, 3)["dependencies"] == ["7.3"]
    assert get(tf, 7, 2)["dependencies"] == [1], "untouched sibling integers stay"
    assert get(tf, 8)["dependencies"] == ["7.3"]
    assert change.commands == ["npx task-master-ai move --from=5.2 --to=7.3"]
    assert ops.validate_dependencies(tf) == []
    with pytest.raises(PlanError, match="that id is taken"):
        ops.move_task(tf, "7.3", "7.1")


def test_move_subtask_to_a_task_and_back(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(5, subtasks=[sub(1), sub(2, 1, "1")]), task(6, "5.2"))
    ops.move_task(tf, "5.2", "9")
    promoted = get(tf, 9)
    assert promoted["dependencies"] == ["5.1", "1"]
    assert promoted["priority"] == "medium" and promoted["subtasks"] == []
    assert get(tf, 6)["dependencies"] == ["9"]
    ops.move_task(tf, "9", "5.4")
    assert get(tf, 5, 4)["dependencies"] == ["5.1", "1"]
    assert "subtasks" not in get(tf, 5, 4)
    assert get(tf, 6)["dependencies"] == ["5.4"]
    assert ops.validate_dependencies(tf) == []
    with pytest.raises(PlanError, match="has subtasks"):
        ops.move_task(tf, "5", "6.1")


# --- epics and deprecation --------------------------------------------------------------------


def test_create_epic_absorbs_tasks_and_repoints_dependents(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1, status="done"),
        task(2),
        task(3, 1, subtasks=[sub(1)]),
        task(4, 1, 2, 3),
        task(5, 3, 4, 2, subtasks=[sub(1, "4"), sub(2, "3.1", 1)]),
    )
    change = ops.create_epic(tf, title="Epic: Core", merge=["3", "4"])
    epic = tf.tasks[-1]
    assert epic["id"] == 6
    assert epic["dependencies"] == [1, 2]
    assert "- Task 3: Task 3 (status: pending)" in epic["details"]
    for merged in (3, 4):
        assert get(tf, merged)["status"] == "cancelled"
        assert get(tf, merged)["subsumedBy"] == 6
        assert get(tf, merged)["details"].endswith("Subsumed by Epic #6: Epic: Core")
    assert get(tf, 5)["dependencies"] == [6, 2]
    assert get(tf, 5, 1)["dependencies"] == ["6"]
    assert get(tf, 5, 2)["dependencies"] == ["6", 1]
    assert change.fields["repointed"] == {"5": ["3", "4"], "5.1": ["4"], "5.2": ["3.1"]}
    assert ops.validate_dependencies(tf) == []
    assert ops.next_task(tf) is not None
    lines = change.commands
    assert args(lines[0])["dependencies"] == "1,2"
    assert lines[1] == "npx task-master-ai set-status --id=3,4 --status=cancelled"
    assert "npx task-master-ai add-dependency --id=5 --depends-on=6" in lines
    assert "npx task-master-ai remove-dependency --id=5.2 --depends-on=3.1" in lines


def test_create_epic_marks_done_and_cancelled(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1, subtasks=[sub(1)]), task(2), task(3))
    ops.create_epic(tf, title="E1", merge=["1"], mark="done")
    assert get(tf, 1)["status"] == "done"
    assert get(tf, 1, 1)["status"] == "done"
    assert "subsumedBy" not in get(tf, 1)
    ops.create_epic(tf, title="E2", merge=["2,3"], mark="cancelled", priority="critical")
    assert [get(tf, n)["status"] for n in (2, 3)] == ["cancelled", "cancelled"]
    assert tf.tasks[-1]["priority"] == "critical"
    with pytest.raises(PlanError, match="invalid mark 'dropped'"):
        ops.create_epic(tf, title="E3", merge=["1"], mark="dropped")  # type: ignore[arg-type]


def test_create_epic_refusals(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2, 1), task(3, 2, subtasks=[sub(1)]))
    before = json.dumps(tf.data)
    with pytest.raises(PlanError, match="task 1 is listed twice"):
        ops.create_epic(tf, title="E", merge=["1", "1"])
    with pytest.raises(PlanError, match="unknown task id 9"):
        ops.create_epic(tf, title="E", merge=["1", "9"])
    with pytest.raises(PlanError, match=r"3\.1 is a subtask"):
        ops.create_epic(tf, title="E", merge=["3.1"])
    with pytest.raises(PlanError, match="no tasks to merge"):
        ops.create_epic(tf, title="E", merge=[])
    # 3 depends on 2, which depends on 1: merging 1 and 3 but not 2 would make the epic
    # depend on 2 while 2 depends on the epic.
    with pytest.raises(PlanError, match=r"close the cycle 4 -> 2 -> 4; merge 2 too"):
        ops.create_epic(tf, title="E", merge=["1", "3"])
    assert json.dumps(tf.data) == before


def test_merge_tasks_into_an_existing_task(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2), task(19, 1), task(21, 2, 19), task(26, 21))
    with pytest.raises(PlanError, match="task 19 cannot be merged into itself"):
        ops.merge_tasks(tf, "19", ["21", "19"])
    change = ops.merge_tasks(tf, "19", ["21"])
    assert get(tf, 19)["dependencies"] == [1, 2]
    assert get(tf, 21)["status"] == "cancelled" and get(tf, 21)["subsumedBy"] == 19
    assert get(tf, 26)["dependencies"] == [19]
    assert "npx task-master-ai add-dependency --id=19 --depends-on=2" in change.commands
    assert ops.validate_dependencies(tf) == []


def test_deprecate_repoints_dependents(tmp_path: Path) -> None:
    tf = plan(
        tmp_path,
        task(1),
        task(34, 1, subtasks=[sub(1)]),
        task(35, 34, "34.1"),
        task(38, 34, title="Replacement"),
    )
    change = ops.deprecate(tf, "34", by="38")
    old = get(tf, 34)
    assert old["status"] == "cancelled" and old["deprecatedBy"] == 38
    assert old["details"] == "Deprecated: superseded by #38 Replacement"
    assert get(tf, 35)["dependencies"] == [38]
    assert get(tf, 38)["dependencies"] == [], "the replacement no longer waits on what it replaces"
    assert change.fields["repointed"] == {"35": ["34", "34.1"], "38": ["34"]}
    assert change.commands[:2] == [
        "npx task-master-ai set-status --id=34 --status=cancelled",
        "npx task-master-ai update-task --id=34 --prompt='Append to the details: "
        '"Deprecated: superseded by #38 Replacement".\'',
    ]
    assert "npx task-master-ai add-dependency --id=38 --depends-on=38" not in change.commands
    assert ops.validate_dependencies(tf) == []


def test_deprecate_refusals(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2, 1), task(3, 2), task(4, subtasks=[sub(1)]))
    with pytest.raises(PlanError, match="cannot be deprecated by itself"):
        ops.deprecate(tf, "2", by="2")
    with pytest.raises(PlanError, match="unknown task id 9"):
        ops.deprecate(tf, "2", by="9")
    with pytest.raises(PlanError, match="own subtask"):
        ops.deprecate(tf, "4", by="4.1")
    # 2's dependents (3) would point at 3 itself... through 3 -> 2 -> 1: deprecating 1 by 3
    # makes 2 depend on 3 while 3 depends on 2.
    with pytest.raises(PlanError, match="close the cycle 3 -> 2 -> 3"):
        ops.deprecate(tf, "1", by="3")
    assert get(tf, 1)["status"] == "pending"


# --- history ----------------------------------------------------------------------------------


def test_changes_are_recorded_and_replayed_in_order(tmp_path: Path) -> None:
    tf = plan(tmp_path, task(1), task(2))
    ledger = Ledger.open(tmp_path / ".vibehq" / "ledger.sqlite")
    try:
        first = ops.add_dependency(tf, "2", "1")
        second = ops.set_status(tf, ["1"], "done")
        record_change(ledger, first, actor="auto", path=tf.path)
        record_change(ledger, second, actor="codex", path=tf.path)
        record_change(ledger, second, actor="codex", path=tmp_path / "other.json")
        recorded = plan_changes(ledger, tf.path)
        assert [(r.actor, r.change.op) for r in recorded] == [
            ("auto", "add_dependency"),
            ("codex", "set_status"),
        ]
        assert recorded[0].change == first
        assert recorded[0].path == str(tf.path.resolve())
        assert len(plan_changes(ledger)) == 3
        assert emit_commands(recorded) == [*first.commands, *second.commands]
        assert emit_commands([first]) == first.commands
    finally:
        ledger.close()


# --- tags in commands and scale ---------------------------------------------------------------


def test_commands_name_a_tag_other_than_master(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"feature-x": {"tasks": [task(1), task(2)]}}))
    tf = load_tasks(path)
    change = ops.add_dependency(tf, "2", "1")
    assert change.commands == [
        "npx task-master-ai add-dependency --id=2 --depends-on=1 --tag=feature-x"
    ]


def test_large_plan_operations_stay_correct(tmp_path: Path) -> None:
    """2,000 tasks with 10,000 subtasks (bench/plan.py measures the speed of the same ops)."""
    tasks = []
    for n in range(1, 2001):
        deps = [d for d in (n - 1, n - 7, n - 50) if d > 0]
        subs = [sub(s, *([s - 1] if s > 1 else []), details="x" * 200) for s in range(1, 6)]
        tasks.append(
            task(
                n, *deps, status="done" if n < 100 else "pending", details="y" * 500, subtasks=subs
            )
        )
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"master": {"tasks": tasks}}, indent=2))
    tf = load_tasks(path)
    assert ops.next_task(tf).id == "100"
    assert ops.validate_dependencies(tf) == []
    ops.set_status(tf, ["100"], "done")
    ops.create_epic(tf, title="E", merge=["1999", "2000"])
    save_tasks(tf)
    again = load_tasks(path)
    assert ops.next_task(again).id == "101"
    assert ops.validate_dependencies(again) == []
