"""The router through the real LiteLLM client against the scripted model server on 127.0.0.1:
fallbacks, the ledger row of the deployment that answered, the budget stop, no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.route.calls import model_calls, run_spend
from engine.route.config import RouteSettings
from engine.route.errors import (
    BudgetExhausted,
    ModelCallFailed,
    ModelKeyMissing,
    NoModelConfigured,
)
from engine.route.litellm_router import AGENT_HEADER, ModelRouter
from tests.conftest import ROOT


def route(tiers: dict[str, list[dict[str, Any]]], **options: Any) -> RouteSettings:
    """[route] with no retries (the scripted faults decide what happens, without backoff)."""
    return RouteSettings.model_validate(
        {
            "retries": 0,
            "timeout_s": 10,
            **options,
            "tiers": {tier: {"deployments": deps} for tier, deps in tiers.items()},
        }
    )


def local(server: Any, name: str, **extra: Any) -> dict[str, Any]:
    return {"model": f"openai/{name}", "api_base": server.base_url, **extra}


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path / ".vibehq" / "ledger.sqlite") as opened:
        yield opened


ASK = [{"role": "user", "content": "Add a limit query parameter to GET /api/patches/logs."}]


def test_429_falls_back_to_the_next_deployment_and_the_ledger_names_it(
    model_server: Any, ledger: Ledger
) -> None:
    srv = model_server(
        [
            {"model": "std-a", "fault": "rate_limit", "retry_after": 0, "times": "unlimited"},
            {
                "model": "std-b",
                "content": "done by b",
                "served_model": "std-b-2026-01",
                "usage": {"prompt_tokens": 40, "completion_tokens": 9},
            },
        ]
    )
    settings = route({"standard": [local(srv, "std-a"), local(srv, "std-b")]})
    router = ModelRouter(settings, ledger, run_id="run-429")

    answer = router.complete(ASK, tier="standard", task_id="9")

    assert answer.content == "done by b"
    assert (answer.deployment, answer.model, answer.outcome) == (
        "standard-2",
        "openai/std-b",
        "fallback",
    )
    assert [(r.model, r.status) for r in srv.requests] == [("std-a", 429), ("std-b", 200)]
    [row] = model_calls(ledger, "run-429")
    assert row.tier == row.model_group == row.served_tier == "standard"
    assert (row.deployment, row.model, row.outcome) == ("standard-2", "openai/std-b", "fallback")
    assert row.response_model == "std-b-2026-01"
    assert (row.prompt_tokens, row.completion_tokens, row.task_id) == (40, 9, "9")
    assert row.error is None and row.latency_ms > 0


def test_a_failing_tier_falls_back_to_the_next_tier(model_server: Any, ledger: Ledger) -> None:
    srv = model_server(
        [
            {"model": "std", "fault": "server_error", "times": "unlimited"},
            {"model": "cx", "content": "complex answered"},
        ]
    )
    settings = route({"standard": [local(srv, "std")], "complex": [local(srv, "cx")]})
    answer = ModelRouter(settings, ledger).complete(ASK, tier="standard")
    assert (answer.tier, answer.served_tier, answer.deployment) == (
        "standard",
        "complex",
        "complex-1",
    )
    [row] = model_calls(ledger)
    assert (row.tier, row.served_tier, row.outcome) == ("standard", "complex", "fallback")


def test_the_first_deployment_answering_is_ok_and_the_score_picks_the_tier(
    model_server: Any, ledger: Ledger
) -> None:
    srv = model_server(
        [{"model": "small", "content": "fixed"}, {"model": "big", "content": "unused"}]
    )
    settings = route({"simple": [local(srv, "small")], "reasoning": [local(srv, "big")]})
    answer = ModelRouter(settings, ledger).complete("Fix the typo 'recieve' in the README.")
    assert (answer.tier, answer.deployment, answer.outcome) == ("simple", "simple-1", "ok")
    assert [r.model for r in srv.requests] == ["small"]
    assert model_calls(ledger)[0].score is not None


def test_every_deployment_failing_is_one_error_row_and_a_typed_error(
    model_server: Any, ledger: Ledger
) -> None:
    srv = model_server([{"fault": "server_error", "times": "unlimited"}])
    settings = route({"complex": [local(srv, "c1")], "reasoning": [local(srv, "r1")]})
    with pytest.raises(ModelCallFailed, match=r"every model in the complex chain failed") as info:
        ModelRouter(settings, ledger).complete(ASK, tier="complex")
    assert info.value.__context__ is None
    assert [r.model for r in srv.requests] == ["c1", "r1"]
    [row] = model_calls(ledger)
    assert row.outcome == "error" and row.deployment is None and row.model is None
    assert row.error is not None and "500" in row.error


def test_a_stall_past_the_timeout_falls_back(model_server: Any, ledger: Ledger) -> None:
    srv = model_server(
        [
            {"model": "slow", "fault": "stall", "seconds": 30},
            {"model": "quick", "content": "in time"},
        ]
    )
    settings = route(
        {"standard": [local(srv, "slow"), local(srv, "quick")]},
        timeout_s=0.5,
    )
    answer = ModelRouter(settings, ledger).complete(ASK, tier="standard")
    assert (answer.content, answer.deployment) == ("in time", "standard-2")


def test_budget_stop_calls_nothing_once_the_run_has_spent_it(
    model_server: Any, ledger: Ledger
) -> None:
    srv = model_server(
        [
            {
                "content": "expensive answer",
                "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
                "times": "unlimited",
            }
        ]
    )
    priced = local(srv, "m", input_cost_per_token=1e-6, output_cost_per_token=2e-6)
    settings = route({"standard": [priced]}, budget_usd=0.003)
    router = ModelRouter(settings, ledger, run_id="run-budget")

    router.complete(ASK, tier="standard")  # $0.002: under budget
    router.complete(ASK, tier="standard")  # $0.004: crosses it
    with pytest.raises(BudgetExhausted, match=r"run run-budget has spent \$0\.0040 of its"):
        router.complete(ASK, tier="standard")

    assert len(srv.requests) == 2
    assert len(model_calls(ledger, "run-budget")) == 2
    assert run_spend(ledger, "run-budget") == pytest.approx(0.004)
    # Another run has its own budget.
    ModelRouter(settings, ledger, run_id="run-other").complete(ASK, tier="standard")
    assert len(srv.requests) == 3


def test_cost_comes_from_litellms_price_map_for_a_known_model(
    model_server: Any, ledger: Ledger
) -> None:
    import litellm

    srv = model_server(
        [{"content": "ok", "usage": {"prompt_tokens": 2000, "completion_tokens": 1000}}]
    )
    settings = route({"standard": [{"model": "openai/gpt-4o-mini", "api_base": srv.base_url}]})
    answer = ModelRouter(settings, ledger).complete(ASK, tier="standard")
    price = litellm.model_cost["gpt-4o-mini"]
    expected = 2000 * price["input_cost_per_token"] + 1000 * price["output_cost_per_token"]
    assert answer.cost_usd == pytest.approx(expected) and expected > 0
    assert model_calls(ledger)[0].cost_usd == pytest.approx(expected)
    assert srv.requests[0].model == "gpt-4o-mini"


def test_an_unmapped_local_model_costs_nothing(model_server: Any, ledger: Ledger) -> None:
    srv = model_server([{"content": "ok", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}])
    settings = route({"standard": [local(srv, "my-local-coder")]})
    assert ModelRouter(settings, ledger).complete(ASK, tier="standard").cost_usd == 0.0


def test_tools_pass_through_and_tool_calls_come_back(model_server: Any, ledger: Ledger) -> None:
    srv = model_server(
        [
            {
                "agent": "Codex",
                "tool_calls": [{"name": "read_file", "arguments": {"path": "apps/a.ts"}}],
            }
        ]
    )
    settings = route({"standard": [local(srv, "coder")]})
    tool = {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a workspace file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
    answer = ModelRouter(settings, ledger).complete(
        ASK, tier="standard", agent="Codex", tools=[tool]
    )
    [call] = answer.tool_calls
    assert call.function.name == "read_file"
    assert json.loads(call.function.arguments) == {"path": "apps/a.ts"}
    [request] = srv.requests
    assert request.tools == ["read_file"]
    assert request.headers.get(AGENT_HEADER.lower(), request.headers.get(AGENT_HEADER)) == "Codex"
    assert model_calls(ledger)[0].agent == "Codex"


def test_no_model_for_the_tier_raises_and_the_server_sees_nothing(
    model_server: Any, ledger: Ledger
) -> None:
    srv = model_server([{"content": "must not be used", "times": "unlimited"}])
    # Only `simple` has a model; `reasoning` falls back to nothing (fallbacks go up, not down).
    settings = route({"simple": [local(srv, "small")]})
    with pytest.raises(NoModelConfigured, match=r"no model is configured for the reasoning tier"):
        ModelRouter(settings, ledger).complete(ASK, tier="reasoning")
    assert srv.requests == []
    assert model_calls(ledger) == []


def test_no_model_configured_is_raised_before_litellm_is_imported(tmp_path: Path) -> None:
    probe = f"""
import sys
from pathlib import Path
from engine.ledger.store import Ledger
from engine.route.config import RouteSettings
from engine.route.errors import NoModelConfigured
from engine.route.litellm_router import ModelRouter
router = ModelRouter(RouteSettings(), Ledger.open(Path({str(tmp_path / "l.sqlite")!r})))
try:
    router.complete("Design the RPC surface of the search module.")
except NoModelConfigured as exc:
    print("needs-model:", exc.tier, "litellm" in sys.modules)
"""
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    label, tier, imported = proc.stdout.split()
    assert (label, imported) == ("needs-model:", "False"), proc.stderr
    assert tier in ("simple", "standard", "complex", "reasoning")


def test_a_missing_api_key_variable_is_named(
    model_server: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIBEHQ_TEST_ROUTE_KEY", raising=False)
    srv = model_server([{"content": "unused"}])
    settings = route({"standard": [local(srv, "m", api_key_env="VIBEHQ_TEST_ROUTE_KEY")]})
    with pytest.raises(ModelKeyMissing, match=r"\$VIBEHQ_TEST_ROUTE_KEY, which is not set"):
        ModelRouter(settings, ledger).complete(ASK, tier="standard")
    assert srv.requests == []


def test_importing_the_engine_sets_the_offline_defaults_and_keeps_the_users() -> None:
    probe = (
        "import os, engine.route.litellm_router\n"
        "print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'], os.environ['CREWAI_DISABLE_TELEMETRY'],"
        " os.environ['CREWAI_TRACING_ENABLED'], os.environ['OTEL_SDK_DISABLED'])"
    )
    env = {"PATH": "/usr/bin:/bin", "OTEL_SDK_DISABLED": "false"}
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.stdout.split() == ["True", "true", "false", "false"], proc.stderr
