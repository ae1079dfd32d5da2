"""The `patch_events` table: one row per op of a batch at each stage of its apply.

The patch engine owns this table; every other package reads it through the functions here
(the analytics in `engine.patch.reports` are the one other module that queries it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.ledger.events import PatchEvent, PatchEventKind, PatchRow
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger, canonical_ts

__all__ = [
    "PATCH_COLUMNS",
    "PATCH_EVENTS",
    "BatchKindTotals",
    "RequesterEdit",
    "batch_kind_totals",
    "patch_event_from_row",
    "patch_events",
    "record_patch_events",
    "record_patch_rows",
    "requester_edits",
]

# The CHECKs are OR chains, not `IN (...)`: SQLite builds an ephemeral table for an IN list on
# every row, which doubled the cost of a 20,000-row insert.
PATCH_EVENTS = register(
    TableSchema(
        "patch_events",
        (
            """
            CREATE TABLE patch_events (
                id INTEGER PRIMARY KEY,
                ts TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (
                    kind = 'requested' OR kind = 'applied' OR kind = 'failed'
                    OR kind = 'rolled_back'
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
            """,
        ),
    )
)

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
_INSERT = (
    f"INSERT INTO patch_events ({', '.join(PATCH_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in PATCH_COLUMNS)})"
)
_SELECT = f"SELECT {', '.join(PATCH_COLUMNS)} FROM patch_events"


@dataclass(frozen=True)
class BatchKindTotals:
    """The ops of one batch at one stage: how many, on how many files, the lines they change."""

    batch_id: str
    kind: PatchEventKind
    ops: int
    files: int
    lines_added: int
    lines_removed: int
    error: str | None


@dataclass(frozen=True)
class RequesterEdit:
    """One file op recorded for a requester's batch."""

    batch_id: str
    kind: PatchEventKind
    file: str
    lines_added: int
    lines_removed: int
    ts: str


def record_patch_events(ledger: Ledger, events: Sequence[PatchEvent]) -> None:
    """Append patch events in one transaction: all of them are stored or none."""
    record_patch_rows(
        ledger,
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
        ],
    )


def record_patch_rows(ledger: Ledger, rows: Sequence[PatchRow]) -> None:
    """Like record_patch_events, for rows the engine built itself (no model per row)."""
    if not rows:
        return
    stored = [(canonical_ts(r.ts), *r[1:]) for r in rows]
    ledger.write(lambda conn: conn.executemany(_INSERT, stored), PATCH_EVENTS)


def patch_events(ledger: Ledger, batch_id: str | None = None) -> list[PatchEvent]:
    """Every patch event (of one batch, if given) in the order it was recorded."""
    with ledger.reading(PATCH_EVENTS) as conn:
        if batch_id is None:
            rows = conn.execute(f"{_SELECT} ORDER BY id").fetchall()
        else:
            rows = conn.execute(f"{_SELECT} WHERE batch_id = ? ORDER BY id", (batch_id,)).fetchall()
    return [patch_event_from_row(row) for row in rows]


def batch_kind_totals(conn: sqlite3.Connection, batch_ids: Sequence[str]) -> list[BatchKindTotals]:
    """Per batch of `batch_ids` and per stage, the totals of its ops. `conn` is a snapshot from
    `ledger.reading(PATCH_EVENTS, ...)`, so a report can read several tables at one instant."""
    if not batch_ids:
        return []
    marks = ", ".join("?" for _ in batch_ids)
    rows = conn.execute(
        "SELECT batch_id, kind, COUNT(*), COUNT(DISTINCT file), SUM(lines_added),"
        f" SUM(lines_removed), MAX(error) FROM patch_events WHERE batch_id IN ({marks})"
        " GROUP BY batch_id, kind",
        list(batch_ids),
    ).fetchall()
    return [
        BatchKindTotals(
            batch_id=str(batch_id),
            kind=kind,
            ops=int(ops),
            files=int(files),
            lines_added=int(added or 0),
            lines_removed=int(removed or 0),
            error=error,
        )
        for batch_id, kind, ops, files, added, removed, error in rows
    ]


def requester_edits(ledger: Ledger, requester: str) -> list[RequesterEdit]:
    """Every file op recorded for `requester` (case-insensitive), in the order recorded."""
    with ledger.reading(PATCH_EVENTS) as conn:
        rows = conn.execute(
            "SELECT batch_id, kind, file, lines_added, lines_removed, ts FROM patch_events"
            " WHERE requester = ? COLLATE NOCASE AND file IS NOT NULL ORDER BY id",
            (requester,),
        ).fetchall()
    return [
        RequesterEdit(
            batch_id=str(b), kind=k, file=str(f), lines_added=int(a), lines_removed=int(r), ts=ts
        )
        for b, k, f, a, r, ts in rows
    ]


def patch_event_from_row(row: Sequence[Any]) -> PatchEvent:
    """Build a PatchEvent from a row selected in `PATCH_COLUMNS` order."""
    return PatchEvent.model_validate(dict(zip(PATCH_COLUMNS, row, strict=True)))
