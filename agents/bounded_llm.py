"""The LLM of an agent inside a crew run: the router's LLM, bounded by the run's guard.

Every agent of one crew run shares one `CrewGuard`. Before each model call an LLM checks it,
so once anything stops the run (the wall-clock limit, a spent delegation budget, a model that
failed for good, too many malformed tool calls) no agent makes another call: the next one
raises `HookAborted`, which CrewAI lets through its retry loops to the caller.

Model failures are recorded on the guard with their type (NoModelConfigured, BudgetExhausted,
ModelCallFailed), so the caller reports the real reason in one line, whatever CrewAI wrapped
it in on the way up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crewai.hooks.dispatch import HookAborted
from pydantic import ConfigDict, Field

from agents.llm import RoutedLLM
from engine.errors import VibehqError
from engine.route.litellm_router import Completion

if TYPE_CHECKING:
    from crewai.agents.agent_builder.base_agent import BaseAgent
    from crewai.task import Task
    from crewai.tools.base_tool import BaseTool
    from crewai.utilities.types import LLMMessage
    from pydantic import BaseModel


@dataclass
class CrewGuard:
    """What one crew run may still do, shared by all its agents' LLMs and tools."""

    timeout_s: float
    max_tool_errors: int = 2
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None
    failure: VibehqError | None = None
    calls: int = 0
    tool_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def remaining(self) -> float:
        return self.timeout_s - (time.monotonic() - self.started)

    def stop(self, reason: str) -> None:
        """Stop the run; the first reason given is the one reported."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason

    def fail(self, exc: VibehqError) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
        self.stop(exc.message)

    def before_call(self) -> float:
        """Raise HookAborted if the run must stop; else the seconds the call may take."""
        if self.stop_reason is None and self.remaining() <= 0:
            self.stop(f"timeout: the crew ran past [crew] timeout_s = {self.timeout_s:g} s")
        if self.stop_reason is not None:
            raise HookAborted(reason=self.stop_reason, source="vibehq crew guard")
        with self._lock:
            self.calls += 1
        return self.remaining()

    def bad_tool_call(self, detail: str) -> None:
        with self._lock:
            self.tool_errors += 1
            count = self.tool_errors
        if count > self.max_tool_errors:
            self.stop(
                f"bad tool calls: {count} in this run, more than [crew] max_tool_errors "
                f"= {self.max_tool_errors} (last: {detail})"
            )


class BoundedLLM(RoutedLLM):
    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    guard: CrewGuard | None = Field(None, exclude=True)
    on_completion: Callable[[Completion], None] | None = Field(None, exclude=True)

    def call(
        self,
        messages: str | list[LLMMessage],
        tools: list[dict[str, BaseTool]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: dict[str, Any] | None = None,
        from_task: Task | None = None,
        from_agent: BaseAgent | None = None,
        response_model: type[BaseModel] | None = None,
    ) -> str | Any:
        if self.guard is not None:
            self.guard.before_call()
        try:
            return super().call(
                messages,
                tools=tools,
                callbacks=callbacks,
                available_functions=available_functions,
                from_task=from_task,
                from_agent=from_agent,
                response_model=response_model,
            )
        except VibehqError as exc:
            if self.guard is None:
                raise
            # A model that failed for good (no model, budget, every deployment down, a
            # timeout) stops the whole run: no coworker or retry should call again.
            self.guard.fail(exc)
            raise HookAborted(reason=exc.message, source="vibehq router") from exc

    def _call_params(self) -> dict[str, Any]:
        params = super()._call_params()
        if self.guard is not None:
            configured = self.router.route.timeout_s
            params["timeout"] = max(1.0, min(configured, self.guard.remaining()))
        return params

    def _answer(
        self,
        answer: Completion,
        messages: list[LLMMessage],
        available_functions: dict[str, Any] | None,
        from_task: Task | None,
        from_agent: BaseAgent | None,
        response_model: type[BaseModel] | None,
    ) -> Any:
        if self.on_completion is not None:
            self.on_completion(answer)
        if self.guard is not None:
            for call in answer.tool_calls:
                problem = _unreadable(call)
                if problem is not None:
                    self.guard.bad_tool_call(f"malformed tool call: {problem}")
            if self.guard.stop_reason is not None:
                raise HookAborted(reason=self.guard.stop_reason, source="vibehq crew guard")
        return super()._answer(
            answer, messages, available_functions, from_task, from_agent, response_model
        )

    def get_input_tokens_count(
        self,
        messages: str | list[LLMMessage],
        tools: list[dict[str, BaseTool]] | None = None,
        response_model: type[BaseModel] | None = None,
    ) -> int:
        # CrewAI's fallback logs a warning on every call; the estimate is the same (4 chars
        # a token, rounded up), which is all the context-window preflight needs.
        if isinstance(messages, str):
            chars = len(messages)
        else:
            chars = sum(len(str(m.get("content") or "")) for m in messages)
        if tools:
            chars += len(json.dumps(tools, default=str))
        return -(-chars // 4)


def _unreadable(call: Any) -> str | None:
    """Why a tool call's arguments cannot be read, or None when they can."""
    function = getattr(call, "function", None)
    name = getattr(function, "name", None) or "?"
    arguments = getattr(function, "arguments", None)
    if arguments is None or arguments == "":
        return None
    try:
        decoded = json.loads(arguments)
    except (TypeError, json.JSONDecodeError) as exc:
        return f"{name}: arguments are not JSON ({exc})"
    if not isinstance(decoded, dict):
        return f"{name}: arguments are not a JSON object"
    return None
