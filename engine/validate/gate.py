"""The gate in front of the patch engine: the one path every write takes.

    judge (quarantine -> quality monitor on the added lines -> policy)
      -> atomic apply with the validators on a staging copy -> specialist triggers

A critical violation the batch adds quarantines the requester and nothing is applied; a
secret it only carries over is held for a human. The verdict is recorded in the ledger with
the write (`gate_verdict`, subject the batch id), or with the refusal. A rollback is a write
too: `gated_rollback` records its verdict, naming the steps a restore of recorded bytes skips.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from engine.errors import CheckFailed
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.patch.apply import (
    BatchResult,
    ValidationRejected,
    apply_batch,
    new_batch_id,
    rollback_batch,
)
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator, ValidationResult
from engine.settings import Settings
from engine.validate.judge import (
    GATE_EVENT,
    UNKNOWN_AGENT,
    GateContext,
    Step,
    Verdict,
    judge,
    unjudged_verdict,
    with_validation,
)
from engine.validate.quality import QualityReport
from engine.validate.quarantine import AgentQuarantined
from engine.validate.triggers import BatchFacts, PackageChange, QueueItem, evaluate
from engine.workspace import Workspace


class QualityRejected(CheckFailed):
    def __init__(self, message: str, report: QualityReport, verdict: Verdict | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.verdict = verdict


class HeldForHuman(CheckFailed):
    """The batch carries over something (a secret) a human must look at before it is written."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class GateResult(BaseModel):
    batch: BatchResult
    quality: QualityReport
    verdict: Verdict
    queued: list[QueueItem] = Field(default_factory=list)


def gated_apply(
    ws: Workspace,
    batch: PatchBatch,
    settings: Settings,
    *,
    validator: BatchValidator | None = None,
    block_root: Path | None = None,
    dry_run: bool = False,
    with_diff: bool = False,
    skip: Mapping[Step, str] | None = None,
    origins: Mapping[str, bytes] | None = None,
) -> GateResult:
    """Judge `batch`, then apply it all or nothing. Raises QualityRejected, HeldForHuman or
    the patch engine's CheckFailed (conflict, validation) with nothing written."""
    if batch.batch_id is None and not dry_run:
        # The verdict event names the batch it judged, so the batch needs its id first.
        batch = batch.model_copy(update={"batch_id": new_batch_id()})
    ctx = GateContext(
        settings=settings,
        validator=validator,
        skip=dict(skip or {}),
        block_root=block_root,
        dry_run=dry_run,
        origins=origins or {},
    )
    try:
        verdict = judge(ws, batch, ctx)
    except AgentQuarantined:
        raise
    except CheckFailed:
        # A stale anchor or a conflict: let the patch engine refuse it, so the ledger records
        # the failed batch exactly as for any other.
        apply_batch(ws, batch, settings, dry_run=dry_run, block_root=block_root)
        raise
    if verdict.policy == "refuse":
        _record(ws, verdict, dry_run)
        verb = "would quarantine" if dry_run else "quarantined"
        raise QualityRejected(
            f"{verdict.reason}; {verb} agent {verdict.agent!r}; nothing was applied",
            verdict.quality,
            verdict,
        )
    if verdict.policy == "hold":
        _record(ws, verdict, dry_run)
        raise HeldForHuman(f"{verdict.reason}; nothing was applied", verdict)
    packages = _package_snapshots(ws, batch)

    def event(validation: ValidationResult | None) -> LedgerEvent:
        return verdict_event(with_validation(verdict, validation))

    try:
        result = apply_batch(
            ws,
            batch,
            settings,
            dry_run=dry_run,
            validator=validator if "validators" not in ctx.skip else None,
            block_root=block_root,
            with_diff=with_diff,
            gate_event=event,
        )
    except ValidationRejected as exc:
        _record(ws, with_validation(verdict, exc.result), dry_run)
        raise
    verdict = with_validation(verdict, result.validation)
    queued: list[QueueItem] = []
    if result.status == "applied":
        facts = BatchFacts(
            batch_id=result.batch_id,
            task_id=None if batch.task_id is None else str(batch.task_id),
            lines_added=result.lines_added,
            lint_errors_introduced=_lint_errors(result),
            packages=[PackageChange(rel, old, _read(ws.root / rel)) for rel, old in packages],
        )
        with Ledger.open(ws.ledger_path) as ledger:
            queued = evaluate(ledger, facts, settings.triggers)
    return GateResult(batch=result, quality=verdict.quality, verdict=verdict, queued=queued)


# Why a rollback runs no step: it writes back bytes the journal recorded before a batch that
# was itself judged, and refusing it would leave that batch's change in place.
ROLLBACK_SKIPS: dict[Step, str] = {
    "quarantine": "(a rollback undoes a change; it makes none of its own)",
    "quality": "(a rollback restores recorded bytes)",
    "validators": "(a rollback restores recorded bytes)",
}


def gated_rollback(
    ws: Workspace, batch_id: str, settings: Settings, *, by: str | None = None
) -> BatchResult:
    """Roll `batch_id` back byte for byte, and record the verdict of that write: every step
    skipped with its reason, subject the rollback's own batch id."""
    result = rollback_batch(ws, batch_id, settings)
    verdict = unjudged_verdict(result.batch_id, by or UNKNOWN_AGENT, ROLLBACK_SKIPS)
    event = verdict_event(verdict)
    event = event.model_copy(update={"payload": {**event.payload, "rolls_back": batch_id}})
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(event)
    return result


def verdict_event(verdict: Verdict) -> LedgerEvent:
    return LedgerEvent(kind=GATE_EVENT, subject=verdict.batch_id, payload=verdict.event_payload())


def _record(ws: Workspace, verdict: Verdict, dry_run: bool) -> None:
    if dry_run:
        return
    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(verdict_event(verdict))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _package_snapshots(ws: Workspace, batch: PatchBatch) -> list[tuple[str, bytes | None]]:
    names = sorted({op.file for op in batch.patches if Path(op.file).name == "package.json"})
    return [(ws.relative(ws.resolve(name)), _read(ws.resolve(name))) for name in names]


def _lint_errors(result: BatchResult) -> int:
    if result.validation is None:
        return 0
    return sum(
        1 for f in result.validation.findings if f.tool == "eslint" and f.severity == "error"
    )
