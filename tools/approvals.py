"""Approval tools: what waits for a decision and why. Agents read the queue; deciding is a
human's (or the policy's) call, so no tool approves or rejects."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.approvals.models import ApprovalItem, AutoApprove
from engine.approvals.queue import get_item, list_items
from tools.base import ToolArgs, VibehqTool, clip, listing

ItemState = Literal["pending", "approved", "rejected", "expired"]
ItemKind = Literal["patch_batch", "needs_model", "plan_change", "quarantine_release"]
LIST_CAP = 30
DIFF_LINES = 120


def item_summary(item: ApprovalItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "state": item.state,
        "title": clip(item.title, 200),
    }
    if item.requester:
        out["requester"] = item.requester
    if item.run_id:
        out["run_id"] = item.run_id
    decision = item.decision
    if decision is not None:
        out["decided_by"] = f"rule {decision.rule}" if decision.auto else decision.by
    elif not isinstance(item.verdict, AutoApprove):
        out["needs_human_because"] = item.verdict.rules
    return out


class ListArgs(ToolArgs):
    state: ItemState | None = Field("pending", description="default: pending items only")
    kind: ItemKind | None = None
    run_id: str | None = None
    limit: int = Field(LIST_CAP, ge=1, le=200)


class ApprovalsListTool(VibehqTool):
    name: str = "approvals_list"
    description: str = (
        "List approval items (pending by default): id, kind, state, title, requester, and why "
        "each pending one needs a human."
    )
    args_schema: type[ToolArgs] = ListArgs

    def invoke(self, args: ListArgs) -> dict[str, Any]:
        with self.ctx.ledger() as ledger:
            items = list_items(ledger, state=args.state, kind=args.kind, run_id=args.run_id)
        return listing("items", [item_summary(i) for i in items], args.limit)


class ShowArgs(ToolArgs):
    id: int = Field(description="approval item id")


class ApprovalShowTool(VibehqTool):
    name: str = "approval_show"
    description: str = (
        "Show one approval item: its verdict and decision, and for a batch its files, quality "
        "findings and diff (capped); for a plan change its summary and task-master commands."
    )
    args_schema: type[ToolArgs] = ShowArgs

    def invoke(self, args: ShowArgs) -> dict[str, Any]:
        with self.ctx.ledger() as ledger:
            item = get_item(ledger, args.id)
        out = item_summary(item)
        verdict = item.verdict
        out["verdict"] = (
            {"auto": verdict.rule, "detail": verdict.detail}
            if isinstance(verdict, AutoApprove)
            else [{"rule": r.rule, "detail": clip(r.detail, 300)} for r in verdict.reasons]
        )
        if item.decision is not None and item.decision.reason:
            out["decision_reason"] = clip(item.decision.reason, 300)
        payload = item.payload
        if payload.kind == "patch_batch":
            diff = payload.diff.splitlines()
            out.update(
                files=[
                    {"path": f.path, "action": f.action, "+": f.lines_added, "-": f.lines_removed}
                    for f in payload.files
                ],
                refused=payload.refused,
                violations=[
                    f"{v.file}:{v.line} {v.kind} ({v.severity})" for v in payload.quality.violations
                ][:10],
                validation=None if payload.validation is None else payload.validation.summary,
                answers=payload.answers,
                diff="\n".join(diff[:DIFF_LINES]),
            )
            if len(diff) > DIFF_LINES:
                out["diff_left_out_lines"] = len(diff) - DIFF_LINES
        elif payload.kind == "needs_model":
            work = payload.work_item
            out.update(
                work_item=work.id,
                file=work.file,
                lines=f"{work.start_line}-{work.end_line}",
                reason=work.reason,
                allowed_files=payload.allowed_files,
                answered=payload.answer is not None,
            )
        elif payload.kind == "plan_change":
            change = payload.change
            out.update(
                op=change.op, ids=change.ids, summary=change.summary, commands=change.commands
            )
        else:
            out.update(agent=payload.agent, quarantine_reason=payload.quarantine_reason)
        return out


APPROVAL_TOOLS: tuple[type[VibehqTool], ...] = (ApprovalsListTool, ApprovalShowTool)
