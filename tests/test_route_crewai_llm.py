"""The CrewAI LLM on the router, called directly and by a CrewAI agent, against the scripted
model server through the real LiteLLM client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.route.calls import model_calls
from engine.route.config import RouteSettings
from engine.route.errors import BudgetExhausted, NoModelConfigured
from engine.route.litellm_router import ModelRouter

pytestmark = pytest.mark.integration

READ_FILE = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a workspace file.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
}


def llm_for(server: Any, tmp_path: Path, **fields: Any) -> Any:
    from agents.llm import RoutedLLM

    route = RouteSettings.model_validate(
        {
            "retries": 0,
            "tiers": {
                "standard": {
                    "deployments": [{"model": "openai/coder", "api_base": server.base_url}]
                }
            },
        }
    )
    ledger = Ledger.open(tmp_path / "ledger.sqlite")
    return RoutedLLM(router=ModelRouter(route, ledger, run_id="crew-run"), **fields)


def test_a_text_answer_and_its_ledger_row(model_server: Any, tmp_path: Path) -> None:
    srv = model_server(
        [{"content": "Renamed.", "usage": {"prompt_tokens": 12, "completion_tokens": 3}}]
    )
    llm = llm_for(srv, tmp_path, tier="standard", agent="Codex")
    assert llm.supports_function_calling() and llm.provider == "vibehq"
    assert llm.call("Rename cnt to count in apps/logger/src/log.ts.") == "Renamed."
    [row] = model_calls(llm.router.ledger, "crew-run")
    assert (row.agent, row.deployment, row.prompt_tokens) == ("Codex", "standard-1", 12)
    assert llm.get_token_usage_summary().prompt_tokens == 12


def test_tool_calls_are_returned_for_the_executor(model_server: Any, tmp_path: Path) -> None:
    srv = model_server([{"tool_calls": [{"name": "read_file", "arguments": {"path": "a.ts"}}]}])
    llm = llm_for(srv, tmp_path, tier="standard")
    calls = llm.call([{"role": "user", "content": "Open a.ts"}], tools=[READ_FILE])
    [call] = calls
    assert call.function.name == "read_file"
    assert json.loads(call.function.arguments) == {"path": "a.ts"}
    assert srv.requests[0].tools == ["read_file"]


def test_available_functions_run_the_tool_and_return_its_result(
    model_server: Any, tmp_path: Path
) -> None:
    srv = model_server([{"tool_calls": [{"name": "read_file", "arguments": {"path": "a.ts"}}]}])
    llm = llm_for(srv, tmp_path, tier="standard")
    seen: list[str] = []

    def read_file(path: str) -> str:
        seen.append(path)
        return f"contents of {path}"

    result = llm.call("Open a.ts", tools=[READ_FILE], available_functions={"read_file": read_file})
    assert (result, seen) == ("contents of a.ts", ["a.ts"])


def test_no_model_for_the_tier_reaches_the_caller_typed(model_server: Any, tmp_path: Path) -> None:
    srv = model_server([{"content": "must not be used"}])
    llm = llm_for(srv, tmp_path, tier="reasoning")
    with pytest.raises(NoModelConfigured):
        llm.call("Prove it.")
    assert srv.requests == []


def test_a_spent_budget_stops_the_agent_without_a_call(model_server: Any, tmp_path: Path) -> None:
    srv = model_server(
        [{"content": "x", "usage": {"prompt_tokens": 10, "completion_tokens": 10}, "times": 5}]
    )
    llm = llm_for(srv, tmp_path, tier="standard")
    priced = llm.router.route.model_copy(update={"budget_usd": 1e-9})
    priced.tiers.standard.deployments[0].input_cost_per_token = 1e-6
    llm.router.route = priced
    llm.call("first")
    with pytest.raises(BudgetExhausted):
        llm.call("second")
    assert len(srv.requests) == 1


def test_a_crewai_agent_runs_a_tool_then_answers(model_server: Any, tmp_path: Path) -> None:
    from crewai import Agent
    from crewai.tools import tool

    srv = model_server(
        [
            {
                "role": "user",
                "tool_calls": [{"name": "read_note", "arguments": {"note_id": "7"}}],
            },
            {"role": "tool", "regex": "note 7 says: ship it", "content": "The note says ship it."},
        ]
    )

    @tool("read_note")
    def read_note(note_id: str) -> str:
        """Read one note by id."""
        return f"note {note_id} says: ship it"

    agent = Agent(
        role="Codex",
        goal="Answer questions about notes.",
        backstory="Reads notes.",
        llm=llm_for(srv, tmp_path, tier="standard"),
        tools=[read_note],
        max_iter=3,
        verbose=False,
    )
    result = agent.kickoff("What does note 7 say?")
    assert "ship it" in str(result.raw)
    assert [r.turn for r in srv.requests] == [1, 2]
    rows = model_calls(agent.llm.router.ledger, "crew-run")
    assert [r.agent for r in rows] == ["Codex", "Codex"]


def test_for_workspace_reads_route_settings_and_writes_the_workspace_ledger(
    model_server: Any, ws: Path
) -> None:
    from agents.llm import RoutedLLM
    from engine.settings import load_settings
    from engine.workspace import Workspace

    srv = model_server([{"content": "from the workspace model"}])
    (ws / "vibehq.toml").write_text(
        f'[[route.tiers.simple.deployments]]\nmodel = "openai/local"\napi_base = "{srv.base_url}"\n'
    )
    workspace = Workspace.open(ws)
    llm = RoutedLLM.for_workspace(workspace, load_settings(ws), run_id="ws-run", agent="Auto")
    assert llm.call("Fix the typo in the README.") == "from the workspace model"
    with Ledger.open(workspace.ledger_path) as ledger:
        [row] = model_calls(ledger, "ws-run")
    assert (row.tier, row.deployment, row.agent) == ("simple", "simple-1", "Auto")
    llm.router.close()
