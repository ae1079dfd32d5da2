"""Model config that LiteLLM users recognise: litellm_params pass through, `os.environ/NAME`
values, a LiteLLM `config.yaml` model_list behind the tiers, and mistakes that fail only the
commands that call a model. Calls go through the real LiteLLM client to the scripted server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.route.config import RouteSettings
from engine.route.errors import ModelConfigInvalid, ModelKeyMissing
from engine.route.litellm_router import AGENT_HEADER, ModelRouter
from engine.settings import load_settings
from tests.conftest import TASKS_FIXTURE, write

ASK = [{"role": "user", "content": "Add a limit query parameter to GET /api/patches/logs."}]


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path / ".vibehq" / "ledger.sqlite") as opened:
        yield opened


def standard(*deployments: dict[str, Any]) -> RouteSettings:
    return RouteSettings.model_validate(
        {"retries": 0, "timeout_s": 10, "tiers": {"standard": {"deployments": list(deployments)}}}
    )


# --- litellm_params pass through --------------------------------------------------------------


def test_litellm_params_reach_the_request(model_server: Any, ledger: Ledger) -> None:
    srv = model_server([{"model": "m", "content": "ok"}])
    settings = standard(
        {
            "model": "openai/m",
            "api_base": srv.base_url,
            "temperature": 0.25,
            "max_tokens": 77,
            "rpm": 600,
            "tpm": 100_000,
            "extra_headers": {"X-Team": "migrations"},
        }
    )
    done = ModelRouter(settings, ledger).complete(ASK, tier="standard", agent="Codex")
    assert done.content == "ok"
    sent = srv.completions[0]
    assert sent.body["temperature"] == 0.25 and sent.body["max_tokens"] == 77
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers[AGENT_HEADER.lower()] == "Codex"
    assert headers["x-team"] == "migrations"


def test_the_snapshot_of_litellm_params_matches_the_installed_litellm() -> None:
    import inspect

    import litellm
    from litellm.types.router import LiteLLM_Params

    from engine.config.litellm_params import RESERVED_PARAMS, SNAPSHOT_PARAMS

    signature = inspect.signature(litellm.completion).parameters.values()
    named = {p.name for p in signature if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    derived = (set(LiteLLM_Params.model_fields) | named) - {"model", "model_info"}
    derived -= set(RESERVED_PARAMS)
    assert derived - SNAPSHOT_PARAMS == set(), "new LiteLLM keys: update the snapshot"
    assert SNAPSHOT_PARAMS - derived == set(), "keys LiteLLM dropped: update the snapshot"


def test_os_environ_values_are_read_at_call_time(
    model_server: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = model_server([{"model": "m", "content": "ok"}])
    monkeypatch.setenv("VIBEHQ_TEST_KEY", "sk-test-123")
    monkeypatch.setenv("VIBEHQ_TEST_BASE", srv.base_url)
    settings = standard(
        {"model": "openai/m", "api_base": "os.environ/VIBEHQ_TEST_BASE",
         "api_key": "os.environ/VIBEHQ_TEST_KEY"}
    )  # fmt: skip
    assert ModelRouter(settings, ledger).complete(ASK, tier="standard").content == "ok"
    assert len(srv.completions) == 1
    monkeypatch.delenv("VIBEHQ_TEST_KEY")
    with pytest.raises(ModelKeyMissing, match=r"api_key from os.environ/VIBEHQ_TEST_KEY"):
        ModelRouter(settings, ledger).complete(ASK, tier="standard")


def test_api_key_env_still_works(
    model_server: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = model_server([{"model": "m", "content": "ok"}])
    monkeypatch.setenv("VIBEHQ_TEST_KEY", "sk-test-456")
    settings = standard({"model": "openai/m", "api_base": srv.base_url,
                         "api_key_env": "VIBEHQ_TEST_KEY"})  # fmt: skip
    assert ModelRouter(settings, ledger).complete(ASK, tier="standard").content == "ok"


# --- a mistake fails only what needs a model -------------------------------------------------

TYPO = """
[[route.tiers.standard.deployments]]
model = "azure/gpt-4o-mini"
api_base = "https://example.openai.azure.com"
api_verison = "2024-10-21"
"""


def test_an_unknown_key_names_the_nearest_and_fails_only_model_commands(cli: Any, ws: Path) -> None:
    write(ws, "vibehq.toml", TYPO)
    write(ws, ".taskmaster/tasks/tasks.json", TASKS_FIXTURE.read_text(encoding="utf-8"))
    listed = cli("tasks", "list", "-w", ws)
    assert listed.code == 0, listed.err
    explained = cli("route", "explain", "Add a limit parameter.", "-w", ws)
    assert explained.code == 2
    assert "unknown key 'api_verison'; did you mean 'api_version'?" in explained.err
    assert "Extra inputs" not in explained.err
    shown = cli("config", "show", "--json", "-w", ws).json()
    assert any("api_verison" in p for p in shown["problems"])


def test_the_router_refuses_a_bad_key_before_any_request(model_server: Any, ledger: Ledger) -> None:
    srv = model_server([{"content": "unused"}])
    settings = standard({"model": "openai/m", "api_base": srv.base_url, "temprature": 0.1})
    with pytest.raises(ModelConfigInvalid, match="did you mean 'temperature'"):
        ModelRouter(settings, ledger).complete(ASK, tier="standard")
    assert srv.requests == []


def test_a_reserved_key_is_refused() -> None:
    settings = standard({"model": "openai/m", "order": 2})
    assert "key 'order' cannot be set" in settings.problems()[0]


# --- [route] litellm_config ------------------------------------------------------------------

PROXY_YAML = """
model_list:
  - model_name: standard
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      rpm: 60
    model_info:
      id: mini
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-haiku-latest
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: embeddings
    litellm_params:
      model: openai/text-embedding-3-small
litellm_settings:
  drop_params: true
"""


def test_groups_named_like_tiers_serve_them_and_litellm_groups_maps_the_rest(ws: Path) -> None:
    write(ws, "litellm.yaml", PROXY_YAML)
    write(ws, "vibehq.toml", '[route]\nlitellm_config = "litellm.yaml"\n\n'
          '[route.tiers.complex]\nlitellm_groups = ["claude"]\n\n'
          '[[route.tiers.standard.deployments]]\nmodel = "ollama/qwen2.5-coder:7b"\n'
          'api_base = "http://127.0.0.1:11434"\n')  # fmt: skip
    route = load_settings(ws).route
    assert route.problems() == []
    std = route.tiers.standard.deployments
    assert [d.model for d in std] == ["ollama/qwen2.5-coder:7b", "openai/gpt-4o-mini"]
    assert std[1].name == "mini" and std[1].litellm_params() == {"rpm": 60}
    assert std[1].api_key == "os.environ/OPENAI_API_KEY"
    assert [d.model for d in route.tiers.complex.deployments] == [
        "anthropic/claude-3-5-haiku-latest"
    ]
    assert route.origins["mini"] == "litellm config litellm.yaml (model_name standard)"
    assert route.unused_groups == ["embeddings"]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (None, "file not found"),
        ("model_list: [", "not valid YAML"),
        ("general_settings: {}\n", "expected a non-empty model_list"),
        ("model_list:\n  - model_name: fast\n    litellm_params: {model: openai/x}\n",
         "no tier takes any of its model groups (fast)"),
    ],
)  # fmt: skip
def test_a_bad_litellm_config_fails_only_model_commands(
    cli: Any, ws: Path, yaml_text: str | None, message: str
) -> None:
    if yaml_text is not None:
        write(ws, "litellm.yaml", yaml_text)
    write(ws, "vibehq.toml", '[route]\nlitellm_config = "litellm.yaml"\n')
    write(ws, ".taskmaster/tasks/tasks.json", TASKS_FIXTURE.read_text(encoding="utf-8"))
    assert cli("tasks", "list", "-w", ws).code == 0
    explained = cli("route", "explain", "Add a limit parameter.", "-w", ws)
    assert explained.code == 2 and message in explained.err


# --- the example config and `config show` ------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "vibehq.example.toml"


def test_the_example_config_loads_and_config_show_prints_it(cli: Any, ws: Path) -> None:
    write(ws, "vibehq.toml", EXAMPLE.read_text(encoding="utf-8"))
    route = load_settings(ws).route
    assert route.problems() == []
    models = {d.model for tier in ("simple", "standard", "complex", "reasoning")
              for d in route.tiers.of(tier).deployments}  # fmt: skip
    assert {"ollama/qwen2.5-coder:7b", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5",
            "azure/gpt-4o-migrations", "openai/Qwen/Qwen2.5-Coder-32B-Instruct",
            "openai/o3"} <= models  # fmt: skip
    shown = cli("config", "show", "-w", ws)
    assert shown.code == 0, shown.err
    assert re.search(
        r'route\.tiers\.complex\.deployments\[1\]\.api_version +=\ "2024-10-21"  \(vibehq\.toml\)',
        shown.out,
    )
    assert '= "os.environ/AZURE_API_KEY"  (vibehq.toml)' in shown.out
    assert "route.retries" in shown.out and "(default)" in shown.out
    assert sorted(p.name for p in ws.iterdir()) == ["vibehq.toml"]


def test_config_show_redacts_secrets_and_names_each_source(
    cli: Any, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(ws, "litellm.yaml", PROXY_YAML)
    write(ws, "vibehq.toml", '[route]\nlitellm_config = "litellm.yaml"\n'
          'budget_usd = 3.0\n\n[[route.tiers.simple.deployments]]\nmodel = "openai/m"\n'
          'api_key = "sk-live-abcdef"\n'
          'extra_headers = { Authorization = "Bearer t", X-Team = "a" }\n'
          '\n[memory]\nembeddings_api_base = "https://user:hunter2@emb.example/v1"\n'
          'embeddings_model = "e"\n')  # fmt: skip
    monkeypatch.setenv("VIBEHQ_ROUTE__RETRIES", "5")
    data = cli("config", "show", "--json", "-w", ws).json()
    values = {v["key"]: v for v in data["values"]}
    assert values["route.budget_usd"]["source"] == "vibehq.toml"
    assert values["route.retries"] == {
        "key": "route.retries", "value": 5, "source": "env", "origin": "VIBEHQ_ROUTE__RETRIES"
    }  # fmt: skip
    assert values["route.cooldown_s"]["source"] == "default"
    std = values["route.tiers.standard.deployments[0].model"]
    assert (std["value"], std["source"]) == ("openai/gpt-4o-mini", "litellm config")
    assert std["origin"] == "litellm config litellm.yaml (model_name standard)"
    simple = "route.tiers.simple.deployments[0]"
    assert values[f"{simple}.api_key"]["value"] == "<redacted>"
    assert values[f"{simple}.extra_headers.Authorization"]["value"] == "<redacted>"
    assert values[f"{simple}.extra_headers.X-Team"]["value"] == "a"
    assert values["memory.embeddings_api_base"]["value"] == (
        "https://user:<redacted>@emb.example/v1"
    )
    assert data["unusedLitellmGroups"] == ["claude", "embeddings"]
    text = cli("config", "show", "-w", ws).out
    assert "sk-live-abcdef" not in text and "hunter2" not in text and "Bearer t" not in text
