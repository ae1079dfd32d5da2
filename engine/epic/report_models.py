"""The delivery report's document: what one epic run delivered, as typed records.

The builder (`engine.epic.report`) fills it from the ledger; the pages
(`engine.epic.report_pages`) render it; neither needs the other to read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from engine.ledger.events import utc_now
from engine.workspace import Workspace

__all__ = [
    "AgentChecks",
    "ApprovalLine",
    "BatchLine",
    "CallGroup",
    "DeliveryReport",
    "FailedStep",
    "FolderReport",
    "GuardEvent",
    "PendingDecision",
    "ReportPaths",
    "StepTime",
    "StepTotal",
    "Totals",
]


# --- the report ---------------------------------------------------------------------------------


class StepTime(BaseModel):
    step: str
    status: str
    duration_ms: float | None = None
    error: str | None = None


class FailedStep(BaseModel):
    folder: str = Field(description="the folder, or `*` for a run-wide step")
    step: str
    error: str | None = None


class FolderReport(BaseModel):
    """One STAGING folder: what each step found, read from its step records."""

    folder: str
    dest: str | None = Field(None, description="where the folder went in the workspace")
    status: str = Field(description="done | waiting | failed | running | pending")
    files: int = 0
    rewrites: int = Field(0, description="import rewrites")
    unresolved: int = Field(0, description="imports left unresolved")
    sql_sites: int = 0
    sites: int = Field(0, description="SQL sites the refactor looked at")
    recipe_sites: int = Field(0, description="sites a recipe rewrote")
    model_sites: int = Field(0, description="sites no recipe could do: needs-model items")
    other_sites: int = Field(
        0, description="sites neither rewritten nor sent to a model (DDL moved, PRAGMA dropped)"
    )
    model_answers: int = Field(0, description="needs-model items a model answered")
    methods: int = Field(0, description="RPC methods extracted")
    gate_ok: bool | None = None
    tsc_new_errors: int | None = None
    new_errors: list[str] = Field(
        default_factory=list, description="the gate's new errors, `file:line code message`"
    )
    violations: int = 0
    critical: int = 0
    quarantined: list[str] = Field(default_factory=list)
    refused: str | None = None
    approvals: int = 0
    pending: int = 0
    batches: list[str] = Field(default_factory=list)
    files_written: int = 0
    subtask: str | None = None
    task_status: str | None = None
    remediation: list[str] = Field(default_factory=list)
    steps: list[StepTime] = Field(default_factory=list)
    duration_ms: float = 0.0


class CallGroup(BaseModel):
    """Model calls of the run grouped by tier or by agent."""

    name: str
    calls: int
    ok: int
    fallback: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class ApprovalLine(BaseModel):
    id: int
    kind: str
    state: str
    title: str
    folder: str | None = None
    step: str | None = None
    requester: str | None = None
    decided_by: str | None = Field(None, description="a person, `policy`, or `vibehq` (expiry)")
    decided_at: str | None = None
    auto: bool = False
    rule: str | None = Field(None, description="the policy rule that passed it")
    policy_rules: list[str] = Field(
        default_factory=list, description="the rules that sent it to a human"
    )
    reason: str | None = None


class GuardEvent(BaseModel):
    """A quarantine, release or refusal of an agent in the run's window."""

    ts: str
    agent: str
    kind: str
    batch_id: str | None = None
    violations: int = 0
    critical: int = 0
    reason: str | None = None
    actor: str | None = None


class AgentChecks(BaseModel):
    agent: str
    checks: int
    with_violations: int
    violations: int
    critical: int
    quarantines: int
    releases: int
    refusals: int


class BatchLine(BaseModel):
    batch_id: str
    folder: str | None = None
    status: str = Field(description="applied | failed | rolled_back | requested | unknown")
    ops: int = 0
    files: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    error: str | None = None


class StepTotal(BaseModel):
    step: str
    folders: int
    duration_ms: float
    max_ms: float


class PendingDecision(BaseModel):
    """A pending approval: what must be decided, and by whom, for the run to go on."""

    approval_id: int
    kind: str
    title: str
    folder: str | None = None
    file: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    location: str | None = Field(None, description="file:line or file:start-end")
    reason: str | None = None
    action: str


class Totals(BaseModel):
    folders: int = 0
    folders_done: int = 0
    files: int = 0
    rewrites: int = 0
    unresolved: int = 0
    sql_sites: int = 0
    sites: int = 0
    recipe_sites: int = 0
    model_sites: int = 0
    model_answers: int = 0
    methods: int = 0
    files_written: int = 0
    batches: int = 0
    violations: int = 0
    critical: int = 0
    quarantines: int = 0
    approvals: int = 0
    pending: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    step_ms: float = Field(0.0, description="the steps' durations added up")
    wall_ms: float | None = Field(None, description="from the run's start to its last step")


class DeliveryReport(BaseModel):
    run_id: str
    name: str
    source: str
    epic: str | None = None
    staging: str | None = Field(
        None, description="the STAGING folder; none for a one-manifest (one-folder) epic"
    )
    manifest: str | None = Field(None, description="the manifest of a one-folder epic")
    status: str
    created_at: str
    updated_at: str
    generated_at: str = Field(default_factory=utc_now)
    options: dict[str, Any] = Field(default_factory=dict)
    headline: str = Field(description="one line: where the run stands")
    totals: Totals
    folders: list[FolderReport] = Field(default_factory=list)
    tiers: list[CallGroup] = Field(default_factory=list)
    agents: list[CallGroup] = Field(default_factory=list)
    approvals: list[ApprovalLine] = Field(default_factory=list)
    deciders: dict[str, int] = Field(
        default_factory=dict, description="decided items per decider (`policy` for auto)"
    )
    agent_checks: list[AgentChecks] = Field(default_factory=list)
    guard_events: list[GuardEvent] = Field(default_factory=list)
    quarantined_now: list[str] = Field(
        default_factory=list, description="agents still quarantined when the report was built"
    )
    batches: list[BatchLine] = Field(default_factory=list)
    steps: list[StepTotal] = Field(default_factory=list)
    failed_steps: list[FailedStep] = Field(default_factory=list)
    waiting: list[PendingDecision] = Field(default_factory=list)
    next: list[str] = Field(
        default_factory=list, description="what a model or a human must still do, in order"
    )


class ReportPaths(BaseModel):
    markdown: Path
    json_path: Path
    html: Path

    def step_data(self, ws: Workspace) -> dict[str, str]:
        """The `report` step's data: the three files, relative to the workspace."""
        return {
            "markdown": ws.relative(self.markdown),
            "json": ws.relative(self.json_path),
            "html": ws.relative(self.html),
        }
