"""The one gate on each write path the first tests (test_one_gate.py) leave open: the epic's
STAGING secret, lazy placeholders from a recipe's batch and from chat, the verdict every write
records in the ledger (rollback included), and the crew tools' refusals."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.apply import APPLIED_EVENT
from engine.approvals.queue import approve, list_items, subject
from engine.epic.models import EpicOptions
from engine.epic.runner import EpicRunner, EpicSummary
from engine.epic.spec import load_epic
from engine.errors import CheckFailed
from engine.ledger.store import Ledger
from engine.patch.patch_events import patch_events
from engine.patch.validation import Finding, ValidationResult
from engine.plan.document import find_task, load_tasks
from engine.refactor.pipeline import apply_refactor, plan_refactor, target_for
from engine.settings import Settings, load_settings
from engine.validate.gate import QualityRejected
from engine.validate.judge import GATE_EVENT
from engine.validate.quarantine import agent_statuses
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, ROOT, TASKS_FIXTURE, batch_file, copy_example, snapshot, write
from tests.test_approvals_policy import TypeCheckPassed

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


def _epic_run(root: Path, staging: Path, tmp_path: Path, *folders: str, **options: Any) -> str:
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
        options=EpicOptions(**options),
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


# --- lazy placeholders: a recipe's batch, chat -------------------------------------------------

LAZY_LINE = "  // ... rest of code\n"
NOTES_WORKER = """interface Env {
  DB: D1Database;
}

interface NoteRow {
  id: number;
  title: string;
}

export async function listNotes(env: Env, limit: number): Promise<NoteRow[]> {
  const { results } = await env.DB.prepare("SELECT id, title FROM notes ORDER BY id LIMIT ?")
    .bind(limit)
    .all();
  return results as unknown as NoteRow[];
}

export async function removeNote(env: Env, id: number): Promise<void> {
  await env.DB.prepare("DELETE FROM notes WHERE id = ?").bind(id).run();
}
"""


@pytest.fixture
def notes_root(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "notes", require_tsc=False)
    write(root, "apps/notes/src/index.ts", NOTES_WORKER)
    return root


def test_refactor_apply_refuses_a_recipe_batch_that_adds_a_lazy_placeholder(
    notes_root: Path,
) -> None:
    ws = Workspace.open(notes_root)
    plan = plan_refactor(ws, target_for("apps/notes", None))
    assert plan.worker is not None
    [op] = [o for o in plan.worker.patches if o.file == "apps/notes/src/index.ts"]
    assert op.block is not None and "deleteNoteById(id);" in op.block
    # What a broken recipe would emit: a function body elided instead of rewritten.
    body = next(line for line in op.block.splitlines(True) if "deleteNoteById(id);" in line)
    lazy = op.model_copy(update={"block": op.block.replace(body, LAZY_LINE)})
    worker = plan.worker.model_copy(
        update={"patches": [lazy if o is op else o for o in plan.worker.patches]}
    )
    plan = plan.model_copy(update={"worker": worker})
    before = snapshot(notes_root, include_state=False)
    with pytest.raises(QualityRejected) as refused:
        apply_refactor(ws, plan, Settings(), validator=None)
    assert "PLACEHOLDER_DROPPED" in refused.value.message
    assert "nothing was applied" in refused.value.message
    assert snapshot(notes_root, include_state=False) == before
    [event] = [e for e in verdicts(notes_root) if e.payload["policy"] == "refuse"]
    assert event.subject == worker.batch_id
    assert "PLACEHOLDER_DROPPED" in str(event.payload["reason"])


def _logger_root(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "chat", require_tsc=False)
    write(
        root,
        "apps/logger/src/sum.ts",
        "export function total(xs: number[]): number {\n"
        "  return xs.reduce((a, b) => a + b, 0);\n"
        "}\n",
    )
    return root


LAZY_SUM = [
    {
        "op": "replace-block",
        "file": "apps/logger/src/sum.ts",
        "start": 2,
        "end": 2,
        "block": "  // ... rest of code",
    }
]


def test_chat_refuses_a_lazy_placeholder_from_the_model_and_quarantines_its_agent(
    tmp_path: Path,
) -> None:
    from crews.chat import ChatSession
    from tools.batch_proposals import propose_batch

    root = _logger_root(tmp_path)
    before = snapshot(root, include_state=False)
    session = ChatSession(Workspace.open(root), Settings(), remember=False)
    # The tool context chat gives its agents: policy-passed proposals are applied at once.
    assert session.ctx.apply_approved is True
    answer = propose_batch(session.ctx, {"reason": "shorter", "patches": LAZY_SUM})
    assert answer.ok is False and answer.quarantined is True and answer.applied is None
    assert answer.refused is not None and "PLACEHOLDER_DROPPED" in answer.refused
    assert snapshot(root, include_state=False) == before
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        assert list_items(ledger, kind="patch_batch") == []
        [auto] = [s for s in agent_statuses(ledger) if s.agent == "Auto"]
    assert auto.status == "quarantined"
    [event] = verdicts(root)
    assert event.payload["policy"] == "refuse" and event.payload["agent"] == "Auto"


def test_chat_approve_cannot_apply_a_lazy_batch_a_human_queued(cli: Any, tmp_path: Path) -> None:
    from crews.chat import decide

    root = _logger_root(tmp_path)
    lazy = tmp_path / "lazy.json"
    lazy.write_text(json.dumps({"requester": "bob", "patches": LAZY_SUM}), encoding="utf-8")
    submitted = cli("approvals", "submit", lazy, "-w", root, "--no-validate", "--json")
    assert submitted.code == 0, submitted.err
    item = submitted.json()
    assert "PLACEHOLDER_DROPPED" in str(item["payload"]["refused"])
    before = snapshot(root, include_state=False)
    with pytest.raises(CheckFailed, match="refused"):
        decide(Workspace.open(root), Settings(), item["id"], approve=True, by="alice")
    assert snapshot(root, include_state=False) == before


# --- every write names the gate's verdict in the ledger ----------------------------------------

Writer = Callable[[Any, Path], tuple[Path, str]]
A_TS = "apps/logger/src/a.ts"


def _plain_root(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "plain", require_tsc=False)
    write(root, A_TS, "export const a = 1;\n")
    return root


def _append_batch(tmp_path: Path, **fields: Any) -> Path:
    patches = [{"op": "append", "file": A_TS, "block": "export const b = 2;"}]
    return batch_file(tmp_path, patches, **fields)


def _by_patch_apply(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root = _plain_root(tmp_path)
    batch = _append_batch(tmp_path, batchId="b-patch")
    done = cli("patch", "apply", batch, "-w", root, "--no-validate", "--json")
    assert done.code == 0, done.err
    return root, "b-patch"


def _by_migrate_apply(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root = _plain_root(tmp_path)
    write(tmp_path, "STAGING/clean/src/index.ts", "export const one = 1;\n")
    manifest = tmp_path / "clean.yaml"
    manifest.write_text("name: clean\nsources:\n  - {from: STAGING/clean, to: apps/clean}\n")
    done = cli("migrate", "apply", manifest, "-w", root, "--no-validate", "--json")
    assert done.code == 0, done.err
    [folder] = done.json()["folders"]
    return root, str(folder["batch_id"])


def _by_refactor_apply(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root = copy_example(tmp_path / "notes", require_tsc=False)
    write(root, "apps/notes/src/index.ts", NOTES_WORKER)
    done = cli("refactor", "apply", "apps/notes", "-w", root, "--no-validate", "--json")
    assert done.code == 0, done.err
    return root, str(done.json()["worker"]["batch_id"])


def _approved_item(cli: Any, tmp_path: Path) -> tuple[Path, int]:
    root = _plain_root(tmp_path)
    batch = _append_batch(tmp_path)
    item = cli("approvals", "submit", batch, "-w", root, "--no-validate", "--json").json()
    assert cli("approvals", "approve", str(item["id"]), "-w", root, "--no-validate").code == 0
    return root, int(item["id"])


def _applied_batch_of(root: Path, item_id: int) -> str:
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [event] = ledger.events(kind=APPLIED_EVENT, subject=subject(item_id), limit=1)
    return str(event.payload["batch_id"])


def _by_approvals_apply(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root, item_id = _approved_item(cli, tmp_path)
    done = cli(
        "approvals", "apply", str(item_id), "-w", root, "--no-validate", "--accept-unvalidated"
    )
    assert done.code == 0, done.err
    return root, _applied_batch_of(root, item_id)


def _by_chat_approve(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    from crews.chat import decide

    root = _plain_root(tmp_path)
    batch = _append_batch(tmp_path)
    item = cli("approvals", "submit", batch, "-w", root, "--no-validate", "--json").json()
    line = decide(Workspace.open(root), Settings(), int(item["id"]), approve=True, by="alice")
    assert line.startswith(f"approved and applied item {item['id']}")
    return root, _applied_batch_of(root, int(item["id"]))


def _by_crew_tool(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    from tools.batch_proposals import propose_batch
    from tools.context import ToolContext

    root = _plain_root(tmp_path)
    write(root, "apps/logger/src/extra.ts", 'import { a } from "./a";\n\nexport const b = a;\n')
    swap = {
        "op": "replace-block",
        "file": "apps/logger/src/extra.ts",
        "start": 1,
        "end": 1,
        "block": 'import { a } from "./a.js";',
    }
    ctx = ToolContext.for_workspace(
        Workspace.open(root), Settings(), "Codex", apply_approved=True, validator=TypeCheckPassed()
    )
    answer = propose_batch(ctx, {"reason": "extension", "patches": [swap]})
    assert answer.applied is not None, answer
    return root, answer.applied


def _by_epic_apply(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root = copy_example(tmp_path / "epic", require_tsc=False)
    (root / TASKS).parent.mkdir(parents=True, exist_ok=True)
    (root / TASKS).write_bytes(TASKS_FIXTURE.read_bytes())
    (root / "vibehq.toml").write_text("[approvals]\nhuman_paths = []\n", encoding="utf-8")
    run_id = _epic_run(root, EXAMPLES / "STAGING", tmp_path, "logger", auto_approve="safe")
    runner, summary = _drive(root, run_id)
    assert summary.folders == {"logger": "applied"}, summary
    apply = runner.load(Workspace.open(root), run_id).step("logger", "apply")
    assert apply is not None
    [batch_id] = apply.data["batches"]
    return root, str(batch_id)


def _by_patch_rollback(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    root, applied = _by_patch_apply(cli, tmp_path)
    done = cli("patch", "rollback", applied, "-w", root, "--json")
    assert done.code == 0, done.err
    assert (root / A_TS).read_text() == "export const a = 1;\n"
    return root, str(done.json()["batch_id"])


WRITERS: dict[str, Writer] = {
    "patch apply": _by_patch_apply,
    "migrate apply": _by_migrate_apply,
    "refactor apply": _by_refactor_apply,
    "approvals apply": _by_approvals_apply,
    "chat approve": _by_chat_approve,
    "crew tool": _by_crew_tool,
    "epic apply": _by_epic_apply,
    "patch rollback": _by_patch_rollback,
}


@pytest.mark.parametrize("path", list(WRITERS))
def test_every_write_names_the_verdict_of_the_gate(cli: Any, tmp_path: Path, path: str) -> None:
    root, batch_id = WRITERS[path](cli, tmp_path)
    events = verdicts(root, batch_id)
    assert events, f"{path}: no {GATE_EVENT} event for batch {batch_id}"
    # The last verdict is the write's (a crew proposal was judged once more when it was made).
    written = events[-1]
    assert written.payload["policy"] == "apply"
    steps = written.payload["steps"]
    assert isinstance(steps, dict) and set(steps) == {
        "quarantine",
        "quality",
        "validators",
        "policy",
    }
    # A step that did not run says why.
    assert all(status != "skipped" for status in steps.values()), steps
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        kinds = {e.kind for e in patch_events(ledger, batch_id)}
    if path == "patch rollback":
        assert written.payload["rolls_back"] == "b-patch"
        assert str(steps["quality"]) == "skipped (a rollback restores recorded bytes)"
    else:
        assert "applied" in kinds


def test_migrate_rollback_records_a_verdict_for_each_folder_it_restores(
    cli: Any, tmp_path: Path
) -> None:
    root, _ = _by_migrate_apply(cli, tmp_path)
    assert (root / "apps/clean/src/index.ts").is_file()
    done = cli("migrate", "rollback", "--last", "-w", root)
    assert done.code == 0, done.err
    assert not (root / "apps/clean/src/index.ts").exists()
    [event] = [e for e in verdicts(root) if "rolls_back" in e.payload]
    assert event.payload["policy"] == "apply"
    assert str(event.subject).endswith(".rollback")
    assert event.payload["steps"]["validators"] == (  # type: ignore[index]
        "skipped (a rollback restores recorded bytes)"
    )


def test_a_crew_batch_refused_for_its_paths_records_the_gates_verdict(tmp_path: Path) -> None:
    from tools.batch_proposals import REFUSED_EVENT, propose_batch
    from tools.context import ToolContext

    root = _plain_root(tmp_path)
    before = snapshot(root, include_state=False)
    ctx = ToolContext.for_workspace(
        Workspace.open(root), Settings(), "Codex", allowed_files=["apps/logger/src/a.ts"]
    )
    outside = [{"op": "append", "file": "apps/other/x.ts", "block": "export const x = 1;"}]
    answer = propose_batch(ctx, {"reason": "wander", "patches": outside})
    assert answer.ok is False and answer.refused is not None
    assert "outside the allowed files" in answer.refused
    assert snapshot(root, include_state=False) == before
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        [refused] = ledger.events(kind=REFUSED_EVENT)
    batch_id = str(refused.payload["batch_id"])
    [verdict] = verdicts(root, batch_id)
    assert verdict.payload["policy"] == "refuse" and verdict.payload["agent"] == "Codex"
    assert "outside the allowed files" in str(verdict.payload["reason"])
    assert verdict.payload["steps"] == {
        "quarantine": "skipped (refused for its paths before the gate ran)",
        "quality": "skipped (refused for its paths before the gate ran)",
        "validators": "skipped (refused for its paths before the gate ran)",
        "policy": "failed",
    }
    # A path refusal is the model's mistake to correct, not a quarantine.
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))


def test_epic_a_staging_placeholder_is_reported_and_its_folder_still_lands(
    tmp_path: Path, epic_root: Path
) -> None:
    # Found by this test: the gate step reported it as pre-existing, but the folder's review
    # (and apply) judged it without the origins, as the epic's own: never approvable.
    staging = tmp_path / "STAGING"
    shutil.copytree(EXAMPLES / "STAGING", staging)
    server = staging / "logger" / "src" / "server.ts"
    server.write_text(
        server.read_text(encoding="utf-8")
        + "\nexport function later(): void {\n  // ... rest of code\n}\n",
        encoding="utf-8",
    )
    (epic_root / "vibehq.toml").write_text("[approvals]\nhuman_paths = []\n", encoding="utf-8")
    run_id = _epic_run(epic_root, staging, tmp_path, "logger", auto_approve="safe")
    runner, summary = _drive(epic_root, run_id)
    gate = runner.load(Workspace.open(epic_root), run_id).step("logger", "gate")
    assert gate is not None and gate.data["preexisting"] >= 1, gate
    assert summary.folders == {"logger": "applied"}, summary
    with Ledger.open(Workspace.open(epic_root).ledger_path) as ledger:
        [item] = list_items(ledger, kind="patch_batch")
    assert item.payload.refused is None  # type: ignore[union-attr]
    assert item.decision is not None and item.decision.by == "policy"
    assert "// ... rest of code" in (epic_root / "apps/logger/src/server.ts").read_text()
    with Ledger.open(Workspace.open(epic_root).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))


def _keyed_staging(tmp_path: Path) -> Path:
    staging = tmp_path / "STAGING"
    shutil.copytree(EXAMPLES / "STAGING", staging)
    server = staging / "logger" / "src" / "server.ts"
    server.write_text(KEYED_LINE + server.read_text(encoding="utf-8"), encoding="utf-8")
    return staging


def test_crew_migrate_folder_puts_a_staging_key_in_front_of_a_human(tmp_path: Path) -> None:
    from tools.context import ToolContext
    from tools.registry import build_tools

    root = copy_example(tmp_path / "crew", require_tsc=False)
    before = snapshot(root, include_state=False)
    ctx = ToolContext.for_workspace(
        Workspace.open(root), Settings(), "Migration", staging=_keyed_staging(tmp_path)
    )
    [tool] = build_tools(["migrate_folder"], ctx)
    answer = json.loads(tool.run(folder="logger"))
    assert answer["ok"] is False and answer.get("quarantined", False) is False, answer
    assert "SECURITY_RISK already in the source" in answer["refused"]
    assert "a human must clear it" in answer["refused"]
    assert snapshot(root, include_state=False) == before
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))
        [item] = list_items(ledger, kind="patch_batch")
    assert item.state == "pending" and item.id == answer["proposal"]
    assert item.payload.refused is not None  # type: ignore[union-attr]
    assert "SECURITY_RISK" in item.payload.refused  # type: ignore[union-attr]
    [held] = [e for e in verdicts(root) if e.payload["policy"] == "hold"]
    assert held.payload["agent"] == "Migration"


def test_crew_migrate_folder_reports_a_staging_placeholder_and_quarantines_nobody(
    tmp_path: Path,
) -> None:
    from tools.context import ToolContext
    from tools.registry import build_tools

    staging = tmp_path / "STAGING"
    shutil.copytree(EXAMPLES / "STAGING", staging)
    server = staging / "logger" / "src" / "server.ts"
    server.write_text(
        server.read_text(encoding="utf-8")
        + "\nexport function later(): void {\n  // ... rest of code\n}\n",
        encoding="utf-8",
    )
    root = copy_example(tmp_path / "crew", require_tsc=False)
    ctx = ToolContext.for_workspace(Workspace.open(root), Settings(), "Migration", staging=staging)
    [tool] = build_tools(["migrate_folder"], ctx)
    answer = json.loads(tool.run(folder="logger"))
    assert answer["ok"] is True and "refused" not in answer, answer
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        assert all(s.status == "active" for s in agent_statuses(ledger))
        [item] = list_items(ledger, kind="patch_batch")
        approve(ledger, item.id, by="alice")
    # Approved later by a human, it is applied with STAGING's finding still pre-existing.
    from engine.approvals.apply import apply_approved

    result = apply_approved(Workspace.open(root), item.id, Settings(), accept_unvalidated=True)
    assert result.batch.status == "applied"
    assert result.verdict.preexisting.violations
    assert "// ... rest of code" in (root / "apps/logger/src/server.ts").read_text()
