"""The CrewAI LLM every agent uses: a `BaseLLM` whose calls go through vibehq's model router.

So an agent's calls get the tier routing, the fallbacks, the per-run budget and one cost-ledger
row each, and with no model configured an agent fails with `NoModelConfigured` (a needs-model
work item for the caller) instead of CrewAI's hidden default of an OpenAI model.

    from agents.llm import RoutedLLM
    llm = RoutedLLM.for_workspace(ws, settings, agent="Codex", run_id=run_id)
    Agent(role="Codex", llm=llm, ...)

Tool calling: CrewAI passes OpenAI-format tool schemas; they go to the model as they are. When
CrewAI gives `available_functions`, the first tool call is run here and its result returned
(as CrewAI's own providers do); otherwise the tool calls are returned for the executor to run.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Self

from crewai.events.types.llm_events import LLMCallType
from crewai.hooks.dispatch import HookAborted
from crewai.llms.base_llm import BaseLLM, LLMCallBlockedError, llm_call_context
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.route.litellm_router import Completion, ModelRouter
from engine.route.tiers import Tier

if TYPE_CHECKING:
    from crewai.agents.agent_builder.base_agent import BaseAgent
    from crewai.task import Task
    from crewai.tools.base_tool import BaseTool
    from crewai.utilities.types import LLMMessage

    from engine.settings import Settings
    from engine.workspace import Workspace

__all__ = ["RoutedLLM"]

logger = logging.getLogger(__name__)


class RoutedLLM(BaseLLM):
    """A CrewAI LLM backed by `ModelRouter`. The tier comes from `tier`, else the overrides for
    `task_id` and the agent (`agent`, else the calling agent's role), else `score`, else the
    score of the conversation's first user message."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    llm_type: str = "vibehq-routed"
    model: str = "vibehq-router"
    provider: str = "vibehq"
    router: ModelRouter = Field(exclude=True)
    tier: Tier | None = None
    score: int | None = Field(None, ge=1, le=10)
    task_id: str | None = None
    agent: str | None = None
    run_id: str | None = None
    context_window: int = Field(
        32_768, gt=0, description="tokens of the smallest model in the chain"
    )

    @model_validator(mode="before")
    @classmethod
    def _router_identity(cls, data: Any) -> Any:
        # BaseLLM's own validator requires a model name and would call the provider "openai".
        if isinstance(data, dict):
            data = {"model": "vibehq-router", "provider": "vibehq", **data}
        return data

    @classmethod
    def for_workspace(
        cls, workspace: Workspace, settings: Settings, *, run_id: str | None = None, **fields: Any
    ) -> Self:
        return cls(router=ModelRouter.open(workspace, settings, run_id=run_id), **fields)

    def supports_function_calling(self) -> bool:
        return True

    def get_context_window_size(self) -> int:
        # CrewAI compacts the conversation past this size; keep 15% for the answer, as its
        # own providers do.
        return int(self.context_window * 0.85)

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
        with llm_call_context():
            try:
                self._emit_call_started_event(
                    messages=messages,
                    tools=tools,
                    callbacks=callbacks,
                    available_functions=available_functions,
                    from_task=from_task,
                    from_agent=from_agent,
                )
                formatted = self._format_messages(messages)
                self._invoke_before_llm_call_hooks(formatted, from_agent)
                answer = self.router.complete(
                    [dict(m) for m in formatted],
                    tier=self.tier,
                    score=self.score,
                    task_id=self.task_id,
                    agent=self.agent or getattr(from_agent, "role", None),
                    tools=[dict(t) for t in tools] if tools else None,
                    run_id=self.run_id,
                    **self._call_params(),
                )
                return self._answer(
                    answer, formatted, available_functions, from_task, from_agent, response_model
                )
            except (HookAborted, LLMCallBlockedError) as exc:
                self._emit_call_denied_event(exc, from_task, from_agent)
                raise
            except Exception as exc:
                self._emit_call_failed_event(
                    error=f"{type(exc).__name__}: {exc}", from_task=from_task, from_agent=from_agent
                )
                raise

    def _call_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = int(self.max_tokens)
        if self.stop_sequences:
            params["stop"] = list(self.stop_sequences)
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
        usage = {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        }
        self._track_token_usage_internal(usage)
        if answer.tool_calls and not available_functions:
            self._emit_call_completed_event(
                response=answer.tool_calls,
                call_type=LLMCallType.TOOL_CALL,
                from_task=from_task,
                from_agent=from_agent,
                messages=messages,
                usage=usage,
            )
            return answer.tool_calls
        if answer.tool_calls and available_functions:
            call = answer.tool_calls[0]
            try:
                arguments = json.loads(call.function.arguments or "{}")
            except json.JSONDecodeError as exc:
                # A model that sends broken tool arguments gets the error back, not a guess.
                return f"Tool call {call.function.name} had invalid JSON arguments: {exc}"
            result = self._handle_tool_execution(
                function_name=call.function.name,
                function_args=arguments,
                available_functions=available_functions,
                from_task=from_task,
                from_agent=from_agent,
            )
            if result is not None:
                return result
        content = self._apply_stop_words(answer.content or "")
        self._emit_call_completed_event(
            response=content,
            call_type=LLMCallType.LLM_CALL,
            from_task=from_task,
            from_agent=from_agent,
            messages=messages,
            usage=usage,
        )
        if response_model is not None:
            return self._validate_structured_output(content, response_model)
        return self._invoke_after_llm_call_hooks(messages, content, from_agent)
