"""What every tool of one agent works against: the tree it reads and proposes on, the real
workspace that keeps the ledger and the plan, who the agent is, and what it may touch.

Outside an epic `workspace` and `home` are the same tree. In an epic, `workspace` is a staging
overlay that already holds the folder's migrated and recipe changes, so a proposal is reviewed
against the tree it will land on, while the approval queue, tasks.json, memory and the ledger
stay in `home`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.epic.models import EpicEvent
from engine.ledger.store import Ledger
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.workspace import Workspace, resolve_inside

# The run id of events that belong to no epic run (a chat turn, a test).
NO_RUN = "-"


class RunGuard(Protocol):
    """What a tool tells the crew run it works in (agents/bounded_llm.CrewGuard)."""

    def stop(self, reason: str) -> None:
        """Stop the run: no agent makes another model call."""

    def bad_tool_call(self, detail: str) -> None:
        """Count a call the model must redo; too many stop the run."""


@dataclass(kw_only=True)
class ToolContext:
    workspace: Workspace
    home: Workspace
    settings: Settings
    agent: str
    run_id: str | None = None
    allowed_files: list[str] | None = None
    validator: BatchValidator | None = None
    apply_approved: bool = False
    work_item: int | None = None
    proposals: list[int] = field(default_factory=list)
    on_event: Callable[[EpicEvent], None] | None = None
    staging: Path | None = None
    template: Path | None = None
    step: str = "refactor"
    guard: RunGuard | None = None

    @classmethod
    def for_workspace(
        cls, ws: Workspace, settings: Settings, agent: str, **fields: Any
    ) -> ToolContext:
        """A context outside any epic: the agent reads and proposes against the real tree."""
        return cls(workspace=ws, home=ws, settings=settings, agent=agent, **fields)

    def for_agent(self, agent: str) -> ToolContext:
        """The same context for another agent; proposals made through it are shared."""
        twin = ToolContext(**{**self.__dict__, "agent": agent})
        twin.proposals = self.proposals
        return twin

    def ledger(self) -> Ledger:
        self.home.ensure_state_dir()
        return Ledger.open(self.home.ledger_path)

    def tasks_path(self) -> Path:
        return resolve_inside(
            self.home.root, self.settings.plan.tasks_file, what="[plan] tasks_file"
        )

    def in_scope(self, path: str) -> bool:
        """Whether a proposal may touch `path` (workspace-relative, already normalised)."""
        if self.allowed_files is None:
            return True
        for entry in self.allowed_files:
            if entry.endswith("/"):
                if path.startswith(entry):
                    return True
            elif path == posixpath.normpath(entry):
                return True
        return False

    def emit(self, kind: str, **fields: Any) -> None:
        """Send one progress event to `on_event`, if anyone listens; `agent` defaults to ours."""
        if self.on_event is None:
            return
        data: dict[str, Any] = {"agent": self.agent, **fields}
        self.on_event(EpicEvent(run_id=self.run_id or NO_RUN, kind=kind, **data))
