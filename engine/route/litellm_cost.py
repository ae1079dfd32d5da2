"""What one call cost, in USD: configured per-token prices first, then LiteLLM's price map."""

from __future__ import annotations

from typing import Any

from engine.config.route import Deployment

__all__ = ["call_cost", "usage_tokens"]


def usage_tokens(response: Any) -> tuple[int, int]:
    """(prompt, completion) tokens the response reports; (0, 0) when it reports none."""
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", 0) or 0
    completion = getattr(usage, "completion_tokens", 0) or 0
    return int(prompt), int(completion)


def call_cost(deployment: Deployment, response: Any) -> float:
    """Configured prices win: a local model (Ollama, llama.cpp, vLLM) is not in LiteLLM's map,
    and a negotiated price differs from the list price. An unmapped model with no configured
    price costs 0 rather than failing the call (LiteLLM's `completion_cost` raises for it)."""
    prompt, completion = usage_tokens(response)
    if deployment.input_cost_per_token is not None or deployment.output_cost_per_token is not None:
        return prompt * (deployment.input_cost_per_token or 0.0) + completion * (
            deployment.output_cost_per_token or 0.0
        )
    import litellm

    try:
        cost = litellm.completion_cost(completion_response=response, model=deployment.model)
    except Exception:
        return 0.0
    return float(cost or 0.0)
