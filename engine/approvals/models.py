"""The approval queue's records: what waits for a decision, the policy's verdict, the decision.

An item is one of four kinds, each with its own payload:
    patch_batch         a PatchBatch with its diff, per-file facts, quality and validation
    needs_model         a work item no recipe could do, with its context and prompt
    plan_change         a proposed task-master change
    quarantine_release  a request to let a quarantined agent work again

States: pending -> approved | rejected | expired. Nothing leaves a decided state.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from engine.approvals.changes import ChangedFile
from engine.patch.models import PatchBatch
from engine.patch.validation import ValidationResult
from engine.plan.ops import PlanChange
from engine.validate.quality import QualityReport
from engine.work_item import WorkItem

ItemKind = Literal["patch_batch", "needs_model", "plan_change", "quarantine_release"]
ItemState = Literal["pending", "approved", "rejected", "expired"]
DecidedState = Literal["approved", "rejected", "expired"]
ITEM_KINDS: tuple[ItemKind, ...] = (
    "patch_batch",
    "needs_model",
    "plan_change",
    "quarantine_release",
)
ITEM_STATES: tuple[ItemState, ...] = ("pending", "approved", "rejected", "expired")
# Who marks an item expired: no person decided it.
EXPIRY_DECIDER = "vibehq"


class PatchBatchPayload(BaseModel):
    """A batch as it was reviewed: blocks inlined and every existing file it touches pinned by
    `baseSha256`, so the batch applied later is byte for byte the diff that was approved."""

    kind: Literal["patch_batch"] = "patch_batch"
    batch: PatchBatch
    diff: str = Field(description="unified diff against the workspace at review time")
    files: list[ChangedFile] = Field(default_factory=list)
    quality: QualityReport = Field(default_factory=QualityReport)
    validation: ValidationResult | None = Field(
        None, description="the validator's result on a staging copy; none when none ran"
    )
    refused: str | None = Field(None, description="why the gate refused the batch, if it did")
    recipe: str | None = Field(
        None,
        description="set only by engine code for a batch its deterministic recipes produced "
        "(never read from a submitted batch): what the `recipe` policy rule vouches for",
    )
    answers: int | None = Field(
        None, description="the needs_model approval item this batch answers, if it answers one"
    )
    origins: dict[str, str] = Field(
        default_factory=dict,
        description="what the batch only carries over (a migrated STAGING file), by path: the "
        "gate reports its findings as pre-existing at review and again at apply",
    )

    @property
    def changed_lines(self) -> int:
        return sum(f.changed_lines for f in self.files)


class NeedsModelPayload(BaseModel):
    kind: Literal["needs_model"] = "needs_model"
    work_item: WorkItem
    prompt: str | None = Field(None, description="the rendered prompt a model would get")
    allowed_files: list[str] = Field(
        default_factory=list,
        description="what an answer may touch; an entry ending in `/` allows a folder",
    )
    answer: PatchBatchPayload | None = Field(
        None, description="the reviewed batch a human gave when approving (approve --edit)"
    )


class PlanChangePayload(BaseModel):
    kind: Literal["plan_change"] = "plan_change"
    change: PlanChange
    tasks_file: str | None = Field(None, description="workspace-relative tasks.json it changes")


class QuarantineReleasePayload(BaseModel):
    kind: Literal["quarantine_release"] = "quarantine_release"
    agent: str
    quarantined_since: str | None = None
    quarantine_reason: str | None = None


Payload = Annotated[
    PatchBatchPayload | NeedsModelPayload | PlanChangePayload | QuarantineReleasePayload,
    Field(discriminator="kind"),
]


class PolicyReason(BaseModel):
    """One rule's finding: why the item needs a human, or why an auto-pass rule did not apply."""

    rule: str
    detail: str


class AutoApprove(BaseModel):
    verdict: Literal["auto"] = "auto"
    rule: str
    confidence: float = Field(ge=0, le=1)
    detail: str


class NeedsHuman(BaseModel):
    verdict: Literal["human"] = "human"
    reasons: list[PolicyReason] = Field(min_length=1)

    @property
    def rules(self) -> list[str]:
        return [r.rule for r in self.reasons]


PolicyVerdict = Annotated[AutoApprove | NeedsHuman, Field(discriminator="verdict")]


class Decision(BaseModel):
    state: DecidedState
    by: str = Field(description="who decided: a person, or `vibehq` for an expiry")
    at: str
    reason: str = ""
    auto: bool = Field(False, description="decided by a policy rule, not by a person")
    rule: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)


class ApprovalRequest(BaseModel):
    """What a flow submits. The queue adds the id, the resume token, the verdict and state."""

    payload: Payload
    title: str = Field(min_length=1)
    requester: str | None = None
    run_id: str | None = Field(None, description="the flow run that waits on the decision")
    step: str | None = Field(None, description="the step of that run that paused")
    resume_token: str | None = Field(
        None,
        min_length=16,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="join an existing pause point (same run and step); none: a new token",
    )
    signature: str | None = Field(
        None,
        min_length=1,
        description="the recurring case this item is an instance of (a recipe, a question "
        "kind); the recurring rule learns from past human decisions with the same signature",
    )
    expires_at: str | None = Field(None, description="ISO-8601; none: [approvals] default")


class ApprovalItem(BaseModel):
    id: int
    kind: ItemKind
    state: ItemState
    title: str
    requester: str | None = None
    run_id: str | None = None
    step: str | None = None
    resume_token: str
    signature: str | None = None
    created_at: str
    expires_at: str | None = None
    payload: Payload
    original_payload: Payload | None = Field(None, description="the payload before an edit")
    verdict: PolicyVerdict
    decision: Decision | None = None
    edited: bool = False

    def facts(self) -> list[tuple[str, str]]:
        """Who asked, in which run and step, and when: the set ones, as a reviewer reads them."""
        named = (
            ("requester", self.requester),
            ("run", self.run_id),
            ("step", self.step),
            ("signature", self.signature),
            ("created", self.created_at),
            ("expires", self.expires_at),
        )
        return [(name, value) for name, value in named if value]


class PauseStatus(BaseModel):
    """Where a paused flow stands: the items behind one resume token, or one run."""

    run_id: str | None
    step: str | None
    items: list[ApprovalItem]
    counts: dict[ItemState, int]
    all_decided: bool = Field(description="no item is pending: the flow may continue")
    all_approved: bool = Field(description="there are items and every one was approved")


class AllSafeResult(BaseModel):
    approved: list[ApprovalItem] = Field(default_factory=list)
    left: dict[int, list[PolicyReason]] = Field(
        default_factory=dict, description="pending items the policy still sends to a human"
    )
