"""One routing decision: the score (if there is text), the tier and why, and the model chain.

`route explain` prints it, and the router acts on it, so what explain shows is what a call does.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.route import RouteSettings
from engine.errors import BadInput
from engine.route.chain import ModelChain, model_chain, tier_order
from engine.route.errors import NoModelConfigured
from engine.route.features import CodeWork, WorkUnit
from engine.route.score import ComplexityScore, score_unit
from engine.route.tiers import Thresholds, Tier, TierChoice, choose_tier

__all__ = ["RouteDecision", "decide"]


@dataclass(frozen=True)
class RouteDecision:
    choice: TierChoice
    score: ComplexityScore | None
    # None when no tier in the chosen tier's fallback order has a model.
    chain: ModelChain | None
    order: tuple[Tier, ...]

    @property
    def tier(self) -> Tier:
        return self.choice.tier

    def require_chain(self) -> ModelChain:
        if self.chain is None:
            raise NoModelConfigured(self.tier, self.order)
        return self.chain


def decide(
    route: RouteSettings,
    *,
    text: str | None = None,
    code: CodeWork | None = None,
    tier: Tier | None = None,
    score: int | None = None,
    task_id: str | None = None,
    agent: str | None = None,
) -> RouteDecision:
    """Pick the tier for a unit of work: an explicit tier, then the task and agent overrides
    of `[route.overrides]`, then the given score, then a score computed from `text`/`code`."""
    if score is not None and not 1 <= score <= 10:
        raise BadInput(f"a complexity score is 1..10, got {score}")
    computed = None
    if text is not None or code is not None:
        computed = score_unit(WorkUnit(text=text or "", code=code))
    choice = choose_tier(
        thresholds=Thresholds(
            route.thresholds.simple, route.thresholds.standard, route.thresholds.complex
        ),
        score=score if score is not None else (computed.score if computed else None),
        tier=tier,
        task_id=task_id,
        agent=agent,
        task_overrides=route.overrides.tasks,
        agent_overrides=route.overrides.agents,
    )
    if choice is None:
        raise BadInput(
            "nothing to route on: give a tier, a score, a task or agent override, or text"
        )
    try:
        chain: ModelChain | None = model_chain(route, choice.tier)
    except NoModelConfigured:
        chain = None
    return RouteDecision(choice, computed, chain, tier_order(route, choice.tier))
