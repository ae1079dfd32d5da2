"""The cost ledger: one `model_calls` row per model call, the spend of a run, and the stats.

engine/route owns the `model_calls` table; other packages read it through these functions."""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, field, fields
from typing import Literal

from engine.ledger.events import utc_now
from engine.ledger.schema import TableSchema, register
from engine.ledger.store import Ledger, canonical_ts

__all__ = [
    "MODEL_CALLS",
    "CallGroupTotals",
    "CallOutcome",
    "CallStats",
    "ModelCallRow",
    "call_stats",
    "model_calls",
    "record_model_call",
    "run_call_groups",
    "run_spend",
]

# `tier` is what the call asked for, `model_group` the LiteLLM group it was sent to;
# `deployment`/`served_tier`/`model` say who answered (from the response's hidden params, not
# the requested name) and `response_model` what the provider reported.
MODEL_CALLS = register(
    TableSchema(
        "model_calls",
        (
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
        ),
    )
)

CallOutcome = Literal["ok", "fallback", "error"]


@dataclass(frozen=True)
class ModelCallRow:
    run_id: str
    tier: str
    model_group: str
    outcome: CallOutcome
    deployment: str | None = None
    served_tier: str | None = None
    model: str | None = None
    response_model: str | None = None
    task_id: str | None = None
    agent: str | None = None
    score: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    ts: str = field(default_factory=utc_now)


_COLUMNS = tuple(f.name for f in fields(ModelCallRow))
_INSERT = (
    f"INSERT INTO model_calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


def record_model_call(ledger: Ledger, row: ModelCallRow) -> None:
    values = astuple(row)
    stored = (*values[:-1], canonical_ts(row.ts))
    ledger.write(lambda conn: conn.execute(_INSERT, stored), MODEL_CALLS)


def run_spend(ledger: Ledger, run_id: str) -> float:
    """USD spent by every call of the run so far."""
    with ledger.reading(MODEL_CALLS) as conn:
        (spent,) = conn.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls WHERE run_id = ?", (run_id,)
        ).fetchone()
    return float(spent)


def model_calls(ledger: Ledger, run_id: str | None = None) -> list[ModelCallRow]:
    """Every call (of one run, if given), oldest first."""
    where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    with ledger.reading(MODEL_CALLS) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM model_calls {where} ORDER BY id", params
        ).fetchall()
    return [ModelCallRow(*row) for row in rows]


@dataclass(frozen=True)
class CallStats:
    """Calls that asked for one tier and were answered by one model (None: none answered)."""

    tier: str
    model: str | None
    calls: int
    ok: int
    fallback: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    mean_latency_ms: float


def call_stats(ledger: Ledger, run_id: str | None = None) -> list[CallStats]:
    where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    sql = f"""
        SELECT tier, model, COUNT(*),
               SUM(outcome = 'ok'), SUM(outcome = 'fallback'), SUM(outcome = 'error'),
               SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd), AVG(latency_ms)
        FROM model_calls {where}
        GROUP BY tier, model
        ORDER BY CASE tier WHEN 'simple' THEN 0 WHEN 'standard' THEN 1 WHEN 'complex' THEN 2
                 WHEN 'reasoning' THEN 3 ELSE 4 END, tier, model IS NULL, model
    """
    with ledger.reading(MODEL_CALLS) as conn:
        rows = conn.execute(sql, params).fetchall()
    return [
        CallStats(
            tier=str(r[0]),
            model=None if r[1] is None else str(r[1]),
            calls=int(r[2]),
            ok=int(r[3]),
            fallback=int(r[4]),
            errors=int(r[5]),
            prompt_tokens=int(r[6]),
            completion_tokens=int(r[7]),
            cost_usd=float(r[8]),
            mean_latency_ms=float(r[9]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CallGroupTotals:
    """The calls of one run that share a tier (or an agent; `-` for calls without one)."""

    name: str
    calls: int
    ok: int
    fallback: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


_GROUP_KEYS: dict[str, str] = {"tier": "tier", "agent": "COALESCE(agent, '-')"}


def run_call_groups(
    conn: sqlite3.Connection, run_id: str, by: Literal["tier", "agent"]
) -> list[CallGroupTotals]:
    """The run's calls totalled per tier or per agent, unordered. `conn` is a snapshot from
    `ledger.reading(MODEL_CALLS, ...)`, so a report can read several tables at one instant."""
    key = _GROUP_KEYS[by]
    rows = conn.execute(
        f"SELECT {key}, COUNT(*), SUM(outcome = 'ok'), SUM(outcome = 'fallback'),"
        " SUM(outcome = 'error'), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)"
        f" FROM model_calls WHERE run_id = ? GROUP BY {key}",
        (run_id,),
    ).fetchall()
    return [
        CallGroupTotals(
            name=str(r[0]),
            calls=int(r[1]),
            ok=int(r[2]),
            fallback=int(r[3]),
            errors=int(r[4]),
            prompt_tokens=int(r[5]),
            completion_tokens=int(r[6]),
            cost_usd=float(r[7]),
        )
        for r in rows
    ]
