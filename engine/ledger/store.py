"""The ledger file: a SQLite event store in WAL mode that several processes append to at once.

Writes run in `BEGIN IMMEDIATE` transactions, so a writer takes the write lock before it reads
anything and never has to upgrade a read snapshot (the one case where SQLite returns BUSY
without waiting). The ledger owns the connection and the `events` log; the other tables belong
to the engine packages that declare them as `TableSchema`s (`engine.ledger.schema`), each moved
forward on its own version in `schema_versions`. `PRAGMA user_version` holds the file layout.
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
from typing import Any, TypeVar, cast

from engine.errors import BadInput, LockTimeout
from engine.ledger.events import LedgerEvent
from engine.ledger.schema import TableSchema, registered
from engine.redact import redact_value

__all__ = [
    "EVENTS",
    "SCHEMA_VERSION",
    "Ledger",
    "canonical_ts",
    "insert_event",
    "split_statements",
]

_T = TypeVar("_T")

# The pre-registry store (file versions 1-5 in `PRAGMA user_version`) created every table
# itself; this says in which of its versions each table appeared, so a ledger it left behind
# gets those tables recorded at version 1 of their owners' schemas, whose first scripts are the
# same DDL. Names only: the ledger never imports the packages that own these tables.
_LEGACY_TABLES: dict[str, int] = {
    "events": 1,
    "patch_events": 1,
    "agent_events": 2,
    "specialist_queue": 2,
    "approvals": 3,
    "model_calls": 4,
    "epic": 5,
}
# The layout of the file: version 6 keeps one version per table schema in `schema_versions`.
SCHEMA_VERSION = 6

_SCHEMA_VERSIONS_DDL = """
    CREATE TABLE schema_versions (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1)
    )
"""

# The ledger's own table: the generic event log.
EVENTS = TableSchema(
    "events",
    (
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT,
            payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
        );
        CREATE INDEX events_kind_ts ON events (kind, ts);
        """,
    ),
)
_INSERT_EVENT = "INSERT INTO events (ts, kind, subject, payload) VALUES (?, ?, ?, ?)"

_BUSY_TIMEOUT_MS = 15_000
# busy_timeout already waits for the lock; these retries cover the BUSY results SQLite returns
# without consulting it (WAL recovery, a journal-mode switch racing a fresh file).
_LOCK_RETRIES = 5
_RETRY_BACKOFF_S = 0.05

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

    def __init__(self, path: Path, *, in_memory: bool = False) -> None:
        self.path = path
        # A stand-in for a ledger that does not exist yet: same tables, nothing on disk.
        self._in_memory = in_memory
        self._conn: sqlite3.Connection | None = None
        # One connection is not safe for interleaved transactions from several threads.
        self._lock = threading.RLock()
        # Schemas this handle has already brought up to date, so a query checks only once.
        self._ensured: set[str] = set()

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open (creating if needed) the ledger at `path` and bring the `events` log and every
        registered table schema up to date, all in one transaction."""
        ledger = cls(path)
        ledger._connection()
        return ledger

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger:
        """The ledger for a command that only reads: the file at `path` when there is one,
        else an empty in-memory ledger with every registered table, so a query answers
        "nothing yet" and no `.vibehq/` or ledger file is created."""
        if path.exists():
            return cls.open(path)
        ledger = cls(path, in_memory=True)
        ledger._connection()
        return ledger

    @property
    def in_memory(self) -> bool:
        return self._in_memory

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
        """The file layout version (`PRAGMA user_version`); tables carry their own versions."""
        with self._lock:
            return _user_version(self._connection())

    def schema_versions(self) -> dict[str, int]:
        """The version each table schema in this file is at, by schema name."""
        with self._lock:
            return _stored_versions(self._connection())

    def ensure(self, *schemas: TableSchema) -> None:
        """Bring `schemas` up to date in this file (once per handle): an owner calls it before
        it touches its tables, so they exist even if it registered after the ledger opened."""
        with self._lock:
            missing = [s for s in schemas if s.name not in self._ensured]
            if not missing:
                return
            conn = self._connection()
            try:
                self._with_lock_retry(lambda: self._migrate(conn, missing))
            except sqlite3.OperationalError as exc:
                if _is_lock_error(exc):
                    raise LockTimeout(f"ledger {self.path} stayed locked: {exc}") from exc
                raise

    def record(self, event: LedgerEvent) -> None:
        self.write(lambda conn: insert_event(conn, event))

    def events(
        self, kind: str | None = None, subject: str | None = None, limit: int | None = 1000
    ) -> list[LedgerEvent]:
        """The latest `limit` (None: all) generic events matching `kind`/`subject`, oldest
        first."""
        if limit is not None and limit < 1:
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
            rows = conn.execute(sql, [*params, -1 if limit is None else limit]).fetchall()
        return [
            LedgerEvent(ts=ts, kind=k, subject=s, payload=json.loads(payload))
            for ts, k, s, payload in rows
        ]

    @contextmanager
    def reading(self, *schemas: TableSchema) -> Iterator[sqlite3.Connection]:
        """A read transaction on the tables of `schemas` (brought up to date first): every
        query made inside it sees the same snapshot."""
        with self._lock:
            self.ensure(*schemas)
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                # SQLite ends the transaction itself after some errors (SQLITE_FULL, IOERR).
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def write(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *schemas: TableSchema,
        verbatim: bool = False,
    ) -> _T:
        """Run `work` in one BEGIN IMMEDIATE transaction (retried on a lock) and return its
        result: for the engines that own tables of `schemas` (brought up to date first).

        Every text parameter `work` writes is scrubbed of API keys (`engine.redact`) unless
        the writer stores content that must stay byte-exact (`verbatim`: a reviewed batch,
        which is applied later exactly as approved)."""
        with self._lock:
            self.ensure(*schemas)
            conn = self._connection()
            target = conn if verbatim else cast(sqlite3.Connection, _Scrubbed(conn))
            return self._with_lock_retry(lambda: self._transaction(target, work))

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
        if self._in_memory:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._migrate(conn, [EVENTS, *registered()])
            return conn
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
            self._with_lock_retry(lambda: self._migrate(conn, [EVENTS, *registered()]))
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

    def _migrate(self, conn: sqlite3.Connection, schemas: Sequence[TableSchema]) -> None:
        if _user_version(conn) == SCHEMA_VERSION and self._up_to_date(conn, schemas):
            return

        def apply_missing(conn: sqlite3.Connection) -> None:
            # Re-read under the write lock: another process may have migrated meanwhile.
            self._refuse_newer(conn)
            layout = _user_version(conn)
            if layout < SCHEMA_VERSION:
                conn.execute(_SCHEMA_VERSIONS_DDL)
                conn.executemany(
                    "INSERT INTO schema_versions (name, version) VALUES (?, 1)",
                    [(name,) for name, since in _LEGACY_TABLES.items() if since <= layout],
                )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            stored = _stored_versions(conn)
            for schema in schemas:
                current = self._checked_version(schema, stored)
                for script in schema.migrations[current:]:
                    for statement in split_statements(script):
                        conn.execute(statement)
                if current < schema.version:
                    conn.execute(
                        "INSERT INTO schema_versions (name, version) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                        (schema.name, schema.version),
                    )

        self._transaction(conn, apply_missing)
        self._ensured.update(s.name for s in schemas)

    def _up_to_date(self, conn: sqlite3.Connection, schemas: Sequence[TableSchema]) -> bool:
        stored = _stored_versions(conn)
        if any(self._checked_version(s, stored) < s.version for s in schemas):
            return False
        self._ensured.update(s.name for s in schemas)
        return True

    def _checked_version(self, schema: TableSchema, stored: dict[str, int]) -> int:
        current = stored.get(schema.name, 0)
        if current > schema.version:
            raise BadInput(
                f"ledger {self.path} has table schema {schema.name!r} at version {current}, "
                f"but this vibehq only knows up to version {schema.version}; "
                "upgrade vibehq to read it"
            )
        return current


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _stored_versions(conn: sqlite3.Connection) -> dict[str, int]:
    if _user_version(conn) < SCHEMA_VERSION:
        return {}
    return {str(n): int(v) for n, v in conn.execute("SELECT name, version FROM schema_versions")}


class _Scrubbed:
    """A connection whose writes are scrubbed of API keys: every text parameter of `execute`
    and `executemany` goes through `redact`. Everything else is the connection's own."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, redact_value(params))  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self._conn.executemany(sql, (redact_value(row) for row in rows))  # type: ignore[misc]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def insert_event(conn: sqlite3.Connection, event: LedgerEvent) -> None:
    """Append `event` to the log inside the caller's write transaction, so an owner can record
    it atomically with the change to its own table."""
    try:
        payload = json.dumps(event.model_dump(mode="json")["payload"], ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{event.kind} event payload is not JSON-serialisable: {exc}") from None
    conn.execute(_INSERT_EVENT, (canonical_ts(event.ts), event.kind, event.subject, payload))
