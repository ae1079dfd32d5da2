"""Every model call goes through here: decide the tier, check the budget, call the LiteLLM Router
(one model group per tier, deployments tried in order, then the fallback tiers), and write one
ledger row with the model that actually answered.

The order matters: with no model configured the call fails with `NoModelConfigured` before
litellm is imported, and with the budget spent it fails with `BudgetExhausted` before any
request leaves the process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from engine.config.route import ENV_REF_PREFIX, RouteSettings
from engine.errors import BadInput
from engine.ids import new_run_id
from engine.ledger.store import Ledger
from engine.route.calls import ModelCallRow, record_model_call, run_spend
from engine.route.chain import ChainLink, ModelChain, model_chain, tier_links
from engine.route.decision import RouteDecision, decide
from engine.route.errors import BudgetExhausted, ModelCallFailed, ModelKeyMissing, NoModelConfigured
from engine.route.features import CodeWork
from engine.route.litellm_cost import call_cost, usage_tokens
from engine.route.tiers import TIERS, Tier

if TYPE_CHECKING:
    from engine.settings import Settings
    from engine.workspace import Workspace

__all__ = ["AGENT_HEADER", "Completion", "ModelRouter"]

# Sent with every call that names an agent: proxies and the scripted test server route on it.
AGENT_HEADER = "X-Vibehq-Agent"
# Local servers (llama.cpp, vLLM, Ollama's OpenAI endpoint) ignore the key, but the openai
# client refuses to send a request without one.
_LOCAL_KEY = "sk-no-key-required"
_ERROR_CHARS = 500

Message = Mapping[str, Any]


@dataclass(frozen=True)
class Completion:
    """A model's answer and who gave it."""

    content: str | None
    # OpenAI-style tool calls (`.id`, `.function.name`, `.function.arguments`), as LiteLLM
    # returns them; empty when the model answered in text.
    tool_calls: list[Any]
    tier: Tier
    served_tier: Tier
    deployment: str
    model: str
    response_model: str | None
    outcome: Literal["ok", "fallback"]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    run_id: str
    message: Any
    response: Any


class ModelRouter:
    """The router for one workspace. `run_id` groups calls for the budget and the stats; give
    one per run (a flow, a crew kickoff) or let each router be its own run."""

    def __init__(self, route: RouteSettings, ledger: Ledger, *, run_id: str | None = None) -> None:
        self.route = route
        self.ledger = ledger
        self.run_id = run_id or new_run_id("run")
        self._router: Any = None
        self._build_lock = threading.Lock()

    @classmethod
    def open(
        cls, workspace: Workspace, settings: Settings, *, run_id: str | None = None
    ) -> ModelRouter:
        return cls(settings.route, Ledger.open(workspace.ledger_path), run_id=run_id)

    def __enter__(self) -> ModelRouter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ledger.close()

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        *,
        text: str | None = None,
        code: CodeWork | None = None,
        tier: Tier | None = None,
        score: int | None = None,
        task_id: str | None = None,
        agent: str | None = None,
    ) -> RouteDecision:
        return decide(
            self.route, text=text, code=code, tier=tier, score=score, task_id=task_id, agent=agent
        )

    # -- budget -----------------------------------------------------------------------------

    def spent(self, run_id: str | None = None) -> float:
        return run_spend(self.ledger, run_id or self.run_id)

    def check_budget(self, run_id: str | None = None) -> float:
        """The USD left for the run; BudgetExhausted when nothing is left. The check is before
        each call and a call's cost is known only after it, so the last call of a run may go
        past the budget by up to one call's cost (as may calls running in parallel)."""
        run = run_id or self.run_id
        spent = run_spend(self.ledger, run)
        if spent >= self.route.budget_usd:
            raise BudgetExhausted(run, spent, self.route.budget_usd)
        return self.route.budget_usd - spent

    # -- calling ----------------------------------------------------------------------------

    def complete(
        self,
        messages: str | Sequence[Message],
        *,
        tier: Tier | None = None,
        score: int | None = None,
        task_id: str | None = None,
        agent: str | None = None,
        code: CodeWork | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        run_id: str | None = None,
        **params: Any,
    ) -> Completion:
        """One chat completion, routed. The tier comes from `tier`, else the task or agent
        override, else `score`, else the score of the first user message (and `code`).

        Raises NoModelConfigured (nothing serves the tier), BudgetExhausted (the run's budget
        is spent) or ModelCallFailed (every deployment in the chain failed); none of them is
        ever turned into an answer."""
        chat = _chat_messages(messages)
        decision = self.decide(
            text=_first_user_text(chat), code=code, tier=tier, score=score,
            task_id=task_id, agent=agent,
        )  # fmt: skip
        chain = decision.require_chain()
        run = run_id or self.run_id
        self.check_budget(run)
        router = self._litellm_router()
        tier_settings = self.route.tiers.of(chain.group)
        retries = tier_settings.retries
        fallbacks = list(chain.fallback_tiers)
        call: dict[str, Any] = {
            "model": chain.group,
            "messages": chat,
            "fallbacks": [{chain.group: fallbacks}] if fallbacks else [],
            "num_retries": self.route.retries if retries is None else retries,
            "timeout": tier_settings.timeout_s or self.route.timeout_s,
            **params,
        }
        if tools:
            call["tools"] = [dict(t) for t in tools]
            # With tools, litellm 1.106 first imports its MCP-gateway handler, which needs a
            # newer `mcp` than the one locked (ImportError: CacheableResult). These tools are
            # plain functions, never MCP servers behind a LiteLLM proxy, so skip that path.
            call["_skip_mcp_handler"] = True
        if agent:
            call["extra_headers"] = {**dict(params.get("extra_headers") or {}), AGENT_HEADER: agent}
        row = ModelCallRow(
            run_id=run,
            tier=decision.tier,
            model_group=chain.group,
            outcome="error",
            task_id=task_id,
            agent=agent,
            score=decision.score.score if decision.score and score is None else score,
        )
        started = time.perf_counter()
        failure: Exception | None = None
        try:
            response = router.completion(**call)
        except Exception as exc:
            failure = exc
        latency_ms = (time.perf_counter() - started) * 1000
        if failure is not None:
            error = f"{type(failure).__name__}: {failure}"[:_ERROR_CHARS]
            record_model_call(self.ledger, replace(row, latency_ms=latency_ms, error=error))
            # Raised outside the except block, so the provider error is not its context:
            # callers (and CrewAI's rate-limit retry) see one final failure, not a 429 to retry.
            raise ModelCallFailed(
                f"every model in the {decision.tier} chain failed "
                f"({', '.join(link.name for link in chain.links)}): {_one_line(error)}"
            )
        return self._finish(decision, chain, row, response, latency_ms)

    def _finish(
        self,
        decision: RouteDecision,
        chain: ModelChain,
        row: ModelCallRow,
        response: Any,
        latency_ms: float,
    ) -> Completion:
        hidden = getattr(response, "_hidden_params", None) or {}
        model_id = hidden.get("model_id")
        link = chain.link_named(str(model_id)) if model_id is not None else None
        prompt, completion = usage_tokens(response)
        if link is None:
            # The response's own `model` field can name the requested model after a fallback,
            # so only the deployment id LiteLLM puts in the hidden params says who answered.
            error = f"answered by deployment {model_id!r}, which is not in the {chain.group} chain"
            record_model_call(
                self.ledger,
                replace(
                    row, prompt_tokens=prompt, completion_tokens=completion,
                    latency_ms=latency_ms, error=error,
                ),
            )  # fmt: skip
            raise ModelCallFailed(f"LiteLLM {error}")
        cost = call_cost(link.deployment, response)
        outcome: Literal["ok", "fallback"] = "ok" if link.name == chain.first.name else "fallback"
        response_model = getattr(response, "model", None)
        record_model_call(
            self.ledger,
            replace(
                row,
                outcome=outcome,
                deployment=link.name,
                served_tier=link.tier,
                model=link.deployment.model,
                response_model=response_model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_usd=cost,
                latency_ms=latency_ms,
            ),
        )
        message = response.choices[0].message
        return Completion(
            content=getattr(message, "content", None),
            tool_calls=list(getattr(message, "tool_calls", None) or []),
            tier=decision.tier,
            served_tier=link.tier,
            deployment=link.name,
            model=link.deployment.model,
            response_model=response_model,
            outcome=outcome,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            latency_ms=latency_ms,
            run_id=row.run_id,
            message=message,
            response=response,
        )

    # -- the LiteLLM Router -----------------------------------------------------------------

    def _litellm_router(self) -> Any:
        with self._build_lock:
            if self._router is None:
                self._router = self._build()
            return self._router

    def _build(self) -> Any:
        model_list = [_model_entry(link) for tier in TIERS for link in tier_links(self.route, tier)]
        fallbacks = []
        for tier in TIERS:
            try:
                chain = model_chain(self.route, tier)
            except NoModelConfigured:
                continue
            if chain.group == tier and chain.fallback_tiers:
                fallbacks.append({tier: list(chain.fallback_tiers)})
        import litellm
        from litellm.router import Router

        litellm.suppress_debug_info = True
        # The ledger records every failure; LiteLLM's own error logs would print each one
        # (with a traceback) a second time.
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        return Router(
            model_list=model_list,
            fallbacks=fallbacks,
            num_retries=self.route.retries,
            cooldown_time=self.route.cooldown_s,
            allowed_fails=self.route.allowed_fails,
            timeout=self.route.timeout_s,
            # The chain is already bounded by [route] max_fallbacks; this only has to let
            # every link of it run (order levels inside a tier count as fallbacks too).
            max_fallbacks=len(model_list),
        )


def _model_entry(link: ChainLink) -> dict[str, Any]:
    d = link.deployment
    # Passed-through LiteLLM keys first, so the ones vibehq owns cannot be shadowed.
    params: dict[str, Any] = {**d.litellm_params(), "model": d.model, "order": link.position}
    if d.api_base:
        params["api_base"] = d.api_base
    if d.api_key is not None:
        params["api_key"] = d.api_key
    elif d.api_key_env:
        key = os.environ.get(d.api_key_env)
        if not key:
            raise ModelKeyMissing(
                f"deployment {link.name} ({d.model}) reads its API key from ${d.api_key_env}, "
                "which is not set"
            )
        params["api_key"] = key
    elif d.api_base:
        params["api_key"] = _LOCAL_KEY
    if "extra_headers" in params:
        # A call's own extra_headers (the agent header) replace the deployment's in LiteLLM's
        # Router; its `headers` are merged with them instead, so both reach the server.
        params["headers"] = {**dict(params.get("headers") or {}), **params.pop("extra_headers")}
    for key, value in params.items():
        params[key] = _resolved(link, key, value)
    return {"model_name": link.tier, "litellm_params": params, "model_info": {"id": link.name}}


def _resolved(link: ChainLink, key: str, value: Any) -> Any:
    """An `os.environ/NAME` value read from the environment, as LiteLLM's proxy does, but
    failing with the deployment's name when NAME is not set. `*_ref` keys are pointers LiteLLM
    dereferences itself, so they stay as written."""
    if not isinstance(value, str) or not value.startswith(ENV_REF_PREFIX) or key.endswith("_ref"):
        return value
    name = value.removeprefix(ENV_REF_PREFIX)
    resolved = os.environ.get(name)
    if not resolved:
        raise ModelKeyMissing(
            f"deployment {link.name} ({link.deployment.model}) reads {key} from {value}, "
            f"but ${name} is not set"
        )
    return resolved


def _chat_messages(messages: str | Sequence[Message]) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    chat = [dict(m) for m in messages]
    if not chat:
        raise BadInput("a completion needs at least one message")
    for n, m in enumerate(chat):
        if not isinstance(m.get("role"), str):
            raise BadInput(f"message {n} has no role")
    return chat


def _first_user_text(chat: Sequence[Mapping[str, Any]]) -> str:
    """The text the score reads: the first user message, the ask. A conversation keeps its
    tier across turns instead of moving with each tool result."""
    for m in chat:
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    str(part.get("text", "")) for part in content if isinstance(part, Mapping)
                )
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
