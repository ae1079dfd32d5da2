"""The epic's deterministic spine (engine/epic) on copies of the example workspace and the
example STAGING folders: specs and their errors, pausing on approvals, resuming, keeping
tasks.json true, and never applying anything twice. A small real validator (one rule: no
`bun:sqlite` import may remain in a changed file) stands in for tsc, which the integration
tests in test_epic_cli.py run for real."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.queue import approve, list_items, reject
from engine.epic.models import EpicOptions
from engine.epic.runner import EpicRunner, EpicSummary
from engine.epic.spec import load_epic
from engine.errors import BadInput
from engine.ledger.store import Ledger
from engine.patch.apply import apply_batch
from engine.patch.patch_events import patch_events
from engine.patch.validation import Finding, ValidationResult
from engine.plan.document import find_task, load_tasks
from engine.settings import load_settings
from engine.validate.projects import read_jsonc
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, ROOT, TASKS_FIXTURE, TASKS_REL, copy_example, snapshot

TEMPLATE = ROOT / "manifests" / "staging-template.yaml"


class NoBunSqlite:
    """A real validator with one rule: a changed TypeScript file may not import bun:sqlite."""

    name = "no-bun-sqlite"

    def __init__(self) -> None:
        self.calls = 0

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        self.calls += 1
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


def spec_file(tmp_path: Path, *folders: str, **extra: Any) -> Path:
    data = {
        "name": "test epic",
        "staging": str(EXAMPLES / "STAGING"),
        "template": str(TEMPLATE),
        "folders": list(folders),
        **extra,
    }
    path = tmp_path / "epic.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def start(
    root: Path, spec: Path, *, validator: Any = None, **options: Any
) -> tuple[EpicRunner, EpicSummary]:
    ws = Workspace.open(root)
    settings = load_settings(root)
    tasks = root / TASKS_REL
    loaded, label = load_epic(str(spec), ws, tasks)
    run = EpicRunner.create(
        ws, settings, loaded, source=label, options=EpicOptions(**options), tasks_path=tasks
    )
    return drive(root, run.run_id, validator=validator)


def drive(root: Path, run_id: str, *, validator: Any = None) -> tuple[EpicRunner, EpicSummary]:
    ws = Workspace.open(root)
    runner = EpicRunner(
        ws,
        load_settings(root),
        EpicRunner.load(ws, run_id),
        tasks_path=root / TASKS_REL,
        validator=validator if validator is not None else NoBunSqlite(),
    )
    runner.prepare()
    runner.decide()
    runner.apply()
    runner.update_plan()
    return runner, runner.finish()


def ledger(root: Path) -> Ledger:
    return Ledger.open(root / ".vibehq" / "ledger.sqlite")


def applied_batches(root: Path) -> dict[str, int]:
    with ledger(root) as led:
        events = patch_events(led)
    counts: dict[str, set[str]] = {}
    for e in events:
        if e.kind == "applied":
            counts.setdefault(e.batch_id, set()).add(e.ts)
    return {batch: len(times) for batch, times in counts.items()}


def subtask(root: Path, epic: str, title_part: str) -> dict[str, Any]:
    task = find_task(load_tasks(root / TASKS_REL), epic)
    return next(s for s in task["subtasks"] if title_part in s["title"])


# --- specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "malformed YAML at line 1"),
        ("- a\n- b\n", "an epic spec is a mapping, not list"),
        ("name: x\nstaging: s\ntemplate: t\ncolour: red\n", "colour: Extra inputs"),
        ("name: x\n", "give `staging` and `template`, or one `manifest`"),
        ("name: x\nmanifest: m.yaml\nstaging: s\ntemplate: t\n", "not both"),
    ],
)
def test_bad_spec_files_are_one_clear_line(
    tmp_path: Path, epic_ws: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        load_epic(str(path), Workspace.open(epic_ws), epic_ws / TASKS_REL)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_malformed_json_spec_names_the_line(tmp_path: Path, epic_ws: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "staging": }', encoding="utf-8")
    with pytest.raises(BadInput, match="malformed JSON at line 2"):
        load_epic(str(path), Workspace.open(epic_ws), epic_ws / TASKS_REL)


def test_a_folder_staging_does_not_have_is_refused_before_a_run_exists(
    tmp_path: Path, epic_ws: Path
) -> None:
    spec = spec_file(tmp_path, "d1-notes", "no-such-worker")
    ws = Workspace.open(epic_ws)
    loaded, label = load_epic(str(spec), ws, epic_ws / TASKS_REL)
    with pytest.raises(BadInput, match="has no folder 'no-such-worker'"):
        EpicRunner.create(
            ws,
            load_settings(epic_ws),
            loaded,
            source=label,
            options=EpicOptions(),
            tasks_path=epic_ws / TASKS_REL,
        )
    assert not (epic_ws / ".vibehq" / "ledger.sqlite").exists()


def test_an_epic_task_id_finds_its_spec_through_the_epicspec_field(
    tmp_path: Path, epic_ws: Path
) -> None:
    (epic_ws / "epics").mkdir()
    spec_file(tmp_path, "logger").rename(epic_ws / "epics" / "logger.yaml")
    tasks_path = epic_ws / TASKS_REL
    data = json.loads(tasks_path.read_text())
    tasks = data["master"]["tasks"] if "master" in data else data["tasks"]
    next(t for t in tasks if str(t["id"]) == "25")["epicSpec"] = "epics/logger.yaml"
    tasks_path.write_text(json.dumps(data, indent=2))
    loaded, label = load_epic("25", Workspace.open(epic_ws), tasks_path)
    assert loaded.epic == "25" and loaded.folders == ["logger"]
    assert label.startswith("task 25")
    with pytest.raises(BadInput, match="task 3 has no 'epicSpec' field"):
        load_epic("3", Workspace.open(epic_ws), tasks_path)
    with pytest.raises(BadInput, match="999"):
        load_epic("999", Workspace.open(epic_ws), tasks_path)


# --- a run -----------------------------------------------------------------------------------


def test_run_pauses_on_human_paths_then_resume_applies_each_folder_once(
    tmp_path: Path, epic_ws: Path
) -> None:
    spec = spec_file(tmp_path, "d1-notes", "logger")
    before = snapshot(epic_ws, include_state=False)
    runner, summary = start(epic_ws, spec)
    assert summary.status == "paused"
    assert summary.folders == {"d1-notes": "waiting", "logger": "waiting"}
    assert [w.kind for w in summary.waiting] == ["patch_batch", "patch_batch"]
    assert "orchestrator/**" in summary.waiting[0].why
    assert "waiting for 2 approvals" in summary.message
    # Nothing but the plan (the epic's own task and subtasks) was written: the example
    # folders bring no tsconfig, so the root project keeps them (no exclude edit).
    after = snapshot(epic_ws, include_state=False)
    changed = {k for k in after if after[k] != before.get(k)} - {f"{TASKS_REL}.lock"}
    assert changed == {TASKS_REL}
    excluded = read_jsonc(epic_ws / "tsconfig.json").get("exclude", [])
    assert [e for e in excluded if e.startswith("apps/")] == []
    epic = runner.run.options.epic_task
    assert epic == "36"
    assert subtask(epic_ws, epic, "d1-notes")["status"] == "blocked"
    assert "waiting for" not in summary.folders

    with ledger(epic_ws) as led:
        for item in summary.waiting:
            approve(led, item.id, by="alice", reason="reviewed")
    runner, summary = drive(epic_ws, runner.run.run_id)
    assert summary.status == "done", summary.message
    assert summary.folders == {"d1-notes": "applied", "logger": "applied"}
    assert (epic_ws / "apps/logger/src/storage.ts").is_file()
    assert "bun:sqlite" not in (epic_ws / "apps/logger/src/storage.ts").read_text()
    assert (epic_ws / "orchestrator/worker/entrypoints/LoggerOps.ts").is_file()
    assert subtask(epic_ws, epic, "logger")["status"] == "done"
    assert find_task(load_tasks(epic_ws / TASKS_REL), epic)["status"] == "done"
    once = applied_batches(epic_ws)
    # Each folder's batch once (the run's preparation had nothing to edit).
    assert sorted(once.values()) == [1, 1]

    # A third pass finds every step done and applies nothing.
    _, again = drive(epic_ws, runner.run.run_id)
    assert again.status == "done"
    assert applied_batches(epic_ws) == once


def test_later_folders_are_computed_on_top_of_the_earlier_ones_not_yet_applied(
    tmp_path: Path, epic_ws: Path
) -> None:
    # Both folders add their entrypoint to orchestrator/worker/entrypoints/index.ts: the
    # second one's change must already contain the first's, or applying both would conflict.
    runner, summary = start(epic_ws, spec_file(tmp_path, "d1-notes", "logger"))
    with ledger(epic_ws) as led:
        for item in summary.waiting:
            approve(led, item.id, by="alice")
    drive(epic_ws, runner.run.run_id)
    index = (epic_ws / "orchestrator/worker/entrypoints/index.ts").read_text()
    assert "D1NotesOps" in index and "LoggerOps" in index


def test_a_folder_computed_on_an_earlier_one_that_fails_its_gate_is_computed_again(
    tmp_path: Path, epic_ws: Path
) -> None:
    # The gates run concurrently, each folder's overlay assuming the earlier folders pass.
    # d1-notes fails; logger's change had been computed on top of d1-notes' edit of the
    # shared orchestrator index, so it is computed and gated again without it.
    class FailsD1Notes(NoBunSqlite):
        def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
            bad = [f for f in changed_files if f.startswith("apps/d1-notes/")]
            if bad:
                finding = Finding(tool="tsc", file=bad[0], line=1, code="TS1000", message="no")
                return ValidationResult(
                    validator="tsc", ok=False, findings=[finding], summary="1 new error"
                )
            return super().validate(staging_root, changed_files)

    spec = spec_file(tmp_path, "d1-notes", "logger")
    runner, summary = start(epic_ws, spec, validator=FailsD1Notes())
    assert "d1-notes" in summary.failed
    assert summary.folders["logger"] == "waiting"
    with ledger(epic_ws) as led:
        for item in summary.waiting:
            approve(led, item.id, by="alice")
    _, after = drive(epic_ws, runner.run.run_id, validator=FailsD1Notes())
    assert after.folders["logger"] == "applied"
    index = (epic_ws / "orchestrator/worker/entrypoints/index.ts").read_text()
    assert "LoggerOps" in index and "D1NotesOps" not in index


def test_needs_model_sites_without_a_model_wait_and_say_so(tmp_path: Path, epic_ws: Path) -> None:
    runner, summary = start(epic_ws, spec_file(tmp_path, "sqlite-demo"))
    assert summary.status == "paused"
    assert summary.folders == {"sqlite-demo": "waiting"}
    [item] = summary.waiting
    assert item.kind == "needs_model"
    assert "apps/sqlite-demo/src/db.ts:40 needs a model or a human" in item.why
    assert summary.model_note is not None and "no model is configured" in summary.model_note
    gate = runner.run.step("sqlite-demo", "gate")
    assert gate is not None and gate.status == "waiting"
    assert "#1" in gate.data["why"]
    assert not (epic_ws / "apps/sqlite-demo").exists()
    with ledger(epic_ws) as led:
        [queued] = list_items(led, kind="needs_model")
    assert queued.run_id == runner.run.run_id and queued.step == "refactor:sqlite-demo"
    assert queued.payload.prompt and "db.ts" in queued.payload.prompt  # type: ignore[union-attr]
    sub = subtask(epic_ws, runner.run.options.epic_task or "", "sqlite-demo")
    assert sub["status"] == "blocked"
    assert "needs-model #1" in sub["details"]


def test_auto_approve_safe_lands_validated_recipe_output_and_none_waits(
    tmp_path: Path, epic_ws: Path
) -> None:
    (epic_ws / "vibehq.toml").write_text("[approvals]\nhuman_paths = []\n", encoding="utf-8")
    _, safe = start(epic_ws, spec_file(tmp_path, "logger"), auto_approve="safe")
    assert safe.status == "done" and safe.folders == {"logger": "applied"}
    with ledger(epic_ws) as led:
        [item] = list_items(led, kind="patch_batch")
    assert item.decision is not None
    assert (item.decision.by, item.decision.rule) == ("policy", "recipe")

    other = copy_example(tmp_path / "ws2", require_tsc=False)
    (other / "vibehq.toml").write_text("[approvals]\nhuman_paths = []\n", encoding="utf-8")
    (other / TASKS_REL).parent.mkdir(parents=True)
    (other / TASKS_REL).write_bytes(TASKS_FIXTURE.read_bytes())
    _, none = start(other, spec_file(tmp_path, "logger"), auto_approve="none")
    assert none.status == "paused"
    assert "the policy would pass it (recipe:" in none.waiting[0].why
    assert "--auto-approve none" in none.waiting[0].why
    assert not (other / "apps/logger/src/storage.ts").exists()


def test_a_folder_that_fails_its_gate_gets_a_remediation_subtask_and_nothing_lands(
    tmp_path: Path, epic_ws: Path
) -> None:
    class AlwaysFails(NoBunSqlite):
        def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
            return ValidationResult(
                validator="tsc",
                ok=False,
                findings=[
                    Finding(
                        tool="tsc",
                        file="apps/logger/src/storage.ts",
                        line=3,
                        column=1,
                        code="TS2322",
                        message="Type 'string' is not assignable to type 'number'.",
                    )
                ],
                summary="1 new error",
            )

    runner, summary = start(epic_ws, spec_file(tmp_path, "logger"), validator=AlwaysFails())
    assert summary.status == "failed"
    failure = summary.failed["logger"]
    assert "does not type-check: 1 new error" in failure
    # Each new error is listed as file:line code message, not only counted.
    assert "apps/logger/src/storage.ts:3 TS2322 Type 'string' is not assignable" in failure
    from engine.epic.report import build_report, write_report

    report = build_report(Workspace.open(epic_ws), runner.run.run_id)
    line = "apps/logger/src/storage.ts:3 TS2322 Type 'string' is not assignable to type 'number'."
    assert report.folders[0].new_errors == [line]
    paths = write_report(Workspace.open(epic_ws), report)
    assert f"- `{line}`" in paths.markdown.read_text(encoding="utf-8")
    assert not (epic_ws / "apps/logger/src/storage.ts").exists()
    epic = runner.run.options.epic_task or ""
    fix = subtask(epic_ws, epic, "Remediate the migration of STAGING/logger")
    assert "TS2322" in fix["details"]
    # Resuming does not add a second remediation task.
    drive(epic_ws, runner.run.run_id, validator=AlwaysFails())
    task = find_task(load_tasks(epic_ws / TASKS_REL), epic)
    assert sum("Remediate" in s["title"] for s in task["subtasks"]) == 1


def test_a_rejected_folder_is_failed_and_not_applied(tmp_path: Path, epic_ws: Path) -> None:
    runner, summary = start(epic_ws, spec_file(tmp_path, "logger"))
    with ledger(epic_ws) as led:
        reject(led, summary.waiting[0].id, by="bob", reason="wrong binding name")
    _, after = drive(epic_ws, runner.run.run_id)
    assert after.status == "failed"
    assert "rejected by bob: wrong binding name" in after.failed["logger"]
    assert not (epic_ws / "apps/logger/src/storage.ts").exists()


def test_a_batch_applied_by_a_killed_run_is_recognised_not_applied_again(
    tmp_path: Path, epic_ws: Path
) -> None:
    runner, summary = start(epic_ws, spec_file(tmp_path, "logger"))
    with ledger(epic_ws) as led:
        approve(led, summary.waiting[0].id, by="alice")
        [item] = list_items(led, kind="patch_batch")
    # The killed process got as far as the atomic apply and died before recording it.
    ws = Workspace.open(epic_ws)
    apply_batch(ws, item.payload.batch, load_settings(epic_ws))  # type: ignore[union-attr]
    _, after = drive(epic_ws, runner.run.run_id)
    assert after.status == "done" and after.folders == {"logger": "applied"}
    # The folder's batch, once (the run's preparation had nothing to edit).
    assert list(applied_batches(epic_ws).values()) == [1]


ANSWER_DB_TS = """import type { NoteRow } from "./schema/notes";
import type { NewNote, Note } from "./types";

interface NotesOps {
  listNotes(): Promise<NoteRow[]>;
}

function toNote(row: NoteRow): Note {
  return { id: row.id, title: row.title, body: row.body, createdAt: row.created_at };
}

export class NotesStore {
  constructor(private readonly ops: NotesOps) {}

  async list(limit: number): Promise<Note[]> {
    const rows = await this.ops.listNotes();
    return rows.slice(0, limit).map(toNote);
  }

  describe(note: NewNote): string {
    return `${note.title}: ${note.body.length} characters`;
  }
}
"""


def test_a_human_answer_to_a_needs_model_item_is_reviewed_on_the_overlay_and_applied(
    tmp_path: Path, epic_ws: Path, cli: Any
) -> None:
    runner, summary = start(epic_ws, spec_file(tmp_path, "sqlite-demo"))
    [item] = summary.waiting
    answer = tmp_path / "answer.json"
    answer.write_text(
        json.dumps(
            {
                "requester": "alice",
                "reason": "NotesStore reads through the orchestrator",
                "patches": [
                    {
                        "op": "create",
                        "file": "apps/sqlite-demo/src/db.ts",
                        "overwrite": True,
                        "block": ANSWER_DB_TS,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    # apps/sqlite-demo/src/db.ts exists only on the run's overlay: reviewed against the real
    # workspace, this answer could not even be planned.
    assert not (epic_ws / "apps/sqlite-demo/src/db.ts").exists()
    done = cli(
        "approvals",
        "approve",
        str(item.id),
        "--edit",
        answer,
        "--by",
        "alice",
        "--no-validate",
        "-w",
        epic_ws,
    )
    assert done.code == 0, done.err
    _, after = drive(epic_ws, runner.run.run_id)
    assert [w.kind for w in after.waiting] == ["patch_batch"]
    gate = runner.load(Workspace.open(epic_ws), runner.run.run_id).step("sqlite-demo", "gate")
    assert gate is not None and gate.status == "done"
    with ledger(epic_ws) as led:
        approve(led, after.waiting[0].id, by="alice")
    _, final = drive(epic_ws, runner.run.run_id)
    assert final.status == "done" and final.folders == {"sqlite-demo": "applied"}
    assert (epic_ws / "apps/sqlite-demo/src/db.ts").read_text() == ANSWER_DB_TS
    # The folder's batch and the answer's, each once (the preparation had nothing to edit).
    assert sorted(applied_batches(epic_ws).values()) == [1, 1]


def test_an_answer_is_judged_by_the_errors_it_adds_not_the_folders_others(
    tmp_path: Path,
) -> None:
    from engine.epic.answer_check import AnswerValidator

    before = tmp_path / "before"
    after = tmp_path / "after"
    for root in (before, after):
        (root / "src").mkdir(parents=True)
        # Another site of the folder still waits for its answer: its import stays.
        (root / "src/other.ts").write_text('import { Database } from "bun:sqlite";\n')
    (before / "src/board.ts").write_text('import { Database } from "bun:sqlite";\n')
    (after / "src/board.ts").write_text('import { env } from "cloudflare:workers";\n')
    changed = ["src/other.ts", "src/board.ts"]
    inner = NoBunSqlite()
    assert not inner.validate(after, changed).ok  # the workspace baseline would refuse it
    check = AnswerValidator(inner, before)
    good = check.validate(after, changed)
    assert good.ok and good.findings == []
    (after / "src/extra.ts").write_text('import { Database } from "bun:sqlite";\n')
    bad = check.validate(after, [*changed, "src/extra.ts"])
    assert not bad.ok
    assert [f.file for f in bad.findings] == ["src/extra.ts"]
    assert inner.calls == 4  # the before is checked once


def test_the_demo_epic_spec_loads_its_seven_folders_in_order(epic_ws: Path) -> None:
    from engine.epic.spec import folder_jobs

    spec, label = load_epic(
        str(ROOT / "manifests" / "demo-epic.yaml"), Workspace.open(epic_ws), None
    )
    jobs = folder_jobs(spec)
    assert [j.name for j in jobs][:4] == ["d1-notes", "logger", "task-queue", "terminal-demo"]
    assert len(jobs) == 7 and jobs[0].dest == "apps/d1-notes"
    assert label.endswith("demo-epic.yaml")
    assert [j.name for j in folder_jobs(spec, "*-demo")] == ["terminal-demo", "sqlite-demo"]
