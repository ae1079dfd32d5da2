"""The `[route]` section of vibehq.toml: thresholds, a model group per tier, fallbacks, budget.

It lives below `engine/route` so that `engine/settings.py` can hold it without importing the
router: the router reads these settings, the settings never read the router.

    [route]
    budget_usd = 2.0            # per run; checked before every call
    retries = 2
    cooldown_s = 5
    timeout_s = 120

    [route.thresholds]          # inclusive upper bounds; above `complex` is reasoning
    simple = 3
    standard = 6
    complex = 8

    [[route.tiers.standard.deployments]]
    model = "openai/gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"

    [[route.tiers.simple.deployments]]
    model = "ollama/qwen2.5-coder:7b"
    api_base = "http://127.0.0.1:11434"

    [route.overrides.tasks]
    "16" = "reasoning"

Every key also comes from the environment, e.g. `VIBEHQ_ROUTE__BUDGET_USD=0.5` or
`VIBEHQ_ROUTE__TIERS__STANDARD__DEPLOYMENTS='[{"model": "openai/gpt-4o-mini"}]'`.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_FALLBACKS",
    "MAX_FALLBACKS",
    "TIERS",
    "Deployment",
    "RouteOverrides",
    "RouteSettings",
    "RouteThresholds",
    "Tier",
    "TierSettings",
    "TierTable",
    "deployment_name",
]

# The tiers are part of the file's vocabulary, so they are defined with the settings that name
# them; `engine.route.tiers` maps scores onto them.
Tier = Literal["simple", "standard", "complex", "reasoning"]
TIERS: tuple[Tier, ...] = get_args(Tier)

# LiteLLM's Router refuses more than 5 fallbacks per request.
MAX_FALLBACKS = 5

# A tier that fails moves up, never down: a weaker model must not answer silently in place of a
# stronger one. `reasoning` has nowhere further to go.
DEFAULT_FALLBACKS: dict[Tier, tuple[Tier, ...]] = {
    "simple": ("standard",),
    "standard": ("complex",),
    "complex": ("reasoning",),
    "reasoning": (),
}

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Deployment(BaseModel):
    """One model endpoint: any LiteLLM model string, on any provider."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        min_length=1,
        description="LiteLLM model string: openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
        "ollama/qwen2.5-coder:7b, or openai/<name> with api_base for vLLM or llama.cpp",
    )
    name: str | None = Field(
        None,
        min_length=1,
        description="id in the ledger and in `route explain`; default <tier>-<n>",
    )
    api_base: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    api_key_env: str | None = Field(
        None, pattern=_ENV_NAME, description="environment variable that holds the API key"
    )
    input_cost_per_token: float | None = Field(
        None, ge=0, description="USD; wins over LiteLLM's price map (needed for unmapped models)"
    )
    output_cost_per_token: float | None = Field(None, ge=0, description="USD")


class TierSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deployments: list[Deployment] = Field(
        default_factory=list, description="the tier's model group, tried in this order"
    )
    fallbacks: list[Tier] | None = Field(
        None, description="tiers tried after this one's deployments; default: one tier up"
    )
    retries: int | None = Field(None, ge=0, le=10, description="default: [route] retries")
    timeout_s: float | None = Field(None, gt=0, description="default: [route] timeout_s")

    @model_validator(mode="after")
    def _distinct_fallbacks(self) -> TierSettings:
        if self.fallbacks is not None and len(set(self.fallbacks)) != len(self.fallbacks):
            raise ValueError(f"fallbacks lists a tier twice: {self.fallbacks}")
        return self


class TierTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    simple: TierSettings = TierSettings()
    standard: TierSettings = TierSettings()
    complex: TierSettings = TierSettings()
    reasoning: TierSettings = TierSettings()

    def of(self, tier: Tier) -> TierSettings:
        settings: TierSettings = getattr(self, tier)
        return settings

    def fallbacks_of(self, tier: Tier) -> tuple[Tier, ...]:
        configured = self.of(tier).fallbacks
        return DEFAULT_FALLBACKS[tier] if configured is None else tuple(configured)

    @model_validator(mode="after")
    def _no_self_fallback(self) -> TierTable:
        for tier in TIERS:
            if tier in self.fallbacks_of(tier):
                raise ValueError(f"tier {tier} lists itself as a fallback")
        return self


class RouteThresholds(BaseModel):
    """Inclusive upper score bounds; a score above `complex` goes to `reasoning`."""

    model_config = ConfigDict(extra="forbid")

    simple: int = Field(3, ge=1, le=9)
    standard: int = Field(6, ge=1, le=9)
    complex: int = Field(8, ge=1, le=9)

    @model_validator(mode="after")
    def _increasing(self) -> RouteThresholds:
        if not self.simple < self.standard < self.complex:
            raise ValueError(
                "must increase: simple < standard < complex "
                f"(got {self.simple}, {self.standard}, {self.complex})"
            )
        return self


class RouteOverrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: dict[str, Tier] = Field(default_factory=dict, description="task id -> tier")
    agents: dict[str, Tier] = Field(default_factory=dict, description="agent name -> tier")


class RouteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: RouteThresholds = RouteThresholds()
    tiers: TierTable = TierTable()
    overrides: RouteOverrides = RouteOverrides()
    budget_usd: float = Field(1.0, gt=0, description="per run, in USD, checked before each call")
    retries: int = Field(
        2, ge=0, le=10, description="retries on one deployment before falling back"
    )
    cooldown_s: float = Field(5.0, ge=0, description="how long a failing deployment is skipped")
    allowed_fails: int = Field(3, ge=0, description="failures per minute before a cooldown")
    timeout_s: float = Field(120.0, gt=0, description="per request")
    max_fallbacks: int = Field(
        3, ge=0, le=MAX_FALLBACKS, description="fallback tiers tried after the chosen one"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> RouteSettings:
        seen: set[str] = set()
        for tier in TIERS:
            for n, deployment in enumerate(self.tiers.of(tier).deployments, start=1):
                name = deployment_name(tier, n, deployment)
                if name in seen:
                    raise ValueError(f"two deployments are named {name!r}")
                seen.add(name)
        return self


def deployment_name(tier: Tier, position: int, deployment: Deployment) -> str:
    """The name a deployment goes by in the ledger: its own, or `<tier>-<position>`."""
    return deployment.name or f"{tier}-{position}"
