"""Done-when: a LiteLLM proxy `config.yaml` with an Azure and an Anthropic entry drives
`route explain` and a routed call end to end.

What is real here: the `azure/...` entry goes through LiteLLM's Azure provider (the
AzureOpenAI client: `POST {api_base}/openai/deployments/<deployment>/chat/completions
?api-version=...` with an `api-key` header), and the `anthropic/...` entry through LiteLLM's
Anthropic provider (`POST {api_base}/v1/messages` with `x-api-key` and the Messages body).
Both api_bases point at the scripted server on 127.0.0.1, which speaks those two paths; no
provider is contacted and nothing is mocked in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.route.calls import model_calls
from engine.route.litellm_router import ModelRouter
from engine.settings import load_settings
from engine.workspace import Workspace
from tests.conftest import write

LITELLM_YAML = """\
model_list:
  - model_name: azure-gpt-4o
    litellm_params:
      model: azure/gpt-4o-migrations
      api_base: os.environ/VIBEHQ_TEST_AZURE_BASE
      api_version: "2024-10-21"
      api_key: os.environ/VIBEHQ_TEST_AZURE_KEY
      rpm: 600
    model_info:
      id: azure-gpt4o
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-haiku-latest
      api_base: {anthropic_base}
      api_key: os.environ/VIBEHQ_TEST_ANTHROPIC_KEY
      max_tokens: 512
    model_info:
      id: claude-haiku
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000005
router_settings:
  routing_strategy: simple-shuffle
"""

VIBEHQ_TOML = """\
[route]
litellm_config = "litellm.yaml"
retries = 0
timeout_s = 20

[route.tiers.standard]
litellm_groups = ["azure-gpt-4o"]

[route.tiers.complex]
litellm_groups = ["claude"]
"""

ASK = "Add a limit query parameter to GET /api/patches/logs."


@pytest.fixture
def proxy_ws(ws: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    srv = model_server(
        [
            {"model": "gpt-4o-migrations", "fault": "server_error", "status": 503,
             "regex": "falls back", "times": "unlimited"},
            {"model": "gpt-4o-migrations", "content": "answered on the Azure path"},
            {"model": "claude-3-5-haiku-latest", "content": "answered on the Messages API",
             "usage": {"prompt_tokens": 100, "completion_tokens": 20}},
        ]
    )  # fmt: skip
    monkeypatch.setenv("VIBEHQ_TEST_AZURE_BASE", srv.url)
    monkeypatch.setenv("VIBEHQ_TEST_AZURE_KEY", "azure-test-key")
    monkeypatch.setenv("VIBEHQ_TEST_ANTHROPIC_KEY", "anthropic-test-key")
    write(ws, "litellm.yaml", LITELLM_YAML.format(anthropic_base=srv.url))
    write(ws, "vibehq.toml", VIBEHQ_TOML)
    return ws, srv


def test_route_explain_shows_the_litellm_entries_as_the_chain(
    cli: Any, proxy_ws: tuple[Path, Any]
) -> None:
    ws, srv = proxy_ws
    data = cli("route", "explain", ASK, "--json", "-w", ws).json()
    assert data["tier"] == "standard"
    assert [(link["deployment"], link["tier"], link["model"]) for link in data["chain"]] == [
        ("azure-gpt4o", "standard", "azure/gpt-4o-migrations"),
        ("claude-haiku", "complex", "anthropic/claude-3-5-haiku-latest"),
    ]
    assert data["chain"][1]["apiBase"] == srv.url
    assert srv.requests == []


def test_a_call_reaches_azure_then_falls_back_to_anthropic(proxy_ws: tuple[Path, Any]) -> None:
    ws, srv = proxy_ws
    settings = load_settings(ws)
    Workspace.open(ws).ensure_state_dir()
    with ModelRouter.open(Workspace.open(ws), settings) as router:
        first = router.complete(ASK, tier="standard")
        second = router.complete(f"{ASK} This one falls back.", tier="standard")
        rows = model_calls(router.ledger)
    assert (first.content, first.deployment, first.outcome) == (
        "answered on the Azure path", "azure-gpt4o", "ok",
    )  # fmt: skip
    assert (second.content, second.deployment, second.outcome) == (
        "answered on the Messages API", "claude-haiku", "fallback",
    )  # fmt: skip
    azure, failed, anthropic = srv.completions
    assert (
        azure.path
        == "/openai/deployments/gpt-4o-migrations/chat/completions?api-version=2024-10-21"
    )
    assert {k.lower() for k in azure.headers} >= {"api-key"}
    assert failed.status == 503
    assert anthropic.path == "/v1/messages"
    assert anthropic.body["max_tokens"] == 512
    assert {k.lower() for k in anthropic.headers} >= {"x-api-key", "anthropic-version"}
    # The prices come from the entry's model_info: 100 * 1e-6 + 20 * 5e-6.
    assert second.cost_usd == pytest.approx(0.0002)
    assert [(r.deployment, r.outcome) for r in rows] == [
        ("azure-gpt4o", "ok"), ("claude-haiku", "fallback"),
    ]  # fmt: skip
