"""vibehq's crews, bounded so no loop runs away and no model failure escapes as a crash.

Two ways in:
- `answer_work_item`: Codex answers one needs-model approval item (the rendered prompt of the
  item, its allowed files) by proposing ONE PatchBatch with `propose_patch_batch`. The item is
  already assigned, so the crew is Codex alone on a task pinned to it: a manager would only
  add cost and a loop (CrewAI pins delegation to `task.agent` anyway).
- `run_crew_task`: a hierarchical crew for open requests (chat). Auto manages with NO tools
  of its own (CrewAI refuses a manager with tools) and delegates to the workers (Codex, the
  migration specialist, the quality monitor), who never delegate.

Bounds, all from `[crew]`: `max_iter` reasoning steps per agent, `max_delegations` per task
(one more stops the crew with a clear reason), `timeout_s` of wall clock for the whole run,
`max_tool_errors` malformed tool calls. A fresh crew is built for every kickoff (CrewAI
cannot reuse a crew with a custom manager). Memory, planning, knowledge and telemetry are off.

Neither function raises for model trouble: no model configured, a spent budget, a provider
that keeps failing (429s past every fallback, 500s, stalls), malformed tool calls and
delegation loops all come back as a result whose `error` is one line.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from crewai import Agent, Crew, Process, Task
from crewai.events.event_bus import crewai_event_bus
from crewai.events.event_context import (
    EventContextConfig,
    MismatchBehavior,
    _event_context_config,
)
from crewai.events.types.agent_events import (
    AgentExecutionCompletedEvent,
    AgentExecutionStartedEvent,
)
from crewai.events.types.tool_usage_events import ToolUsageErrorEvent, ToolUsageStartedEvent
from crewai.tools import BaseTool
from crewai.tools.agent_tools.ask_question_tool import AskQuestionTool
from crewai.tools.agent_tools.delegate_work_tool import DelegateWorkTool
from pydantic import BaseModel, Field, PrivateAttr

from agents.bounded_llm import BoundedLLM, CrewGuard
from agents.factory import build_agent
from agents.spec import AgentsFile, AgentSpec, agents_path, load_agents, tier_missing
from engine.approvals.models import ApprovalItem
from engine.epic.models import EpicEvent
from engine.errors import VibehqError
from engine.route.errors import NoModelConfigured
from engine.validate.quarantine import agent_statuses
from tools.batch_proposals import REFUSED_EVENT, propose_batch
from tools.context import ToolContext

MANAGER = "auto"
IMPLEMENTER = "codex"
WORKERS: tuple[str, ...] = ("codex", "migration", "quality")
_FENCE = re.compile(r"```[a-zA-Z]*\n(.*?)```", re.DOTALL)


class CrewResult(BaseModel):
    ok: bool
    output: str = ""
    proposals: list[int] = Field(default_factory=list)
    error: str | None = None
    delegations: int = 0
    model_calls: int = 0


class WorkItemAnswer(BaseModel):
    item_id: int
    status: Literal["proposed", "no_answer", "failed"]
    proposals: list[int] = Field(default_factory=list)
    error: str | None = None


# --- bounded delegation -------------------------------------------------------------------------


@dataclasses.dataclass
class DelegationBudget:
    """Delegations (and questions) the manager may still send in this run."""

    limit: int
    guard: CrewGuard
    used: int = 0

    def claim(self) -> str | None:
        """None when the delegation may go ahead; otherwise why the run stops."""
        self.used += 1
        if self.used <= self.limit:
            return None
        reason = (
            f"delegation loop: the manager delegated {self.used} times in one task, more than "
            f"[crew] max_delegations = {self.limit}; the crew was stopped"
        )
        self.guard.stop(reason)
        return reason


class BoundedDelegateWork(DelegateWorkTool):
    _budget: DelegationBudget = PrivateAttr()

    def _run(self, task: str, context: str, coworker: str | None = None, **kwargs: Any) -> str:
        refused = self._budget.claim()
        if refused is not None:
            return refused
        return super()._run(task, context, coworker, **kwargs)


class BoundedAskQuestion(AskQuestionTool):
    _budget: DelegationBudget = PrivateAttr()

    def _run(self, question: str, context: str, coworker: str | None = None, **kwargs: Any) -> str:
        refused = self._budget.claim()
        if refused is not None:
            return refused
        return super()._run(question, context, coworker, **kwargs)


class ManagerAgent(Agent):
    """A crew manager whose delegation tools draw on one budget per run."""

    _budget: DelegationBudget | None = PrivateAttr(None)

    def bound(self, budget: DelegationBudget) -> ManagerAgent:
        self._budget = budget
        return self

    def get_delegation_tools(self, agents: Any) -> list[BaseTool]:
        tools = super().get_delegation_tools(agents)
        if self._budget is None:
            return tools
        bounded: list[BaseTool] = []
        for tool in tools:
            cls = BoundedDelegateWork if isinstance(tool, DelegateWorkTool) else BoundedAskQuestion
            wrapped = cls(agents=list(agents), description=tool.description)
            wrapped._budget = self._budget
            bounded.append(wrapped)
        return bounded


# --- progress events from the CrewAI event bus ---------------------------------------------------


@contextmanager
def crew_progress(ctx: ToolContext, agents: list[Agent]) -> Iterator[None]:
    """Forward the bus events of these agents (and no others) to `ctx.on_event` while the
    block runs. Model calls are reported by the agents' LLMs, which know the cost."""
    if ctx.on_event is None:
        yield
        return
    ids = {str(a.id) for a in agents}
    names = {str(a.id): a.role for a in agents}

    def agent_started(source: Any, event: AgentExecutionStartedEvent) -> None:
        if str(event.agent.id) in ids:
            ctx.emit("agent", agent=event.agent.role, status="started")

    def agent_done(source: Any, event: AgentExecutionCompletedEvent) -> None:
        if str(event.agent.id) in ids:
            ctx.emit("agent", agent=event.agent.role, status="done")

    def tool_started(source: Any, event: ToolUsageStartedEvent) -> None:
        if event.agent_id in ids:
            name = names.get(event.agent_id or "", event.agent_role)
            ctx.emit("tool", agent=name, tool=event.tool_name, status="started")

    def tool_failed(source: Any, event: ToolUsageErrorEvent) -> None:
        if event.agent_id in ids:
            name = names.get(event.agent_id or "", event.agent_role)
            ctx.emit("tool", agent=name, tool=event.tool_name, status="error")

    handlers: list[tuple[type[Any], Callable[..., None]]] = [
        (AgentExecutionStartedEvent, agent_started),
        (AgentExecutionCompletedEvent, agent_done),
        (ToolUsageStartedEvent, tool_started),
        (ToolUsageErrorEvent, tool_failed),
    ]
    for event_type, handler in handlers:
        crewai_event_bus.on(event_type)(handler)
    try:
        yield
    finally:
        crewai_event_bus.flush(timeout=5)
        for event_type, handler in handlers:
            crewai_event_bus.off(event_type, handler)


# --- running ------------------------------------------------------------------------------------


def _specs(ctx: ToolContext) -> AgentsFile:
    return load_agents(agents_path(ctx.home, ctx.settings))


def model_missing(ctx: ToolContext, spec: AgentSpec) -> str | None:
    return tier_missing(ctx.settings, spec)


def _quarantined(ctx: ToolContext, agent: str) -> str | None:
    with ctx.ledger() as ledger:
        for status in agent_statuses(ledger):
            if status.agent == agent and status.status == "quarantined":
                return (
                    f"agent {agent} is quarantined since {status.quarantined_since} "
                    f"({status.reason}); a human must release it (vibehq agents release {agent})"
                )
    return None


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@contextmanager
def _quiet_crewai() -> Iterator[None]:
    """A stopped run is reported once, by us: CrewAI's own flow-listener error log and its
    event-pairing warnings (which a deliberate stop always triggers) are silenced meanwhile."""
    runtime = logging.getLogger("crewai.flow.runtime")
    level = runtime.level
    runtime.setLevel(logging.CRITICAL)
    token = _event_context_config.set(
        EventContextConfig(
            mismatch_behavior=MismatchBehavior.SILENT, empty_pop_behavior=MismatchBehavior.SILENT
        )
    )
    try:
        yield
    finally:
        _event_context_config.reset(token)
        runtime.setLevel(level)


def _kickoff(crew: Crew, guard: CrewGuard, agents: list[Agent]) -> tuple[str, str | None]:
    """Run the crew; its final output and, if it stopped, why, in one line."""
    try:
        with _quiet_crewai():
            output = crew.kickoff()
        error = guard.stop_reason
        return str(getattr(output, "raw", output) or ""), error
    except VibehqError as exc:
        return "", guard.stop_reason or exc.message
    except Exception as exc:
        # CrewAI wraps what stopped it (HookAborted, ToolExecutionFailedError, a validation
        # error on a malformed final answer); the guard knows the real reason when there is one.
        if guard.failure is not None:
            return "", guard.failure.message
        return "", guard.stop_reason or f"{type(exc).__name__}: {_one_line(str(exc))}"
    finally:
        for agent in agents:
            llm = agent.llm
            if isinstance(llm, BoundedLLM):
                llm.router.close()


def _failure_text(guard: CrewGuard, error: str) -> str:
    if isinstance(guard.failure, NoModelConfigured):
        return f"needs a model: {guard.failure.message}"
    return _one_line(error)


def _guard(ctx: ToolContext) -> CrewGuard:
    crew = ctx.settings.crew
    return CrewGuard(timeout_s=crew.timeout_s, max_tool_errors=crew.max_tool_errors)


def run_crew_task(
    ctx: ToolContext,
    description: str,
    expected_output: str,
    *,
    on_event: Callable[[EpicEvent], None] | None = None,
) -> CrewResult:
    """One open request through a fresh hierarchical crew: Auto manages, the workers act
    through their tools (each as itself: what Codex proposes is requested by Codex)."""
    if on_event is not None:
        ctx = dataclasses.replace(ctx, on_event=on_event)
    try:
        specs = _specs(ctx)
        manager_spec = specs.get(MANAGER)
        worker_specs = [specs.get(key) for key in WORKERS]
    except VibehqError as exc:
        return CrewResult(ok=False, error=exc.message)
    missing = model_missing(ctx, manager_spec)
    if missing is not None:
        return CrewResult(ok=False, error=missing)
    guard = _guard(ctx)
    ctx = dataclasses.replace(ctx, guard=guard, proposals=ctx.proposals)
    budget = DelegationBudget(limit=ctx.settings.crew.max_delegations, guard=guard)
    before = len(ctx.proposals)
    manager = build_agent(
        manager_spec,
        ctx.for_agent(manager_spec.name),
        guard=guard,
        with_tools=False,
        allow_delegation=True,
        agent_class=ManagerAgent,
    )
    assert isinstance(manager, ManagerAgent)
    manager.bound(budget)
    workers = [
        build_agent(spec, ctx.for_agent(spec.name), guard=guard, allow_delegation=False)
        for spec in worker_specs
    ]
    task = Task(description=description, expected_output=expected_output)
    crew = Crew(
        agents=workers,
        tasks=[task],
        process=Process.hierarchical,
        manager_agent=manager,
        memory=False,
        planning=False,
        cache=False,
        verbose=False,
        share_crew=False,
        tracing=False,
    )
    everyone = [manager, *workers]
    with crew_progress(ctx, everyone):
        output, error = _kickoff(crew, guard, everyone)
    return CrewResult(
        ok=error is None,
        output=output,
        proposals=ctx.proposals[before:],
        error=None if error is None else _failure_text(guard, error),
        delegations=min(budget.used, budget.limit),
        model_calls=guard.calls,
    )


def _solo(
    ctx: ToolContext,
    spec: AgentSpec,
    description: str,
    expected_output: str,
    *,
    guard: CrewGuard,
    extra_tools: Sequence[BaseTool] = (),
) -> tuple[str, str | None]:
    """One agent on one task pinned to it (no manager, no delegation)."""
    agent = build_agent(spec, ctx, guard=guard, allow_delegation=False)
    if extra_tools:
        agent.tools = [*(agent.tools or []), *extra_tools]
    task = Task(description=description, expected_output=expected_output, agent=agent)
    crew = Crew(
        agents=[agent],
        tasks=[task],
        process=Process.sequential,
        memory=False,
        planning=False,
        cache=False,
        verbose=False,
        share_crew=False,
        tracing=False,
    )
    with crew_progress(ctx, [agent]):
        return _kickoff(crew, guard, [agent])


def run_agent_task(
    ctx: ToolContext,
    key: str,
    description: str,
    expected_output: str,
    *,
    extra_tools: Sequence[BaseTool] = (),
) -> CrewResult:
    """One agent of agents.yaml (by key) works one task alone, through its own tools (and
    `extra_tools`), as itself. Never raises for model trouble."""
    try:
        spec = _specs(ctx).get(key)
    except VibehqError as exc:
        return CrewResult(ok=False, error=exc.message)
    missing = model_missing(ctx, spec)
    if missing is not None:
        return CrewResult(ok=False, error=missing)
    guard = _guard(ctx)
    ctx = dataclasses.replace(ctx, agent=spec.name, guard=guard, proposals=ctx.proposals)
    before = len(ctx.proposals)
    output, error = _solo(
        ctx, spec, description, expected_output, guard=guard, extra_tools=extra_tools
    )
    return CrewResult(
        ok=error is None,
        output=output,
        proposals=ctx.proposals[before:],
        error=None if error is None else _failure_text(guard, error),
        model_calls=guard.calls,
    )


def answer_work_item(
    ctx: ToolContext,
    item: ApprovalItem,
    *,
    on_event: Callable[[EpicEvent], None] | None = None,
) -> WorkItemAnswer:
    """Codex answers one needs_model item with a proposed PatchBatch. Never raises for model
    trouble; `status` says what happened and `error` why, in one line."""
    payload = item.payload
    if payload.kind != "needs_model":
        return WorkItemAnswer(
            item_id=item.id, status="failed", error=f"item {item.id} is a {payload.kind} item"
        )
    try:
        spec = _specs(ctx).get(IMPLEMENTER)
    except VibehqError as exc:
        return WorkItemAnswer(item_id=item.id, status="failed", error=exc.message)
    worker = dataclasses.replace(
        ctx,
        agent=spec.name,
        allowed_files=list(payload.allowed_files) or ctx.allowed_files,
        work_item=item.id,
        proposals=[],
        on_event=on_event or ctx.on_event,
    )
    stopped = model_missing(worker, spec) or _quarantined(worker, spec.name)
    if stopped is not None:
        return WorkItemAnswer(item_id=item.id, status="failed", error=stopped)
    guard = _guard(worker)
    worker.guard = guard
    worker.emit("message", status="started", message=f"answering approval item {item.id}")
    output, error = _solo(
        worker,
        spec,
        _work_item_task(item),
        "The proposal id propose_patch_batch returned, and one line on the change.",
        guard=guard,
    )
    if error is None and not worker.proposals:
        batch_text = _batch_in(output)
        if batch_text is not None:
            # The model answered in the prompt's format (one ```json block) instead of
            # calling the tool: the same checks, the same queue.
            propose_batch(worker, batch_text)
    return _answer(worker, item, spec, guard, error)


def _answer(
    worker: ToolContext, item: ApprovalItem, spec: AgentSpec, guard: CrewGuard, error: str | None
) -> WorkItemAnswer:
    proposals = list(worker.proposals)
    if proposals:
        worker.emit("message", status="done", message=f"proposed {proposals} for item {item.id}")
        return WorkItemAnswer(
            item_id=item.id,
            status="proposed",
            proposals=proposals,
            error=None if error is None else _failure_text(guard, error),
        )
    quarantined = _quarantined(worker, spec.name)
    if quarantined is not None:
        error = quarantined
    if error is not None:
        reason = _failure_text(guard, error)
        worker.emit("message", status="failed", message=reason)
        return WorkItemAnswer(item_id=item.id, status="failed", error=reason)
    refused = _last_refusal(worker, item.id)
    reason = f"{spec.name} finished without proposing a batch" + (
        f" (last refusal: {refused})" if refused else ""
    )
    worker.emit("message", status="done", message=reason)
    return WorkItemAnswer(item_id=item.id, status="no_answer", error=reason)


def _work_item_task(item: ApprovalItem) -> str:
    payload = item.payload
    assert payload.kind == "needs_model"
    files = "\n".join(f"- {f}" for f in payload.allowed_files) or "- (any file)"
    prompt = payload.prompt or payload.work_item.context
    return (
        f"Answer approval item {item.id} (work item `{payload.work_item.id}`).\n\n"
        f"{prompt}\n\n"
        "Submit your answer by calling the propose_patch_batch tool ONCE with the whole "
        "PatchBatch. It checks and queues it for approval; you never apply anything. If it "
        "answers ok=false, read why and call it again with a corrected batch. Only these "
        f"files may change:\n{files}\n"
        "When it has queued your batch, finish with its proposal id."
    )


def _batch_in(output: str) -> str | None:
    """The one JSON object of a final answer (fenced or bare), if it holds one."""
    for body in _FENCE.findall(output):
        if body.lstrip().startswith("{"):
            return str(body)
    stripped = output.strip()
    return stripped if stripped.startswith("{") else None


def _last_refusal(ctx: ToolContext, item_id: int) -> str | None:
    with ctx.ledger() as ledger:
        found = [
            e
            for e in ledger.events(kind=REFUSED_EVENT, limit=200)
            if e.payload.get("answers") == item_id
        ]
    return str(found[-1].payload.get("reason")) if found else None
