"""Agent quarantine: a critical quality violation in an agent's batch stops that agent.

Its later batches are refused until a human releases it. Every check, quarantine, refusal
and release is a row in the ledger's `agent_events`, so the status and the statistics are
queries, never in-memory state. This module owns that table; other packages read it through
the functions here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from engine.errors import BadInput, CheckFailed
from engine.ledger.events import utc_now
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger

AgentState = Literal["active", "quarantined"]

AGENT_EVENTS = register(
    TableSchema(
        "agent_events",
        (
            """
            CREATE TABLE agent_events (
                id INTEGER PRIMARY KEY,
                ts TEXT NOT NULL,
                agent TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (
                    kind = 'checked' OR kind = 'quarantined' OR kind = 'released'
                    OR kind = 'refused'
                ),
                batch_id TEXT,
                violations INTEGER NOT NULL DEFAULT 0,
                critical INTEGER NOT NULL DEFAULT 0,
                reason TEXT,
                actor TEXT
            );
            CREATE INDEX agent_events_agent ON agent_events (agent, id);
            """,
        ),
    )
)


class AgentQuarantined(CheckFailed):
    """The batch's requester is quarantined; a human must release it first."""


class AgentStatus(BaseModel):
    agent: str
    status: AgentState
    batches_checked: int
    batches_with_violations: int
    violation_rate: float | None
    clean_rate: float | None
    quarantine_count: int
    refused: int
    quarantined_since: str | None = None
    reason: str | None = None
    mean_time_to_release_s: float | None = None


def _insert(
    conn: sqlite3.Connection,
    agent: str,
    kind: str,
    *,
    batch_id: str | None = None,
    violations: int = 0,
    critical: int = 0,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO agent_events (ts, agent, kind, batch_id, violations, critical, reason, actor)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (utc_now(), agent, kind, batch_id, violations, critical, reason, actor),
    )


def _state(conn: sqlite3.Connection, agent: str) -> tuple[AgentState, str | None, str | None]:
    row = conn.execute(
        "SELECT kind, ts, reason FROM agent_events WHERE agent = ? AND "
        "(kind = 'quarantined' OR kind = 'released') ORDER BY id DESC LIMIT 1",
        (agent,),
    ).fetchone()
    if row is not None and row[0] == "quarantined":
        return "quarantined", row[1], row[2]
    return "active", None, None


def ensure_active(ledger: Ledger, agent: str, batch_id: str | None) -> None:
    """Refuse (and record the refusal) if `agent` is quarantined."""

    def check(conn: sqlite3.Connection) -> tuple[AgentState, str | None, str | None]:
        state = _state(conn, agent)
        if state[0] == "quarantined":
            _insert(conn, agent, "refused", batch_id=batch_id, reason=state[2])
        return state

    state, since, reason = ledger.write(check, AGENT_EVENTS)
    if state == "quarantined":
        raise AgentQuarantined(
            f"agent {agent!r} is quarantined since {since} ({reason}); its batches are refused "
            f"until `vibehq agents release {agent} --reason ...`"
        )


def record_check(
    ledger: Ledger, agent: str, batch_id: str, *, violations: int, critical: int, reason: str
) -> bool:
    """Record a quality check of an agent's batch; quarantine on any critical violation.
    Returns whether the agent is now quarantined."""

    def write(conn: sqlite3.Connection) -> bool:
        _insert(conn, agent, "checked", batch_id=batch_id, violations=violations, critical=critical)
        if critical and _state(conn, agent)[0] == "active":
            _insert(
                conn,
                agent,
                "quarantined",
                batch_id=batch_id,
                violations=violations,
                critical=critical,
                reason=reason,
            )
        return critical > 0

    return ledger.write(write, AGENT_EVENTS)


def release(ledger: Ledger, agent: str, *, reason: str, actor: str) -> None:
    if not reason.strip():
        raise BadInput("a release needs a --reason")

    def write(conn: sqlite3.Connection) -> bool:
        if _state(conn, agent)[0] != "quarantined":
            return False
        _insert(conn, agent, "released", reason=reason, actor=actor)
        return True

    if not ledger.write(write, AGENT_EVENTS):
        raise BadInput(f"agent {agent!r} is not quarantined")


def agent_statuses(ledger: Ledger) -> list[AgentStatus]:
    with ledger.reading(AGENT_EVENTS) as conn:
        agents = [
            r[0] for r in conn.execute("SELECT DISTINCT agent FROM agent_events ORDER BY agent")
        ]
        return [_status(conn, agent) for agent in agents]


def _status(conn: sqlite3.Connection, agent: str) -> AgentStatus:
    checked, dirty, quarantines, refused = conn.execute(
        "SELECT SUM(kind = 'checked'), SUM(kind = 'checked' AND violations > 0), "
        "SUM(kind = 'quarantined'), SUM(kind = 'refused') FROM agent_events WHERE agent = ?",
        (agent,),
    ).fetchone()
    checked, dirty = checked or 0, dirty or 0
    state, since, reason = _state(conn, agent)
    spans = conn.execute(
        "SELECT kind, ts FROM agent_events WHERE agent = ? AND "
        "(kind = 'quarantined' OR kind = 'released') ORDER BY id",
        (agent,),
    ).fetchall()
    waits: list[float] = []
    opened: str | None = None
    for kind, ts in spans:
        if kind == "quarantined":
            opened = ts
        elif opened is not None:
            waits.append((_parse(ts) - _parse(opened)).total_seconds())
            opened = None
    return AgentStatus(
        agent=agent,
        status=state,
        batches_checked=checked,
        batches_with_violations=dirty,
        violation_rate=dirty / checked if checked else None,
        clean_rate=(checked - dirty) / checked if checked else None,
        quarantine_count=quarantines or 0,
        refused=refused or 0,
        quarantined_since=since,
        reason=reason,
        mean_time_to_release_s=sum(waits) / len(waits) if waits else None,
    )


@dataclass(frozen=True)
class AgentCheckTotals:
    """One agent's checks and guard events in a time window."""

    agent: str
    checks: int
    with_violations: int
    violations: int
    critical: int
    quarantines: int
    releases: int
    refusals: int


@dataclass(frozen=True)
class GuardRecord:
    """A quarantine, release or refusal."""

    ts: str
    agent: str
    kind: str
    batch_id: str | None
    violations: int
    critical: int
    reason: str | None
    actor: str | None


def _window_clause(start: str, end: str | None) -> tuple[str, list[object]]:
    clause, params = "ts >= ?", [start]
    if end is not None:
        clause += " AND ts <= ?"
        params.append(end)
    return clause, list(params)


def window_check_totals(
    conn: sqlite3.Connection, start: str, end: str | None
) -> list[AgentCheckTotals]:
    """Per agent, its events from `start` to `end` (None: open-ended), by agent name. `conn` is
    a snapshot from `ledger.reading(AGENT_EVENTS, ...)`."""
    clause, params = _window_clause(start, end)
    return [
        AgentCheckTotals(
            agent=str(r[0]),
            checks=int(r[1]),
            with_violations=int(r[2]),
            violations=int(r[3]),
            critical=int(r[4]),
            quarantines=int(r[5]),
            releases=int(r[6]),
            refusals=int(r[7]),
        )
        for r in conn.execute(
            "SELECT agent, SUM(kind = 'checked'), SUM(kind = 'checked' AND violations > 0),"
            " SUM(CASE kind WHEN 'checked' THEN violations ELSE 0 END),"
            " SUM(CASE kind WHEN 'checked' THEN critical ELSE 0 END),"
            " SUM(kind = 'quarantined'), SUM(kind = 'released'), SUM(kind = 'refused')"
            f" FROM agent_events WHERE {clause} GROUP BY agent ORDER BY agent",
            params,
        )
    ]


def window_guard_records(
    conn: sqlite3.Connection, start: str, end: str | None
) -> list[GuardRecord]:
    """The quarantines, releases and refusals from `start` to `end` (None: open-ended), in the
    order recorded. `conn` is a snapshot from `ledger.reading(AGENT_EVENTS, ...)`."""
    clause, params = _window_clause(start, end)
    return [
        GuardRecord(
            ts=str(r[0]),
            agent=str(r[1]),
            kind=str(r[2]),
            batch_id=r[3],
            violations=int(r[4]),
            critical=int(r[5]),
            reason=r[6],
            actor=r[7],
        )
        for r in conn.execute(
            "SELECT ts, agent, kind, batch_id, violations, critical, reason, actor"
            f" FROM agent_events WHERE {clause} AND kind != 'checked' ORDER BY id",
            params,
        )
    ]


def is_quarantined(conn: sqlite3.Connection, agent: str) -> bool:
    """Whether `agent` is quarantined now. `conn` is a snapshot from
    `ledger.reading(AGENT_EVENTS, ...)`."""
    return _state(conn, agent)[0] == "quarantined"


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))
