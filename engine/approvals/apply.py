"""Carry out an approved item's batch: through the gate, at most once, recorded in the ledger.

Deciding an item never writes a file. The flow that owns the item's resume token calls
`apply_approved` when it continues (or a human runs `vibehq approvals apply ID`). The batch
goes through `gated_apply` like any other, pinned by the base hashes taken at review: it
applies exactly the diff that was approved, or nothing at all.

A batch nobody validated (not at review, not now) is refused unless the approver accepts
that explicitly (`--accept-unvalidated`); the verdict then names who skipped what.
"""

from __future__ import annotations

from engine.approvals.models import ApprovalItem, PatchBatchPayload
from engine.approvals.queue import get_item, subject
from engine.approvals.review import decode_origins
from engine.errors import BadInput, CheckFailed
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator, ValidationResult
from engine.settings import Settings
from engine.validate.gate import GateResult, gated_apply
from engine.validate.judge import Step
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


def _reviewed_validation(item: ApprovalItem) -> ValidationResult | None:
    payload = item.payload
    if payload.kind == "patch_batch":
        return payload.validation
    if payload.kind == "needs_model" and payload.answer is not None:
        return payload.answer.validation
    return None


def apply_approved(
    ws: Workspace,
    item_id: int,
    settings: Settings,
    *,
    validator: BatchValidator | None = None,
    skip: dict[Step, str] | None = None,
    accept_unvalidated: bool = False,
) -> GateResult:
    """Apply the approved item's batch through the gate. Where the workspace has its tsconfig
    and no validator runs now, the batch must have passed one at review, or the approver must
    accept it unvalidated."""
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
    skips: dict[Step, str] = dict(skip or {})
    if validator is None:
        reviewed = _reviewed_validation(item)
        why = skips.get("validators", "(no validator)")
        if reviewed is not None and reviewed.ok:
            skips["validators"] = f"{why}; validated at review ({reviewed.summary})"
        elif accept_unvalidated:
            skips["validators"] = f"{why}; accepted unvalidated"
        elif not (ws.root / settings.patch.tsconfig).is_file():
            # Nothing here can type-check it; the verdict names the skip.
            skips.setdefault("validators", f"(no {settings.patch.tsconfig} in the workspace)")
        else:
            raise CheckFailed(
                f"item {item.id} was never validated (validators skipped {why}); "
                "validate it, or pass --accept-unvalidated to apply it anyway"
            )
    # What review judged as carried over (STAGING's own findings) is judged so again.
    payload = item.payload
    origins = decode_origins(payload.origins) if isinstance(payload, PatchBatchPayload) else {}
    result = gated_apply(ws, batch, settings, validator=validator, skip=skips, origins=origins)
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
                    "verdict": result.verdict.summary,
                },
            )
        )
    return result
