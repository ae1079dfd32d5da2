"""Which turn answers a request: the request's facts, and the turns' conditions and uses."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devtools.scripted_model.script import Script, Turn

__all__ = ["Miss", "Pick", "RequestFacts", "TurnPicker", "message_text"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_PREVIEW = 120
_SPENT_SHOWN = 3


def message_text(content: Any) -> str:
    """A message's text: a string as it is, the text parts of a list of parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "input_text")
        ]
        return "\n".join(parts)
    return ""


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the matching rules look at in one chat-completion request."""

    model: str
    agent_header: str | None
    system_text: str
    last_role: str | None
    last_text: str

    @classmethod
    def of(cls, body: Mapping[str, Any], agent_header: str | None) -> RequestFacts:
        raw = body.get("messages")
        messages = [m for m in raw if isinstance(m, Mapping)] if isinstance(raw, list) else []
        system = "\n".join(
            message_text(m.get("content")) for m in messages if m.get("role") in _SYSTEM_ROLES
        )
        last = messages[-1] if messages else {}
        role = last.get("role")
        return cls(
            model=str(body.get("model", "")),
            agent_header=agent_header.strip() if agent_header and agent_header.strip() else None,
            system_text=system,
            last_role=str(role) if role is not None else None,
            last_text=message_text(last.get("content")),
        )

    def describe(self) -> str:
        """The request in one line, for the error a request no turn answers gets."""
        preview = " ".join(self.last_text.split())
        if len(preview) > _PREVIEW:
            preview = preview[: _PREVIEW - 3] + "..."
        agent = f", agent {self.agent_header!r}" if self.agent_header else ""
        return f"model {self.model!r}{agent}, last message ({self.last_role}): {preview!r}"

    def satisfies(self, turn: Turn) -> bool:
        if turn.model is not None and turn.model != self.model:
            return False
        if turn.role is not None and turn.role != self.last_role:
            return False
        if turn.agent is not None and not self._is_agent(turn.agent):
            return False
        return turn.pattern is None or turn.pattern.search(self.last_text) is not None

    def _is_agent(self, agent: str) -> bool:
        # The header, when a client sends it, is the authority; the system prompt is the
        # fallback for clients (CrewAI) that only say "You are <role>." there.
        if self.agent_header is not None:
            return self.agent_header.casefold() == agent.casefold()
        word = re.compile(rf"(?<!\w){re.escape(agent)}(?!\w)", re.IGNORECASE)
        return word.search(self.system_text) is not None


@dataclass(frozen=True, slots=True)
class Pick:
    index: int
    turn: Turn
    use: int


@dataclass(frozen=True, slots=True)
class Miss:
    message: str


class TurnPicker:
    """Hands out turns: the first in script order whose conditions hold and that has uses left.
    Thread-safe: concurrent requests never share one use of a turn."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._used = [0] * len(script.turns)
        self._lock = threading.Lock()

    def pick(self, facts: RequestFacts) -> Pick | Miss:
        spent: list[int] = []
        with self._lock:
            for index, turn in enumerate(self.script.turns):
                if not facts.satisfies(turn):
                    continue
                if turn.limit is not None and self._used[index] >= turn.limit:
                    spent.append(index)
                    continue
                self._used[index] += 1
                return Pick(index, turn, self._used[index])
            why = self._why(spent)
        return Miss(f"no script turn answers this request ({facts.describe()}): {why}")

    def _why(self, spent: Sequence[int]) -> str:
        if not spent:
            return "no turn's conditions hold"
        # Numbers and lines, not names: see Script.label.
        parts = [
            f"{self.script.label(i, named=False)} matches but was used {self._used[i]} of "
            f"{self.script.turns[i].limit} times"
            for i in spent[:_SPENT_SHOWN]
        ]
        if len(spent) > _SPENT_SHOWN:
            parts.append(f"{len(spent) - _SPENT_SHOWN} more spent turns match")
        return "; ".join(parts)

    def uses(self) -> list[int]:
        with self._lock:
            return list(self._used)

    def unused(self) -> list[str]:
        """Turns with a fixed number of uses that the requests so far did not use up."""
        with self._lock:
            return [
                f"{self.script.label(i)}: used {used} of {turn.limit}"
                for i, (turn, used) in enumerate(zip(self.script.turns, self._used, strict=True))
                if turn.limit is not None and used < turn.limit
            ]
