"""Reading the approval queue for the epic runner: a needs-model item's answers, an item's facts
and why it waits, the folder it belongs to, and the run summary's message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.approvals.models import ApprovalItem, AutoApprove, NeedsModelPayload, PatchBatchPayload
from engine.approvals.queue import list_items
from engine.epic.run_models import EpicSummary
from engine.epic.spec import FolderJob
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch


def live_proposals(ledger: Ledger, item_id: int) -> list[ApprovalItem]:
    """The crew's patch_batch proposals answering `item_id` that are still in play."""
    return [
        p
        for p in list_items(ledger, kind="patch_batch")
        if getattr(p.payload, "answers", None) == item_id
        and p.state in ("pending", "approved")
        and isinstance(p.payload, PatchBatchPayload)
        and p.payload.refused is None
    ]


def human_answer(item: ApprovalItem) -> PatchBatch | None:
    payload = item.payload
    if item.state == "approved" and isinstance(payload, NeedsModelPayload) and payload.answer:
        return payload.answer.batch
    return None


def answer_batches(item: ApprovalItem, live: list[ApprovalItem]) -> list[PatchBatch]:
    answer = human_answer(item)
    if answer is not None:
        return [answer]
    return [p.payload.batch for p in live if isinstance(p.payload, PatchBatchPayload)]


def item_facts(item: ApprovalItem) -> dict[str, Any]:
    decision = item.decision
    return {
        "id": item.id,
        "kind": item.kind,
        "state": item.state,
        "title": item.title,
        "requester": item.requester,
        "decided_by": None if decision is None else decision.by,
        "rule": None if decision is None else decision.rule,
    }


def why(item: ApprovalItem) -> str:
    payload = item.payload
    if isinstance(payload, NeedsModelPayload):
        w = payload.work_item
        return f"{w.file}:{w.start_line} needs a model or a human: {w.reason}"
    verdict = item.verdict
    if isinstance(verdict, AutoApprove):
        return (
            f"the policy would pass it ({verdict.rule}: {verdict.detail}), but the run "
            "leaves every decision to a human (--auto-approve none)"
        )
    reasons = getattr(verdict, "reasons", None) or []
    return "; ".join(f"{r.rule}: {r.detail}" for r in reasons[:3]) or item.title


def folder_of(item: ApprovalItem, jobs: Sequence[FolderJob]) -> str:
    step = item.step or ""
    if ":" in step:
        return step.split(":", 1)[1]
    payload = item.payload
    if isinstance(payload, NeedsModelPayload):
        for job in jobs:
            if payload.work_item.file.startswith(job.dest.rstrip("/") + "/"):
                return job.name
    return "-"


def message(summary: EpicSummary) -> str:
    applied = sum(1 for w in summary.folders.values() if w == "applied")
    parts = [f"{applied}/{len(summary.folders)} folders applied"]
    if summary.failed:
        parts.append(f"{len(summary.failed)} failed")
    if summary.waiting:
        approvals = sum(1 for w in summary.waiting if w.kind != "needs_model")
        needs = len(summary.waiting) - approvals
        parts.append(
            f"waiting for {len(summary.waiting)} approvals"
            + (f" ({needs} need a model or a human)" if needs else "")
            + f"; decide them, then `vibehq epic resume {summary.run_id}`"
        )
    return "; ".join(parts)
