"""`route explain` as data: the score and its evidence, the tier and why, the model chain."""

from __future__ import annotations

from typing import Any

from engine.plan.ops import TaskView
from engine.route.decision import RouteDecision
from engine.route.errors import NoModelConfigured

__all__ = ["explanation"]


def explanation(decision: RouteDecision, *, task: TaskView | None = None) -> dict[str, Any]:
    score = decision.score
    chain = decision.chain
    return {
        "task": {"id": task.id, "title": task.title} if task else None,
        "score": None
        if score is None
        else {
            "score": score.score,
            "raw": round(score.raw, 3),
            "evidence": [
                {"source": e.source, "name": e.name, "value": e.value, "delta": e.delta}
                for e in sorted(score.evidence, key=lambda e: -abs(e.delta))
            ],
            "features": score.features,
        },
        "tier": decision.tier,
        "source": decision.choice.source,
        "reason": decision.choice.detail,
        "order": list(decision.order),
        "groups": [] if chain is None else [chain.group, *chain.fallback_tiers],
        "chain": []
        if chain is None
        else [
            {
                "tier": link.tier,
                "deployment": link.name,
                "position": link.position,
                "model": link.deployment.model,
                "apiBase": link.deployment.api_base,
            }
            for link in chain.links
        ],
        "noModel": None
        if chain is not None
        else NoModelConfigured(decision.tier, decision.order).message,
    }
