"""The gate in front of the patch engine for agent and human batches:

    quarantine check -> quality monitor (added lines only) -> validators on a staging copy
      -> atomic apply -> specialist triggers

A critical violation quarantines the requester and nothing is applied.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from engine.errors import CheckFailed
from engine.ledger.store import Ledger
from engine.patch.apply import BatchResult, apply_batch
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.validate.quality import QualityReport, check_batch
from engine.validate.quarantine import ensure_active, record_check
from engine.validate.triggers import BatchFacts, PackageChange, QueueItem, evaluate
from engine.workspace import Workspace

UNKNOWN_AGENT = "unknown"


class QualityRejected(CheckFailed):
    def __init__(self, message: str, report: QualityReport) -> None:
        super().__init__(message)
        self.report = report


class GateResult(BaseModel):
    batch: BatchResult
    quality: QualityReport
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
) -> GateResult:
    agent = batch.requester or UNKNOWN_AGENT
    batch_label = batch.batch_id or "(new batch)"
    try:
        # Read-only; bad input (unsafe path, overlap) surfaces here before anything is written.
        report = check_batch(ws, batch, block_root=block_root)
    except CheckFailed:
        # A stale anchor or a conflict: let the patch engine refuse it, so the ledger records
        # the failed batch exactly as for any other.
        apply_batch(ws, batch, settings, dry_run=dry_run, block_root=block_root)
        raise
    if not dry_run:
        with Ledger.open(ws.ledger_path) as ledger:
            ensure_active(ledger, agent, batch.batch_id)
    critical = [v for v in report.violations if v.severity == "critical"]
    if not dry_run:
        first = critical[0] if critical else None
        reason = f"{first.kind} at {first.file}:{first.line}: {first.message}" if first else ""
        with Ledger.open(ws.ledger_path) as ledger:
            record_check(
                ledger,
                agent,
                batch_label,
                violations=len(report.violations),
                critical=len(critical),
                reason=reason,
            )
    if critical:
        verb = "would quarantine" if dry_run else "quarantined"
        raise QualityRejected(
            f"{len(critical)} critical quality violations ({critical[0].kind} at "
            f"{critical[0].file}:{critical[0].line}); {verb} agent {agent!r}; nothing was applied",
            report,
        )
    packages = _package_snapshots(ws, batch)
    result = apply_batch(
        ws,
        batch,
        settings,
        dry_run=dry_run,
        validator=validator,
        block_root=block_root,
        with_diff=with_diff,
    )
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
    return GateResult(batch=result, quality=report, queued=queued)


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
