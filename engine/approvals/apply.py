"""Carry out an approved item's batch: through the gate, at most once, recorded in the ledger.

Deciding an item never writes a file. The flow that owns the item's resume token calls
`apply_approved` when it continues (or a human runs `vibehq approvals apply ID`). The batch
goes through `gated_apply` like any other, pinned by the base hashes taken at review: it
applies exactly the diff that was approved, or nothing at all.

A batch nobody validated (not at review, not now) is refused unless the approver accepts
that explicitly (`--accept-unvalidated`); the verdict then names who skipped what.

At most once, whoever calls: the item is claimed under its own lock file for the whole
check-apply-record sequence, so of several concurrent callers one applies and the others are
told who did. A caller killed after its commit left the journal saying so; the next caller
records the application instead of making it twice.
"""

from __future__ import annotations

import os

from engine.approvals.models import ApprovalItem, PatchBatchPayload
from engine.approvals.queue import get_item, subject
from engine.approvals.review import decode_origins
from engine.errors import BadInput, CheckFailed
from engine.filelock import claim
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.patch.apply import recover_workspace
from engine.patch.journal import Journal
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
    lock = ws.state_subdir("locks") / f"approval-{int(item_id)}.lock"
    applier = _applier()
    with claim(lock, applier) as holder:
        if holder is not None:
            raise CheckFailed(f"item {item_id} is being applied by {holder}; not applied again")
        return _apply_claimed(ws, item_id, settings, validator, skip, accept_unvalidated, applier)


def _applier() -> str:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or f"uid {os.getuid()}"
    return f"{user} (pid {os.getpid()})"


def _apply_claimed(
    ws: Workspace,
    item_id: int,
    settings: Settings,
    validator: BatchValidator | None,
    skip: dict[Step, str] | None,
    accept_unvalidated: bool,
    applier: str,
) -> GateResult:
    if any(ws.journal_dir.glob("*.pending")):
        recover_workspace(ws, settings)
    with Ledger.open(ws.ledger_path) as ledger:
        item = get_item(ledger, item_id)
        batch = approved_batch(item)
        done = ledger.events(kind=APPLIED_EVENT, subject=subject(item.id), limit=1)
        if not done and _committed(ws, batch):
            # Applied by a caller killed before it could record so: record it now.
            ledger.record(_applied_event(item, str(batch.batch_id), "applied", applier, True))
            done = ledger.events(kind=APPLIED_EVENT, subject=subject(item.id), limit=1)
    if done:
        by = done[0].payload.get("applier")
        raise CheckFailed(
            f"item {item.id} was already applied as batch {done[0].payload.get('batch_id')} "
            f"at {done[0].ts}" + (f" by {by}" if by else "")
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
    event = _applied_event(item, result.batch.batch_id, result.batch.status, applier, False)
    event.payload.update(files=[f.path for f in result.batch.files], verdict=result.verdict.summary)
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(event)
    return result


def _committed(ws: Workspace, batch: PatchBatch) -> bool:
    if batch.batch_id is None:
        return False
    record = Journal(ws).find(batch.batch_id)
    return record is not None and record.state == "committed"


def _applied_event(
    item: ApprovalItem, batch_id: str, status: str, applier: str, recovered: bool
) -> LedgerEvent:
    payload: dict[str, object] = {
        "id": item.id,
        "batch_id": batch_id,
        "status": status,
        "run_id": item.run_id,
        "step": item.step,
        "applier": applier,
    }
    if recovered:
        payload["recovered"] = True
    return LedgerEvent(kind=APPLIED_EVENT, subject=subject(item.id), payload=payload)
