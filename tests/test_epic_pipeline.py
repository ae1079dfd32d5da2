"""The epic's pipeline: a folder's gate starts while the next folders are computed, its verdict
is still recorded in folder order, and the overlays that only in-process code reads are hard
links that nothing writes through."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.epic.changeset import Changeset, overlay
from engine.epic.models import EpicEvent, EpicOptions
from engine.epic.runner import EpicRunner
from engine.epic.spec import load_epic
from engine.patch.validation import ValidationResult
from engine.settings import load_settings
from engine.workspace import STATE_DIR, Workspace
from tests.conftest import TASKS_REL
from tests.test_epic import NoBunSqlite, spec_file

# Generous: each wait ends as soon as the other thread gets there; the limit only keeps a
# regression (a gate that never starts early) from hanging the suite.
WAIT_S = 60.0


def _runner(
    root: Path,
    spec: Path,
    validator: NoBunSqlite,
    emit: Callable[[EpicEvent], None] | None = None,
    jobs: int = 2,
) -> EpicRunner:
    ws = Workspace.open(root)
    settings = load_settings(root)
    loaded, label = load_epic(str(spec), ws, root / TASKS_REL)
    run = EpicRunner.create(
        ws, settings, loaded, source=label, options=EpicOptions(), tasks_path=root / TASKS_REL
    )
    return EpicRunner(
        ws,
        settings,
        EpicRunner.load(ws, run.run_id),
        tasks_path=root / TASKS_REL,
        validator=validator,
        emit=emit,
        jobs=jobs,
    )


class OrderedGates(NoBunSqlite):
    """d1-notes' check starts, then waits for logger's: logger's gate finishes first."""

    def __init__(self) -> None:
        super().__init__()
        self.d1_started = threading.Event()
        self.logger_checked = threading.Event()
        self.d1_waited = False

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        # logger's check also lists d1-notes' files: its overlay holds them.
        if any(f.startswith("apps/logger/") for f in changed_files):
            self.logger_checked.set()
        elif any(f.startswith("apps/d1-notes/") for f in changed_files):
            self.d1_started.set()
            self.d1_waited = self.logger_checked.wait(WAIT_S)
        return super().validate(staging_root, changed_files)


def test_a_folders_gate_starts_before_the_next_folder_is_refactored_and_is_recorded_first(
    tmp_path: Path, epic_ws: Path
) -> None:
    validator = OrderedGates()
    events: list[EpicEvent] = []
    gate_before_refactor: list[bool] = []

    def emit(event: EpicEvent) -> None:
        events.append(event)
        if (event.folder, event.step, event.status) == ("logger", "refactor", "running"):
            # The main thread holds logger's refactor until d1-notes' gate is checking.
            gate_before_refactor.append(validator.d1_started.wait(WAIT_S))

    runner = _runner(epic_ws, spec_file(tmp_path, "d1-notes", "logger"), validator, emit)
    runner.prepare()

    assert gate_before_refactor == [True]
    # logger's gate finished first; the verdicts are still recorded in folder order.
    assert validator.d1_waited
    gates = [(e.folder, e.status) for e in events if e.kind == "step" and e.step == "gate"]
    assert gates == [
        ("d1-notes", "running"),
        ("d1-notes", "done"),
        ("logger", "running"),
        ("logger", "done"),
    ]
    for folder in ("d1-notes", "logger"):
        record = runner.run.step(folder, "gate")
        assert record is not None and record.status == "done" and record.data["ok"]
    # The step rows say the same: logger's gate row was begun after d1-notes' was finished.
    d1, logger = runner.run.step("d1-notes", "gate"), runner.run.step("logger", "gate")
    assert d1 is not None and logger is not None
    assert d1.finished_at is not None and logger.started_at >= d1.finished_at


def _files(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every regular file outside the state folder: its bytes, inode and mtime."""
    out: dict[str, tuple[bytes, int, int]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in (STATE_DIR, "node_modules") or path.is_symlink():
            continue
        if path.is_file():
            st = path.stat()
            out[rel] = (path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return out


def test_an_epic_run_on_linked_overlays_writes_nothing_through_a_link(
    tmp_path: Path, epic_ws: Path
) -> None:
    # Both folders edit the shared orchestrator index: logger's overlays hold d1-notes' edit
    # of it, written over a hard link to the workspace's index.
    runner = _runner(epic_ws, spec_file(tmp_path, "d1-notes", "logger"), NoBunSqlite())
    # After the run is created (it adds the epic's task to the plan), before any folder.
    before = _files(epic_ws)
    runner.prepare()
    runner.decide()

    folders = epic_ws / STATE_DIR / "runs" / runner.run.run_id / "folders"
    recipes = Changeset.load(folders / "logger" / "recipes")
    assert "orchestrator/worker/entrypoints/index.ts" in recipes.paths
    after = _files(epic_ws)
    assert after.keys() == before.keys()
    for rel, (content, inode, mtime) in before.items():
        assert after[rel] == (content, inode, mtime), rel
    # No linked tree is left behind in the workspace's temp folder.
    assert [p.name for p in (epic_ws / STATE_DIR / "tmp").iterdir()] == []


def test_a_linked_overlay_shares_unchanged_files_and_writes_changes_to_new_files(
    epic_ws: Path,
) -> None:
    ws = Workspace.open(epic_ws)
    index = "orchestrator/worker/entrypoints/index.ts"
    original = (epic_ws / index).read_bytes()
    changes = Changeset()
    changes.record(index, original, original + b"// changed\n")
    with overlay(ws, [changes], link=True) as ovl:
        assert ovl.root.parent == epic_ws / STATE_DIR / "tmp"
        assert os.path.samefile(ovl.root / "package.json", epic_ws / "package.json")
        assert not os.path.samefile(ovl.root / index, epic_ws / index)
        assert (ovl.root / index).read_bytes().endswith(b"// changed\n")
        assert not (ovl.root / STATE_DIR).exists()
    assert (epic_ws / index).read_bytes() == original
    with overlay(ws, [changes]) as copied:
        assert not os.path.samefile(copied.root / "package.json", epic_ws / "package.json")


def test_a_folder_with_no_needs_model_items_builds_no_overlay_for_them(
    tmp_path: Path, epic_ws: Path
) -> None:
    # A layer that no overlay can hold (a file written over a folder): building one fails.
    runner = _runner(epic_ws, spec_file(tmp_path, "logger"), NoBunSqlite())
    unbuildable = Changeset(new={"apps": b"x"}, base={"apps": None})
    model, data = runner._model_work(runner.jobs[0], [unbuildable], [])
    assert not model
    assert data == {"items": [], "model_answers": 0, "model_proposals": [], "unanswered": []}


class TreeRecorder(NoBunSqlite):
    """Records the tree each gate's check ran on: its root, its files then, and whether its
    package.json is the workspace's own file (a hard link)."""

    def __init__(self, ws: Path) -> None:
        super().__init__()
        self.ws = ws
        self.seen: list[tuple[Path, dict[str, bytes], bool]] = []

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        files = {
            p.relative_to(staging_root).as_posix(): p.read_bytes()
            for p in (staging_root / "apps").rglob("*")
            if p.is_file() and "node_modules" not in p.parts
        }
        linked = os.path.samefile(staging_root / "package.json", self.ws / "package.json")
        self.seen.append((staging_root, files, linked))
        return super().validate(staging_root, changed_files)


def test_a_gate_thread_moves_one_copied_tree_from_folder_to_folder_and_removes_it(
    tmp_path: Path, epic_ws: Path
) -> None:
    recorder = TreeRecorder(epic_ws)
    runner = _runner(epic_ws, spec_file(tmp_path, "d1-notes", "logger"), recorder, jobs=1)
    runner.prepare()

    folders = epic_ws / STATE_DIR / "runs" / runner.run.run_id / "folders"
    d1 = Changeset.load(folders / "d1-notes" / "recipes")
    logger = Changeset.load(folders / "logger" / "recipes")
    mine = {p: c for p, c in logger.new.items() if p.startswith("apps/") and c is not None}
    assert mine and d1.paths
    (d1_root, d1_files, d1_linked), (logger_root, logger_files, _) = recorder.seen
    # One tree for the thread, moved on: d1-notes' check saw its own change and none of
    # logger's; logger's saw d1-notes' (an earlier layer) and its own.
    assert d1_root == logger_root
    assert all(d1_files.get(p) == c for p, c in d1.new.items() if p.startswith("apps/"))
    assert all(d1_files.get(p) != c for p, c in mine.items())
    assert all(logger_files.get(p) == c for p, c in mine.items())
    assert all(logger_files.get(p) == c for p, c in d1.new.items() if p.startswith("apps/"))
    # A copy, where a tool may write: never a hard link to the workspace's files.
    assert not d1_linked
    # Removed once the gates are done, the quality monitor's linked one too.
    assert not d1_root.exists()
    assert [p.name for p in (epic_ws / STATE_DIR / "tmp").iterdir()] == []
    for folder in ("d1-notes", "logger"):
        record = runner.run.step(folder, "gate")
        assert record is not None and record.status == "done" and record.data["ok"]
