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

    [[route.tiers.complex.deployments]]   # any LiteLLM litellm_params key passes through
    model = "azure/my-gpt-4o"
    api_base = "https://example.openai.azure.com"
    api_key = "os.environ/AZURE_API_KEY"
    api_version = "2024-10-21"
    rpm = 60

    [route.overrides.tasks]
    "16" = "reasoning"

An existing LiteLLM proxy config adds its `model_list` to the tiers: `litellm_config =
"litellm.yaml"` under `[route]`; a group named like a tier serves that tier, or name the
groups with `[route.tiers.<tier>] litellm_groups = ["gpt-4o"]`.

Every key also comes from the environment, e.g. `VIBEHQ_ROUTE__BUDGET_USD=0.5` or
`VIBEHQ_ROUTE__TIERS__STANDARD__DEPLOYMENTS='[{"model": "openai/gpt-4o-mini"}]'`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from engine.config.litellm_params import LITELLM_PARAMS, RESERVED_PARAMS, nearest_param

__all__ = [
    "DEFAULT_FALLBACKS",
    "ENV_REF_PATTERN",
    "ENV_REF_PREFIX",
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
# LiteLLM's way to name a secret in its config.yaml: the value is read from $NAME at call time.
ENV_REF_PREFIX = "os.environ/"
ENV_REF_PATTERN = r"os\.environ/[A-Za-z_][A-Za-z0-9_]*"


class Deployment(BaseModel):
    """One model endpoint: any LiteLLM model string, on any provider, with any of LiteLLM's
    `litellm_params` (api_version, rpm, tpm, temperature, aws_region_name, extra_headers...).

    Keys beyond the ones declared here pass through to LiteLLM as they are. A key LiteLLM does
    not know is kept too, and reported by `RouteSettings.problems()`: it fails the commands
    that call a model, never the ones that do not.
    """

    model_config = ConfigDict(extra="allow")

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
    api_base: str | None = Field(
        None,
        pattern=rf"^(https?://[^\s]+|{ENV_REF_PATTERN})$",
        description="endpoint URL, or os.environ/NAME",
    )
    api_key: str | None = Field(
        None,
        min_length=1,
        description="os.environ/NAME (as in LiteLLM's config.yaml), or the key itself",
    )
    api_key_env: str | None = Field(
        None, pattern=_ENV_NAME, description="environment variable that holds the API key"
    )
    input_cost_per_token: float | None = Field(
        None, ge=0, description="USD; wins over LiteLLM's price map (needed for unmapped models)"
    )
    output_cost_per_token: float | None = Field(None, ge=0, description="USD")

    def litellm_params(self) -> dict[str, Any]:
        """The keys that pass through to LiteLLM as they are (everything not declared above)."""
        return dict(self.model_extra or {})

    def problems(self) -> list[str]:
        """What would make LiteLLM refuse or silently ignore this deployment."""
        found: list[str] = []
        if self.api_key is not None and self.api_key_env is not None:
            found.append("sets both api_key and api_key_env; keep one")
        for key in self.litellm_params():
            if key in RESERVED_PARAMS:
                found.append(f"key {key!r} cannot be set: {RESERVED_PARAMS[key]}")
            elif key not in LITELLM_PARAMS:
                near = nearest_param(key, LITELLM_PARAMS | set(Deployment.model_fields))
                hint = f"did you mean {near!r}? " if near else ""
                found.append(
                    f"unknown key {key!r}; {hint}(any key of LiteLLM's litellm_params is accepted)"
                )
        return found


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
    litellm_groups: list[str] | None = Field(
        None,
        description="model_name groups of [route] litellm_config that serve this tier, after "
        "its own deployments; default: the group named like the tier",
    )

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
    litellm_config: str | None = Field(
        None,
        min_length=1,
        description="a LiteLLM proxy config.yaml whose model_list adds deployments to the tiers "
        "(see [route.tiers.<tier>] litellm_groups); relative to the workspace",
    )

    # Set by `engine.config.litellm_yaml.with_litellm_config`: what reading the LiteLLM config
    # found wrong, where each of its deployments came from, and the groups no tier takes.
    _load_problems: list[str] = PrivateAttr(default_factory=list)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)
    _unused_groups: list[str] = PrivateAttr(default_factory=list)

    @property
    def load_problems(self) -> list[str]:
        return list(self._load_problems)

    @property
    def origins(self) -> dict[str, str]:
        """Deployment name -> where it was read from, for the deployments not in vibehq.toml."""
        return dict(self._origins)

    @property
    def unused_groups(self) -> list[str]:
        return list(self._unused_groups)

    def problems(self) -> list[str]:
        """Everything that stops a model call, one line each; empty when the config is sound.
        Loading settings never fails on these, so commands without a model still run."""
        found = list(self._load_problems)
        for tier in TIERS:
            for n, deployment in enumerate(self.tiers.of(tier).deployments, start=1):
                name = deployment_name(tier, n, deployment)
                found.extend(
                    f"deployment {name} ({deployment.model}): {problem}"
                    for problem in deployment.problems()
                )
        return found

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
