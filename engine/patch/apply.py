"""Apply and roll back batches: plan -> validate on a staging copy -> lock -> re-check -> commit.

The workspace lock is held only for the re-check and the commit, so validation (seconds of
tsc) never blocks other writers; a file that changed meanwhile is caught by its hash.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from engine.errors import BadInput, CheckFailed, PatchConflict, ValidationFailed
from engine.ledger.events import LedgerEvent, PatchEvent, PatchRow, ValidationOutcome, utc_now
from engine.ledger.store import Ledger
from engine.patch.diff import unified_diff
from engine.patch.journal import Journal, JournalRecord
from engine.patch.lock import workspace_lock
from engine.patch.models import PatchBatch
from engine.patch.patch_events import record_patch_events, record_patch_rows
from engine.patch.plan import BatchPlan, FileChange, plan_batch, sha256
from engine.patch.staging import staging_copy
from engine.patch.validation import BatchValidator, ValidationResult
from engine.patch.webhook import WebhookOutcome, post_events
from engine.settings import Settings
from engine.workspace import Workspace

BatchStatus = Literal["applied", "dry-run", "unchanged", "rolled-back"]
# Builds the gate's verdict event from the validation result; recorded with the applied rows.
GateEvent = Callable[[ValidationResult | None], LedgerEvent]


class FileResult(BaseModel):
    path: str
    action: str
    lines_added: int
    lines_removed: int
    old_sha256: str | None
    new_sha256: str | None


class BatchResult(BaseModel):
    batch_id: str
    status: BatchStatus
    ops: int
    files: list[FileResult]
    diff: str | None = None
    validation: ValidationResult | None = None
    webhook: WebhookOutcome | None = None
    recovered: list[str] = []

    @property
    def lines_added(self) -> int:
        return sum(f.lines_added for f in self.files)

    @property
    def lines_removed(self) -> int:
        return sum(f.lines_removed for f in self.files)


class ValidationRejected(ValidationFailed):
    def __init__(self, message: str, result: ValidationResult) -> None:
        super().__init__(message)
        self.result = result


def new_batch_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def apply_batch(
    ws: Workspace,
    batch: PatchBatch,
    settings: Settings,
    *,
    dry_run: bool = False,
    validator: BatchValidator | None = None,
    block_root: Path | None = None,
    with_diff: bool = False,
    gate_event: GateEvent | None = None,
) -> BatchResult:
    """Apply `batch` all or nothing. Raises BadInput before anything is written, CheckFailed
    (conflict, stale anchor, validation) with the ledger told, never a half-applied tree."""
    batch_id = batch.batch_id or new_batch_id()
    journal = Journal(ws, fsync=settings.patch.fsync)
    if not dry_run and journal.exists(batch_id):
        raise BadInput(f"batch id {batch_id!r} is already in the journal")
    try:
        plan = plan_batch(ws, batch, block_root=block_root)
        validation = _validate(ws, plan, validator)
    except CheckFailed as exc:
        if not dry_run:
            _record_failure(ws, settings, batch_id, batch, exc)
        raise
    diff = _diff(plan) if (with_diff or dry_run) else None
    if dry_run:
        return _result(batch_id, "dry-run", plan, diff=diff, validation=validation)
    with workspace_lock(ws, settings.patch.lock_timeout_s):
        recovered = _recover(ws, journal)
        try:
            plan = _recheck(ws, batch, plan, block_root, validated=validation is not None)
        except CheckFailed as exc:
            _record_failure(ws, settings, batch_id, batch, exc)
            raise
        if not plan.changed:
            return _result(
                batch_id, "unchanged", plan, diff=diff, validation=validation, recovered=recovered
            )
        outcome = _outcome(validation)
        with Ledger.open(ws.ledger_path) as ledger:
            record_patch_rows(ledger, _events("requested", batch_id, batch, plan, outcome))
            journal.commit(batch_id, plan.changed, meta=_meta(batch))
            applied = _events("applied", batch_id, batch, plan, outcome)
            record_patch_rows(ledger, applied)
            if gate_event is not None:
                ledger.record(gate_event(validation))
    webhook = _notify(ws, settings, batch_id, applied)
    return _result(
        batch_id,
        "applied",
        plan,
        diff=diff,
        validation=validation,
        webhook=webhook,
        recovered=recovered,
    )


def rollback_batch(ws: Workspace, batch_id: str, settings: Settings) -> BatchResult:
    """Restore every file `batch_id` touched to its bytes before the batch, atomically."""
    journal = Journal(ws, fsync=settings.patch.fsync)
    with workspace_lock(ws, settings.patch.lock_timeout_s):
        recovered = _recover(ws, journal)
        record = journal.load(batch_id)
        if record.state != "committed":
            by = f" by {record.rolled_back_by}" if record.rolled_back_by else ""
            raise BadInput(
                f"batch {batch_id!r} is {record.state.replace('_', ' ')}{by}; "
                "only a committed batch can be rolled back"
            )
        changes = _restore_changes(ws, journal, record)
        rollback_id = _free_id(journal, f"{batch_id}.rollback")
        journal.commit(rollback_id, changes, meta=record.meta, kind="rollback", rolls_back=batch_id)
        journal.remove_created_dirs(record)
        journal.mark_rolled_back(record, rollback_id)
        events = [
            PatchEvent(
                kind="rolled_back",
                batch_id=batch_id,
                order_id=record.meta.get("orderId"),
                task_id=record.meta.get("taskId"),
                requester=record.meta.get("requester"),
                branch=record.meta.get("branch"),
                reason=f"rolled back by {rollback_id}",
                file=f.path,
                op="rollback",
                lines_added=f.lines_removed,
                lines_removed=f.lines_added,
            )
            for f in record.files
        ]
        with Ledger.open(ws.ledger_path) as ledger:
            record_patch_events(ledger, events)
    webhook = _notify(ws, settings, batch_id, events)
    # A rollback adds what the batch removed and removes what it added.
    files = [
        _file_result(c, added=e.lines_removed, removed=e.lines_added)
        for c, e in zip(changes, record.files, strict=True)
    ]
    return BatchResult(
        batch_id=rollback_id,
        status="rolled-back",
        ops=len(files),
        files=files,
        webhook=webhook,
        recovered=recovered,
    )


def recover_workspace(ws: Workspace, settings: Settings) -> list[str]:
    """Roll back commits a crash interrupted; returns their batch ids."""
    if not ws.journal_dir.is_dir():
        return []
    with workspace_lock(ws, settings.patch.lock_timeout_s):
        return _recover(ws, Journal(ws, fsync=settings.patch.fsync))


def _recover(ws: Workspace, journal: Journal) -> list[str]:
    records = journal.recover()
    if records:
        with Ledger.open(ws.ledger_path) as ledger:
            for record in records:
                ledger.record(
                    LedgerEvent(
                        kind="patch_recovered",
                        subject=record.batch_id,
                        payload={"state": record.state, "note": record.note},
                    )
                )
                record_patch_events(
                    ledger,
                    [
                        PatchEvent(
                            kind="failed",
                            batch_id=record.batch_id,
                            file=f.path,
                            requester=record.meta.get("requester"),
                            task_id=record.meta.get("taskId"),
                            order_id=record.meta.get("orderId"),
                            error=record.note,
                        )
                        for f in record.files
                    ],
                )
    return [r.batch_id for r in records]


def _restore_changes(ws: Workspace, journal: Journal, record: JournalRecord) -> list[FileChange]:
    changes: list[FileChange] = []
    conflicts: list[str] = []
    for entry in record.files:
        target = ws.resolve(entry.target)
        current = target.read_bytes() if target.is_file() else None
        if (None if current is None else sha256(current)) != entry.new_sha:
            conflicts.append(entry.path)
            continue
        old = journal.backup_bytes(record, entry)
        changes.append(FileChange(entry.path, target, current, old, mode=entry.mode))
    if conflicts:
        raise PatchConflict(
            f"cannot roll back {record.batch_id}: changed since it was applied: "
            + ", ".join(conflicts)
        )
    return changes


def _free_id(journal: Journal, base: str) -> str:
    candidate, n = base, 1
    while journal.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _validate(
    ws: Workspace, plan: BatchPlan, validator: BatchValidator | None
) -> ValidationResult | None:
    if validator is None or not plan.changed:
        return None
    changes = {ws.relative(f.abs_path): f.new for f in plan.changed}
    with staging_copy(ws.root, changes) as staged:
        result = validator.validate(staged, sorted(changes))
    if not result.ok:
        raise ValidationRejected(
            f"validation failed ({result.summary}); nothing was applied", result
        )
    return result


def _recheck(
    ws: Workspace, batch: PatchBatch, plan: BatchPlan, block_root: Path | None, *, validated: bool
) -> BatchPlan:
    """Inside the lock: make sure no file moved since planning; re-plan if one did."""
    moved = [f.path for f in plan.files if _read(f.abs_path) != f.old]
    if not moved:
        return plan
    if validated:
        raise PatchConflict(
            "changed while the batch was being validated: " + ", ".join(moved) + "; apply again"
        )
    return plan_batch(ws, batch, block_root=block_root)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _outcome(validation: ValidationResult | None) -> ValidationOutcome:
    if validation is None:
        return "skipped"
    return "passed" if validation.ok else "failed"


def _meta(batch: PatchBatch) -> dict[str, str | None]:
    return {
        "orderId": batch.order_id,
        "requester": batch.requester,
        "reason": batch.reason,
        "branch": batch.branch,
        "taskId": None if batch.task_id is None else str(batch.task_id),
    }


def _task(batch: PatchBatch, op_task: str | int | None) -> str | None:
    chosen = op_task if op_task is not None else batch.task_id
    return None if chosen is None else str(chosen)


def _events(
    kind: Literal["requested", "applied"],
    batch_id: str,
    batch: PatchBatch,
    plan: BatchPlan,
    outcome: ValidationOutcome,
) -> list[PatchRow]:
    ts = utc_now()
    return [
        PatchRow(
            ts,
            kind,
            batch_id,
            batch.order_id,
            _task(batch, o.op.task_id),
            batch.requester,
            batch.branch,
            batch.reason,
            change.path,
            o.op.op,
            o.index,
            o.lines_added,
            o.lines_removed,
            outcome,
            None,
        )
        for change in plan.files
        for o in change.ops
    ]


def _record_failure(
    ws: Workspace, settings: Settings, batch_id: str, batch: PatchBatch, exc: CheckFailed
) -> None:
    outcome: ValidationOutcome = "failed" if isinstance(exc, ValidationRejected) else "skipped"
    common = dict(
        batch_id=batch_id,
        order_id=batch.order_id,
        requester=batch.requester,
        branch=batch.branch,
        reason=batch.reason,
        validation=outcome,
    )
    events = [
        PatchEvent(
            kind=kind,
            file=op.file,
            op=op.op,
            op_index=i,
            task_id=_task(batch, op.task_id),
            error=exc.message if kind == "failed" else None,
            **common,
        )
        for kind in ("requested", "failed")
        for i, op in enumerate(batch.patches)
    ]
    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        record_patch_events(ledger, events)
    _notify(ws, settings, batch_id, [e for e in events if e.kind == "failed"])


def _notify(
    ws: Workspace, settings: Settings, batch_id: str, events: Sequence[PatchEvent | PatchRow]
) -> WebhookOutcome | None:
    if not settings.orchestrator_url or not events:
        return None
    payload = [e.to_event() if isinstance(e, PatchRow) else e for e in events]
    outcome = post_events(settings.orchestrator_url, batch_id, payload, settings.webhook)
    if not outcome.delivered:
        with Ledger.open(ws.ledger_path) as ledger:
            ledger.record(
                LedgerEvent(kind="webhook_failed", subject=batch_id, payload=outcome.model_dump())
            )
    return outcome


def _diff(plan: BatchPlan) -> str:
    return "".join(unified_diff(f.path, f.old, f.new) for f in plan.changed)


def _file_result(change: FileChange, *, added: int, removed: int) -> FileResult:
    return FileResult(
        path=change.path,
        action=change.action,
        lines_added=added,
        lines_removed=removed,
        old_sha256=change.old_sha,
        new_sha256=change.new_sha,
    )


def _result(
    batch_id: str,
    status: BatchStatus,
    plan: BatchPlan,
    *,
    diff: str | None = None,
    validation: ValidationResult | None = None,
    webhook: WebhookOutcome | None = None,
    recovered: list[str] | None = None,
) -> BatchResult:
    files = [_file_result(f, added=f.lines_added, removed=f.lines_removed) for f in plan.files]
    return BatchResult(
        batch_id=batch_id,
        status=status,
        ops=len(plan.batch.patches),
        files=files,
        diff=diff,
        validation=validation,
        webhook=webhook,
        recovered=recovered or [],
    )
