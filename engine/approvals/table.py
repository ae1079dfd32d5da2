"""The `approvals` table: one row per item of the human-in-the-loop queue.

engine/approvals owns it: `queue.py` writes and reads items, and the readers in other packages
(the epic report) use the typed queries here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from engine.ledger.schema import TableSchema, register

__all__ = ["APPROVALS", "RunApproval", "run_approvals"]

APPROVALS = register(
    TableSchema(
        "approvals",
        (
            """
            CREATE TABLE approvals (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (
                    kind = 'patch_batch' OR kind = 'needs_model' OR kind = 'plan_change'
                    OR kind = 'quarantine_release'
                ),
                state TEXT NOT NULL DEFAULT 'pending' CHECK (
                    state = 'pending' OR state = 'approved' OR state = 'rejected'
                    OR state = 'expired'
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
                original_payload TEXT CHECK (
                    original_payload IS NULL OR json_valid(original_payload)
                ),
                verdict TEXT NOT NULL CHECK (json_valid(verdict)),
                decided_by TEXT,
                decided_at TEXT,
                reason TEXT,
                auto INTEGER NOT NULL DEFAULT 0 CHECK (auto = 0 OR auto = 1),
                rule TEXT,
                confidence REAL CHECK (
                    confidence IS NULL OR (confidence >= 0 AND confidence <= 1)
                ),
                edited INTEGER NOT NULL DEFAULT 0 CHECK (edited = 0 OR edited = 1),
                CHECK ((state = 'pending') = (decided_at IS NULL AND decided_by IS NULL))
            );
            CREATE INDEX approvals_state ON approvals (state, id);
            CREATE INDEX approvals_run ON approvals (run_id, id);
            CREATE INDEX approvals_token ON approvals (resume_token);
            CREATE INDEX approvals_signature ON approvals (kind, signature);
            CREATE INDEX approvals_expiry ON approvals (expires_at) WHERE state = 'pending';
            """,
        ),
    )
)


@dataclass(frozen=True)
class RunApproval:
    """What a report shows of one item: the decision, the policy's verdict and, for a
    needs-model item, its work item."""

    id: int
    kind: str
    state: str
    title: str
    requester: str | None
    step: str | None
    decided_by: str | None
    decided_at: str | None
    auto: bool
    rule: str | None
    reason: str | None
    verdict: dict[str, Any]
    work_item: dict[str, Any] | None


def run_approvals(conn: sqlite3.Connection, run_id: str) -> list[RunApproval]:
    """The run's items in id order. `conn` is a snapshot from `ledger.reading(APPROVALS, ...)`,
    so a report can read several tables at one instant."""
    rows = conn.execute(
        "SELECT id, kind, state, title, requester, step, decided_by, decided_at, auto, rule,"
        " reason, verdict, CASE kind WHEN 'needs_model' THEN json_extract(payload, '$.work_item')"
        " END FROM approvals WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    return [
        RunApproval(
            id=int(r[0]),
            kind=str(r[1]),
            state=str(r[2]),
            title=str(r[3]),
            requester=r[4],
            step=r[5],
            decided_by=r[6],
            decided_at=r[7],
            auto=bool(r[8]),
            rule=r[9],
            reason=r[10],
            verdict=json.loads(r[11]),
            work_item=None if r[12] is None else json.loads(r[12]),
        )
        for r in rows
    ]
