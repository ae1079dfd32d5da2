"""agents.yaml as typed records: who each agent is, its model tier, its tools and its bounds.

Two shapes load: vibehq's own (one top-level key `agents`) and CrewAI's `config/agents.yaml`
(each top-level key an agent with role, goal and backstory; `llm` names a tier).

A mistake in the file (an unknown tool or tier, a missing field, an unknown key) is one
BadInput line naming the file, the line and the agent. Loading needs neither CrewAI nor a
model, so `vibehq agents list` can show the roles at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import BadInput
from engine.route.decision import decide
from engine.route.errors import ModelConfigInvalid, NoModelConfigured
from engine.route.tiers import TIERS, Tier
from engine.settings import Settings
from engine.workspace import Workspace
from tools.names import TOOL_NAMES

BUNDLED = Path(__file__).resolve().parent / "agents.yaml"


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, description="what the crew, the ledger and the router call it")
    role: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    backstory: str = Field(min_length=1)
    tier: Tier
    tools: list[str] = Field(default_factory=list)
    max_iter: int | None = Field(None, ge=1, le=50, description="default: [crew] max_iter")
    allow_delegation: bool = False

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in TOOL_NAMES:
                raise ValueError(f"unknown tool {name!r}; known tools: {', '.join(TOOL_NAMES)}")
            if names.count(name) > 1:
                raise ValueError(f"tool {name!r} is listed twice")
        return names


class AgentsFile(BaseModel):
    path: str
    agents: dict[str, AgentSpec]

    def get(self, key: str) -> AgentSpec:
        spec = self.agents.get(key)
        if spec is None:
            raise BadInput(f"{self.path}: no agent {key!r}; there are: {', '.join(self.agents)}")
        return spec


def tier_missing(settings: Settings, spec: AgentSpec) -> str | None:
    """'needs a model: ...' (naming the setting) when nothing serves the agent's tier, nor
    any of its fallback tiers, or when the model config has a mistake; None when a model
    does."""
    try:
        decide(settings.route, tier=spec.tier, agent=spec.name).require_chain()
    except (NoModelConfigured, ModelConfigInvalid) as exc:
        return f"needs a model: {exc.message}"
    return None


def agents_path(ws: Workspace, settings: Settings) -> Path:
    """The workspace's own agents.yaml ([crew] agents_file), else the bundled one."""
    if settings.crew.agents_file is None:
        return BUNDLED
    path = Path(settings.crew.agents_file)
    return path if path.is_absolute() else ws.root / path


def load_agents(path: Path = BUNDLED) -> AgentsFile:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"agents file {source!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{source}: cannot read: {exc}") from None
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    crewai = _is_crewai_shape(data)
    if not crewai and (
        not isinstance(data, dict)
        or set(data) != {"agents"}
        or not isinstance(data["agents"], dict)
    ):
        raise BadInput(
            f"{source}: expected one top-level key 'agents' mapping a key to an agent, or "
            "CrewAI's config/agents.yaml shape (each top-level key an agent with role, goal "
            "and backstory)"
        )
    entries: dict[Any, Any] = data if crewai else data["agents"]
    if not entries:
        raise BadInput(f"{source}: no agents defined")
    agents: dict[str, AgentSpec] = {}
    nodes = _agent_nodes(tree, crewai=crewai)
    for key, fields in entries.items():
        node = nodes.get(str(key))
        if not isinstance(fields, dict):
            raise BadInput(f"{source}:{_line(node)}: agent {key!r} must be a mapping of fields")
        if crewai:
            fields = _from_crewai(source, str(key), fields, node)
        try:
            agents[str(key)] = AgentSpec.model_validate({"key": key, **fields})
        except ValidationError as exc:
            raise BadInput(_located(source, str(key), node, exc)) from None
    names = [spec.name for spec in agents.values()]
    for name in names:
        if names.count(name) > 1:
            raise BadInput(f"{source}: two agents are named {name!r}")
    return AgentsFile(path=source, agents=agents)


def _is_crewai_shape(data: Any) -> bool:
    """CrewAI's `config/agents.yaml`: the agents are the top-level keys, each with a role.
    vibehq's own file has one key, `agents`, over a mapping of such agents."""
    if not isinstance(data, dict) or not data:
        return False
    if (
        set(data) == {"agents"}
        and isinstance(data["agents"], dict)
        and "role" not in data["agents"]
    ):
        return False
    return all(isinstance(fields, dict) and "role" in fields for fields in data.values())


# CrewAI agent keys with no effect here: vibehq prints its own progress and keeps no cache.
_CREWAI_IGNORED = ("verbose", "cache")


def _from_crewai(
    source: str, key: str, fields: dict[str, Any], node: yaml.Node | None
) -> dict[str, Any]:
    """A CrewAI agent as vibehq's fields: `name` defaults to the key, `llm` names the tier
    (vibehq gives agents their model through the router's tiers), and with neither `llm`
    nor `tier` the agent runs on the `standard` tier."""
    out = {k: v for k, v in fields.items() if k not in _CREWAI_IGNORED}
    # CrewAI's own files write these as folded blocks (`role: >`), which end in a newline.
    for text_field in ("role", "goal", "backstory"):
        if isinstance(out.get(text_field), str):
            out[text_field] = out[text_field].strip()
    llm = out.pop("llm", None)
    if llm is not None:
        where = f"{source}:{_field_line(node, ('llm',))}: agent {key!r}: llm"
        if "tier" in out:
            raise BadInput(f"{where}: set llm or tier, not both")
        if llm not in TIERS:
            raise BadInput(
                f"{where}: {llm!r} is not a tier; vibehq gives agents their model by tier: "
                f"write llm: <tier> ({', '.join(TIERS)}) and put the model under "
                "[route.tiers.<tier>] in vibehq.toml"
            )
        out["tier"] = llm
    out.setdefault("tier", "standard")
    out.setdefault("name", key)
    return out


def _agent_nodes(tree: yaml.Node | None, *, crewai: bool = False) -> dict[str, yaml.Node]:
    if not isinstance(tree, yaml.MappingNode):
        return {}
    if crewai:
        return {k.value: v for k, v in tree.value}
    for key, value in tree.value:
        if key.value == "agents" and isinstance(value, yaml.MappingNode):
            return {k.value: v for k, v in value.value}
    return {}


def _line(node: yaml.Node | None) -> int:
    return 0 if node is None else node.start_mark.line + 1


def _field_line(node: yaml.Node | None, loc: tuple[Any, ...], bad: Any = None) -> int:
    """The line of the field a validation error points at; for a list, of the bad item."""
    if not isinstance(node, yaml.MappingNode) or not loc:
        return _line(node)
    value = next((v for k, v in node.value if k.value == loc[0]), None)
    if value is None:
        return _line(node)
    if isinstance(value, yaml.SequenceNode):
        for item in value.value:
            if isinstance(item, yaml.ScalarNode) and item.value == bad:
                return _line(item)
    return _line(value)


def _located(source: str, key: str, node: yaml.Node | None, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc) or "agent"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "literal_error" and loc[:1] == ("tier",):
        message = f"unknown tier {first.get('input')!r}; expected one of {', '.join(TIERS)}"
    elif first["type"] == "extra_forbidden":
        message = f"unknown field; fields are {', '.join(AgentSpec.model_fields)}"
    elif first["type"] == "missing":
        return f"{source}:{_line(node)}: agent {key!r}: {field} is missing"
    bad = message.split("'")[1] if loc == ("tools",) and "'" in message else None
    return f"{source}:{_field_line(node, loc, bad)}: agent {key!r}: {field}: {message}"
