"""Typed event rows stored in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

PatchEventKind = Literal["requested", "applied", "failed", "rolled_back"]
ValidationOutcome = Literal["passed", "failed", "skipped"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class PatchEvent(BaseModel):
    """One op of one batch at one stage. Serialised camelCase for the orchestrator webhook."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    ts: str = Field(default_factory=utc_now)
    kind: PatchEventKind
    batch_id: str = Field(alias="batchId")
    order_id: str | None = Field(None, alias="orderId")
    task_id: str | None = Field(None, alias="taskId")
    requester: str | None = None
    branch: str | None = None
    reason: str | None = None
    file: str | None = None
    op: str | None = None
    op_index: int | None = Field(None, alias="opIndex")
    lines_added: int = Field(0, alias="linesAdded")
    lines_removed: int = Field(0, alias="linesRemoved")
    validation: ValidationOutcome = "skipped"
    error: str | None = None


class PatchRow(NamedTuple):
    """A PatchEvent as a plain tuple in ledger column order: the fast path for large batches
    (building 20,000 models costs more than applying 10,000 ops)."""

    ts: str
    kind: PatchEventKind
    batch_id: str
    order_id: str | None
    task_id: str | None
    requester: str | None
    branch: str | None
    reason: str | None
    file: str | None
    op: str | None
    op_index: int | None
    lines_added: int
    lines_removed: int
    validation: ValidationOutcome
    error: str | None

    def to_event(self) -> PatchEvent:
        return PatchEvent.model_validate(self._asdict())


class LedgerEvent(BaseModel):
    """A generic event for kinds without a table of their own (webhook failures, recoveries)."""

    ts: str = Field(default_factory=utc_now)
    kind: str
    subject: str | None = None
    payload: dict[str, object] = Field(default_factory=dict)
