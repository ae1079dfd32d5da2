"""`vibehq route explain` and `vibehq route stats` through the real CLI, and bad [route] config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.store import Ledger
from engine.route.calls import ModelCallRow, record_model_call
from tests.conftest import ROOT, TASKS_FIXTURE, write

CONFIG = """
[route]
budget_usd = 0.5

[[route.tiers.standard.deployments]]
model = "openai/gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"

[[route.tiers.standard.deployments]]
model = "ollama/qwen2.5-coder:14b"
api_base = "http://127.0.0.1:11434"

[[route.tiers.complex.deployments]]
model = "anthropic/claude-sonnet-4-5"
name = "sonnet"

[route.overrides.tasks]
"16" = "reasoning"

[route.overrides.agents]
Codex = "standard"
"""


@pytest.fixture
def configured(ws: Path) -> Path:
    write(ws, "vibehq.toml", CONFIG)
    write(ws, ".taskmaster/tasks/tasks.json", TASKS_FIXTURE.read_text(encoding="utf-8"))
    return ws


def test_explain_text_shows_score_evidence_tier_and_chain(cli: Any, configured: Path) -> None:
    result = cli("route", "explain", "Add a limit parameter to the logs API.", "-w", configured)
    assert result.code == 0, result.err
    assert "score " in result.out and "tier standard" in result.out
    assert "1. standard-1 [standard] openai/gpt-4o-mini" in result.out
    assert "2. standard-2 [standard] ollama/qwen2.5-coder:14b  http://127.0.0.1:11434" in result.out
    assert "3. sonnet [complex] anthropic/claude-sonnet-4-5" in result.out


def test_explain_json(cli: Any, configured: Path) -> None:
    text = "Why does claim() hand one job to two workers under load? Find the race."
    data = cli("route", "explain", text, "--json", "-w", configured).json()
    assert data["source"] == "score" and data["tier"] in ("complex", "reasoning")
    assert data["score"]["score"] >= 7
    assert {e["name"] for e in data["score"]["evidence"]} >= {"domain:concurrency"}
    if data["tier"] == "complex":
        assert [link["deployment"] for link in data["chain"]] == ["sonnet"]


def test_explain_task_reads_tasks_json_and_applies_the_override(cli: Any, configured: Path) -> None:
    data = cli("route", "explain", "--task", "16", "--json", "-w", configured).json()
    assert data["task"] == {"id": "16", "title": "AI Provider Router Implementation"}
    assert (data["tier"], data["source"]) == ("reasoning", "task override")
    assert (
        data["chain"] == [] and "no model is configured for the reasoning tier" in data["noModel"]
    )
    plain = cli("route", "explain", "--task", "8", "-w", configured)
    assert plain.code == 0 and "task 8 WebSocket Routes Implementation" in plain.out


def test_explain_agent_override(cli: Any, configured: Path) -> None:
    data = cli(
        "route", "explain", "Prove the fallback is safe.", "--agent", "Codex", "--json",
        "-w", configured,
    ).json()  # fmt: skip
    assert (data["tier"], data["source"]) == ("standard", "agent override")


def test_explain_reads_stdin(cli: Any, configured: Path) -> None:
    data = cli("route", "explain", "-", "--json", "-w", configured, stdin="Fix the typo.").json()
    assert data["tier"] == "simple" and data["noModel"] is None
    assert [link["tier"] for link in data["chain"]] == ["standard", "standard", "complex"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "99"], "unknown task id 99"),
        (["--task", "x.y"], "x.y"),
        ([], "give the text to route or --task ID"),
        (["some text", "--task", "3"], "give the text to route or --task ID"),
    ],
)
def test_explain_bad_input_is_one_line_and_exit_2(
    cli: Any, configured: Path, args: list[str], message: str
) -> None:
    result = cli("route", "explain", *args, "-w", configured)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[route.thresholds]\nsimple = 6\nstandard = 4\n", "must increase"),
        ("[route.tiers.simple]\nfallbacks = ['simple']\n", "lists itself as a fallback"),
        ("[route.tiers.simple]\nfallbacks = ['huge']\n", "route.tiers.simple.fallbacks.0"),
        ("[route]\nbudget_usd = -1\n", "route.budget_usd"),
        ("[route]\nmax_fallbacks = 9\n", "route.max_fallbacks"),
        ("[route]\nbudget = 1\n", "route.budget"),
        ("[[route.tiers.standard.deployments]]\napi_base = 'http://x'\n", "model"),
        (
            "[[route.tiers.standard.deployments]]\nmodel = 'a'\napi_key_env = 'not a name'\n",
            "api_key_env",
        ),
        (
            "[[route.tiers.standard.deployments]]\nmodel = 'a'\nname = 'x'\n"
            "[[route.tiers.complex.deployments]]\nmodel = 'b'\nname = 'x'\n",
            "two deployments are named 'x'",
        ),
        ("[route.overrides.tasks]\n'3' = 'cheap'\n", "route.overrides.tasks.3"),
    ],
)
def test_bad_route_config_is_one_line_and_exit_2(
    cli: Any, ws: Path, toml: str, message: str
) -> None:
    write(ws, "vibehq.toml", toml)
    result = cli("route", "explain", "anything", "-w", ws)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_route_settings_come_from_the_environment(
    cli: Any, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "VIBEHQ_ROUTE__TIERS__SIMPLE__DEPLOYMENTS",
        json.dumps([{"model": "openai/local", "api_base": "http://127.0.0.1:8080/v1"}]),
    )
    monkeypatch.setenv("VIBEHQ_ROUTE__THRESHOLDS__SIMPLE", "4")
    data = cli("route", "explain", "Add a comment to the handler.", "--json", "-w", ws).json()
    assert data["chain"][0] == {
        "tier": "simple",
        "deployment": "simple-1",
        "position": 1,
        "model": "openai/local",
        "apiBase": "http://127.0.0.1:8080/v1",
    }
    monkeypatch.setenv("VIBEHQ_ROUTE__BUDGET_USD", "lots")
    result = cli("route", "explain", "x", "-w", ws)
    assert result.code == 2 and "route.budget_usd" in result.err


def test_explain_does_not_import_the_model_stack(configured: Path) -> None:
    probe = (
        "import json, sys, main\n"
        "sys.argv = ['vibehq', 'route', 'explain', '--task', '5', '-w', sys.argv[1]]\n"
        "try:\n    main.run()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(configured)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "engine.route.decision" in modules
    assert [m for m in modules if m.split(".")[0] in ("litellm", "crewai", "openai")] == []


def seed_calls(ws: Path) -> None:
    with Ledger.open(ws / ".vibehq" / "ledger.sqlite") as ledger:
        for row in (
            ModelCallRow("run-1", "standard", "standard", "ok", "standard-1", "standard",
                         "openai/gpt-4o-mini", prompt_tokens=100, completion_tokens=20,
                         cost_usd=0.01, latency_ms=120),
            ModelCallRow("run-1", "standard", "standard", "fallback", "standard-2", "standard",
                         "ollama/qwen2.5-coder:14b", prompt_tokens=50, completion_tokens=10,
                         latency_ms=300),
            ModelCallRow("run-1", "complex", "complex", "error", error="Timeout: 120 s"),
            ModelCallRow("run-2", "standard", "standard", "ok", "standard-1", "standard",
                         "openai/gpt-4o-mini", prompt_tokens=10, completion_tokens=2,
                         cost_usd=0.002, latency_ms=80),
        ):  # fmt: skip
            record_model_call(ledger, row)


def test_stats_per_tier_and_model(cli: Any, configured: Path) -> None:
    seed_calls(configured)
    data = cli("route", "stats", "--json", "-w", configured).json()
    rows = {(r["tier"], r["model"]): r for r in data["rows"]}
    assert list(rows) == [
        ("standard", "ollama/qwen2.5-coder:14b"),
        ("standard", "openai/gpt-4o-mini"),
        ("complex", None),
    ]
    mini = rows[("standard", "openai/gpt-4o-mini")]
    assert (mini["calls"], mini["ok"], mini["prompt_tokens"]) == (2, 2, 110)
    assert mini["cost_usd"] == pytest.approx(0.012)
    assert rows[("complex", None)]["errors"] == 1
    assert data["total"]["calls"] == 4 and data["spent_usd"] is None


def test_stats_of_one_run_with_its_budget(cli: Any, configured: Path) -> None:
    seed_calls(configured)
    data = cli("route", "stats", "--run", "run-1", "--json", "-w", configured).json()
    assert data["total"]["calls"] == 3
    assert (data["spent_usd"], data["budget_usd"]) == (pytest.approx(0.01), 0.5)
    text = cli("route", "stats", "--run", "run-1", "-w", configured)
    assert text.code == 0 and "run run-1: spent $0.0100 of its $0.5000 budget" in text.out
    assert "qwen2.5-coder:14b" in text.out


def test_stats_with_no_calls(cli: Any, configured: Path) -> None:
    result = cli("route", "stats", "-w", configured)
    assert result.code == 0 and "no model calls recorded" in result.out
