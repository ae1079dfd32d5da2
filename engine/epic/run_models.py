"""What an epic run hands out: the crew's model answers, the items waiting for a decision and the
run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from engine.approvals.models import ApprovalItem
from engine.epic.models import RunStatus, StepStatus
from engine.patch.validation import BatchValidator
from engine.workspace import Workspace

__all__ = [
    "REQUESTER",
    "SHOWN",
    "EpicSummary",
    "ModelAnswer",
    "ModelAnswerer",
    "StepOutcome",
    "WaitingItem",
]

REQUESTER = "vibehq-epic"
SHOWN = 40


class ModelAnswer(BaseModel):
    """What the crew made of one needs-model item: the patch_batch proposals it queued."""

    item_id: int
    status: Literal["proposed", "no_answer", "failed"]
    proposals: list[int] = Field(default_factory=list)
    error: str | None = None


class ModelAnswerer(Protocol):
    def __call__(
        self, overlay: Workspace, item: ApprovalItem, *, validator: BatchValidator | None
    ) -> ModelAnswer:
        """Answer `item` on `overlay` (the folder's change written in); never raise for model
        trouble, report it in the answer."""


class WaitingItem(BaseModel):
    id: int
    kind: str
    folder: str
    title: str
    why: str


class EpicSummary(BaseModel):
    run_id: str
    status: RunStatus
    folders: dict[str, str] = Field(default_factory=dict, description="folder -> where it stands")
    waiting: list[WaitingItem] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    model_note: str | None = None
    report: dict[str, str] | None = None
    message: str = ""


@dataclass
class StepOutcome:
    status: StepStatus
    data: dict[str, Any] = field(default_factory=dict)
