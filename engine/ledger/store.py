"""The ledger file: a SQLite event store in WAL mode that several processes append to at once.

Writes run in `BEGIN IMMEDIATE` transactions, so a writer takes the write lock before it reads
anything and never has to upgrade a read snapshot (the one case where SQLite returns BUSY
without waiting). The schema moves forward through `MIGRATIONS`, tracked in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from engine.errors import BadInput, LockTimeout
from engine.ledger.events import LedgerEvent, PatchEvent, PatchRow

__all__ = [
    "MIGRATIONS",
    "PATCH_COLUMNS",
    "SCHEMA_VERSION",
    "Ledger",
    "canonical_ts",
    "patch_event_from_row",
    "split_statements",
]

_T = TypeVar("_T")

# One entry per schema version, applied in order; append a script to add a version.
# The CHECKs are OR chains, not `IN (...)`: SQLite builds an ephemeral table for an IN list on
# every row, which doubled the cost of a 20,000-row insert.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE patch_events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (
            kind = 'requested' OR kind = 'applied' OR kind = 'failed' OR kind = 'rolled_back'
        ),
        batch_id TEXT NOT NULL,
        order_id TEXT,
        task_id TEXT,
        requester TEXT,
        branch TEXT,
        reason TEXT,
        file TEXT,
        op TEXT,
        op_index INTEGER,
        lines_added INTEGER NOT NULL DEFAULT 0,
        lines_removed INTEGER NOT NULL DEFAULT 0,
        validation TEXT NOT NULL DEFAULT 'skipped' CHECK (
            validation = 'passed' OR validation = 'failed' OR validation = 'skipped'
        ),
        error TEXT
    );
    CREATE INDEX patch_events_ts ON patch_events (ts);
    CREATE INDEX patch_events_task_id ON patch_events (task_id);
    CREATE INDEX patch_events_file ON patch_events (file);
    CREATE INDEX patch_events_batch_id ON patch_events (batch_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT,
        payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
    );
    CREATE INDEX events_kind_ts ON events (kind, ts);
    """,
    """
    CREATE TABLE agent_events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        agent TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (
            kind = 'checked' OR kind = 'quarantined' OR kind = 'released' OR kind = 'refused'
        ),
        batch_id TEXT,
        violations INTEGER NOT NULL DEFAULT 0,
        critical INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        actor TEXT
    );
    CREATE INDEX agent_events_agent ON agent_events (agent, id);
    CREATE TABLE specialist_queue (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        specialist TEXT NOT NULL,
        rule TEXT NOT NULL,
        dedup_key TEXT NOT NULL UNIQUE,
        batch_id TEXT,
        task_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
        status TEXT NOT NULL DEFAULT 'open' CHECK (status = 'open' OR status = 'done')
    );
    """,
    """
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (
            kind = 'patch_batch' OR kind = 'needs_model' OR kind = 'plan_change'
            OR kind = 'quarantine_release'
        ),
        state TEXT NOT NULL DEFAULT 'pending' CHECK (
            state = 'pending' OR state = 'approved' OR state = 'rejected' OR state = 'expired'
        ),
        title TEXT NOT NULL,
        requester TEXT,
        run_id TEXT,
        step TEXT,
        resume_token TEXT NOT NULL,
        signature TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        original_payload TEXT CHECK (original_payload IS NULL OR json_valid(original_payload)),
        verdict TEXT NOT NULL CHECK (json_valid(verdict)),
        decided_by TEXT,
        decided_at TEXT,
        reason TEXT,
        auto INTEGER NOT NULL DEFAULT 0 CHECK (auto = 0 OR auto = 1),
        rule TEXT,
        confidence REAL CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
        edited INTEGER NOT NULL DEFAULT 0 CHECK (edited = 0 OR edited = 1),
        CHECK ((state = 'pending') = (decided_at IS NULL AND decided_by IS NULL))
    );
    CREATE INDEX approvals_state ON approvals (state, id);
    CREATE INDEX approvals_run ON approvals (run_id, id);
    CREATE INDEX approvals_token ON approvals (resume_token);
    CREATE INDEX approvals_signature ON approvals (kind, signature);
    CREATE INDEX approvals_expiry ON approvals (expires_at) WHERE state = 'pending';
    """,
    # engine/route: one row per model call. `tier` is what the call asked for, `model_group`
    # the LiteLLM group it was sent to; `deployment`/`served_tier`/`model` say who answered
    # (from the response's hidden params, not the requested name) and `response_model` what
    # the provider reported.
    """
    CREATE TABLE model_calls (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        run_id TEXT NOT NULL,
        tier TEXT NOT NULL,
        model_group TEXT NOT NULL,
        deployment TEXT,
        served_tier TEXT,
        model TEXT,
        response_model TEXT,
        task_id TEXT,
        agent TEXT,
        score INTEGER CHECK (score IS NULL OR (score >= 1 AND score <= 10)),
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
        latency_ms REAL NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL CHECK (
            outcome = 'ok' OR outcome = 'fallback' OR outcome = 'error'
        ),
        error TEXT
    );
    CREATE INDEX model_calls_run ON model_calls (run_id, id);
    CREATE INDEX model_calls_ts ON model_calls (ts);
    """,
    # engine/epic: one row per epic run, one per (run, folder, step). A step row is the
    # resume point: a step `done` is never run again for that folder of that run. Folder `*`
    # holds the run-wide steps (the report). `data` is the step's JSON result.
    """
    CREATE TABLE epic_runs (
        run_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        spec TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL CHECK (
            status IN ('running', 'paused', 'done', 'failed', 'interrupted')
        ),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        summary TEXT
    );
    CREATE TABLE epic_steps (
        run_id TEXT NOT NULL REFERENCES epic_runs (run_id),
        folder TEXT NOT NULL,
        step TEXT NOT NULL,
        status TEXT NOT NULL CHECK (
            status IN ('running', 'done', 'waiting', 'failed', 'skipped')
        ),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms REAL,
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, folder, step)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_BUSY_TIMEOUT_MS = 15_000
# busy_timeout already waits for the lock; these retries cover the BUSY results SQLite returns
# without consulting it (WAL recovery, a journal-mode switch racing a fresh file).
_LOCK_RETRIES = 5
_RETRY_BACKOFF_S = 0.05

# Column order of every patch-event SELECT; `patch_event_from_row` relies on it.
PATCH_COLUMNS: tuple[str, ...] = (
    "ts",
    "kind",
    "batch_id",
    "order_id",
    "task_id",
    "requester",
    "branch",
    "reason",
    "file",
    "op",
    "op_index",
    "lines_added",
    "lines_removed",
    "validation",
    "error",
)
_INSERT_PATCH = (
    f"INSERT INTO patch_events ({', '.join(PATCH_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in PATCH_COLUMNS)})"
)
_SELECT_PATCH = f"SELECT {', '.join(PATCH_COLUMNS)} FROM patch_events"


_CANONICAL_TS = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z"
)


def canonical_ts(ts: str) -> str:
    """Rewrite an ISO-8601 timestamp as UTC with microseconds and a `Z`.

    Every stored `ts` has this one shape so that text order is time order and a day is the
    first ten characters; a timestamp without an offset is taken as UTC.
    """
    # `utc_now()` already produces this shape, and skipping the parse keeps bulk inserts cheap.
    # Days after the 28th still go through the parse, which knows how long each month is.
    if _CANONICAL_TS.fullmatch(ts) and ts[8:10] <= "28":
        return ts
    try:
        moment = datetime.fromisoformat(ts)
    except (TypeError, ValueError):
        raise BadInput(f"timestamp {ts!r} is not a valid ISO-8601 timestamp") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def split_statements(script: str) -> list[str]:
    """Split a SQL script into statements, keeping `;` inside literals and trigger bodies.

    `executescript` would commit the open transaction first, so a migration has to run
    statement by statement inside the caller's `BEGIN IMMEDIATE`.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement != ";":
                statements.append(statement)
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()!r}")
    return statements


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_BUSY_SNAPSHOT, ...) carry the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(exc)
    return "locked" in message or "busy" in message


class Ledger:
    """One handle on a ledger file. The connection opens on first use and is shared by threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # One connection is not safe for interleaved transactions from several threads.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open (creating if needed) the ledger at `path` and bring its schema up to date."""
        ledger = cls(path)
        ledger._connection()
        return ledger

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def schema_version(self) -> int:
        with self._lock:
            return _user_version(self._connection())

    def record_patch_events(self, events: Sequence[PatchEvent]) -> None:
        """Append patch events in one transaction: all of them are stored or none."""
        self.record_patch_rows(
            [
                PatchRow(
                    e.ts,
                    e.kind,
                    e.batch_id,
                    e.order_id,
                    e.task_id,
                    e.requester,
                    e.branch,
                    e.reason,
                    e.file,
                    e.op,
                    e.op_index,
                    e.lines_added,
                    e.lines_removed,
                    e.validation,
                    e.error,
                )
                for e in events
            ]
        )

    def record_patch_rows(self, rows: Sequence[PatchRow]) -> None:
        """Like record_patch_events, for rows the engine built itself (no model per row)."""
        if not rows:
            return
        stored = [(canonical_ts(r.ts), *r[1:]) for r in rows]
        self._write(lambda conn: conn.executemany(_INSERT_PATCH, stored))

    def record(self, event: LedgerEvent) -> None:
        try:
            payload = json.dumps(event.model_dump(mode="json")["payload"], ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"{event.kind} event payload is not JSON-serialisable: {exc}") from None
        row = (canonical_ts(event.ts), event.kind, event.subject, payload)
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO events (ts, kind, subject, payload) VALUES (?, ?, ?, ?)", row
            )
        )

    def events(
        self, kind: str | None = None, subject: str | None = None, limit: int = 1000
    ) -> list[LedgerEvent]:
        """The latest `limit` generic events matching `kind`/`subject`, oldest first."""
        if limit < 1:
            raise BadInput(f"limit must be at least 1, got {limit}")
        where: list[str] = []
        params: list[object] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = (
            f"SELECT ts, kind, subject, payload FROM "
            f"(SELECT id, ts, kind, subject, payload FROM events {clause} "
            f"ORDER BY id DESC LIMIT ?) ORDER BY id"
        )
        with self.reading() as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return [
            LedgerEvent(ts=ts, kind=k, subject=s, payload=json.loads(payload))
            for ts, k, s, payload in rows
        ]

    def patch_events(self, batch_id: str | None = None) -> list[PatchEvent]:
        """Every patch event (of one batch, if given) in the order it was recorded."""
        with self.reading() as conn:
            if batch_id is None:
                rows = conn.execute(f"{_SELECT_PATCH} ORDER BY id").fetchall()
            else:
                rows = conn.execute(
                    f"{_SELECT_PATCH} WHERE batch_id = ? ORDER BY id", (batch_id,)
                ).fetchall()
        return [patch_event_from_row(row) for row in rows]

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query made inside it sees the same snapshot."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                # SQLite ends the transaction itself after some errors (SQLITE_FULL, IOERR).
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _write(self, work: Callable[[sqlite3.Connection], object]) -> None:
        self.write(work)

    def write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` in one BEGIN IMMEDIATE transaction (retried on a lock) and return its
        result: for engines that keep their own tables in the ledger."""
        with self._lock:
            conn = self._connection()
            return self._with_lock_retry(lambda: self._transaction(conn, work))

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _with_lock_retry(self, attempt: Callable[[], _T]) -> _T:
        # A BUSY that arrives after busy_timeout already waited is a real stall, not a race
        # worth retrying; the deadline keeps the worst case near one timeout, not five.
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        for n in range(_LOCK_RETRIES):
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_lock_error(exc):
                    raise
                if n == _LOCK_RETRIES - 1 or time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"ledger {self.path} stayed locked by another process: {exc}"
                    ) from exc
                time.sleep(_RETRY_BACKOFF_S * 2**n)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"cannot create the ledger folder {self.path.parent}: {exc}") from None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise BadInput(f"cannot open the ledger {self.path}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._refuse_newer(conn)
            self._with_lock_retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            self._with_lock_retry(lambda: self._migrate(conn))
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and _is_lock_error(exc):
                raise LockTimeout(f"ledger {self.path} stayed locked: {exc}") from exc
            raise BadInput(f"{self.path} is not a usable ledger: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _refuse_newer(self, conn: sqlite3.Connection) -> None:
        version = _user_version(conn)
        if version > SCHEMA_VERSION:
            raise BadInput(
                f"ledger {self.path} has schema version {version}, but this vibehq only knows "
                f"up to version {SCHEMA_VERSION}; upgrade vibehq to read it"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if _user_version(conn) == SCHEMA_VERSION:
            return

        def apply_missing(conn: sqlite3.Connection) -> None:
            # Re-read under the write lock: another process may have migrated meanwhile.
            self._refuse_newer(conn)
            current = _user_version(conn)
            for script in MIGRATIONS[current:]:
                for statement in split_statements(script):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        self._transaction(conn, apply_missing)


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def patch_event_from_row(row: Sequence[Any]) -> PatchEvent:
    """Build a PatchEvent from a row selected in `PATCH_COLUMNS` order."""
    return PatchEvent.model_validate(dict(zip(PATCH_COLUMNS, row, strict=True)))
