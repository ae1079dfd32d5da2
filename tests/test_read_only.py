"""Commands that only read leave the workspace as they found it: no `.vibehq/`, no ledger,
no file at all, even in a workspace vibehq has never touched."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import list_items
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from tests.conftest import TASKS_FIXTURE, copy_example, snapshot, write
from tests.test_refactor_pipeline import WORKER

READ_ONLY = [
    ("approvals", "list"),
    ("approvals", "list", "--state", "pending"),
    ("approvals", "show", "1"),
    ("agents", "list"),
    ("queue", "list"),
    ("patch", "list"),
    ("epic", "status"),
    ("epic", "status", "run-1"),
    ("epic", "report", "run-1"),
    ("epic", "resume", "run-1"),
    ("route", "explain", "rename a variable"),
    ("route", "stats"),
    ("tasks", "list"),
    ("tasks", "show", "1"),
    ("tasks", "next"),
    ("tasks", "deps", "validate"),
    ("tasks", "emit-commands"),
    ("report", "patches", "logs"),
    ("report", "patches", "stats"),
    ("report", "patches", "trends"),
    ("scan", "."),
    ("scan", "src/a.ts"),
    ("memory", "list"),
    ("memory", "search", "claim a job"),
]


@pytest.fixture
def fresh(ws: Path) -> Path:
    write(ws, "src/a.ts", "export const a = 1;\n")
    plan = ws / ".taskmaster" / "tasks" / "tasks.json"
    plan.parent.mkdir(parents=True)
    shutil.copyfile(TASKS_FIXTURE, plan)
    return ws


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_a_read_only_command_writes_nothing(
    cli: Any, fresh: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    before = snapshot(fresh)
    monkeypatch.chdir(fresh)
    result = cli(*args)
    # Some of them refuse (no such item or run, no ledger yet): in one line, and still
    # without leaving anything behind.
    assert result.code in (0, 2), result.err
    assert snapshot(fresh) == before
    assert not (fresh / ".vibehq").exists()


def test_refactor_plan_writes_nothing(cli: Any, tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example", require_tsc=False)
    write(example, "apps/notes/src/index.ts", WORKER)
    before = snapshot(example)
    result = cli("refactor", "plan", "apps/notes", "-w", example)
    assert result.code == 0, result.err
    assert snapshot(example) == before


def test_open_readonly_without_a_file_is_an_empty_ledger(tmp_path: Path) -> None:
    path = tmp_path / ".vibehq" / "ledger.sqlite"
    with Ledger.open_readonly(path) as ledger:
        assert ledger.in_memory
        assert ledger.events() == []
        assert list_items(ledger) == []
    assert not path.parent.exists()


def test_open_readonly_reads_the_file_when_there_is_one(tmp_path: Path) -> None:
    path = tmp_path / ".vibehq" / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        ledger.record(LedgerEvent(kind="note", subject="s", payload={"n": 1}))
    with Ledger.open_readonly(path) as ledger:
        assert not ledger.in_memory
        assert [(e.kind, e.payload) for e in ledger.events()] == [("note", {"n": 1})]
