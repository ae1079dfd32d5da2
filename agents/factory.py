"""Build a CrewAI agent from its spec: the router's LLM at the spec's tier, the spec's tools
bound to one ToolContext, and every CrewAI default that would reach for OpenAI or the
network set explicitly off (no memory, no planning, no knowledge, no embedder, no retries
that re-run a whole task). Tool calls go through the agent's own LLM: the deprecated
`function_calling_llm` stays unset, and the deprecated reasoning and code-execution
switches keep their off defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.bounded_llm import BoundedLLM, CrewGuard
from agents.spec import AgentSpec

if TYPE_CHECKING:
    from crewai import Agent
    from crewai.llms.base_llm import BaseLLM

    from engine.route.litellm_router import Completion
    from tools.context import ToolContext


def build_llm(spec: AgentSpec, ctx: ToolContext, *, guard: CrewGuard | None = None) -> BoundedLLM:
    """The agent's LLM on the router of the real workspace (its ledger, its [route]); each
    call it makes is an `llm` progress event when the context has a listener."""
    return BoundedLLM.for_workspace(
        ctx.home,
        ctx.settings,
        run_id=ctx.run_id,
        agent=spec.name,
        tier=spec.tier,
        guard=guard,
        on_completion=None if ctx.on_event is None else completion_listener(ctx, spec.name),
    )


def build_agent(
    spec: AgentSpec,
    ctx: ToolContext,
    *,
    llm: BaseLLM | None = None,
    guard: CrewGuard | None = None,
    with_tools: bool = True,
    allow_delegation: bool | None = None,
    agent_class: type[Agent] | None = None,
) -> Agent:
    """`ctx` is the context of this agent (its name is the requester of what it proposes).
    A manager gets `with_tools=False`: CrewAI refuses a manager with tools of its own."""
    from crewai import Agent

    from tools.registry import build_tools

    cls = agent_class or Agent
    model = llm if llm is not None else build_llm(spec, ctx, guard=guard)
    tools = build_tools(spec.tools, ctx) if with_tools else []
    return cls(
        role=spec.name,
        goal=spec.goal,
        backstory=f"{spec.role}. {spec.backstory}",
        llm=model,
        tools=tools,
        max_iter=spec.max_iter or ctx.settings.crew.max_iter,
        allow_delegation=spec.allow_delegation if allow_delegation is None else allow_delegation,
        max_retry_limit=0,
        memory=False,
        cache=False,
        verbose=False,
        planning=False,
        planning_config=None,
        inject_date=False,
        respect_context_window=True,
        knowledge_sources=None,
        embedder=None,
    )


def completion_listener(ctx: ToolContext, agent: str) -> Any:
    """An `on_completion` that turns each model call into an `llm` progress event."""

    def listen(answer: Completion) -> None:
        ctx.emit(
            "llm",
            agent=agent,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=answer.cost_usd,
            message=f"{answer.deployment} ({answer.served_tier})",
        )

    return listen
