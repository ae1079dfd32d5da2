"""The cost ledger: one `model_calls` row per model call, the spend of a run, and the stats."""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, fields
from typing import Literal

from engine.ledger.events import utc_now
from engine.ledger.store import Ledger, canonical_ts

__all__ = [
    "CallOutcome",
    "CallStats",
    "ModelCallRow",
    "call_stats",
    "model_calls",
    "record_model_call",
    "run_spend",
]

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
    ledger.write(lambda conn: conn.execute(_INSERT, stored))


def run_spend(ledger: Ledger, run_id: str) -> float:
    """USD spent by every call of the run so far."""
    with ledger.reading() as conn:
        (spent,) = conn.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls WHERE run_id = ?", (run_id,)
        ).fetchone()
    return float(spent)


def model_calls(ledger: Ledger, run_id: str | None = None) -> list[ModelCallRow]:
    """Every call (of one run, if given), oldest first."""
    where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    with ledger.reading() as conn:
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
    with ledger.reading() as conn:
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
