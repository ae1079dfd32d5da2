"""Carry out an approved item's batch: through the gate, at most once, recorded in the ledger.

Deciding an item never writes a file. The flow that owns the item's resume token calls
`apply_approved` when it continues (or a human runs `vibehq approvals apply ID`). The batch
goes through `gated_apply` like any other, pinned by the base hashes taken at review: it
applies exactly the diff that was approved, or nothing at all.
"""

from __future__ import annotations

from engine.approvals.models import ApprovalItem
from engine.approvals.queue import get_item, subject
from engine.errors import BadInput, CheckFailed
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.validate.gate import GateResult, gated_apply
from engine.workspace import Workspace

APPLIED_EVENT = "approval_applied"


def approved_batch(item: ApprovalItem) -> PatchBatch:
    """The batch an approved item stands for: its (possibly edited) batch, or the answer a
    human gave to a needs_model item."""
    if item.state != "approved":
        raise CheckFailed(f"item {item.id} is {item.state}; only an approved item is applied")
    payload = item.payload
    if payload.kind == "patch_batch":
        return payload.batch
    if payload.kind == "needs_model" and payload.answer is not None:
        return payload.answer.batch
    raise BadInput(f"item {item.id} ({item.kind}) has no batch to apply")


def apply_approved(
    ws: Workspace,
    item_id: int,
    settings: Settings,
    *,
    validator: BatchValidator | None = None,
) -> GateResult:
    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        item = get_item(ledger, item_id)
        batch = approved_batch(item)
        done = ledger.events(kind=APPLIED_EVENT, subject=subject(item.id), limit=1)
    if done:
        raise CheckFailed(
            f"item {item.id} was already applied as batch {done[0].payload.get('batch_id')} "
            f"at {done[0].ts}"
        )
    result = gated_apply(ws, batch, settings, validator=validator)
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(
            LedgerEvent(
                kind=APPLIED_EVENT,
                subject=subject(item.id),
                payload={
                    "id": item.id,
                    "batch_id": result.batch.batch_id,
                    "status": result.batch.status,
                    "files": [f.path for f in result.batch.files],
                    "run_id": item.run_id,
                    "step": item.step,
                },
            )
        )
    return result
