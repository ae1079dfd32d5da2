"""Kills at every named point of a commit and of a rollback (`VIBEHQ_FAULT`), in real
processes running the real CLI: the next command must leave the files all-old or all-new,
the ledger in step with them, and the batch id usable again."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.faults import FAULT_ENV, POINTS
from engine.ledger.store import Ledger
from engine.patch.patch_events import patch_events
from tests.conftest import ROOT, batch_file, snapshot, write

PATCHES = [
    {"op": "append", "file": "src/a.ts", "block": "// a2"},
    {"op": "replace-block", "file": "src/b.ts", "start": 1, "block": "export const b = 2;"},
    {"op": "create", "file": "src/new/d.ts", "block": "export const d = 1;\n"},
]
OPS = len(PATCHES)


def run_killed(point: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`vibehq ARGS` in a child process that SIGKILLs itself at `point`."""
    env = {**os.environ, FAULT_ENV: point}
    return subprocess.run(
        [sys.executable, "-c", "import main; main.run()", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def kinds(ws: Path, batch_id: str) -> Counter[str]:
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        return Counter(e.kind for e in patch_events(ledger, batch_id))


def journal_state(cli: Any, ws: Path, batch_id: str) -> str | None:
    listing = cli("patch", "list", "-w", ws, "--json")
    assert listing.code == 0, listing.err
    return next((r["state"] for r in listing.json() if r["batch_id"] == batch_id), None)


@pytest.fixture
def old_and_new(ws: Path, tmp_path: Path, cli: Any) -> tuple[dict[str, str], dict[str, str], Path]:
    """The workspace's snapshot before and after the batch (found on a scratch copy)."""
    for name in ("a", "b", "c"):
        write(ws, f"src/{name}.ts", f"export const {name} = 1;\n")
    before = snapshot(ws, include_state=False)
    scratch = tmp_path / "scratch"
    for name in ("a", "b", "c"):
        write(scratch, f"src/{name}.ts", f"export const {name} = 1;\n")
    path = batch_file(tmp_path, PATCHES, batchId="crashy")
    assert cli("patch", "apply", path, "-w", scratch).code == 0
    after = snapshot(scratch, include_state=False)
    return before, after, path


@pytest.mark.parametrize("point", [p for p in POINTS if p.startswith("apply.")])
def test_killed_apply_recovers_and_the_batch_id_applies_once(
    cli: Any, ws: Path, old_and_new: tuple[dict[str, str], dict[str, str], Path], point: str
) -> None:
    before, after, path = old_and_new
    child = run_killed(point, "patch", "apply", path, "-w", ws)
    assert child.returncode == -9, child.stderr
    if point == "apply.mid-commit":
        # The kill really landed with some files new and some old.
        assert snapshot(ws, include_state=False) not in (before, after)

    state = journal_state(cli, ws, "crashy")
    files = snapshot(ws, include_state=False)
    ledger = kinds(ws, "crashy")
    if point == "apply.after-commit":
        assert (state, files == after) == ("committed", True)
        assert ledger == {"requested": OPS, "applied": OPS}
    else:
        # Killed before the first record, nothing was staged: the journal has no trace.
        assert state == (None if point == "apply.before-record" else "aborted")
        assert files == before
        assert ledger["requested"] == 0 and ledger["applied"] == 0
    assert not list(ws.rglob("*.pending")) and not list(ws.rglob("*.vh-*"))

    again = cli("patch", "apply", path, "-w", ws, "--json")
    assert again.code == 0, again.err
    expected = "already-applied" if point == "apply.after-commit" else "applied"
    assert again.json()["status"] == expected
    assert snapshot(ws, include_state=False) == after
    assert journal_state(cli, ws, "crashy") == "committed"
    final = kinds(ws, "crashy")
    assert (final["requested"], final["applied"]) == (OPS, OPS)
    # Once more: reported, not applied twice.
    assert cli("patch", "apply", path, "-w", ws, "--json").json()["status"] == "already-applied"
    assert kinds(ws, "crashy")["applied"] == OPS


@pytest.mark.parametrize("point", [p for p in POINTS if p.startswith("rollback.")])
def test_killed_rollback_completes_or_tells_the_truth(
    cli: Any, ws: Path, old_and_new: tuple[dict[str, str], dict[str, str], Path], point: str
) -> None:
    before, after, path = old_and_new
    assert cli("patch", "apply", path, "-w", ws).code == 0
    child = run_killed(point, "patch", "rollback", "crashy", "-w", ws)
    assert child.returncode == -9, child.stderr

    state = journal_state(cli, ws, "crashy")
    files = snapshot(ws, include_state=False)
    if point == "rollback.after-commit":
        # The undo stood: recovery marks the batch rolled back and writes its rows.
        assert (state, files == before) == ("rolled_back", True)
        assert kinds(ws, "crashy")["rolled_back"] == 3
        second = cli("patch", "rollback", "crashy", "-w", ws)
        assert second.code == 2 and "rolled back by crashy.rollback" in second.err
    else:
        assert (state, files == after) == ("committed", True)
        assert kinds(ws, "crashy")["rolled_back"] == 0
        second = cli("patch", "rollback", "crashy", "-w", ws)
        assert second.code == 0, second.err
    assert not list(ws.rglob("*.pending")) and not list(ws.rglob("*.vh-*"))
    assert snapshot(ws, include_state=False) == before
    assert journal_state(cli, ws, "crashy") == "rolled_back"
    assert kinds(ws, "crashy") == {"requested": OPS, "applied": OPS, "rolled_back": 3}
