"""A conversation with Auto, the architect.

Each turn, Auto answers from the plan and the ledger through its tools, edits tasks.json
through the plan tools (its own edits pass the `plan_owner` rule and are applied at once,
recorded with actor Auto), or hands open work to a fresh hierarchical crew with the
`delegate_to_crew` tool ("migrate the terminal demo", "what did Codex change in folder X?").
Whatever a worker proposes goes through the approval queue; only what the policy passes is
applied in the turn. Deciding approvals is a human's job: the CLI handles `/approve` and
`/reject` itself, never the model.

The conversation is kept in project memory (kind `task`, source `chat`) and the last turns
are given back to Auto with each new message.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from crews.chat_commands import decide, pending_items
from crews.crew import CrewResult, run_agent_task, run_crew_task
from engine.errors import VibehqError
from engine.ledger.events import utc_now
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.workspace import Workspace
from tools.base import ToolArgs, VibehqTool, clip
from tools.context import ToolContext

MANAGER = "auto"
CHAT_SOURCE = "chat"
HISTORY_TURNS = 6
HISTORY_CHARS = 600
# What chat needs and what works without it: said in one line when no model is configured.
NO_MODEL_HINT = (
    "without a model, use the deterministic commands: vibehq tasks list|show|next|set-status, "
    "vibehq approvals list|show|approve|reject, vibehq epic run MANIFEST"
)


class ChatTurn(BaseModel):
    message: str
    answer: str = ""
    ok: bool
    error: str | None = None
    proposals: list[int] = Field(default_factory=list)
    delegated: list[str] = Field(default_factory=list, description="tasks handed to the crew")
    model_calls: int = 0
    notes: list[str] = Field(
        default_factory=list, description="what did not work but did not stop the turn"
    )


class DelegateArgs(ToolArgs):
    task: str = Field(min_length=1, description="the work, in full: what to do and what to report")
    expected_output: str = Field(
        "A short, factual answer for the user, with the ids of anything proposed.",
        description="what the crew should hand back",
    )


class DelegateToCrewTool(VibehqTool):
    """Auto's way to hand work to the crew in a chat (not in agents.yaml: only chat has it)."""

    name: str = "delegate_to_crew"
    description: str = (
        "Hand a piece of work to the crew (Codex the implementer, the migration specialist, "
        "the quality monitor), led by you as manager. Use it for work, not for questions "
        "your own tools answer. Returns the crew's answer and any proposal ids."
    )
    args_schema: type[ToolArgs] = DelegateArgs
    _delegated: list[str] = PrivateAttr(default_factory=list)

    # Declared so that the type checker sees VibehqTool's constructor, not pydantic's.
    def __init__(self, ctx: ToolContext, **data: Any) -> None:
        super().__init__(ctx, **data)

    @property
    def delegated(self) -> list[str]:
        return list(self._delegated)

    def invoke(self, args: DelegateArgs) -> dict[str, Any]:
        self._delegated.append(args.task)
        result: CrewResult = run_crew_task(self.ctx, args.task, args.expected_output)
        out: dict[str, Any] = {
            "ok": result.ok,
            "answer": clip(result.output, 4000),
            "proposals": result.proposals,
            "delegations": result.delegations,
        }
        if result.error:
            out["error"] = result.error
        return out


class ChatSession:
    def __init__(
        self,
        ws: Workspace,
        settings: Settings,
        *,
        staging: Any = None,
        validator: BatchValidator | None = None,
        on_event: Any = None,
        remember: bool = True,
    ) -> None:
        self.session_id = (
            "chat-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
        )
        self.ctx = ToolContext.for_workspace(
            ws,
            settings,
            "Auto",
            run_id=self.session_id,
            apply_approved=True,
            validator=validator,
            staging=staging,
            on_event=on_event,
            step="chat",
        )
        self.remember = remember
        self.turns: list[ChatTurn] = []

    def turn(self, message: str) -> ChatTurn:
        notes: list[str] = []
        history = self._history(notes)
        delegate = DelegateToCrewTool(self.ctx)
        result = run_agent_task(
            self.ctx,
            MANAGER,
            _turn_prompt(message, history),
            "Your answer to the user: short, factual, with the ids of tasks and proposals.",
            extra_tools=[delegate],
        )
        turn = ChatTurn(
            message=message,
            answer=result.output.strip(),
            ok=result.ok,
            error=result.error,
            proposals=result.proposals,
            delegated=delegate.delegated,
            model_calls=result.model_calls,
            notes=notes,
        )
        if result.ok:
            self._remember(turn, notes)
        self.turns.append(turn)
        return turn

    # -- history in project memory ---------------------------------------------------------

    def _store(self) -> Any:
        from engine.memory.chroma_store import MemoryStore

        return MemoryStore.open(self.ctx.home, self.ctx.settings.memory)

    def _history(self, notes: list[str]) -> list[str]:
        if not self.remember:
            return [f"user: {t.message}\nAuto: {t.answer}" for t in self.turns[-HISTORY_TURNS:]]
        try:
            entries = self._store().list(kind="task", limit=200)
        except VibehqError as exc:
            notes.append(f"chat history unavailable: {exc.message}")
            return []
        chat = [e for e in entries if e.source == CHAT_SOURCE][:HISTORY_TURNS]
        return [clip(e.text, HISTORY_CHARS) for e in reversed(chat)]

    def _remember(self, turn: ChatTurn, notes: list[str]) -> None:
        if not self.remember:
            return
        text = f"[{utc_now()}] user: {turn.message}\nAuto: {turn.answer}"
        try:
            self._store().add(text, kind="task", source=CHAT_SOURCE)
        except VibehqError as exc:
            notes.append(f"chat history not saved: {exc.message}")


def _turn_prompt(message: str, history: list[str]) -> str:
    earlier = "\n\n".join(history) if history else "(this is the first message)"
    return (
        "You are talking with the user who runs this migration epic. Answer their message.\n"
        "- Questions about the plan, approvals or what an agent changed: answer with your "
        "tools (task_show says what blocks a task; changes_by says what an agent changed).\n"
        "- Plan changes they ask for: make them with the plan tools (task_set_status, "
        "task_add, subtask_add, task_update), one call per change, and say what changed.\n"
        "- Work (migrating a folder, refactoring, checking quality): hand it to the crew with "
        "delegate_to_crew, in one full instruction.\n"
        "- Never claim a change you did not make through a tool; never approve anything: "
        "deciding approvals is the user's job (/approve N, /reject N --reason ...).\n\n"
        f"Earlier in this conversation:\n{earlier}\n\n"
        f"The user's message:\n{message}"
    )


__all__ = [
    "ChatSession",
    "ChatTurn",
    "DelegateToCrewTool",
    "decide",
    "pending_items",
]
