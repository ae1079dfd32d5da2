"""The six symlink escapes of issue 17: each is refused, or written around, and nothing lands
outside the workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.epic.spec import load_epic
from engine.errors import UnsafePath
from engine.workspace import Workspace
from tests.conftest import TASKS_FIXTURE, batch_file, snapshot, write


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


def test_a_symlink_at_the_old_predictable_temp_name_is_never_written_through(
    cli: Any, ws: Path, tmp_path: Path, outside: Path
) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    (outside / "loot.ts").write_text("untouched\n")
    (ws / "src/.a.ts.vh-esc.tmp").symlink_to(outside / "loot.ts")
    path = batch_file(
        tmp_path, [{"op": "append", "file": "src/a.ts", "block": "// new"}], batchId="esc"
    )

    assert cli("patch", "apply", path, "-w", ws).code == 0
    assert (outside / "loot.ts").read_text() == "untouched\n"
    target = ws / "src/a.ts"
    assert not target.is_symlink() and target.read_text().endswith("// new\n")


def test_a_symlink_at_the_old_restore_temp_name_is_never_written_through(
    cli: Any, ws: Path, tmp_path: Path, outside: Path
) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    (outside / "loot.ts").write_text("untouched\n")
    path = batch_file(
        tmp_path, [{"op": "append", "file": "src/a.ts", "block": "// new"}], batchId="esc"
    )
    assert cli("patch", "apply", path, "-w", ws).code == 0
    (ws / "src/.a.ts.vh-restore.tmp").symlink_to(outside / "loot.ts")

    assert cli("patch", "rollback", "esc", "-w", ws).code == 0
    assert (outside / "loot.ts").read_text() == "untouched\n"
    target = ws / "src/a.ts"
    assert not target.is_symlink() and target.read_text() == "export const a = 1;\n"


@pytest.mark.parametrize("link", [".vibehq", ".vibehq/journal", ".vibehq/tmp", ".vibehq/lock"])
def test_a_symlinked_state_folder_is_refused_with_nothing_written(
    cli: Any, ws: Path, tmp_path: Path, outside: Path, link: str
) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    if link != ".vibehq":
        (ws / ".vibehq").mkdir()
    (ws / link).symlink_to(outside, target_is_directory=True)
    before = snapshot(ws)
    path = batch_file(tmp_path, [{"op": "append", "file": "src/a.ts", "block": "// new"}])

    result = cli("patch", "apply", path, "-w", ws)
    assert result.code == 2
    assert "is a symlink" in result.err and len(result.err.strip().splitlines()) == 1
    assert snapshot(ws) == before
    assert list(outside.iterdir()) == []


def test_a_symlinked_tasks_lock_is_refused_and_its_target_never_created(
    cli: Any, ws: Path, outside: Path
) -> None:
    plan = ws / ".taskmaster" / "tasks" / "tasks.json"
    plan.parent.mkdir(parents=True)
    shutil.copy(TASKS_FIXTURE, plan)
    original = plan.read_bytes()
    plan.with_name("tasks.json.lock").symlink_to(outside / "created-by-lock")

    result = cli("tasks", "set-status", "3", "done", "-w", ws)
    assert result.code == 2 and "is a symlink" in result.err
    assert not (outside / "created-by-lock").exists()
    assert plan.read_bytes() == original


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_an_epic_spec_field_outside_the_workspace_is_refused(
    ws: Path, outside: Path, where: str
) -> None:
    spec = outside / "epic.yaml"
    spec.write_text("name: stolen\nmanifest: m.yaml\n")
    if where == "symlink":
        (ws / "epics").symlink_to(outside, target_is_directory=True)
    field = {"absolute": str(spec), "dotdot": "../outside/epic.yaml", "symlink": "epics/epic.yaml"}
    tasks_path = ws / "tasks.json"
    tasks_path.write_text(
        json.dumps(
            {"tasks": [{"id": 7, "title": "epic", "status": "pending", "epicSpec": field[where]}]}
        )
    )
    with pytest.raises(UnsafePath):
        load_epic("7", Workspace.open(ws), tasks_path)
