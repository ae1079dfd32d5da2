"""Every vibehq tool by name, and `build_tools` to make an agent's set for one context."""

from __future__ import annotations

from collections.abc import Iterable

from crewai.tools import BaseTool

from engine.errors import BadInput
from tools.approvals import APPROVAL_TOOLS
from tools.base import VibehqTool
from tools.context import ToolContext
from tools.memory import MEMORY_TOOLS
from tools.migrate import MIGRATE_TOOLS
from tools.names import TOOL_NAMES
from tools.patch import PATCH_TOOLS
from tools.plan import PLAN_TOOLS
from tools.quality import QUALITY_TOOLS
from tools.refactor import REFACTOR_TOOLS
from tools.workspace import WORKSPACE_TOOLS

__all__ = ["CHANGING_TOOLS", "TOOLS", "TOOL_NAMES", "build_tools", "unknown_tools"]


def _by_name(*groups: tuple[type[VibehqTool], ...]) -> dict[str, type[VibehqTool]]:
    found: dict[str, type[VibehqTool]] = {}
    for group in groups:
        for cls in group:
            name = cls.model_fields["name"].default
            if name in found:
                raise RuntimeError(f"two tools are named {name!r}")
            found[name] = cls
    return found


TOOLS: dict[str, type[VibehqTool]] = _by_name(
    PLAN_TOOLS,
    MIGRATE_TOOLS,
    REFACTOR_TOOLS,
    PATCH_TOOLS,
    QUALITY_TOOLS,
    MEMORY_TOOLS,
    APPROVAL_TOOLS,
    WORKSPACE_TOOLS,
)
if tuple(TOOLS) != TOOL_NAMES:
    raise RuntimeError(f"tools/names.py is out of date: the registry holds {tuple(TOOLS)}")
# The tools that change something (each answers with a proposal id, never an applied change).
CHANGING_TOOLS: frozenset[str] = frozenset(n for n, cls in TOOLS.items() if cls.changes)


def unknown_tools(names: Iterable[str]) -> list[str]:
    return [n for n in names if n not in TOOLS]


def build_tools(names: Iterable[str], ctx: ToolContext) -> list[BaseTool]:
    """Fresh tool instances for `names`, all bound to `ctx`; BadInput for an unknown name."""
    wanted = list(dict.fromkeys(names))
    unknown = unknown_tools(wanted)
    if unknown:
        raise BadInput(f"unknown tool {unknown[0]!r}; known tools: {', '.join(TOOL_NAMES)}")
    return [TOOLS[name](ctx) for name in wanted]
