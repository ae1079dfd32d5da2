"""The worker side of the D1/SQLite-to-RPC refactor: method planning, recipes, rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.migrate.models import SqlSite
from engine.migrate.sqlfinder import find_sql_sites
from engine.refactor.methods import ddl_statements, dropped_pragmas, plan_methods, sql_params
from engine.refactor.models import RpcTarget
from engine.refactor.recipes import (
    REASON_CATALOG,
    REASON_ESCAPES,
    REASON_NO_TEXT,
    REASON_TRANSACTION,
    RECIPES,
    choose_recipe,
    site_reason,
)
from engine.refactor.worker import WorkerRefactor, refactor_worker, worker_batch

FIXTURES = Path(__file__).parent / "fixtures" / "refactor"
FOLDER = "apps/demo"
TARGET = RpcTarget(
    folder=FOLDER,
    entrypoint_path="orchestrator/worker/entrypoints/DemoOps.ts",
    class_name="DemoOps",
    binding="ORCHESTRATOR_DEMO",
    wrangler="orchestrator/wrangler.jsonc",
)


def _inputs(case: str) -> dict[str, bytes]:
    root = FIXTURES / case / "input"
    return {
        f"{FOLDER}/{path.relative_to(root).as_posix()}": path.read_bytes()
        for path in sorted(root.rglob("*.ts"))
    }


def _expected(case: str) -> dict[str, str]:
    root = FIXTURES / case / "expected"
    if not root.is_dir():
        return {}
    return {
        f"{FOLDER}/{path.relative_to(root).as_posix()}": path.read_text()
        for path in sorted(root.rglob("*.ts"))
    }


def _run(case: str) -> WorkerRefactor:
    return refactor_worker(Path("/ws"), TARGET, _inputs(case))


def _site(statement: str, call: str, kind: str, **extra: object) -> SqlSite:
    fields: dict[str, object] = {
        "file": "a.ts",
        "start_line": 1,
        "end_line": 1,
        "driver": "bun:sqlite",
        "call": call,
        "statement": statement,
        "kind": kind,
        "tables_read": ["notes"] if kind == "select" else [],
        "tables_written": [] if kind == "select" else ["notes"],
        "is_async": False,
    }
    fields.update(extra)
    return SqlSite.model_validate(fields)


# --------------------------------------------------------------------------- methods


def test_method_names_params_and_returns() -> None:
    sites = [
        _site("INSERT INTO notes (title, body) VALUES (?, ?)", "this.insert.run", "insert"),
        _site("SELECT id FROM notes WHERE id = ?", "this.select.get", "select", start_line=2),
        _site("SELECT id FROM notes", "db.query().all", "select", start_line=3),
        _site("SELECT COUNT(*) AS n FROM notes", "db.query().get", "select", start_line=4),
        _site("DELETE FROM notes WHERE id = ?", "this.delete.run", "delete", start_line=5),
        _site("UPDATE notes SET title = ? WHERE id = ?", "db.query().run", "update", start_line=6),
    ]
    methods = plan_methods(sites)
    assert [(m.name, [p.name for p in m.params], m.returns) for m in methods] == [
        ("insertNote", ["title", "body"], "result"),
        ("getNoteById", ["id"], "row"),
        ("listNotes", [], "rows"),
        ("countNotes", [], "row"),
        ("deleteNoteById", ["id"], "result"),
        ("updateNoteTitleById", ["title", "id"], "result"),
    ]


def test_same_statement_is_one_method_and_clashes_get_suffixes() -> None:
    sites = [
        _site("SELECT id FROM notes WHERE id = ?", "this.a.get", "select", start_line=1),
        _site("SELECT  id FROM notes WHERE id = ?;", "this.b.get", "select", start_line=9),
        _site("SELECT title FROM notes WHERE id = ?", "this.c.get", "select", start_line=5),
    ]
    methods = plan_methods(sites)
    assert [m.name for m in methods] == ["getNoteById", "getNoteById2"]
    assert methods[0].sites == ["a.ts:1", "a.ts:9"]
    assert plan_methods(list(reversed(sites))) == methods


def test_params_from_placeholders() -> None:
    names = [p.name for p in sql_params("SELECT * FROM t WHERE a_b = ?1 OR id = ?1 OR id = $id")]
    assert names == ["aB", "id"]
    assert [p.name for p in sql_params("SELECT * FROM t WHERE id = ? OR id = ?")] == ["id", "id2"]
    assert [p.name for p in sql_params("SELECT * FROM t WHERE ? > 0 LIMIT ?")] == ["arg1", "limit"]
    assert [p.name for p in sql_params("SELECT * FROM t WHERE x = :who")] == ["who"]


def test_ddl_and_pragmas_are_not_methods() -> None:
    sites = [
        _site("CREATE TABLE notes (id INTEGER)", "db.exec", "ddl"),
        _site("PRAGMA journal_mode = WAL", "db.exec", "pragma", start_line=2),
    ]
    assert plan_methods(sites) == []
    assert ddl_statements(sites) == ["CREATE TABLE notes (id INTEGER)"]
    assert dropped_pragmas(sites) == ["PRAGMA journal_mode = WAL"]


# --------------------------------------------------------------------------- recipes


def test_recipes_are_declared_as_data() -> None:
    names = {recipe.name for recipe in RECIPES}
    assert {
        "bun-sqlite-prepared-field",
        "bun-sqlite-inline",
        "do-sql-exec",
        "d1-prepare-bind",
        "ddl-to-migration",
        "pragma-drop",
    } <= names
    assert all(recipe.call_shapes and recipe.info().safety for recipe in RECIPES)


def test_choose_recipe_and_reasons() -> None:
    inline = _site("SELECT id FROM notes", "db.query().all", "select")
    recipe = choose_recipe(inline)
    assert recipe is not None and recipe.name == "bun-sqlite-inline"
    dynamic = _site("SELECT * FROM ${table}", "db.query().all", "select")
    assert choose_recipe(dynamic) is None
    assert site_reason(dynamic) == REASON_NO_TEXT
    begin = _site("BEGIN", "db.exec", "transaction")
    assert site_reason(begin) == REASON_TRANSACTION


# --------------------------------------------------------------------------- rewrites


RECIPE_CASES = (
    "bun-prepared",
    "bun-inline",
    "do-sql",
    "d1",
    "ddl-pragma",
    "propagation",
    "d1-meta",
    "do-rows-written",
    "module-env",
)


@pytest.mark.parametrize("case", RECIPE_CASES)
def test_recipe_output_matches_expected_text(case: str) -> None:
    result = _run(case)
    assert result.rewritten == _expected(case)
    assert result.work_items == []
    assert all(d.reason is None for d in result.decisions)


def test_do_sql_recipe_covers_one_to_array_and_iteration() -> None:
    result = _run("do-sql")
    assert [(d.site.call, d.recipe, d.method) for d in result.decisions] == [
        ("this.ctx.storage.sql.exec().one", "do-sql-exec", "countHits"),
        ("this.ctx.storage.sql.exec().toArray", "do-sql-exec", "listHits"),
        ("this.ctx.storage.sql.exec", "do-sql-exec", "listHits2"),
        ("this.ctx.storage.sql.exec", "do-sql-exec", "insertHit"),
    ]
    text = result.rewritten[f"{FOLDER}/counter.ts"]
    assert "for (const row of await this.env.ORCHESTRATOR_DEMO.listHits2())" in text


def test_ddl_goes_to_migration_and_pragma_is_dropped() -> None:
    result = _run("ddl-pragma")
    assert result.ddl == [
        "CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    ]
    assert result.dropped == ["PRAGMA journal_mode = WAL"]
    assert [d.recipe for d in result.decisions] == [
        "bun-sqlite-inline",
        "pragma-drop",
        "ddl-to-migration",
    ]


def test_bun_run_result_keeps_changes_and_last_insert_rowid() -> None:
    text = _run("bun-prepared").rewritten[f"{FOLDER}/store.ts"]
    assert "const { lastInsertRowid } = await this.env.ORCHESTRATOR_DEMO.insertNote(" in text
    assert "(await this.env.ORCHESTRATOR_DEMO.deleteNoteById(id)).changes > 0" in text
    assert "bun:sqlite" not in text and "Statement" not in text


def test_async_propagates_across_files() -> None:
    result = _run("propagation")
    handler = result.rewritten[f"{FOLDER}/handler.ts"]
    assert "export async function handle(id: number, env: Env): Promise<Response>" in handler
    assert "const text = await shout(id, env);" in handler
    notes = result.rewritten[f"{FOLDER}/notes.ts"]
    assert "return (await readTitle(id, env)).toUpperCase();" in notes


@pytest.mark.parametrize(
    ("case", "line", "reason"),
    [
        ("harm-dynamic", 2, REASON_NO_TEXT),
        ("harm-transaction", 9, REASON_TRANSACTION),
        ("harm-sync", 9, "a getter cannot be async"),
        ("harm-sync", 19, "a callback of map() must return synchronously"),
        ("harm-escape", 5, REASON_ESCAPES),
        ("harm-param", 4, "the database arrives as parameter `db`"),
        ("harm-catalog", 6, REASON_CATALOG),
        ("harm-meta", 6, "the D1 run() result is used beyond success, meta.changes"),
    ],
)
def test_do_no_harm_goes_to_needs_model(case: str, line: int, reason: str) -> None:
    result = _run(case)
    assert result.rewritten == {}
    item = next(w for w in result.work_items if w.start_line == line)
    assert reason in item.reason
    assert f"{line:>2} | " in item.context or f"{line} | " in item.context
    # Every other site of the same class is left too: a class is rewritten whole or not at all.
    assert all(d.reason is not None for d in result.decisions)


def test_work_item_context_has_numbered_surrounding_lines() -> None:
    item = _run("harm-transaction").work_items[0]
    assert item.id == f"{FOLDER}:{FOLDER}/store.ts:4"
    first_line = item.context.splitlines()[0]
    assert first_line.strip().startswith("1 | import { Database }")


def test_second_cycle_changes_nothing() -> None:
    for case in RECIPE_CASES:
        inputs = _inputs(case)
        first = refactor_worker(Path("/ws"), TARGET, inputs)
        second_input = inputs | {path: text.encode() for path, text in first.rewritten.items()}
        second = refactor_worker(Path("/ws"), TARGET, second_input)
        assert second.rewritten == {}, case
        assert all(not find_sql_sites(b, p) for p, b in second_input.items()), case


def test_two_runs_are_byte_identical() -> None:
    for case in sorted(path.name for path in FIXTURES.iterdir()):
        assert _run(case).model_dump_json() == _run(case).model_dump_json()


def test_write_results_keep_the_reads_the_worker_makes() -> None:
    notes = _run("d1-meta").rewritten[f"{FOLDER}/notes.ts"]
    assert "const result = await env.ORCHESTRATOR_DEMO.insertNote(title);" in notes
    assert "return result.meta.last_row_id;" in notes
    assert "const { meta } = await env.ORCHESTRATOR_DEMO.updateNoteTitleById(title, id);" in notes
    queue = _run("do-rows-written").rewritten[f"{FOLDER}/queue.ts"]
    assert "return (await this.env.ORCHESTRATOR_DEMO.deleteJob()).rowsWritten;" in queue


def test_named_row_types_survive_as_casts() -> None:
    notes = _run("d1-meta").rewritten[f"{FOLDER}/notes.ts"]
    assert "(await env.ORCHESTRATOR_DEMO.getNoteById(id)) as unknown as NoteRow | null" in notes
    assert "(await env.ORCHESTRATOR_DEMO.listNotes()) as unknown as NoteRow[]" in notes


def test_module_scope_code_reads_the_binding_from_cloudflare_workers() -> None:
    result = _run("module-env")
    storage = result.rewritten[f"{FOLDER}/storage.ts"]
    assert storage.startswith('import { env } from "cloudflare:workers";\n')
    assert "bun:sqlite" not in storage and "new Database" not in storage
    declaration = result.rewritten[f"{FOLDER}/cloudflare-env.d.ts"]
    assert "namespace Cloudflare" in declaration
    assert "ORCHESTRATOR_DEMO: Service<DemoOps>;" in declaration
    # No site reads the worker's own Env, so no Env type is invented for it.
    assert f"{FOLDER}/types.ts" not in result.rewritten


def test_module_scope_env_is_refused_when_the_name_is_taken() -> None:
    inputs = _inputs("module-env")
    storage = inputs[f"{FOLDER}/storage.ts"].replace(
        b"export interface LogRow", b"const env = process.env;\n\nexport interface LogRow"
    )
    result = refactor_worker(Path("/ws"), TARGET, inputs | {f"{FOLDER}/storage.ts": storage})
    assert result.rewritten == {}
    assert any("the name `env` is already used" in w.reason for w in result.work_items)


def test_worker_batch_overwrites_each_rewritten_file() -> None:
    result = _run("bun-prepared")
    batch = worker_batch(result, task_id=25)
    assert batch is not None
    assert [(op.op, op.file, op.overwrite) for op in batch.patches] == [
        ("create", f"{FOLDER}/store.ts", True),
        ("create", f"{FOLDER}/types.ts", True),
    ]
    assert batch.requester == "codex-recipes"
    assert worker_batch(_run("harm-dynamic")) is None
