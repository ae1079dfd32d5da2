"""Typed errors of the router. Callers act on the type: a `NoModelConfigured` becomes a
needs-model work item, a `BudgetExhausted` stops the run, neither ever becomes an answer."""

from __future__ import annotations

from engine.errors import BadInput, CheckFailed
from engine.route.tiers import Tier


class NoModelConfigured(CheckFailed):
    """No deployment serves the tier a call needs, nor any of its fallback tiers."""

    def __init__(self, tier: Tier, tried: tuple[Tier, ...]) -> None:
        others = [t for t in tried if t != tier]
        via = f" nor its fallbacks ({', '.join(others)})" if others else ""
        super().__init__(
            f"no model is configured for the {tier} tier{via}: add a "
            f"[[route.tiers.{tier}.deployments]] entry to vibehq.toml (or "
            f"VIBEHQ_ROUTE__TIERS__{tier.upper()}__DEPLOYMENTS); this work needs a model"
        )
        self.tier = tier
        self.tried = tried


class BudgetExhausted(CheckFailed):
    """The run has spent its `[route] budget_usd`; no further model call is made."""

    def __init__(self, run_id: str, spent_usd: float, budget_usd: float) -> None:
        super().__init__(
            f"run {run_id} has spent ${spent_usd:.4f} of its ${budget_usd:.4f} model budget; "
            "stopping before the next model call (raise [route] budget_usd to continue)"
        )
        self.run_id = run_id
        self.spent_usd = spent_usd
        self.budget_usd = budget_usd


class ModelCallFailed(CheckFailed):
    """Every deployment in the chain failed (after retries and fallbacks)."""


class ModelConfigInvalid(BadInput):
    """The model configuration has a mistake (an unknown LiteLLM key, an unreadable
    `litellm_config`). Raised when a model is needed, never when settings are loaded, so the
    commands that call no model keep working."""

    def __init__(self, problems: list[str]) -> None:
        more = (
            f" (and {len(problems) - 1} more; see `vibehq config show`)"
            if len(problems) > 1
            else ""
        )
        super().__init__(f"model config: {problems[0]}{more}")
        self.problems = problems


class ModelKeyMissing(BadInput):
    """A deployment names an `api_key_env` variable that is not set."""
