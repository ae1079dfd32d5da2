"""The four tiers, and how a complexity score and the overrides pick one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.config.route import TIERS, Tier

__all__ = ["TIERS", "Thresholds", "Tier", "TierChoice", "TierSource", "choose_tier"]

# Where the tier came from, in the order `choose_tier` consults them.
TierSource = Literal["argument", "task override", "agent override", "score"]


@dataclass(frozen=True)
class Thresholds:
    """Inclusive upper score bounds of the three lower tiers; anything above is `reasoning`."""

    simple: int
    standard: int
    complex: int

    def tier_for(self, score: int) -> Tier:
        if score <= self.simple:
            return "simple"
        if score <= self.standard:
            return "standard"
        if score <= self.complex:
            return "complex"
        return "reasoning"


@dataclass(frozen=True)
class TierChoice:
    tier: Tier
    source: TierSource
    detail: str


def choose_tier(
    *,
    thresholds: Thresholds,
    score: int | None,
    tier: Tier | None = None,
    task_id: str | None = None,
    agent: str | None = None,
    task_overrides: dict[str, Tier] | None = None,
    agent_overrides: dict[str, Tier] | None = None,
) -> TierChoice | None:
    """The tier for one call: an explicit tier, then a task override, then an agent override,
    then the score. None when there is nothing to go on (no score and no override)."""
    if tier is not None:
        return TierChoice(tier, "argument", f"tier={tier} was asked for")
    if task_id is not None and task_overrides and task_id in task_overrides:
        chosen = task_overrides[task_id]
        return TierChoice(chosen, "task override", f"[route.overrides.tasks] {task_id} = {chosen}")
    if agent is not None and agent_overrides and agent in agent_overrides:
        chosen = agent_overrides[agent]
        return TierChoice(chosen, "agent override", f"[route.overrides.agents] {agent} = {chosen}")
    if score is None:
        return None
    chosen = thresholds.tier_for(score)
    return TierChoice(chosen, "score", f"score {score} -> {chosen} ({_bounds(thresholds, chosen)})")


def _bounds(thresholds: Thresholds, tier: Tier) -> str:
    lows = {
        "simple": 1,
        "standard": thresholds.simple + 1,
        "complex": thresholds.standard + 1,
        "reasoning": thresholds.complex + 1,
    }
    highs = {
        "simple": thresholds.simple,
        "standard": thresholds.standard,
        "complex": thresholds.complex,
        "reasoning": 10,
    }
    return f"{lows[tier]}..{highs[tier]}"
