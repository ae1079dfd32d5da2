"""`vibehq refactor plan|apply` end to end on a copy of the example monorepo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TASKS_FIXTURE, copy_example, snapshot, write

WORKER = """interface Env {
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

export async function getNote(env: Env, id: number): Promise<unknown> {
  return await env.DB.prepare("SELECT id, title FROM notes WHERE id = ?").bind(id).first();
}

export async function removeNote(env: Env, id: number): Promise<void> {
  await env.DB.prepare("DELETE FROM notes WHERE id = ?").bind(id).run();
}
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "example", require_tsc=False)
    write(root, "apps/notes/src/index.ts", WORKER)
    return root


def test_plan_shows_recipes_methods_and_diffs_without_writing(cli: Any, example: Path) -> None:
    before = snapshot(example, include_state=False)
    result = cli("refactor", "plan", "apps/notes", "-w", example, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["share"] == {"sites": 3, "recipes": 3, "needs_model": 0}
    assert {m["name"] for m in data["methods"]} >= {"listNotes", "getNoteById"}
    assert "env.ORCHESTRATOR_NOTES." in data["diff"]
    assert "orchestrator/worker/entrypoints/NotesOps.ts" in data["diff"]
    assert snapshot(example, include_state=False) == before


@pytest.mark.integration
def test_apply_is_type_checked_once_and_idempotent(cli: Any, example: Path) -> None:
    if not (example / "node_modules").exists():
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    applied = cli("refactor", "apply", "apps/notes", "-w", example, "--json")
    assert applied.code == 0, applied.out + applied.err
    data = applied.json()
    assert data["status"] == "applied" and data["validation"]["ok"] is True
    text = (example / "apps/notes/src/index.ts").read_text()
    assert "env.DB.prepare" not in text and "env.ORCHESTRATOR_NOTES.listNotes(limit)" in text
    wrangler = (example / "@shared/base/wrangler.base.jsonc").read_text()
    assert '"binding": "ORCHESTRATOR_NOTES"' in wrangler
    again = cli("refactor", "plan", "apps/notes", "-w", example, "--json").json()
    assert again["orchestrator"] is None and again["worker"] is None


@pytest.mark.integration
def test_failed_validation_applies_nothing_and_adds_a_remediation_task(
    cli: Any, example: Path, tmp_path: Path
) -> None:
    if not (example / "node_modules").exists():
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    # The orchestrator's Env loses its D1 binding: the generated entrypoint cannot type-check.
    types = example / "orchestrator/worker/types.ts"
    types.write_text(types.read_text().replace("  DB: D1Database;\n", ""))
    tasks = example / ".taskmaster/tasks/tasks.json"
    tasks.parent.mkdir(parents=True)
    shutil.copyfile(TASKS_FIXTURE, tasks)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        'name: notes\nowner: "25"\nsources:\n  - {from: x, to: apps/notes}\n'
        "rpc:\n  entrypoint: orchestrator/worker/entrypoints/NotesOps.ts\n"
        "  binding: ORCHESTRATOR_NOTES\n"
        '  wrangler: "@shared/base/wrangler.base.jsonc"\n'
    )
    (tmp_path / "x").mkdir()
    before = snapshot(example, include_state=False)
    plan_before = json.loads(tasks.read_text())
    result = cli("refactor", "apply", "apps/notes", "--manifest", manifest, "-w", example)
    assert result.code == 1
    assert "does not type-check" in result.err
    after = snapshot(example, include_state=False)
    changed = {k for k in after if after.get(k) != before.get(k)}
    assert changed <= {".taskmaster/tasks/tasks.json", ".taskmaster/tasks/tasks.json.lock"}

    def subtasks_of_25(plan: dict[str, Any]) -> list[dict[str, Any]]:
        task = next(t for t in plan["master"]["tasks"] if t["id"] == 25)
        return list(task.get("subtasks", []))

    added = subtasks_of_25(json.loads(tasks.read_text()))[len(subtasks_of_25(plan_before)) :]
    assert [s["title"] for s in added] == ["Remediate the D1-to-RPC refactor of apps/notes"]
    assert "TS" in added[0]["details"]


def test_needs_model_sites_are_queued_for_approval_once(cli: Any, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "example", require_tsc=False)
    source = Path(__file__).parent.parent / "examples" / "STAGING" / "unsafe-cases" / "src"
    for path in sorted(source.glob("*.ts")):
        write(root, f"apps/unsafe/src/{path.name}", path.read_text())
    first = cli("refactor", "apply", "apps/unsafe", "-w", root, "--no-validate", "--json")
    assert first.code == 0, first.out + first.err
    assert first.json()["share"]["needs_model"] == 12

    listed = cli("approvals", "list", "--kind", "needs_model", "-w", root, "--json")
    assert listed.code == 0, listed.err
    items = listed.json()
    # One item per blocking site; the sites that only wait on it ride along with it. A site
    # with its own reason no longer rides along with another's (board.ts 16 and 24 both block).
    blocking = {
        (i["payload"]["work_item"]["file"], i["payload"]["work_item"]["start_line"]) for i in items
    }
    assert blocking == {
        ("apps/unsafe/src/backup.ts", 5),
        ("apps/unsafe/src/board.ts", 16),
        ("apps/unsafe/src/board.ts", 24),
        ("apps/unsafe/src/importer.ts", 9),
        ("apps/unsafe/src/search.ts", 15),
        ("apps/unsafe/src/server.ts", 8),
    }
    assert all(i["state"] == "pending" for i in items)
    search = next(i for i in items if i["payload"]["work_item"]["file"].endswith("search.ts"))
    assert "built at run time" in search["payload"]["prompt"]
    assert search["payload"]["allowed_files"][0] == "apps/unsafe/src/search.ts"

    again = cli("refactor", "apply", "apps/unsafe", "-w", root, "--no-validate", "--json")
    assert again.code == 0
    relisted = cli("approvals", "list", "--kind", "needs_model", "-w", root, "--json").json()
    assert len(relisted) == len(items)
