"""Tiers and model chains: thresholds, overrides, fallback order and its bound. No model call."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import BadInput
from engine.route.chain import model_chain, tier_order
from engine.route.config import RouteSettings
from engine.route.decision import decide
from engine.route.errors import NoModelConfigured
from engine.route.tiers import Thresholds


def settings(**route: Any) -> RouteSettings:
    return RouteSettings.model_validate(route)


def deployments(*models: str) -> dict[str, Any]:
    return {"deployments": [{"model": m} for m in models]}


FULL = settings(
    tiers={
        "simple": deployments("ollama/qwen2.5-coder:7b"),
        "standard": deployments("openai/gpt-4o-mini", "ollama/qwen2.5-coder:14b"),
        "complex": deployments("anthropic/claude-sonnet-4-5"),
        "reasoning": deployments("openai/o3"),
    },
    overrides={"tasks": {"16": "reasoning", "3.1": "simple"}, "agents": {"Auto": "complex"}},
)


@pytest.mark.parametrize(
    ("score", "tier"),
    [(1, "simple"), (3, "simple"), (4, "standard"), (6, "standard"), (7, "complex"),
     (8, "complex"), (9, "reasoning"), (10, "reasoning")],
)  # fmt: skip
def test_default_thresholds_map_scores_to_tiers(score: int, tier: str) -> None:
    assert Thresholds(3, 6, 8).tier_for(score) == tier
    assert decide(FULL, score=score).tier == tier


def test_configured_thresholds_move_the_bounds() -> None:
    route = settings(thresholds={"simple": 2, "standard": 4, "complex": 9})
    assert [decide(route, score=s).tier for s in (2, 3, 5, 9, 10)] == [
        "simple",
        "standard",
        "complex",
        "complex",
        "reasoning",
    ]


def test_the_chain_is_the_tiers_deployments_in_order_then_its_fallback_tiers() -> None:
    chain = decide(FULL, score=5).require_chain()
    assert chain.group == "standard"
    assert chain.fallback_tiers == ("complex", "reasoning")
    assert [(link.name, link.deployment.model) for link in chain.links] == [
        ("standard-1", "openai/gpt-4o-mini"),
        ("standard-2", "ollama/qwen2.5-coder:14b"),
        ("complex-1", "anthropic/claude-sonnet-4-5"),
        ("reasoning-1", "openai/o3"),
    ]


def test_overrides_win_in_order_tier_then_task_then_agent_then_score() -> None:
    hard = "Prove the invariant holds under concurrent transactions and design the protocol."
    assert decide(FULL, text=hard).choice.source == "score"
    by_agent = decide(FULL, text=hard, agent="Auto")
    assert (by_agent.tier, by_agent.choice.source) == ("complex", "agent override")
    by_task = decide(FULL, text=hard, agent="Auto", task_id="3.1")
    assert (by_task.tier, by_task.choice.source) == ("simple", "task override")
    by_arg = decide(FULL, text=hard, agent="Auto", task_id="3.1", tier="standard")
    assert (by_arg.tier, by_arg.choice.source) == ("standard", "argument")
    # An override changes the tier, not the score shown next to it.
    assert by_task.score == decide(FULL, text=hard).score
    assert decide(FULL, score=2, task_id="16").tier == "reasoning"
    assert decide(FULL, score=2, task_id="17", agent="Codex").tier == "simple"


def test_an_empty_tier_routes_to_the_first_fallback_tier_with_a_model() -> None:
    route = settings(tiers={"standard": deployments("m1"), "reasoning": deployments("m2")})
    chain = model_chain(route, "simple")
    assert chain.requested == "simple" and chain.group == "standard"
    assert [link.name for link in chain.links] == ["standard-1", "reasoning-1"]


def test_fallbacks_are_configurable_bounded_and_never_repeat_a_tier() -> None:
    route = settings(
        tiers={
            "simple": {**deployments("s"), "fallbacks": ["reasoning", "standard"]},
            "standard": {**deployments("m"), "fallbacks": ["simple", "complex"]},
            "complex": deployments("c"),
            "reasoning": deployments("r"),
        },
        max_fallbacks=2,
    )
    assert tier_order(route, "simple") == ("simple", "reasoning", "standard", "complex")
    assert model_chain(route, "simple").fallback_tiers == ("reasoning", "standard")
    assert settings(max_fallbacks=0, tiers=FULL.tiers.model_dump()).max_fallbacks == 0
    assert model_chain(FULL.model_copy(update={"max_fallbacks": 0}), "simple").fallback_tiers == ()


def test_fallbacks_go_up_by_default_so_reasoning_never_falls_to_a_weaker_model() -> None:
    route = settings(tiers={"simple": deployments("s"), "standard": deployments("m")})
    assert tier_order(route, "reasoning") == ("reasoning",)
    with pytest.raises(NoModelConfigured, match="reasoning tier:") as info:
        decide(route, score=10).require_chain()
    assert info.value.tier == "reasoning"
    assert decide(route, score=10).chain is None


def test_deployment_names_come_from_config_or_the_tier() -> None:
    route = settings(tiers={"standard": {"deployments": [{"model": "a", "name": "cheap"}]}})
    assert model_chain(route, "standard").first.name == "cheap"


def test_nothing_to_route_on_is_bad_input() -> None:
    with pytest.raises(BadInput, match="nothing to route on"):
        decide(FULL)
    with pytest.raises(BadInput, match=r"1\.\.10, got 11"):
        decide(FULL, score=11)
