"""The one judgement every write asks for before the atomic apply:

    quarantine check -> quality monitor (added lines) -> validators (staging copy) -> policy

`judge` runs the steps that come before the write and returns a `Verdict`; the validators run
inside `apply_batch` on its staging copy (the copy the lock re-check relies on), and the
verdict is completed with their result. A step a caller leaves out is named in `skip` with
the reason, so the verdict, and the ledger event of the write, say so.

What a batch only carries over (a migrated STAGING file) is given as `origins`: a finding
that was already there is reported as pre-existing and does not quarantine the agent moving
it. A pre-existing secret still stops the batch for a human: nothing the gate writes may
publish one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.patch.validation import BatchValidator, ValidationResult
from engine.settings import Settings
from engine.validate.quality import QualityReport, Violation, check_batch, is_judged, scan_text
from engine.validate.quarantine import ensure_active, record_check
from engine.workspace import Workspace

UNKNOWN_AGENT = "unknown"
GATE_EVENT = "gate_verdict"

Step = Literal["quarantine", "quality", "validators", "policy"]
StepStatus = Literal["passed", "failed", "skipped", "pending"]
Policy = Literal["apply", "refuse", "hold"]
STEPS: tuple[Step, ...] = ("quarantine", "quality", "validators", "policy")
# Pre-existing findings of these kinds stop the batch for a human instead of being reported.
HELD_KINDS = frozenset({"SECURITY_RISK"})


class StepResult(BaseModel):
    step: Step
    status: StepStatus
    detail: str = ""

    def label(self) -> str:
        return f"{self.step}: {self.status}" + (f" {self.detail}" if self.detail else "")


class Verdict(BaseModel):
    batch_id: str | None
    agent: str
    steps: list[StepResult]
    quality: QualityReport = Field(description="findings the batch itself adds")
    preexisting: QualityReport = Field(
        default_factory=QualityReport, description="findings it only carries over"
    )
    validation: ValidationResult | None = None
    policy: Policy
    reason: str = ""
    summary: str

    def step(self, name: Step) -> StepResult:
        return next(s for s in self.steps if s.step == name)

    def skipped(self) -> dict[str, str]:
        return {s.step: s.detail for s in self.steps if s.status == "skipped"}

    def event_payload(self) -> dict[str, object]:
        """What the ledger event of the write keeps: enough to say why, not every finding."""
        return {
            "policy": self.policy,
            "summary": self.summary,
            "reason": self.reason,
            "agent": self.agent,
            "steps": {s.step: s.status + (f" {s.detail}" if s.detail else "") for s in self.steps},
            "quality": self.quality.counts,
            "preexisting": self.preexisting.counts,
            "validation": None if self.validation is None else self.validation.summary,
        }


@dataclass
class GateContext:
    """How one write path asks the gate. `skip` maps a step to why it is left out."""

    settings: Settings
    validator: BatchValidator | None = None
    skip: dict[Step, str] = field(default_factory=dict)
    block_root: Path | None = None
    dry_run: bool = False
    origins: Mapping[str, bytes] = field(default_factory=dict)
    # Where the ledger lives when `ws` is an overlay of it (an agent's tree in an epic).
    home: Workspace | None = None

    def __post_init__(self) -> None:
        if self.validator is None and "validators" not in self.skip:
            self.skip["validators"] = "(no validator was given)"


def judge(ws: Workspace, batch: PatchBatch, ctx: GateContext) -> Verdict:
    """Every step before the write. Bad input (an unsafe path, a stale anchor) raises from
    planning, before anything is recorded; a dry run records nothing and quarantines nobody."""
    agent = batch.requester or UNKNOWN_AGENT
    home = ctx.home or ws
    steps: list[StepResult] = []
    # Planning comes first: bad input raises before the ledger is opened or anyone recorded.
    added, preexisting = QualityReport(), QualityReport()
    quality: StepResult | None = None
    if "quality" in ctx.skip:
        quality = StepResult(step="quality", status="skipped", detail=ctx.skip["quality"])
    else:
        report = check_batch(ws, batch, block_root=ctx.block_root)
        added, preexisting = split_preexisting(report, ctx.origins)
        quality = _quality_step(added, preexisting)
    if "quarantine" in ctx.skip:
        steps.append(StepResult(step="quarantine", status="skipped", detail=ctx.skip["quarantine"]))
    elif ctx.dry_run:
        steps.append(StepResult(step="quarantine", status="skipped", detail="by --dry-run"))
    else:
        with Ledger.open(home.ledger_path) as ledger:
            ensure_active(ledger, agent, batch.batch_id)
        steps.append(StepResult(step="quarantine", status="passed"))
    steps.append(quality)
    if "validators" in ctx.skip:
        steps.append(StepResult(step="validators", status="skipped", detail=ctx.skip["validators"]))
    else:
        steps.append(StepResult(step="validators", status="pending"))
    policy, reason = _policy(agent, added, preexisting)
    if not ctx.dry_run and "quality" not in ctx.skip:
        _record_check(home, agent, batch.batch_id or "(new batch)", added)
    steps.append(StepResult(step="policy", status="passed" if policy == "apply" else "failed"))
    verdict = Verdict(
        batch_id=batch.batch_id,
        agent=agent,
        steps=steps,
        quality=added,
        preexisting=preexisting,
        policy=policy,
        reason=reason,
        summary="",
    )
    return verdict.model_copy(update={"summary": _summary(verdict)})


def with_validation(verdict: Verdict, validation: ValidationResult | None) -> Verdict:
    """The verdict completed with what the validators said on the staging copy."""
    steps = []
    for s in verdict.steps:
        if s.step == "validators" and s.status == "pending":
            if validation is None:
                s = StepResult(step="validators", status="skipped", detail="nothing changed")
            else:
                status: StepStatus = "passed" if validation.ok else "failed"
                s = StepResult(step="validators", status=status, detail=validation.summary)
        steps.append(s)
    policy, reason = verdict.policy, verdict.reason
    if validation is not None and not validation.ok and policy == "apply":
        policy, reason = "refuse", f"validation failed ({validation.summary})"
    if policy != "apply":
        steps = [
            StepResult(step="policy", status="failed") if s.step == "policy" else s for s in steps
        ]
    done = verdict.model_copy(
        update={"steps": steps, "validation": validation, "policy": policy, "reason": reason}
    )
    return done.model_copy(update={"summary": _summary(done)})


def unjudged_verdict(
    batch_id: str | None,
    agent: str,
    skip: Mapping[Step, str],
    *,
    policy: Policy = "apply",
    reason: str = "",
) -> Verdict:
    """The verdict of a write whose steps do not run, each named in `skip` with why: a
    rollback (it restores recorded bytes), or a batch refused for its paths before judging."""
    steps = [
        StepResult(step=s, status="skipped", detail=skip.get(s, "")) for s in STEPS if s != "policy"
    ]
    steps.append(StepResult(step="policy", status="passed" if policy == "apply" else "failed"))
    verdict = Verdict(
        batch_id=batch_id,
        agent=agent,
        steps=steps,
        quality=QualityReport(),
        policy=policy,
        reason=reason,
        summary="",
    )
    return verdict.model_copy(update={"summary": _summary(verdict)})


def split_preexisting(
    report: QualityReport, origins: Mapping[str, bytes]
) -> tuple[QualityReport, QualityReport]:
    """Split a batch's findings into those it adds and those its `origins` already held.
    A finding is matched by file, kind and line text: a rewritten import moves lines, it
    does not change the line a finding is on."""
    if not origins:
        return report, QualityReport()
    known: dict[str, set[tuple[str, str]]] = {}
    for path, content in origins.items():
        if is_judged(path):
            found = scan_text(content.decode("utf-8", "replace"), path)
            known[path] = {(v.kind, v.snippet) for v in found}
    added: list[Violation] = []
    carried: list[Violation] = []
    for v in report.violations:
        (carried if (v.kind, v.snippet) in known.get(v.file, set()) else added).append(v)
    return (
        QualityReport(
            violations=added, files_checked=report.files_checked, lines_judged=report.lines_judged
        ),
        QualityReport(violations=carried, files_checked=len(known)),
    )


def _quality_step(added: QualityReport, preexisting: QualityReport) -> StepResult:
    parts = []
    if added.violations:
        parts.append(f"{len(added.violations)} added ({_critical_count(added)} critical)")
    if preexisting.violations:
        parts.append(f"{len(preexisting.violations)} pre-existing")
    status: StepStatus = "failed" if added.critical or _held(preexisting) else "passed"
    return StepResult(step="quality", status=status, detail=", ".join(parts))


def _policy(agent: str, added: QualityReport, preexisting: QualityReport) -> tuple[Policy, str]:
    if added.critical:
        first = _first_critical(added)
        return "refuse", (
            f"{_critical_count(added)} critical quality violations ({first.kind} at "
            f"{first.file}:{first.line}: {first.message})"
        )
    held = _held(preexisting)
    if held:
        first = held[0]
        return "hold", (
            f"{first.kind} already in the source at {first.file}:{first.line} "
            f"({first.message}); a human must clear it before it is written"
        )
    return "apply", ""


def _held(report: QualityReport) -> list[Violation]:
    return [v for v in report.violations if v.kind in HELD_KINDS]


def _critical_count(report: QualityReport) -> int:
    return sum(1 for v in report.violations if v.severity == "critical")


def _first_critical(report: QualityReport) -> Violation:
    return next(v for v in report.violations if v.severity == "critical")


def _record_check(ws: Workspace, agent: str, batch_label: str, added: QualityReport) -> None:
    # Only what the agent added counts against it: carrying STAGING over is not its doing.
    critical = _critical_count(added)
    first = _first_critical(added) if critical else None
    reason = f"{first.kind} at {first.file}:{first.line}: {first.message}" if first else ""
    with Ledger.open(ws.ledger_path) as ledger:
        record_check(
            ledger,
            agent,
            batch_label,
            violations=len(added.violations),
            critical=critical,
            reason=reason,
        )


def _summary(verdict: Verdict) -> str:
    head = {"apply": "passed", "refuse": "refused", "hold": "held for a human"}[verdict.policy]
    skipped = [f"{s.step} {s.detail}".strip() for s in verdict.steps if s.status == "skipped"]
    text = head + (f": {verdict.reason}" if verdict.reason else "")
    if verdict.preexisting.violations and verdict.policy == "apply":
        text += f"; {len(verdict.preexisting.violations)} pre-existing findings reported"
    if skipped:
        text += "; " + "; ".join(skipped)
    return text


def choose_validator(
    ws: Workspace, settings: Settings, flag: bool | None
) -> tuple[BatchValidator | None, dict[Step, str]]:
    """The validator a write uses, and the skip to record when there is none. Validation is
    on wherever the workspace has its tsconfig; only `--no-validate` or `[patch] validate =
    false` turns it off, and the verdict says which."""
    from engine.validate.run import make_batch_validator

    if flag is False:
        return None, {"validators": "by --no-validate"}
    if flag is None and settings.patch.validate_batches is False:
        return None, {"validators": "by [patch] validate = false"}
    if flag is None and not (ws.root / settings.patch.tsconfig).is_file():
        return None, {"validators": f"(no {settings.patch.tsconfig} in the workspace)"}
    return make_batch_validator(ws, settings), {}
