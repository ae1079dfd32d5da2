"""agents.yaml: the bundled crew loads, and each mistake in a file is one line naming the file,
the line and the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.spec import BUNDLED, AgentSpec, agents_path, load_agents, tier_missing
from engine.errors import BadInput
from engine.settings import Settings
from engine.workspace import Workspace
from tools.names import TOOL_NAMES

SOURCE = BUNDLED.read_text()


def test_the_bundled_crew_follows_the_task_assignment() -> None:
    crew = load_agents()
    assert list(crew.agents) == ["auto", "codex", "migration", "quality"]
    auto, codex = crew.get("auto"), crew.get("codex")
    assert (auto.name, auto.tier, auto.allow_delegation) == ("Auto", "complex", True)
    assert {"task_set_status", "subtask_add", "changes_by", "sql_sites"} <= set(auto.tools)
    assert (codex.name, codex.tier, codex.allow_delegation) == ("Codex", "standard", False)
    assert "propose_patch_batch" in codex.tools
    # Codex proposes; nothing in its kit applies or decides anything.
    assert not {"task_set_status", "request_release", "migrate_folder"} & set(codex.tools)
    quality = crew.get("quality")
    assert quality.tier == "simple" and "validate_workspace" in quality.tools
    assert crew.get("migration").tools == [
        "migrate_plan",
        "migrate_folder",
        "sql_sites",
        "read_file",
    ]
    for spec in crew.agents.values():
        assert set(spec.tools) <= set(TOOL_NAMES)
        assert spec.allow_delegation == (spec.key == "auto")


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SOURCE
    path = tmp_path / "agents.yaml"
    path.write_text(SOURCE.replace(old, new, 1))
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


BAD_FIELDS = [
    (
        "      - sql_sites\n\n  codex",
        "      - rm_rf\n\n  codex",
        "- rm_rf",
        "agent 'auto': tools: unknown tool 'rm_rf'; known tools: tasks_list",
    ),
    (
        "    tier: standard\n    max_iter: 6",
        "    tier: turbo\n    max_iter: 6",
        "tier: turbo",
        "agent 'codex': tier: unknown tier 'turbo'; expected one of simple, standard, complex, "
        "reasoning",
    ),
    (
        "    max_iter: 4\n",
        "    max_iter: 4\n    colour: red\n",
        "colour: red",
        "agent 'quality': colour: unknown field",
    ),
    (
        "    max_iter: 6\n",
        "    max_iter: 0\n",
        "max_iter: 0",
        "agent 'codex': max_iter: Input should be greater than or equal to 1",
    ),
    (
        "      - read_file\n      - work_item_show",
        "      - read_file\n      - read_file",
        "      - read_file",
        "agent 'codex': tools: tool 'read_file' is listed twice",
    ),
]


@pytest.mark.parametrize(("old", "new", "marker", "expected"), BAD_FIELDS)
def test_a_bad_field_is_one_line_with_its_line_and_agent(
    tmp_path: Path, old: str, new: str, marker: str, expected: str
) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(BadInput) as caught:
        load_agents(path)
    message = caught.value.message
    assert message.startswith(f"{path}:{line_of(path, marker)}: {expected}")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agents: [1]\n", "expected one top-level key 'agents'"),
        ("crew: {}\n", "expected one top-level key 'agents'"),
        ("agents: {}\n", "no agents defined"),
        ("agents:\n  x: 1\n", ":2: agent 'x' must be a mapping of fields"),
        ("agents:\n  x:\n    name: X\n", ":3: agent 'x': role is missing"),
        ("agents: [\n", ":2: not valid YAML"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(BadInput, match=r".*") as caught:
        load_agents(path)
    assert caught.value.message.startswith(str(path))
    assert expected in caught.value.message


def test_two_agents_with_one_name_and_a_missing_file(tmp_path: Path) -> None:
    path = edited(tmp_path, "    name: Codex\n", "    name: Auto\n")
    with pytest.raises(BadInput, match="two agents are named 'Auto'"):
        load_agents(path)
    with pytest.raises(BadInput, match="not found"):
        load_agents(tmp_path / "nope.yaml")
    with pytest.raises(BadInput, match="no agent 'boss'; there are: auto, codex"):
        load_agents().get("boss")


def test_the_workspace_may_bring_its_own_agents_file(ws: Path) -> None:
    settings = Settings(crew={"agents_file": "crew/agents.yaml"})
    assert agents_path(Workspace.open(ws), settings) == ws / "crew/agents.yaml"
    assert agents_path(Workspace.open(ws), Settings()) == BUNDLED


def test_tier_missing_names_the_setting_and_sees_fallbacks() -> None:
    auto: AgentSpec = load_agents().get("auto")
    missing = tier_missing(Settings(), auto)
    assert missing is not None and missing.startswith("needs a model: no model is configured")
    assert "[[route.tiers.complex.deployments]]" in missing
    reasoning: dict[str, Any] = {
        "deployments": [{"model": "openai/x", "api_base": "http://127.0.0.1:9"}]
    }
    assert tier_missing(Settings(route={"tiers": {"reasoning": reasoning}}), auto) is None


# --- CrewAI's config/agents.yaml shape ---------------------------------------------------------

CREWAI_AGENTS = """\
researcher:
  role: >
    Senior Data Researcher
  goal: >
    Uncover the callers of every D1 query in the worker
  backstory: >
    You find every place a query is built.
  llm: complex
  verbose: true

reviewer:
  role: Reviewer
  goal: Check each proposed batch against the plan
  backstory: You read diffs for a living.
  tools:
    - read_file
  max_iter: 4
"""


def test_crewais_agents_yaml_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(CREWAI_AGENTS)
    crew = load_agents(path)
    assert list(crew.agents) == ["researcher", "reviewer"]
    researcher, reviewer = crew.get("researcher"), crew.get("reviewer")
    assert (researcher.name, researcher.tier, researcher.role) == (
        "researcher",
        "complex",
        "Senior Data Researcher",
    )
    assert (reviewer.tier, reviewer.tools, reviewer.max_iter) == ("standard", ["read_file"], 4)


def test_the_workspace_may_bring_a_crewai_agents_file(ws: Path) -> None:
    (ws / "config").mkdir()
    (ws / "config" / "agents.yaml").write_text(CREWAI_AGENTS)
    settings = Settings.model_validate({"crew": {"agents_file": "config/agents.yaml"}})
    assert load_agents(agents_path(Workspace.open(ws), settings)).get("reviewer").role == "Reviewer"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n  role: R\n  goal: G\n  backstory: B\n  llm: openai/gpt-4o\n",
         ":5: agent 'a': llm: 'openai/gpt-4o' is not a tier"),
        ("a:\n  role: R\n  goal: G\n  backstory: B\n  llm: simple\n  tier: complex\n",
         ":5: agent 'a': llm: set llm or tier, not both"),
        ("a:\n  role: R\n  goal: G\n", ":2: agent 'a': backstory is missing"),
        ("a:\n  role: R\n  goal: G\n  backstory: B\n  memory: true\n",
         ":5: agent 'a': memory: unknown field"),
    ],
)  # fmt: skip
def test_a_bad_crewai_agent_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        load_agents(path)
    assert caught.value.message.startswith(str(path)) and expected in caught.value.message
