"""Make a PatchBatch ready for the approval queue, and re-check an edited one.

The review runs the same gate as `vibehq patch apply` (quality monitor, then the validator on
a staging copy) in dry-run mode, so nothing is written and nobody is quarantined for a batch
that is only being looked at. The stored batch is made exact:
- every `blockFile` is read into `block`, so the batch no longer depends on files beside it;
- every existing file it touches is pinned with `baseSha256`, so applying it later either
  produces exactly the reviewed diff or stops with a conflict;
- it gets a batch id, so the journal refuses to apply the same approval twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from engine.approvals.changes import changed_files
from engine.approvals.models import PatchBatchPayload
from engine.errors import CheckFailed
from engine.patch.apply import ValidationRejected, new_batch_id
from engine.patch.diff import unified_diff
from engine.patch.models import PatchBatch
from engine.patch.plan import BatchPlan, inline_blocks, plan_batch
from engine.patch.validation import BatchValidator, ValidationResult
from engine.settings import Settings
from engine.validate.gate import QualityRejected, gated_apply
from engine.validate.quality import QualityReport
from engine.workspace import Workspace

# What `approve --edit` calls on the edited batch; tests pass one with or without tsc.
BatchReviewer = Callable[[PatchBatch], PatchBatchPayload]


def review_batch(
    ws: Workspace,
    batch: PatchBatch,
    settings: Settings,
    *,
    validator: BatchValidator | None = None,
    block_root: Path | None = None,
    origins: Mapping[str, bytes] | None = None,
    judged: QualityReport | None = None,
) -> PatchBatchPayload:
    """Review `batch` against the workspace as it is now. Bad input (an unsafe path, a
    malformed op, a missing blockFile) raises; a batch the gate refuses comes back with
    `refused` set, so a human can still see it and reject it or approve an edit. `origins`
    (what the batch only carries over) is kept with it, so the apply judges it alike.
    `judged`: the quality monitor's report on this same batch against this same tree, from
    the gate step that passed it (the epic's); the monitor is not run a second time."""
    batch = inline_blocks(ws, batch, block_root=block_root)
    if batch.batch_id is None:
        batch = batch.model_copy(update={"batch_id": new_batch_id()})
    try:
        plan = plan_batch(ws, batch)
    except CheckFailed as exc:
        return PatchBatchPayload(batch=batch, diff="", refused=exc.message)
    batch = _pinned(batch, plan)
    quality = QualityReport()
    validation: ValidationResult | None = None
    refused: str | None = None
    try:
        gate = gated_apply(
            ws,
            batch,
            settings,
            validator=validator,
            dry_run=True,
            origins=origins,
            skip={} if judged is None else {"quality": "(judged at the gate step)"},
        )
        quality, validation = judged or gate.quality, gate.batch.validation
    except QualityRejected as exc:
        quality, refused = exc.report, exc.message
    except ValidationRejected as exc:
        validation, refused = exc.result, exc.message
    except CheckFailed as exc:
        refused = exc.message
    return PatchBatchPayload(
        batch=batch,
        diff="".join(unified_diff(f.path, f.old, f.new) for f in plan.changed),
        files=changed_files(plan, ws.root),
        quality=quality,
        validation=validation,
        refused=refused,
        origins=encode_origins(origins or {}),
    )


def encode_origins(origins: Mapping[str, bytes]) -> dict[str, str]:
    """Origins as the payload stores them (JSON text; bytes that are not UTF-8 survive)."""
    return {path: data.decode("utf-8", "surrogateescape") for path, data in origins.items()}


def decode_origins(stored: Mapping[str, str]) -> dict[str, bytes]:
    return {path: text.encode("utf-8", "surrogateescape") for path, text in stored.items()}


def batch_reviewer(
    ws: Workspace,
    settings: Settings,
    *,
    validator: BatchValidator | None = None,
    block_root: Path | None = None,
) -> BatchReviewer:
    def review(batch: PatchBatch) -> PatchBatchPayload:
        return review_batch(ws, batch, settings, validator=validator, block_root=block_root)

    return review


def batch_title(batch: PatchBatch, payload: PatchBatchPayload) -> str:
    what = batch.reason or ", ".join(f.path for f in payload.files[:3]) or "no change"
    return f"batch {batch.batch_id}: {what}"


def _pinned(batch: PatchBatch, plan: BatchPlan) -> PatchBatch:
    # Planning already checked any hash the batch gave, so each pin agrees with it.
    pins = dict(batch.base_sha256)
    for change in plan.files:
        if change.old_sha is not None:
            pins.setdefault(change.path, change.old_sha)
    return batch.model_copy(update={"base_sha256": pins})
