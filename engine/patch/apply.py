"""Apply and roll back batches: plan -> validate on a staging copy -> lock -> re-check -> commit.

The workspace lock is held only for the re-check and the commit, so validation (seconds of
tsc) never blocks other writers; a file that changed meanwhile is caught by its hash.

The journal is the truth about files, the ledger follows it: a commit's ledger rows travel in
its journal record, and are written after the commit, by the committing process or, if that
one was killed, by the next command's recovery. Writing them checks first what the ledger
already holds for this attempt, so a row is never written twice.
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
from engine.ledger.store import Ledger, canonical_ts
from engine.patch.diff import unified_diff
from engine.patch.journal import Journal, JournalRecord
from engine.patch.lock import workspace_lock
from engine.patch.models import PatchBatch
from engine.patch.patch_events import patch_events, record_patch_events, record_patch_rows
from engine.patch.plan import BatchPlan, FileChange, plan_batch, sha256
from engine.patch.staging import staging_copy
from engine.patch.validation import BatchValidator, ValidationResult
from engine.patch.webhook import WebhookOutcome, post_events
from engine.settings import Settings
from engine.workspace import Workspace

BatchStatus = Literal["applied", "already-applied", "dry-run", "unchanged", "rolled-back"]
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
        with workspace_lock(ws, settings.patch.lock_timeout_s):
            recovered = _recover(ws, journal)
            done = _standing(journal, batch_id)
        if done is not None:
            return _already_applied(done, recovered)
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
        done = _standing(journal, batch_id)
        if done is not None:
            return _already_applied(done, recovered)
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
        applied = _events("applied", batch_id, batch, plan, outcome)
        record = journal.commit(
            batch_id,
            plan.changed,
            meta=_meta(batch),
            ledger_rows=_events("requested", batch_id, batch, plan, outcome) + applied,
            ledger_events=[] if gate_event is None else [gate_event(validation)],
        )
        with Ledger.open(ws.ledger_path) as ledger:
            _settle(ledger, journal, record)
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


def _standing(journal: Journal, batch_id: str) -> JournalRecord | None:
    """The committed record of `batch_id`, None when the id is free to (re)apply; an id that
    was applied and rolled back is refused, so a rollback is never silently undone."""
    record = journal.find(batch_id)
    if record is None or record.reusable:
        return None
    if record.state == "committed":
        return record
    by = f" by {record.rolled_back_by}" if record.rolled_back_by else ""
    raise BadInput(
        f"batch {batch_id!r} was {record.state.replace('_', ' ')}{by}; "
        "apply it under a new batch id"
    )


def _already_applied(record: JournalRecord, recovered: list[str]) -> BatchResult:
    files = [
        FileResult(
            path=f.path,
            action="created"
            if f.old_sha is None
            else "deleted"
            if f.new_sha is None
            else "modified",
            lines_added=f.lines_added,
            lines_removed=f.lines_removed,
            old_sha256=f.old_sha,
            new_sha256=f.new_sha,
        )
        for f in record.files
    ]
    ops = sum(1 for r in record.ledger_rows if r.kind == "applied") or len(files)
    return BatchResult(
        batch_id=record.batch_id,
        status="already-applied",
        ops=ops,
        files=files,
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
        events = [
            PatchRow(
                utc_now(),
                "rolled_back",
                batch_id,
                record.meta.get("orderId"),
                record.meta.get("taskId"),
                record.meta.get("requester"),
                record.meta.get("branch"),
                f"rolled back by {rollback_id}",
                f.path,
                "rollback",
                None,
                f.lines_removed,
                f.lines_added,
                "skipped",
                None,
            )
            for f in record.files
        ]
        undo = journal.commit(
            rollback_id,
            changes,
            meta=record.meta,
            kind="rollback",
            rolls_back=batch_id,
            ledger_rows=events,
        )
        with Ledger.open(ws.ledger_path) as ledger:
            _settle(ledger, journal, undo)
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
    """Finish what a crash interrupted (files first, then the ledger); the ids whose files
    were put back to their old bytes."""
    records = journal.recover()
    if not records:
        return []
    with Ledger.open(ws.ledger_path) as ledger:
        for record in records:
            _settle(ledger, journal, record)
    return [r.batch_id for r in records if r.state == "aborted"]


def _settle(ledger: Ledger, journal: Journal, record: JournalRecord) -> None:
    """Bring the ledger (and, for a rollback, the batch it undoes) in step with `record`,
    then release its pending marker. Safe to run again after a kill at any line."""
    since = canonical_ts(record.created)
    # A rollback's rows belong to the batch it undoes.
    rows_of = record.rolls_back if record.kind == "rollback" and record.rolls_back else None
    seen = {e.kind for e in patch_events(ledger, rows_of or record.batch_id) if e.ts >= since}
    if record.state == "committed":
        if record.kind == "rollback" and record.rolls_back is not None:
            undone = journal.find(record.rolls_back)
            if undone is not None and undone.state == "committed":
                journal.remove_created_dirs(undone)
                journal.mark_rolled_back(undone, record.batch_id)
        if not seen:
            now = utc_now()
            record_patch_rows(ledger, [r._replace(ts=now) for r in record.ledger_rows])
        for event in record.ledger_events:
            if not _recorded_since(ledger, event.kind, event.subject, since):
                ledger.record(event)
    elif record.state == "aborted":
        if record.kind == "apply" and "failed" not in seen:
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
        if not _recorded_since(ledger, "patch_recovered", record.batch_id, since):
            ledger.record(
                LedgerEvent(
                    kind="patch_recovered",
                    subject=record.batch_id,
                    payload={"state": record.state, "note": record.note},
                )
            )
    journal.settle(record)


def _recorded_since(ledger: Ledger, kind: str, subject: str | None, since: str) -> bool:
    return any(e.ts >= since for e in ledger.events(kind=kind, subject=subject, limit=50))


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
    while journal.exists(candidate) and not _reusable(journal, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _action(old_sha: str | None, new_sha: str | None) -> str:
    if old_sha is None:
        return "created"
    return "deleted" if new_sha is None else "modified"


def _reusable(journal: Journal, batch_id: str) -> bool:
    record = journal.find(batch_id)
    return record is None or record.reusable


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
