"""The records of an epic run: what it migrates, which step each folder is at, what each step
found. A step's `data` is a JSON object whose keys are listed per step in `StepData` below;
the delivery report and `vibehq epic status` read only these records and the ledger."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.inputs import PathText
from engine.ledger.events import utc_now

StepName = Literal["plan", "migrate", "refactor", "gate", "approve", "apply", "tasks"]
# The per-folder steps, in order. The run-wide `report` step is recorded with folder `*`.
FOLDER_STEPS: tuple[StepName, ...] = (
    "plan",
    "migrate",
    "refactor",
    "gate",
    "approve",
    "apply",
    "tasks",
)
RUN_FOLDER = "*"
REPORT_STEP = "report"
StepStatus = Literal["running", "done", "waiting", "failed", "skipped"]
RunStatus = Literal["running", "paused", "done", "failed", "interrupted"]
AutoApprove = Literal["safe", "none"]


class EpicSpec(BaseModel):
    """An epic definition (manifests/demo-epic.yaml): which STAGING folders to move, with which
    per-folder manifest template, under which epic task of tasks.json; or one migration
    manifest as a one-folder epic. Paths are relative to `base` (the spec file's folder)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str | None = None
    epic: str | None = Field(None, description="the epic task id in tasks.json")
    staging: PathText | None = Field(None, min_length=1, description="the STAGING folder")
    template: PathText | None = Field(
        None, min_length=1, description="manifest template with {folder}, {staging}, {name}"
    )
    manifest: PathText | None = Field(None, min_length=1, description="one migration manifest")
    folders: list[PathText] | None = Field(None, description="folders of STAGING; default all")
    tasks_file: PathText | None = Field(None, description="workspace-relative tasks.json")
    base: str = Field("", description="absolute folder the relative paths start from")

    @model_validator(mode="after")
    def _one_form(self) -> EpicSpec:
        if self.manifest is None and (self.staging is None or self.template is None):
            raise ValueError("give `staging` and `template`, or one `manifest`")
        if self.manifest is not None and (self.staging is not None or self.template is not None):
            raise ValueError("give either `manifest` or `staging` + `template`, not both")
        return self


class EpicOptions(BaseModel):
    auto_approve: AutoApprove = "safe"
    budget_usd: float | None = Field(None, ge=0)
    folders: str | None = Field(
        None, description="glob over folder names; several separated by commas"
    )
    epic_task: str | None = Field(None, description="the epic task the run updates")
    tasks_file: str | None = Field(None, description="workspace-relative tasks.json it updates")
    jobs: int | None = Field(None, ge=1, description="folders gated at once; default: the cores")


class StepRecord(BaseModel):
    run_id: str
    folder: str
    step: str
    status: StepStatus
    started_at: str = Field(default_factory=utc_now)
    finished_at: str | None = None
    duration_ms: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EpicRun(BaseModel):
    run_id: str
    name: str
    source: str = Field(description="the spec file, or the epic task id it came from")
    spec: EpicSpec
    options: EpicOptions = Field(default_factory=EpicOptions)
    status: RunStatus = "running"
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    summary: dict[str, Any] | None = None
    steps: list[StepRecord] = Field(default_factory=list)

    def step(self, folder: str, name: str) -> StepRecord | None:
        for record in self.steps:
            if record.folder == folder and record.step == name:
                return record
        return None

    @property
    def folders(self) -> list[str]:
        return list(dict.fromkeys(s.folder for s in self.steps if s.folder != RUN_FOLDER))


class EpicEvent(BaseModel):
    """One line of progress: a step changed state, an agent or tool started, a model call
    finished. `vibehq epic run --json` prints these, one per line."""

    ts: str = Field(default_factory=utc_now)
    run_id: str
    kind: Literal["run", "step", "agent", "tool", "llm", "message"]
    folder: str | None = None
    step: str | None = None
    status: str | None = None
    agent: str | None = None
    tool: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    message: str | None = None
