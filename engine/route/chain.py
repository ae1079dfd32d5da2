"""The model chain of a tier: its own deployments in order, then those of its fallback tiers.

This is the order in which the LiteLLM Router tries deployments (order levels inside a tier,
then the tier fallbacks), computed here without importing litellm so that `route explain`
can show it and a call with nothing configured fails before any import.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.config.route import Deployment, RouteSettings, deployment_name
from engine.route.errors import ModelConfigInvalid, NoModelConfigured
from engine.route.tiers import Tier

__all__ = ["ChainLink", "ModelChain", "model_chain", "tier_links", "tier_order"]


@dataclass(frozen=True)
class ChainLink:
    tier: Tier
    name: str
    position: int
    deployment: Deployment


@dataclass(frozen=True)
class ModelChain:
    requested: Tier
    # The model group the Router is called with: the first tier in the order that has a model.
    group: Tier
    # The other tiers with models, in fallback order (at most `max_fallbacks`).
    fallback_tiers: tuple[Tier, ...]
    links: tuple[ChainLink, ...]

    @property
    def first(self) -> ChainLink:
        return self.links[0]

    def link_named(self, name: str) -> ChainLink | None:
        return next((link for link in self.links if link.name == name), None)


def tier_order(route: RouteSettings, tier: Tier) -> tuple[Tier, ...]:
    """`tier`, then its fallback tiers breadth first (a fallback's own fallbacks come after the
    direct ones), each tier once."""
    order: list[Tier] = [tier]
    queue: deque[Tier] = deque([tier])
    while queue:
        for nxt in route.tiers.fallbacks_of(queue.popleft()):
            if nxt not in order:
                order.append(nxt)
                queue.append(nxt)
    return tuple(order)


def tier_links(route: RouteSettings, tier: Tier) -> tuple[ChainLink, ...]:
    return tuple(
        ChainLink(tier, deployment_name(tier, n, d), n, d)
        for n, d in enumerate(route.tiers.of(tier).deployments, start=1)
    )


def model_chain(route: RouteSettings, tier: Tier) -> ModelChain:
    """The chain for `tier`; ModelConfigInvalid when the model config has a mistake, else
    NoModelConfigured when no tier in its order has a model."""
    problems = route.problems()
    if problems:
        raise ModelConfigInvalid(problems)
    order = tier_order(route, tier)
    served = [t for t in order if route.tiers.of(t).deployments]
    if not served:
        raise NoModelConfigured(tier, order)
    group, fallbacks = served[0], tuple(served[1 : 1 + route.max_fallbacks])
    links = tuple(link for t in (group, *fallbacks) for link in tier_links(route, t))
    return ModelChain(requested=tier, group=group, fallback_tiers=fallbacks, links=links)
