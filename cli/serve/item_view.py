"""One approval item as the review page shows it: its diff side by side with the findings
pinned, the policy's reasons, a needs_model item's question, and the batch to start an edit
from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from markupsafe import Markup

from cli.serve.side_by_side import (
    FileView,
    Pin,
    highlight_lines,
    lexer_for,
    normalise,
    side_by_side,
)

if TYPE_CHECKING:
    from engine.approvals.models import ApprovalItem, PatchBatchPayload


@dataclass
class PolicyLine:
    rule: str
    detail: str


@dataclass
class BatchView:
    """A reviewed batch: its files side by side and what its review found."""

    files: list[FileView]
    other_pins: list[Pin]
    quality_count: int
    validation: str
    validation_ok: bool | None
    refused: str | None


@dataclass
class QuestionView:
    """A needs_model item: the site no recipe could do, and why."""

    reason: str
    where: str
    allowed_files: list[str]
    context: list[Markup]
    prompt: str | None


@dataclass
class ItemView:
    policy_auto: bool
    policy: list[PolicyLine]
    batch: BatchView | None = None
    answer_heading: str = ""
    question: QuestionView | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    editable: bool = False
    edit_template: str = ""
    approvable: bool = True


def item_view(item: ApprovalItem) -> ItemView:
    verdict = item.verdict
    if verdict.verdict == "auto":
        policy = [PolicyLine(verdict.rule, f"{verdict.detail} (confidence {verdict.confidence})")]
    else:
        policy = [PolicyLine(r.rule, r.detail) for r in verdict.reasons]
    view = ItemView(policy_auto=verdict.verdict == "auto", policy=policy)
    view.facts = item.facts()
    payload = item.payload
    if payload.kind == "patch_batch":
        view.batch = batch_view(payload)
        view.editable = True
        view.approvable = payload.refused is None
        view.edit_template = _batch_json(payload)
    elif payload.kind == "needs_model":
        work = payload.work_item
        view.question = QuestionView(
            reason=work.reason,
            where=f"{work.file}:{work.start_line}-{work.end_line}",
            allowed_files=list(payload.allowed_files),
            context=_context_lines(work.file, work.context),
            prompt=payload.prompt,
        )
        view.editable = True
        if payload.answer is not None:
            view.batch = batch_view(payload.answer)
            view.answer_heading = "the answer approved with it"
            view.edit_template = _batch_json(payload.answer)
        else:
            view.edit_template = json.dumps(
                {
                    "reason": f"answer to {work.id}",
                    "patches": [
                        {
                            "op": "replace-block",
                            "file": work.file,
                            "start": work.start_line,
                            "end": work.end_line,
                            "block": "",
                        }
                    ],
                },
                indent=2,
            )
    elif payload.kind == "plan_change":
        change = payload.change
        view.facts.append(("plan change", f"{change.op} {', '.join(change.ids)}: {change.summary}"))
        view.facts += [("command", command) for command in change.commands]
        if change.fields:
            view.facts.append(("fields", json.dumps(change.fields, indent=2, default=str)))
    else:
        view.facts.append(
            (
                "release agent",
                f"{payload.agent}, quarantined since {payload.quarantined_since or '?'}: "
                f"{payload.quarantine_reason or ''}",
            )
        )
    return view


def batch_view(payload: PatchBatchPayload) -> BatchView:
    pins: list[tuple[str, Pin]] = []
    for v in payload.quality.violations:
        pin = Pin("quality", v.severity, v.kind, f"{v.message}: {v.snippet}", v.line)
        pins.append((v.file, pin))
    validation = payload.validation
    findings = [] if validation is None else validation.findings
    floating: list[Pin] = []
    for f in findings:
        label = f.code or f.tool
        pin = Pin(f.tool, f.severity, label, f.message, f.line)
        if f.file is None:
            floating.append(pin)
        else:
            pins.append((f.file, pin))
    files = side_by_side(payload.diff, pins)
    shown = {view.path for view in files}
    floating += [pin for path, pin in pins if normalise(path) not in shown]
    if validation is None:
        summary, ok = "not run", None
    else:
        verdict = "passed" if validation.ok else "failed"
        summary = f"{validation.validator} {verdict}" + (
            f": {validation.summary}" if validation.summary else ""
        )
        ok = validation.ok
    return BatchView(
        files=files,
        other_pins=floating,
        quality_count=len(payload.quality.violations),
        validation=summary,
        validation_ok=ok,
        refused=payload.refused,
    )


def _batch_json(payload: PatchBatchPayload) -> str:
    data = payload.batch.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(data, indent=2)


def _context_lines(path: str, context: str) -> list[Markup]:
    return highlight_lines(lexer_for(path), context.rstrip("\n").split("\n"))
