"""The totals over the per-tier, per-model rows of `route stats`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.route.calls import CallStats


@dataclass(frozen=True)
class CallTotals:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def call_totals(rows: Sequence[CallStats]) -> CallTotals:
    return CallTotals(
        calls=sum(r.calls for r in rows),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        cost_usd=sum(r.cost_usd for r in rows),
    )
