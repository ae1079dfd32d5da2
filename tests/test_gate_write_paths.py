"""The one gate on each write path the first tests (test_one_gate.py) leave open: the epic's
STAGING secret, lazy placeholders from a recipe's batch and from chat, the verdict every write
records in the ledger (rollback included), and the crew tools' refusals."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import approve
from engine.epic.models import EpicOptions
from engine.epic.runner import EpicRunner, EpicSummary
from engine.epic.spec import load_epic
from engine.ledger.store import Ledger
from engine.patch.validation import Finding, ValidationResult
from engine.plan.document import find_task, load_tasks
from engine.settings import load_settings
from engine.validate.judge import GATE_EVENT
from engine.validate.quarantine import agent_statuses
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, ROOT, TASKS_FIXTURE, copy_example, snapshot

TASKS = ".taskmaster/tasks/tasks.json"
TEMPLATE = ROOT / "manifests" / "staging-template.yaml"
# An OpenAI-style project key: the quality monitor's known-key pattern, not a fake marker.
OPENAI_KEY = "sk-proj-Q7vR2mX9kL4pW8nT3bY6zH1cJ5dF0gA"
KEYED_LINE = f'const apiKey = "{OPENAI_KEY}";\n'


def verdicts(root: Path, subject: str | None = None) -> list[Any]:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        found = ledger.events(kind=GATE_EVENT, limit=500)
    return [e for e in found if subject is None or e.subject == subject]


# --- the epic: a STAGING secret stops its folder, the others go on ----------------------------


class NoBunSqlite:
    """A real validator with one rule, as in test_epic.py: no changed file imports bun:sqlite."""

    name = "no-bun-sqlite"

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        findings = [
            Finding(tool=self.name, file=rel, line=1, message="bun:sqlite is still imported")
            for rel in changed_files
            if rel.endswith(".ts")
            and (staging_root / rel).is_file()
            and "bun:sqlite" in (staging_root / rel).read_text(encoding="utf-8")
        ]
        summary = f"{len(findings)} new errors" if findings else "no new errors"
        return ValidationResult(
            validator=self.name, ok=not findings, findings=findings, summary=summary
        )


def _epic_run(root: Path, staging: Path, tmp_path: Path, *folders: str) -> str:
    spec = tmp_path / "epic.yaml"
    spec.write_text(
        json.dumps(
            {
                "name": "gate epic",
                "staging": str(staging),
                "template": str(TEMPLATE),
                "folders": list(folders),
            }
        ),
        encoding="utf-8",
    )
    ws = Workspace.open(root)
    loaded, label = load_epic(str(spec), ws, root / TASKS)
    run = EpicRunner.create(
        ws,
        load_settings(root),
        loaded,
        source=label,
        options=EpicOptions(),
        tasks_path=root / TASKS,
    )
    return run.run_id


def _drive(root: Path, run_id: str) -> tuple[EpicRunner, EpicSummary]:
    ws = Workspace.open(root)
    runner = EpicRunner(
        ws,
        load_settings(root),
        EpicRunner.load(ws, run_id),
        tasks_path=root / TASKS,
        validator=NoBunSqlite(),
    )
    runner.prepare()
    runner.decide()
    runner.apply()
    runner.update_plan()
    return runner, runner.finish()


@pytest.fixture
def epic_root(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "ws", require_tsc=False)
    (root / TASKS).parent.mkdir(parents=True, exist_ok=True)
    (root / TASKS).write_bytes(TASKS_FIXTURE.read_bytes())
    return root


def test_epic_a_staging_key_stops_its_folder_and_the_others_proceed(
    tmp_path: Path, epic_root: Path
) -> None:
    staging = tmp_path / "STAGING"
    shutil.copytree(EXAMPLES / "STAGING", staging)
    server = staging / "logger" / "src" / "server.ts"
    server.write_text(KEYED_LINE + server.read_text(encoding="utf-8"), encoding="utf-8")
    run_id = _epic_run(epic_root, staging, tmp_path, "logger", "d1-notes")

    runner, summary = _drive(epic_root, run_id)
    assert summary.folders["logger"] == "failed", summary
    assert "held for a human" in summary.failed["logger"]
    assert "SECURITY_RISK" in summary.failed["logger"]
    assert "apps/logger/src/server.ts" in summary.failed["logger"]
    # d1-notes was not held back by the logger: it waits for its own approval.
    assert [w.folder for w in summary.waiting] == ["d1-notes"]
    gate = runner.run.step("logger", "gate")
    assert gate is not None and gate.status == "failed" and "SECURITY_RISK" in gate.data["held"]
    # The verdict of the held folder is in the ledger.
    [held] = [e for e in verdicts(epic_root) if e.payload["policy"] == "hold"]
    assert "SECURITY_RISK" in str(held.payload["reason"])
    # In front of a human: the folder's subtask is blocked and says why.
    epic = runner.run.options.epic_task or ""
    subtasks = find_task(load_tasks(epic_root / TASKS), epic)["subtasks"]
    [logger_task] = [s for s in subtasks if s["title"] == "Migrate STAGING/logger to apps/logger"]
    assert logger_task["status"] == "blocked"
    assert "held for a human: SECURITY_RISK" in logger_task["details"]
    # Carrying the key over is not the migrator's doing: nobody is quarantined.
    with Ledger.open(Workspace.open(epic_root).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))

    with Ledger.open(Workspace.open(epic_root).ledger_path) as ledger:
        for item in summary.waiting:
            approve(ledger, item.id, by="alice", reason="reviewed")
    _, after = _drive(epic_root, run_id)
    assert after.folders["d1-notes"] == "applied"
    assert after.folders["logger"] == "failed"
    assert (epic_root / "apps/d1-notes").is_dir()
    assert not (epic_root / "apps/logger/src/server.ts").exists()
    assert OPENAI_KEY not in json.dumps(snapshot(epic_root, include_state=False))
    for path in (epic_root / "apps").rglob("*.ts"):
        assert OPENAI_KEY not in path.read_text(encoding="utf-8")
