"""The ledger: schema and migrations, concurrent writers, and the logs/stats/trends queries."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine.approvals.table import APPROVALS, run_approvals
from engine.epic.store import EPIC_TABLES, load_run
from engine.errors import BadInput, LockTimeout
from engine.ledger import schema, store
from engine.ledger.events import LedgerEvent, PatchEvent
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger, canonical_ts, split_statements
from engine.patch.patch_events import patch_events, record_patch_events
from engine.patch.reports import LogQuery, patch_logs, patch_stats, patch_trends
from engine.route.calls import MODEL_CALLS, model_calls
from engine.validate.quarantine import AGENT_EVENTS, agent_statuses
from engine.validate.triggers import SPECIALIST_QUEUE, queue_items

REPO_ROOT = Path(__file__).resolve().parent.parent


def ev(kind: Any, batch: str, ts: str, **fields: Any) -> PatchEvent:
    return PatchEvent(kind=kind, batch_id=batch, ts=ts, **fields)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ws" / ".vibehq" / "ledger.sqlite"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger.open(ledger_path) as opened:
        yield opened


def _sample_events() -> list[PatchEvent]:
    """Five batches over two ISO weeks (2026-W47: Nov 16-22, 2026-W48: Nov 23-29)."""
    b1 = {"order_id": "o1", "task_id": "9", "requester": "codex", "reason": "move worker"}
    b2 = {"order_id": "o1", "task_id": "10", "requester": "auto", "reason": "wire routes"}
    b3 = {"order_id": "o2", "task_id": "9", "requester": "codex", "reason": "docs"}
    b4 = {"order_id": "o2", "task_id": "10", "requester": "codex", "reason": "helper"}
    page = "app/[id]/page.tsx"
    return [
        ev("requested", "b1", "2026-11-16T10:00:00Z", file="src/a.ts", op="append", **b1),
        ev("requested", "b1", "2026-11-16T10:00:01Z", file="src/b.ts", op="replace-block", **b1),
        ev("applied", "b1", "2026-11-16T10:00:02Z", file="src/a.ts", op="append", **b1),
        ev("applied", "b1", "2026-11-16T10:00:03Z", file="src/b.ts", op="replace-block", **b1),
        ev("requested", "b2", "2026-11-17T09:00:00Z", file=page, op="insert-after", **b2),
        ev(
            "failed",
            "b2",
            "2026-11-17T09:00:01Z",
            file=page,
            op="insert-after",
            error="anchor not found: // ROUTES",
            **b2,
        ),
        ev("requested", "b3", "2026-11-23T08:00:00Z", file="src/a.ts", op="append", **b3),
        ev("requested", "b3", "2026-11-23T08:00:01Z", file="docs/README.md", op="create", **b3),
        ev("applied", "b3", "2026-11-23T08:00:02Z", file="src/a.ts", op="append", **b3),
        ev(
            "failed",
            "b3",
            "2026-11-23T08:00:03Z",
            file="docs/README.md",
            op="create",
            error="file exists",
            **b3,
        ),
        ev("requested", "b4", "2026-11-24T12:00:00Z", file="src/c.ts", op="append", **b4),
        ev("applied", "b4", "2026-11-24T12:00:01Z", file="src/c.ts", op="append", **b4),
        ev("rolled_back", "b4", "2026-11-24T12:00:02Z", file="src/c.ts", op="append", **b4),
        ev("requested", "b5", "2026-11-24T13:00:00Z", file="lib/x.ts", op="delete"),
        ev(
            "failed",
            "b5",
            "2026-11-24T13:00:01Z",
            file="lib/x.ts",
            op="delete",
            error="anchor not found: // ROUTES",
        ),
    ]


@pytest.fixture
def sample(ledger: Ledger) -> Ledger:
    record_patch_events(ledger, _sample_events())
    return ledger


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --- schema, migrations, file settings ------------------------------------------------------


def test_open_creates_folder_schema_and_version(ledger_path: Path) -> None:
    assert not ledger_path.parent.exists()
    with Ledger.open(ledger_path) as ledger:
        assert ledger.schema_version == store.SCHEMA_VERSION == 6
        versions = ledger.schema_versions()
    # Every schema registered by an imported owner is created at open.
    assert {"events", "patch_events", "agent_events", "specialist_queue"} <= set(versions)
    assert set(versions.values()) == {1}
    conn = _raw(ledger_path)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"patch_events", "events", "agent_events", "specialist_queue"} <= names
    assert {
        "patch_events_ts",
        "patch_events_task_id",
        "patch_events_file",
        "patch_events_batch_id",
        "events_kind_ts",
    } <= names
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO patch_events (ts, kind, batch_id) VALUES ('t', 'merged', 'b')")


def test_wal_mode_and_connection_pragmas(ledger: Ledger, ledger_path: Path) -> None:
    assert _raw(ledger_path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ledger.reading() as conn:
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 15000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_connection_opens_lazily(ledger_path: Path) -> None:
    ledger = Ledger(ledger_path)
    assert not ledger_path.exists()
    assert patch_events(ledger) == []
    assert ledger_path.exists()
    ledger.close()


_MARKER_V1 = """
    CREATE TABLE test_marks (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
    INSERT INTO test_marks (note) VALUES ('v1 ran');
"""
_MARKER_V2 = """
    ALTER TABLE test_marks ADD COLUMN extra TEXT;
    INSERT INTO test_marks (note, extra) VALUES ('v2 ran', 'x');
"""


def _marks(ledger: Ledger, schema: TableSchema) -> list[str]:
    with ledger.reading(schema) as conn:
        return [r[0] for r in conn.execute("SELECT note FROM test_marks ORDER BY id")]


def test_reopen_keeps_data_and_does_not_rerun_migrations(ledger_path: Path) -> None:
    first = TableSchema("test_marks", (_MARKER_V1,))
    with Ledger.open(ledger_path) as ledger:
        record_patch_events(ledger, [ev("applied", "b1", "2026-11-16T10:00:00Z")])
        assert _marks(ledger, first) == ["v1 ran"]
    second = TableSchema("test_marks", (_MARKER_V1, _MARKER_V2))
    for _ in range(3):
        with Ledger.open(ledger_path) as ledger:
            assert len(patch_events(ledger)) == 1
            assert _marks(ledger, second) == ["v1 ran", "v2 ran"]
            assert ledger.schema_versions()["test_marks"] == 2


def test_a_schema_its_owner_never_registered_is_created_on_first_use(ledger_path: Path) -> None:
    late = TableSchema("test_marks", (_MARKER_V1,))
    with Ledger.open(ledger_path) as ledger:
        assert "test_marks" not in ledger.schema_versions()
        assert _marks(ledger, late) == ["v1 ran"]
        assert ledger.schema_versions()["test_marks"] == 1


def test_a_failing_migration_leaves_the_table_schema_where_it_was(ledger_path: Path) -> None:
    broken = TableSchema("test_marks", (_MARKER_V1, "ALTER TABLE missing ADD COLUMN x TEXT;"))
    with Ledger.open(ledger_path) as ledger:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            ledger.ensure(broken)
        assert "test_marks" not in ledger.schema_versions()
        assert _marks(ledger, TableSchema("test_marks", (_MARKER_V1,))) == ["v1 ran"]


def test_newer_schema_version_is_refused(ledger_path: Path) -> None:
    Ledger.open(ledger_path).close()
    _raw(ledger_path).execute("PRAGMA user_version = 99")
    with pytest.raises(BadInput, match=rf"schema version 99.*up to version {store.SCHEMA_VERSION}"):
        Ledger.open(ledger_path)


def test_a_newer_table_schema_is_refused(ledger_path: Path) -> None:
    Ledger.open(ledger_path).close()
    _raw(ledger_path).execute("UPDATE schema_versions SET version = 7 WHERE name = 'patch_events'")
    with pytest.raises(BadInput, match=r"'patch_events' at version 7.*up to version 1"):
        Ledger.open(ledger_path)


def test_two_schemas_under_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "_REGISTRY", {})
    register(TableSchema("test_twice", ("CREATE TABLE test_twice (id INTEGER);",)))
    with pytest.raises(ValueError, match="test_twice"):
        register(TableSchema("test_twice", ("CREATE TABLE test_twice (x TEXT);",)))


def test_a_v5_ledger_from_the_old_store_opens_and_reads(tmp_path: Path) -> None:
    """A file the pre-registry store wrote (file version 5, every table created by it) gets
    its tables recorded at version 1 of their owners' schemas, and every row stays readable
    through the owners' queries."""
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "ledger" / "v5-ledger.sqlite", path)
    assert _raw(path).execute("PRAGMA user_version").fetchone()[0] == 5
    with Ledger.open(path) as ledger:
        assert ledger.schema_version == store.SCHEMA_VERSION
        # Applying a schema again would fail on CREATE TABLE; every owner must be at 1.
        ledger.ensure(APPROVALS, MODEL_CALLS, AGENT_EVENTS, SPECIALIST_QUEUE, EPIC_TABLES)
        assert ledger.schema_versions() == {
            "events": 1,
            "patch_events": 1,
            "agent_events": 1,
            "specialist_queue": 1,
            "approvals": 1,
            "model_calls": 1,
            "epic": 1,
        }
        [applied] = patch_events(ledger)
        assert (applied.batch_id, applied.file, applied.lines_added) == ("b-old", "src/a.ts", 3)
        assert [e.payload["actor"] for e in ledger.events(kind="plan_change")] == ["ana"]
        [codex] = agent_statuses(ledger)
        assert (codex.agent, codex.status, codex.reason) == ("codex", "quarantined", "secret")
        assert [q.dedup_key for q in queue_items(ledger)] == ["k1"]
        with ledger.reading(APPROVALS) as conn:
            [item] = run_approvals(conn, "run-old")
        assert (item.title, item.state, item.verdict) == ("old item", "pending", {"reasons": []})
        [call] = model_calls(ledger, "run-old")
        assert (call.tier, call.prompt_tokens, call.cost_usd) == ("standard", 100, 0.5)
        run = load_run(ledger, "run-old")
        assert (run.name, run.status, [s.step for s in run.steps]) == (
            "old epic",
            "done",
            ["report"],
        )
        # New rows go in after the old ones.
        record_patch_events(ledger, [ev("applied", "b-new", "2026-11-16T10:00:00Z")])
        assert [e.batch_id for e in patch_events(ledger)] == ["b-old", "b-new"]
    with Ledger.open(path) as ledger:
        assert len(patch_events(ledger)) == 2


def test_a_file_that_is_not_sqlite_is_bad_input(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(b"not a database, just some text that is long enough" * 40)
    with pytest.raises(BadInput, match="not a usable ledger"):
        Ledger.open(ledger_path)


def test_split_statements_keeps_semicolons_in_triggers_and_literals() -> None:
    script = """
        CREATE TABLE t (a TEXT);
        CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
            UPDATE t SET a = a || ';x' WHERE rowid = new.rowid;
            SELECT 1;
        END;
        INSERT INTO t VALUES ('a;b');
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    assert statements[2] == "INSERT INTO t VALUES ('a;b');"


# --- writing ----------------------------------------------------------------------------------


def test_patch_events_round_trip_in_record_order(ledger: Ledger) -> None:
    events = _sample_events()
    record_patch_events(ledger, events[:6])
    record_patch_events(ledger, events[6:])
    stored = patch_events(ledger)
    assert [(e.batch_id, e.kind, e.file, e.op) for e in stored] == [
        (e.batch_id, e.kind, e.file, e.op) for e in events
    ]
    assert stored[5].error == "anchor not found: // ROUTES"
    assert stored[5].requester == "auto"
    assert [e.kind for e in patch_events(ledger, "b4")] == ["requested", "applied", "rolled_back"]
    assert patch_events(ledger, "missing") == []


def test_timestamps_are_stored_as_canonical_utc(ledger: Ledger) -> None:
    record_patch_events(
        ledger,
        [
            ev("requested", "b", "2026-11-16T10:00:00+02:00"),
            ev("applied", "b", "2026-11-16T08:30:00"),
        ],
    )
    assert [e.ts for e in patch_events(ledger)] == [
        "2026-11-16T08:00:00.000000Z",
        "2026-11-16T08:30:00.000000Z",
    ]
    with pytest.raises(BadInput, match="ISO-8601"):
        record_patch_events(ledger, [ev("applied", "b", "2026-02-30T00:00:00.000000Z")])
    assert canonical_ts("2026-11-16T08:00:00.123456Z") == "2026-11-16T08:00:00.123456Z"


def test_a_batch_of_patch_events_is_stored_all_or_nothing(ledger: Ledger) -> None:
    good = ev("requested", "b", "2026-11-16T10:00:00Z")
    # model_construct skips validation so the row reaches SQLite's CHECK constraint.
    bad = PatchEvent.model_construct(
        kind="merged",  # type: ignore[arg-type]
        batch_id="b",
        ts="2026-11-16T10:00:01Z",
    )
    with pytest.raises(sqlite3.IntegrityError):
        record_patch_events(ledger, [good, bad])
    assert patch_events(ledger) == []
    record_patch_events(ledger, [good])
    assert len(patch_events(ledger)) == 1


def test_a_writer_held_up_past_the_busy_timeout_gets_lock_timeout(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_BUSY_TIMEOUT_MS", 200)
    with Ledger.open(ledger_path) as ledger:
        holder = _raw(ledger_path)
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(LockTimeout, match="locked"):
            record_patch_events(ledger, [ev("applied", "b", "2026-11-16T10:00:00Z")])
        assert time.monotonic() - started < 5
        holder.execute("ROLLBACK")
        record_patch_events(ledger, [ev("applied", "b", "2026-11-16T10:00:00Z")])
        assert len(patch_events(ledger)) == 1


def test_twenty_thousand_rows_in_one_call_all_land(ledger: Ledger) -> None:
    events = [
        PatchEvent(
            kind="applied" if i % 3 else "requested",
            batch_id=f"b{i // 10}",
            task_id=str(i % 7),
            file=f"src/f{i % 50}.ts",
            op="append",
            op_index=i % 10,
            requester="codex",
        )
        for i in range(20_000)
    ]
    # Its speed is measured by bench/patch_apply.py, not asserted here.
    record_patch_events(ledger, events)
    with ledger.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM patch_events").fetchone()[0] == 20_000
        batches = conn.execute("SELECT COUNT(DISTINCT batch_id) FROM patch_events").fetchone()[0]
        assert batches == 2_000


def test_generic_events_filter_and_keep_the_latest(ledger: Ledger) -> None:
    for i in range(5):
        ledger.record(
            LedgerEvent(
                ts=f"2026-11-16T10:00:0{i}Z",
                kind="approval",
                subject=f"batch-{i % 2}",
                payload={"n": i, "who": "ana"},
            )
        )
    ledger.record(LedgerEvent(kind="webhook_failed", subject="batch-0", payload={"status": 500}))
    assert [e.payload["n"] for e in ledger.events(kind="approval")] == [0, 1, 2, 3, 4]
    assert [e.payload["n"] for e in ledger.events(kind="approval", subject="batch-1")] == [1, 3]
    assert [e.payload["n"] for e in ledger.events(kind="approval", limit=2)] == [3, 4]
    assert [e.kind for e in ledger.events(subject="batch-0")] == [
        "approval",
        "approval",
        "approval",
        "webhook_failed",
    ]
    assert ledger.events(kind="approval")[0].ts == "2026-11-16T10:00:00.000000Z"
    with pytest.raises(BadInput):
        ledger.record(LedgerEvent(kind="x", payload={"bad": object()}))


def test_threads_sharing_one_ledger_lose_nothing(ledger: Ledger) -> None:
    def write(n: int) -> None:
        for i in range(50):
            record_patch_events(
                ledger, [ev("requested", f"t{n}", "2026-11-16T10:00:00Z", op_index=i)]
            )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(patch_events(ledger)) == 400


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.ledger.events import LedgerEvent, PatchEvent
    from engine.ledger.store import Ledger
    from engine.patch.patch_events import record_patch_events

    path, workdir, n = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    (workdir / f"ready-{n}").touch()
    while not (workdir / "go").exists():
        time.sleep(0.002)
    with Ledger.open(path) as ledger:
        for i in range(200):
            record_patch_events(
                ledger,
                [PatchEvent(kind="requested", batch_id=f"p{n}", op_index=i, file=f"f{i}.ts")]
            )
            if i % 20 == 0:
                ledger.record(LedgerEvent(kind="writer", subject=f"p{n}", payload={"i": i}))
    """
)


def test_processes_writing_at_once_to_a_fresh_file_lose_nothing(
    tmp_path: Path, ledger_path: Path
) -> None:
    writers = 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(ledger_path), str(tmp_path), str(n)],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < writers:
            assert time.monotonic() < deadline, "writers did not start"
            assert all(p.poll() is None for p in procs), "a writer exited early"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    with Ledger.open(ledger_path) as ledger:
        rows = {(e.batch_id, e.op_index) for e in patch_events(ledger)}
        assert len(patch_events(ledger)) == writers * 200
        assert rows == {(f"p{n}", i) for n in range(writers) for i in range(200)}
        assert len(ledger.events(kind="writer")) == writers * 10
        assert ledger.schema_version == store.SCHEMA_VERSION


def test_importing_the_ledger_is_cheap() -> None:
    code = (
        "import sys, engine.ledger.store, engine.patch.reports; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = {"crewai", "litellm", "chromadb", "langchain", "rich", "typer", "numpy", "httpx"}
    assert "pydantic" in out
    assert heavy.isdisjoint(out)


# --- patch logs -------------------------------------------------------------------------------


def _logs(ledger: Ledger, **query: Any) -> list[tuple[str, str]]:
    page = patch_logs(ledger, LogQuery(**query))
    return [(e.batch_id, e.kind) for e in page.items]


def test_logs_default_is_newest_first_with_total(sample: Ledger) -> None:
    page = patch_logs(sample, LogQuery())
    assert page.total == 15
    assert (page.limit, page.offset, page.has_more) == (50, 0, False)
    assert [e.ts for e in page.items] == sorted((e.ts for e in page.items), reverse=True)
    assert (page.items[0].batch_id, page.items[0].kind) == ("b5", "failed")


def test_logs_filter_by_task(sample: Ledger) -> None:
    page = patch_logs(sample, LogQuery(task_id="10", order="asc"))
    assert page.total == 5
    assert [(e.batch_id, e.kind) for e in page.items] == [
        ("b2", "requested"),
        ("b2", "failed"),
        ("b4", "requested"),
        ("b4", "applied"),
        ("b4", "rolled_back"),
    ]


def test_logs_filter_by_exact_file(sample: Ledger) -> None:
    assert _logs(sample, file="src/a.ts", order="asc") == [
        ("b1", "requested"),
        ("b1", "applied"),
        ("b3", "requested"),
        ("b3", "applied"),
    ]
    assert _logs(sample, file="src/a") == []
    # An exact path with brackets is not a glob pattern.
    assert len(_logs(sample, file="app/[id]/page.tsx")) == 2


def test_logs_filter_by_file_glob(sample: Ledger) -> None:
    files = {e.file for e in patch_logs(sample, LogQuery(file="src/*.ts")).items}
    assert files == {"src/a.ts", "src/b.ts", "src/c.ts"}
    assert {e.file for e in patch_logs(sample, LogQuery(file="src/?.ts")).items} == files
    assert patch_logs(sample, LogQuery(file="*.md")).total == 2
    # `[id]` stays literal: as a character class it would match `app/i/...` instead.
    assert patch_logs(sample, LogQuery(file="app/[id]/*")).total == 2
    assert patch_logs(sample, LogQuery(file="lib/*.tsx")).total == 0


def test_logs_search_is_case_insensitive_over_text_columns(sample: Ledger) -> None:
    assert _logs(sample, search="ANCHOR NOT", order="asc") == [("b2", "failed"), ("b5", "failed")]
    assert patch_logs(sample, LogQuery(search="Auto")).total == 2  # requester
    assert patch_logs(sample, LogQuery(search="wire rou")).total == 2  # reason
    assert patch_logs(sample, LogQuery(search="REPLACE-")).total == 2  # op
    assert patch_logs(sample, LogQuery(search="readme")).total == 2  # file
    assert patch_logs(sample, LogQuery(search="b4")).total == 3  # batch id
    # LIKE wildcards in the search text are literal characters.
    assert patch_logs(sample, LogQuery(search="%")).total == 0
    assert patch_logs(sample, LogQuery(search="src_a")).total == 0


def test_logs_filter_by_kind_and_batch(sample: Ledger) -> None:
    assert _logs(sample, kind="failed", order="asc") == [
        ("b2", "failed"),
        ("b3", "failed"),
        ("b5", "failed"),
    ]
    assert _logs(sample, kind="applied", batch_id="b1") == [("b1", "applied"), ("b1", "applied")]
    assert patch_logs(sample, LogQuery(kind="rolled_back", task_id="9")).total == 0


def test_logs_limit_and_offset_page_through_everything(sample: Ledger) -> None:
    first = patch_logs(sample, LogQuery(limit=4, order="asc"))
    assert (first.total, len(first.items), first.has_more) == (15, 4, True)
    seen: list[tuple[str, str]] = []
    for offset in range(0, 15, 4):
        page = patch_logs(sample, LogQuery(limit=4, offset=offset, order="asc"))
        assert page.total == 15
        seen.extend((e.batch_id, e.ts) for e in page.items)
    assert len(seen) == 15 == len(set(seen))
    last = patch_logs(sample, LogQuery(limit=4, offset=12, order="asc"))
    assert (len(last.items), last.has_more) == (3, False)
    assert patch_logs(sample, LogQuery(limit=4, offset=40)).items == []


def test_logs_order_breaks_timestamp_ties_by_record_order(ledger: Ledger) -> None:
    ts = "2026-11-16T10:00:00Z"
    record_patch_events(ledger, [ev("requested", "b", ts, op_index=i) for i in range(3)])
    record_patch_events(ledger, [ev("applied", "b", "2026-11-16T09:00:00Z", op_index=9)])
    asc = [e.op_index for e in patch_logs(ledger, LogQuery(order="asc")).items]
    desc = [e.op_index for e in patch_logs(ledger, LogQuery(order="desc")).items]
    assert asc == [9, 0, 1, 2]
    assert desc == [2, 1, 0, 9]


def test_log_query_bounds_and_camel_case_json(sample: Ledger) -> None:
    with pytest.raises(ValidationError):
        LogQuery(limit=1001)
    with pytest.raises(ValidationError):
        LogQuery(offset=-1)
    with pytest.raises(ValidationError):
        LogQuery(order="sideways")
    with pytest.raises(ValidationError):
        LogQuery.model_validate({"taskid": "9"})
    assert LogQuery.model_validate({"taskId": "9", "batchId": "b1"}).task_id == "9"
    data = json.loads(patch_logs(sample, LogQuery(limit=1)).model_dump_json())
    assert data["hasMore"] is True
    assert data["items"][0]["batchId"] == "b5"


# --- patch stats ------------------------------------------------------------------------------


def test_stats_counts_per_day_and_kind(sample: Ledger) -> None:
    stats = patch_stats(sample, None, None)
    assert stats.total_events == 15
    assert [
        (d.day, d.requested, d.applied, d.failed, d.rolled_back, d.total) for d in stats.daily
    ] == [
        ("2026-11-16", 2, 2, 0, 0, 4),
        ("2026-11-17", 1, 0, 1, 0, 2),
        ("2026-11-23", 2, 1, 1, 0, 4),
        ("2026-11-24", 2, 1, 1, 1, 5),
    ]
    assert stats.first_ts == "2026-11-16T10:00:00.000000Z"
    assert stats.last_ts == "2026-11-24T13:00:01.000000Z"


def test_stats_success_rate_per_requester(sample: Ledger) -> None:
    rates = {
        r.requester: (r.applied, r.failed, r.success_rate) for r in patch_stats(sample).requesters
    }
    assert rates == {
        "auto": (0, 1, 0.0),
        "codex": (4, 1, 0.8),
        None: (0, 1, 0.0),
    }


def test_stats_success_rate_is_none_without_outcomes(ledger: Ledger) -> None:
    record_patch_events(ledger, [ev("requested", "b", "2026-11-16T10:00:00Z", requester="ana")])
    [rate] = patch_stats(ledger).requesters
    assert (rate.requester, rate.applied, rate.failed, rate.success_rate) == ("ana", 0, 0, None)


def test_stats_operation_distribution_counts_requested_ops(sample: Ledger) -> None:
    ops = [(o.op, o.count) for o in patch_stats(sample).operations]
    assert ops == [
        ("append", 3),
        ("create", 1),
        ("delete", 1),
        ("insert-after", 1),
        ("replace-block", 1),
    ]


def test_stats_error_summary_is_top_ten_by_count(sample: Ledger) -> None:
    errors = [(e.error, e.count) for e in patch_stats(sample).errors]
    assert errors == [("anchor not found: // ROUTES", 2), ("file exists", 1)]

    record_patch_events(
        sample,
        [ev("failed", "many", "2026-11-25T00:00:00Z", error=f"error {i:02d}") for i in range(12)]
        + [ev("failed", "many", "2026-11-25T00:00:01Z", error="error 11")] * 3,
    )
    summary = patch_stats(sample).errors
    assert len(summary) == 10
    assert (summary[0].error, summary[0].count) == ("error 11", 4)
    assert (summary[1].error, summary[1].count) == ("anchor not found: // ROUTES", 2)


def test_stats_date_range_is_inclusive(sample: Ledger) -> None:
    stats = patch_stats(sample, "2026-11-17", "2026-11-23")
    assert [d.day for d in stats.daily] == ["2026-11-17", "2026-11-23"]
    assert stats.total_events == 6
    assert stats.first_ts == "2026-11-17T09:00:00.000000Z"
    assert stats.last_ts == "2026-11-23T08:00:03.000000Z"
    assert [(e.error, e.count) for e in stats.errors] == [
        ("anchor not found: // ROUTES", 1),
        ("file exists", 1),
    ]
    assert [d.day for d in patch_stats(sample, date_from="2026-11-24").daily] == ["2026-11-24"]
    assert [d.day for d in patch_stats(sample, date_to="2026-11-16").daily] == ["2026-11-16"]
    empty = patch_stats(sample, "2027-01-01", "2027-01-31")
    assert (empty.total_events, empty.first_ts, empty.daily) == (0, None, [])


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        ("2026-13-01", None),
        ("2026/11/01", None),
        (None, "20261101"),
        (None, "yesterday"),
        ("2026-02-30", None),
        ("2026-11-24", "2026-11-01"),
    ],
)
def test_stats_bad_dates_are_bad_input(
    sample: Ledger, date_from: str | None, date_to: str | None
) -> None:
    with pytest.raises(BadInput):
        patch_stats(sample, date_from, date_to)


# --- patch trends -----------------------------------------------------------------------------


def _trend(row: Any) -> tuple[Any, ...]:
    return (row.key, row.batches, row.applied, row.failed, row.rolled_back, row.success_rate)


def test_trends_weekly(sample: Ledger) -> None:
    rows = patch_trends(sample, "weekly")
    assert [_trend(r) for r in rows] == [
        ("2026-W47", 2, 2, 1, 0, pytest.approx(2 / 3)),
        ("2026-W48", 3, 2, 2, 1, 0.5),
    ]
    assert (rows[0].first_ts, rows[0].last_ts) == (
        "2026-11-16T10:00:00.000000Z",
        "2026-11-17T09:00:01.000000Z",
    )


def test_trends_by_task(sample: Ledger) -> None:
    assert [_trend(r) for r in patch_trends(sample, "task")] == [
        ("9", 2, 3, 1, 0, 0.75),
        ("10", 2, 1, 1, 1, 0.5),
        (None, 1, 0, 1, 0, 0.0),
    ]


def test_trends_by_order(sample: Ledger) -> None:
    rows = patch_trends(sample, "order")
    assert [_trend(r) for r in rows] == [
        ("o1", 2, 2, 1, 0, pytest.approx(2 / 3)),
        ("o2", 2, 2, 1, 1, pytest.approx(2 / 3)),
        (None, 1, 0, 1, 0, 0.0),
    ]
    assert rows[1].last_ts == "2026-11-24T12:00:02.000000Z"


def test_trends_accept_a_date_range_and_refuse_unknown_grouping(sample: Ledger) -> None:
    assert [r.key for r in patch_trends(sample, "weekly", date_from="2026-11-20")] == ["2026-W48"]
    with pytest.raises(BadInput, match="weekly"):
        patch_trends(sample, "phase")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "day",
    ["2024-12-30", "2026-01-01", "2027-01-01", "2021-01-03", "2026-11-22", "2026-11-23"],
)
def test_weekly_keys_follow_iso_weeks_across_year_ends(ledger: Ledger, day: str) -> None:
    record_patch_events(ledger, [ev("applied", "b", f"{day}T23:59:59Z")])
    year, week, _ = date.fromisoformat(day).isocalendar()
    [row] = patch_trends(ledger, "weekly")
    assert row.key == f"{year}-W{week:02d}"
