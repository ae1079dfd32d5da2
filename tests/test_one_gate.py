"""The one gate on every write path: STAGING findings, lazy placeholders, default validation,
and the verdict named in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import list_items
from engine.ledger.store import Ledger
from engine.validate.judge import GATE_EVENT
from engine.validate.quarantine import agent_statuses
from engine.workspace import Workspace
from tests.conftest import batch_file, copy_example, snapshot, write

SECRET_LINE = 'const API_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";\n'
LAZY = "export function total(xs: number[]): number {\n  // ... rest of code\n}\n"


def _manifest(tmp_path: Path, name: str) -> Path:
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(f"name: {name}\nsources:\n  - {{from: STAGING/{name}, to: apps/{name}}}\n")
    return manifest


def _verdicts(ws: Path) -> list[Any]:
    with Ledger.open(Workspace.open(ws).ledger_path) as ledger:
        return ledger.events(kind=GATE_EVENT, limit=100)


def test_migrate_apply_holds_a_folder_with_a_hard_coded_key_for_a_human(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(tmp_path, "STAGING/keyed/src/index.ts", SECRET_LINE + "export const k = API_KEY;\n")
    write(tmp_path, "STAGING/clean/src/index.ts", "export const one = 1;\n")
    before = snapshot(ws, include_state=False)
    held = cli("migrate", "apply", _manifest(tmp_path, "keyed"), "-w", ws, "--json")
    assert held.code == 0, held.err
    folder = held.json()["folders"][0]
    assert folder["status"] == "held" and "SECURITY_RISK" in folder["held"]
    assert snapshot(ws, include_state=False) == before
    with Ledger.open(Workspace.open(ws).ledger_path) as ledger:
        items = list_items(ledger, state="pending")
    assert [i.id for i in items] == [folder["approval"]]
    # Carrying STAGING over is not the migrator's doing: it is not quarantined.
    with Ledger.open(Workspace.open(ws).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))
    assert cli("migrate", "apply", _manifest(tmp_path, "clean"), "-w", ws).code == 0
    assert (ws / "apps/clean/src/index.ts").is_file()


def test_migrate_reports_a_staging_placeholder_as_preexisting_and_names_the_verdict(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(tmp_path, "STAGING/lazy/src/index.ts", LAZY)
    run = cli("migrate", "apply", _manifest(tmp_path, "lazy"), "-w", ws, "--json")
    assert run.code == 0, run.err
    folder = run.json()["folders"][0]
    assert folder["status"] == "applied"
    assert [v["kind"] for v in folder["preexisting"]] == ["PLACEHOLDER_DROPPED"]
    assert "pre-existing" in folder["verdict"]
    events = [e for e in _verdicts(ws) if e.subject == folder["batch_id"]]
    assert len(events) == 1 and events[0].payload["policy"] == "apply"
    assert "(no tsconfig.json in the workspace)" in str(events[0].payload["steps"])


def test_a_lazy_placeholder_a_batch_adds_is_refused_and_the_verdict_recorded(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(ws, "src/sum.ts", "export function total(xs: number[]): number {\n  return 0;\n}\n")
    before = snapshot(ws, include_state=False)
    lazy = batch_file(
        tmp_path,
        [{"op": "replace-block", "file": "src/sum.ts", "start": 2, "end": 2, "block": LAZY}],
        requester="codex",
        batchId="b-lazy",
    )
    refused = cli("patch", "apply", lazy, "-w", ws)
    assert refused.code == 1 and "PLACEHOLDER_DROPPED" in refused.err
    assert snapshot(ws, include_state=False) == before
    [event] = [e for e in _verdicts(ws) if e.subject == "b-lazy"]
    assert event.payload["policy"] == "refuse"


def test_a_write_names_the_gate_verdict_in_the_ledger(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    fine = batch_file(
        tmp_path,
        [{"op": "append", "file": "src/a.ts", "block": "export const b = 2;"}],
        batchId="b-fine",
    )
    assert cli("patch", "apply", fine, "-w", ws, "--no-validate").code == 0
    [event] = [e for e in _verdicts(ws) if e.subject == "b-fine"]
    assert event.payload["policy"] == "apply"
    assert event.payload["steps"]["validators"] == "skipped by --no-validate"  # type: ignore[index]


@pytest.mark.integration
def test_approvals_cannot_apply_a_type_breaking_batch_with_default_settings(
    cli: Any, tmp_path: Path
) -> None:
    root = copy_example(tmp_path / "workspace")
    logger = "apps/logger/src/index.ts"
    broken = batch_file(
        tmp_path,
        [{"op": "append", "file": logger, "block": 'export const size: number = "4";'}],
    )
    submitted = cli("approvals", "submit", broken, "-w", root, "--json")
    assert submitted.code == 0, submitted.err
    item = submitted.json()
    assert "TS2322" in str(item["payload"]["validation"])
    before = (root / logger).read_text()
    # With default settings the gate type-checks it: a human cannot approve it as it is...
    approve = cli("approvals", "approve", str(item["id"]), "-w", root)
    assert approve.code == 1 and "TS2322" in approve.err
    # ...so nothing can apply it.
    applied = cli("approvals", "apply", str(item["id"]), "-w", root)
    assert applied.code != 0
    assert (root / logger).read_text() == before


@pytest.mark.integration
def test_approvals_apply_refuses_an_unvalidated_batch_unless_accepted(
    cli: Any, tmp_path: Path
) -> None:
    root = copy_example(tmp_path / "workspace")
    logger = "apps/logger/src/index.ts"
    fine = batch_file(
        tmp_path, [{"op": "append", "file": logger, "block": "export const size = 4;"}]
    )
    item = cli("approvals", "submit", fine, "-w", root, "--no-validate", "--json").json()
    assert item["payload"]["validation"] is None
    assert cli("approvals", "approve", str(item["id"]), "-w", root, "--no-validate").code == 0
    refused = cli("approvals", "apply", str(item["id"]), "-w", root, "--no-validate")
    assert refused.code != 0 and "--accept-unvalidated" in refused.err
    assert "export const size" not in (root / logger).read_text()
    accepted = cli(
        "approvals", "apply", str(item["id"]), "-w", root, "--no-validate", "--accept-unvalidated"
    )
    assert accepted.code == 0, accepted.err
    assert "export const size = 4;" in (root / logger).read_text()
