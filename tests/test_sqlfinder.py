"""SQL finder: hand-checked fixtures per driver, look-alikes that must not match, and the
SQL text analysis (kind, tables) the refactor relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.migrate.models import SqlSite
from engine.migrate.sqlfinder import (
    find_sql_sites,
    looks_like_sql,
    sites_to_json,
    sql_kind,
    sql_tables,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sql"
CASES = sorted(path.stem for path in FIXTURES.glob("*.ts"))
COMPARED = (
    "start_line",
    "driver",
    "kind",
    "call",
    "tables_read",
    "tables_written",
    "is_async",
    "function",
    "class_name",
)


def _scan(name: str) -> list[SqlSite]:
    path = FIXTURES / f"{name}.ts"
    return find_sql_sites(path.read_bytes(), f"workers/{path.name}")


def _expected(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return data


def _compare(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(missing expected sites, unexpected found sites, matched count) for one fixture."""
    found = [{key: site.model_dump()[key] for key in COMPARED} for site in _scan(name)]
    expected = _expected(name)
    missing: list[dict[str, Any]] = []
    for site in expected:
        if site in found:
            found.remove(site)
        else:
            missing.append(site)
    return missing, found, len(expected) - len(missing)


def _snippet(source: str, path: str = "src/worker.ts") -> list[SqlSite]:
    return find_sql_sites(source.encode(), path)


def _only(source: str) -> SqlSite:
    sites = _snippet(source)
    assert len(sites) == 1, [site.call for site in sites]
    return sites[0]


# --------------------------------------------------------------------------- fixtures


REQUIRED_FIXTURES = {
    "bun_sqlite",
    "better_sqlite3",
    "d1_worker",
    "drizzle_d1",
    "durable_object",
    "kysely_d1",
    "negatives",
}


def test_every_fixture_has_hand_written_expectations() -> None:
    assert set(CASES) >= REQUIRED_FIXTURES
    for name in CASES:
        for expected in _expected(name):
            assert set(expected) == set(COMPARED), (name, expected)


@pytest.mark.parametrize("name", CASES)
def test_fixture_sites_match_expectations(name: str) -> None:
    missing, unexpected, _ = _compare(name)
    assert not missing, f"{name}: not found (or found with other fields): {missing}"
    assert not unexpected, f"{name}: found but not expected: {unexpected}"


def test_precision_and_recall_over_all_fixtures() -> None:
    expected_total = found_total = matched_total = 0
    for name in CASES:
        missing, unexpected, matched = _compare(name)
        matched_total += matched
        expected_total += matched + len(missing)
        found_total += matched + len(unexpected)
    precision = matched_total / found_total
    recall = matched_total / expected_total
    print(
        f"\nsqlfinder fixtures: {found_total} found, {expected_total} expected, "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert expected_total >= 70
    assert precision == 1.0
    assert recall == 1.0


def test_negatives_yield_no_sites() -> None:
    assert _scan("negatives") == []


def test_sites_carry_file_end_line_and_order() -> None:
    sites = _scan("d1_worker")
    assert {site.file for site in sites} == {"workers/d1_worker.ts"}
    assert [site.start_line for site in sites] == sorted(site.start_line for site in sites)
    batch = next(site for site in sites if site.call == "c.env.DB.batch")
    assert (batch.start_line, batch.end_line) == (45, 49)


def test_stored_statement_use_copies_the_prepared_sql() -> None:
    uses = [site for site in _scan("bun_sqlite") if site.call == "this.insertStmt.run"]
    assert len(uses) == 2
    assert {site.statement for site in uses} == {
        "INSERT INTO logs (worker_id, level, message) VALUES (?, ?, ?)"
    }


def test_sites_to_json_round_trips() -> None:
    sites = _scan("durable_object")
    loaded = [SqlSite.model_validate(item) for item in json.loads(sites_to_json(sites))]
    assert loaded == sites


# --------------------------------------------------------------------------- statement text


def test_statement_from_string_literal() -> None:
    opened, site = _snippet(
        'import { Database } from "bun:sqlite";\n'
        'const db = new Database("x.db");\n'
        "export const n = () => db.query('SELECT COUNT(*) AS n FROM users').get();\n"
    )
    assert opened.statement is None
    assert site.statement == "SELECT COUNT(*) AS n FROM users"


def test_statement_from_template_keeps_placeholders() -> None:
    site = _only(
        "export async function get(env: Env, table: string, id: number) {\n"
        "  return env.DB.prepare(`SELECT * FROM ${table} WHERE id = ?`).bind(id).first();\n"
        "}\n"
    )
    assert site.statement == "SELECT * FROM ${table} WHERE id = ?"
    assert site.kind == "select"
    assert site.tables_read == []


def test_statement_from_concatenated_literals() -> None:
    site = _only(
        "export async function get(env: Env) {\n"
        '  return env.DB.prepare("SELECT id " +\n'
        '    "FROM users").all();\n'
        "}\n"
    )
    assert site.statement == "SELECT id FROM users"
    assert site.tables_read == ["users"]


@pytest.mark.parametrize(
    "argument",
    ["query", "buildQuery(filters)", '"SELECT * FROM " + table', "QUERIES.byId"],
)
def test_statement_is_none_for_computed_sql(argument: str) -> None:
    site = _only(
        "export async function run(env: Env, query: string, table: string) {\n"
        f"  return env.DB.prepare({argument}).all();\n"
        "}\n"
    )
    assert site.statement is None
    assert site.kind == "unknown"


def test_statement_variable_assigned_two_texts_is_unknown() -> None:
    sites = _snippet(
        'import { Database } from "bun:sqlite";\n'
        'const db = new Database("x.db");\n'
        "let stmt = db.prepare('SELECT * FROM a');\n"
        "export function use(flag: boolean) {\n"
        "  if (flag) stmt = db.prepare('DELETE FROM b');\n"
        "  return stmt.all();\n"
        "}\n"
    )
    use = next(site for site in sites if site.call == "stmt.all")
    assert use.statement is None
    assert use.kind == "unknown"


# --------------------------------------------------------------------------- SQL analysis


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "select"),
        ("  select * from t", "select"),
        ("-- note\nSELECT * FROM t", "select"),
        ("/* why */ INSERT INTO t VALUES (1)", "insert"),
        ("INSERT OR REPLACE INTO t (a) VALUES (?)", "insert"),
        ("REPLACE INTO t (a) VALUES (?)", "insert"),
        ("UPSERT INTO t VALUES (1)", "insert"),
        ("UPDATE t SET a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ("CREATE TABLE IF NOT EXISTS t (a INTEGER)", "ddl"),
        ("ALTER TABLE t ADD COLUMN b TEXT", "ddl"),
        ("DROP INDEX IF EXISTS i", "ddl"),
        ("PRAGMA journal_mode = WAL", "pragma"),
        ("BEGIN IMMEDIATE", "transaction"),
        ("COMMIT", "transaction"),
        ("ROLLBACK TO sp", "transaction"),
        ("WITH r AS (SELECT * FROM t) DELETE FROM u WHERE id IN (SELECT id FROM r)", "delete"),
        ("WITH r(x) AS (VALUES (1)) SELECT x FROM r", "select"),
        ("${base} WHERE id = ?", "unknown"),
        ("", "unknown"),
        ("hello world", "unknown"),
    ],
)
def test_sql_kind(sql: str, kind: str) -> None:
    assert sql_kind(sql) == kind


@pytest.mark.parametrize(
    ("sql", "read", "written"),
    [
        ("SELECT * FROM users", ["users"], []),
        ('SELECT * FROM "user logs" WHERE 1', ["user logs"], []),
        ("SELECT * FROM `logs` l JOIN [workers] w ON w.id = l.w", ["logs", "workers"], []),
        ("SELECT * FROM main.users AS u LEFT OUTER JOIN orders o ON 1", ["users", "orders"], []),
        ("SELECT * FROM a, b AS bb, c WHERE a.id = b.id", ["a", "b", "c"], []),
        ("select * from a inner join b using (id) cross join c", ["a", "b", "c"], []),
        ("SELECT * FROM json_each(?) j JOIN t ON t.id = j.value", ["t"], []),
        ("SELECT * FROM (SELECT id FROM inner_t) sub", ["inner_t"], []),
        ("INSERT INTO logs (a, b) VALUES (?, ?)", [], ["logs"]),
        ("INSERT OR REPLACE INTO metrics(name) VALUES (?)", [], ["metrics"]),
        ("REPLACE INTO kv VALUES (?, ?)", [], ["kv"]),
        ("INSERT INTO archive SELECT * FROM live WHERE done", ["live"], ["archive"]),
        (
            "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            [],
            ["t"],
        ),
        ("UPDATE OR IGNORE tasks SET a = 1", [], ["tasks"]),
        ("UPDATE t SET n = (SELECT COUNT(*) FROM u WHERE u.t = t.id)", ["u"], ["t"]),
        ("DELETE FROM sessions WHERE expires < ?", [], ["sessions"]),
        ("CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY)", [], ["logs"]),
        ("CREATE TEMP TABLE scratch(x)", [], ["scratch"]),
        ("CREATE VIRTUAL TABLE docs USING fts5(body)", [], ["docs"]),
        ("CREATE UNIQUE INDEX IF NOT EXISTS ix ON users (email)", [], ["users"]),
        ("ALTER TABLE users ADD COLUMN age INTEGER", [], ["users"]),
        ("DROP TABLE IF EXISTS old_users", [], ["old_users"]),
        ("CREATE TABLE a (x); CREATE INDEX ia ON a (x); INSERT INTO b VALUES (1)", [], ["a", "b"]),
        ("WITH recent AS (SELECT * FROM logs) SELECT * FROM recent", ["logs"], []),
        ("PRAGMA table_info(users)", ["users"], []),
        ("PRAGMA journal_mode = WAL", [], []),
        ("SELECT * FROM ${table} WHERE id = ?", [], []),
        ("SELECT 'FROM fake' AS s FROM real_t -- FROM comment_t", ["real_t"], []),
        ("DELETE FROM \\`quoted\\` WHERE 1", [], ["quoted"]),
    ],
)
def test_sql_tables(sql: str, read: list[str], written: list[str]) -> None:
    assert sql_tables(sql) == (read, written)


def test_looks_like_sql() -> None:
    assert looks_like_sql("  SELECT 1")
    assert looks_like_sql("with x as (select 1) select * from x")
    assert not looks_like_sql("welcome-email")
    assert not looks_like_sql("")


# --------------------------------------------------------------------------- async, names


def test_is_async_per_driver_and_when_awaited() -> None:
    sites = _snippet(
        'import { Database } from "bun:sqlite";\n'
        'const db = new Database("x.db");\n'
        "export async function a() { return db.query('SELECT 1').get(); }\n"
        "export async function b() { return await db.query('SELECT 2').get(); }\n"
        "export async function c(env: Env) { return env.DB.prepare('SELECT 3').first(); }\n"
    )
    by_function = {site.function: site.is_async for site in sites if site.function}
    assert by_function == {"a": False, "b": True, "c": True}


def test_enclosing_function_and_class_names() -> None:
    sites = _snippet(
        "export class Repo {\n"
        "  constructor(private readonly db: D1Database) {}\n"
        "  byId = (id: number) => this.db.prepare('SELECT * FROM t WHERE id = ?').bind(id).all();\n"
        "  async all() { return [1].map(async () => this.db.prepare('SELECT * FROM t').all()); }\n"
        "}\n"
        "const handlers = {\n"
        "  async count(env: Env) { return env.DB.prepare('SELECT COUNT(*) FROM t').first(); },\n"
        "  remove: async (env: Env) => env.DB.prepare('DELETE FROM t').run(),\n"
        "};\n"
        "export const top = async (env: Env) => env.DB.prepare('SELECT 1').first();\n"
        "export default { fetch: async (r: Request, env: Env) => env.DB.exec('VACUUM') };\n"
    )
    names = [(site.start_line, site.function, site.class_name) for site in sites]
    assert names == [
        (3, "byId", "Repo"),
        (4, "all", "Repo"),
        (7, "count", None),
        (8, "remove", None),
        (10, "top", None),
        (11, "fetch", None),
    ]
    assert {site.driver for site in sites} == {"d1"}


# --------------------------------------------------------------------------- edge cases


def test_file_without_database_use_is_skipped() -> None:
    assert _snippet("export const x = [1, 2].map((n) => n * 2);\nconsole.log(x);\n") == []


def test_d1_binding_known_only_by_name_needs_sql_looking_text() -> None:
    sites = _snippet(
        "export async function f(env: Env) {\n"
        "  await env.TEMPLATES_DB.prepare('welcome-email');\n"
        "  return env.LEGACY_DB.prepare('SELECT * FROM legacy_users').all();\n"
        "}\n"
    )
    assert [site.call for site in sites] == ["env.LEGACY_DB.prepare().all"]


def test_env_binding_typed_as_something_else_is_not_d1() -> None:
    sites = _snippet(
        "interface Env { DB_EVENTS: Queue<string>; DB: D1Database }\n"
        "export async function f(env: Env) {\n"
        "  await env.DB_EVENTS.exec('SELECT 1');\n"
        "  return env.DB.exec('DELETE FROM t');\n"
        "}\n"
    )
    assert [site.call for site in sites] == ["env.DB.exec"]


def test_shadowing_local_is_not_the_database() -> None:
    sites = _snippet(
        'import { Database } from "bun:sqlite";\n'
        'const db = new Database("x.db");\n'
        "export function local() {\n"
        "  const db = new Map<string, number>();\n"
        "  return db.get('SELECT');\n"
        "}\n"
        "export function outer() { return db.query('SELECT 1').get(); }\n"
    )
    assert [site.call for site in sites] == ["new Database", "db.query().get"]


def test_database_typed_parameter_and_statement_map() -> None:
    sites = _snippet(
        'import type { Database } from "bun:sqlite";\n'
        "export function makeQueries(db: Database) {\n"
        "  const q = { byId: db.query('SELECT * FROM t WHERE id = ?') };\n"
        "  return (id: number) => q.byId.get(id);\n"
        "}\n"
    )
    assert [(site.call, site.kind) for site in sites] == [
        ("db.query", "select"),
        ("q.byId.get", "select"),
    ]


def test_durable_object_tagged_template_on_storage_sql() -> None:
    site = _only(
        "export class Counter extends DurableObject {\n"
        "  read() {\n"
        "    const sql = this.ctx.storage.sql;\n"
        "    return sql`SELECT value FROM counters WHERE id = ${1}`.toArray();\n"
        "  }\n"
        "}\n"
    )
    assert site.call == "sql``.toArray"
    assert site.statement == "SELECT value FROM counters WHERE id = ${1}"
    assert (site.kind, site.tables_read) == ("select", ["counters"])


def test_sql_storage_typed_parameter_alone_is_enough() -> None:
    site = _only(
        "export function counts(sql: SqlStorage) {\n"
        "  return sql.exec('SELECT COUNT(*) AS n FROM jobs').one();\n"
        "}\n"
    )
    assert (site.driver, site.call, site.tables_read) == (
        "durable-object-sql",
        "sql.exec().one",
        ["jobs"],
    )


def test_transaction_sync_without_storage_sql_is_not_a_site() -> None:
    source = (
        "export class Kv extends DurableObject {\n"
        "  bump() { this.ctx.storage.transactionSync(() => this.ctx.storage.kv.put('n', 1)); }\n"
        "}\n"
    )
    assert _snippet(source) == []


def test_unexecuted_d1_statement_outside_batch_is_a_site() -> None:
    site = _only(
        "export function byId(env: Env, id: number): D1PreparedStatement {\n"
        "  return env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(id);\n"
        "}\n"
    )
    assert (site.call, site.kind, site.tables_read) == ("env.DB.prepare", "select", ["users"])


def test_better_sqlite3_require_and_drizzle_transaction_callback() -> None:
    sites = _snippet(
        'const Database = require("better-sqlite3");\n'
        'const db = new Database("app.db");\n'
        "db.exec('BEGIN');\n",
        "src/app.js",
    )
    assert [(site.driver, site.call, site.kind) for site in sites] == [
        ("better-sqlite3", "new Database", "unknown"),
        ("better-sqlite3", "db.exec", "transaction"),
    ]
    drizzle_sites = _snippet(
        'import { drizzle } from "drizzle-orm/d1";\n'
        "export async function move(env: Env) {\n"
        "  const db = drizzle(env.DB);\n"
        "  await db.transaction(async (tx) => {\n"
        "    await tx.insert(archive).values({ id: 1 });\n"
        "  });\n"
        "}\n"
    )
    assert [(site.call, site.kind) for site in drizzle_sites] == [
        ("db.transaction", "transaction"),
        ("tx.insert().values", "insert"),
    ]
