"""An agent's PatchBatch on its way to the approval queue: every check before anything queues.

    parse -> requester forced to the agent -> paths (unsafe, outside the allowed files,
    blockFile) -> quarantine -> quality monitor (recorded: a critical violation quarantines
    the agent and nothing is queued) -> review on the agent's tree (validator on a staging
    copy) -> one patch_batch approval item -> applied at once only if the policy passed it
    and the context applies approvals.

Nothing here raises for what a model got wrong: the answer says why, in one line, so the
model can send a corrected batch. A refused path is recorded as a `proposal_refused` ledger
event naming the agent, with the gate's verdict (policy refuse, the reason, every step
skipped because the paths were refused first), and nothing is queued.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.approvals.apply import apply_approved
from engine.approvals.models import ApprovalRequest, AutoApprove
from engine.approvals.queue import submit
from engine.approvals.review import batch_title, review_batch
from engine.errors import BadInput, CheckFailed, UnsafePath
from engine.ledger.events import LedgerEvent
from engine.patch.apply import new_batch_id
from engine.patch.loader import parse_batch
from engine.patch.models import PatchBatch
from engine.validate.gate import verdict_event
from engine.validate.judge import GateContext, Step, judge, unjudged_verdict
from engine.validate.quarantine import AgentQuarantined
from tools.base import validation_line
from tools.context import ToolContext

REFUSED_EVENT = "proposal_refused"


class BatchProposal(BaseModel):
    ok: bool
    proposal: int | None = None
    state: str | None = None
    verdict: str | None = Field(None, description="auto:<rule>, or the rules that need a human")
    refused: str | None = None
    error: str | None = Field(None, description="the batch could not be read")
    quarantined: bool = False
    diff_lines: int = 0
    files: list[str] = Field(default_factory=list)
    applied: str | None = Field(None, description="the batch id, if it was applied at once")


def read_batch(data: str | Mapping[str, Any]) -> PatchBatch:
    """A PatchBatch from JSON text or an already-decoded object; BadInput in one line."""
    if isinstance(data, str):
        return parse_batch(data, source="batch")
    try:
        return PatchBatch.model_validate(dict(data))
    except ValidationError as exc:
        raise BadInput(f"batch: {validation_line(exc)}") from None


def propose_batch(
    ctx: ToolContext,
    data: str | Mapping[str, Any] | PatchBatch,
    *,
    signature: str | None = None,
    origins: Mapping[str, bytes] | None = None,
) -> BatchProposal:
    """`origins`: what the batch only carries over (a migrated STAGING file). Its findings are
    pre-existing: they quarantine nobody, and a secret among them puts the batch in front of a
    human (queued, refused with the reason) instead of being written."""
    try:
        batch = data if isinstance(data, PatchBatch) else read_batch(data)
    except BadInput as exc:
        if ctx.guard is not None:
            ctx.guard.bad_tool_call(f"unreadable batch: {exc.message}")
        return BatchProposal(ok=False, error=exc.message)
    batch = batch.model_copy(
        update={"requester": ctx.agent, "batch_id": batch.batch_id or new_batch_id()}
    )
    files = list(dict.fromkeys(op.file for op in batch.patches))
    refusals = _path_refusals(ctx, batch)
    if refusals:
        reason = refusals[0] + (f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else "")
        _record_refusal(ctx, batch, reason, files)
        if ctx.guard is not None:
            ctx.guard.bad_tool_call(f"refused: {reason}")
        return BatchProposal(ok=False, refused=f"{reason}; nothing was queued", files=files)
    try:
        refused = _judged(ctx, batch, origins or {})
    except AgentQuarantined as exc:
        return _quarantined(ctx, exc.message, files)
    if refused is not None:
        return _quarantined(ctx, refused, files)
    try:
        payload = review_batch(
            ctx.workspace, batch, ctx.settings, validator=ctx.validator, origins=origins
        )
    except BadInput as exc:
        return BatchProposal(ok=False, refused=f"{exc.message}; nothing was queued", files=files)
    payload = payload.model_copy(update={"answers": ctx.work_item})
    with ctx.ledger() as ledger:
        item = submit(
            ledger,
            ApprovalRequest(
                payload=payload,
                title=batch_title(payload.batch, payload),
                requester=ctx.agent,
                run_id=ctx.run_id,
                step=ctx.step,
                signature=signature or f"{ctx.agent.lower()}/{ctx.step}",
            ),
            ctx.settings.approvals,
        )
    ctx.proposals.append(item.id)
    verdict = item.verdict
    shown = (
        f"auto:{verdict.rule}"
        if isinstance(verdict, AutoApprove)
        else "human: " + ", ".join(verdict.rules)
    )
    ctx.emit("message", message=f"proposal {item.id} ({item.state}): {item.title}")
    out = BatchProposal(
        ok=payload.refused is None,
        proposal=item.id,
        state=item.state,
        verdict=shown,
        refused=payload.refused,
        diff_lines=payload.changed_lines,
        files=[f.path for f in payload.files] or files,
    )
    if item.state == "approved" and ctx.apply_approved:
        # The run chose its validator (or none, by --no-validate); the review above ran it.
        result = apply_approved(
            ctx.home,
            item.id,
            ctx.settings,
            validator=ctx.validator,
            skip=None if ctx.validator else {"validators": "(this run has no validator)"},
            accept_unvalidated=ctx.validator is None,
        )
        out.applied = result.batch.batch_id
    return out


def _quarantined(ctx: ToolContext, reason: str, files: list[str]) -> BatchProposal:
    # A quarantined agent can do nothing more in this run: stop it rather than let it retry.
    if ctx.guard is not None:
        ctx.guard.stop(reason)
    return BatchProposal(ok=False, refused=reason, quarantined=True, files=files)


def _path_refusals(ctx: ToolContext, batch: PatchBatch) -> list[str]:
    reasons: list[str] = []
    for index, op in enumerate(batch.patches):
        where = f"patches.{index}"
        if op.block_file is not None:
            reasons.append(f"{where}: blockFile reads from disk; put the text in 'block'")
            continue
        try:
            ctx.workspace.resolve(op.file)
        except UnsafePath as exc:
            reasons.append(f"{where}: {exc.message}")
            continue
        path = posixpath.normpath(op.file.replace("\\", "/"))
        if not ctx.in_scope(path):
            allowed = ", ".join(ctx.allowed_files or [])
            reasons.append(f"{where}: {op.file} is outside the allowed files ({allowed})")
    return reasons


# A batch refused for its paths is not judged: its paths cannot even be planned safely.
PATH_REFUSAL_SKIPS: dict[Step, str] = {
    step: "(refused for its paths before the gate ran)"
    for step in ("quarantine", "quality", "validators")
}


def _record_refusal(ctx: ToolContext, batch: PatchBatch, reason: str, files: list[str]) -> None:
    verdict = unjudged_verdict(
        batch.batch_id, ctx.agent, PATH_REFUSAL_SKIPS, policy="refuse", reason=reason
    )
    with ctx.ledger() as ledger:
        ledger.record(verdict_event(verdict))
        ledger.record(
            LedgerEvent(
                kind=REFUSED_EVENT,
                subject=f"agent:{ctx.agent}",
                payload={
                    "agent": ctx.agent,
                    "batch_id": batch.batch_id,
                    "reason": reason,
                    "files": files,
                    "run_id": ctx.run_id,
                    "step": ctx.step,
                    "answers": ctx.work_item,
                },
            )
        )
    ctx.emit("message", message=f"refused a batch from {ctx.agent}: {reason}")


def _judged(ctx: ToolContext, batch: PatchBatch, origins: Mapping[str, bytes]) -> str | None:
    """The gate's judgement for real (not a dry run): a critical violation the batch adds
    quarantines the agent. The refusal, or None when the batch may go on to review (a batch
    held for a human goes on too: the review refuses it with the reason, and it is queued)."""
    gate = GateContext(
        settings=ctx.settings,
        # The review that follows runs them on the same tree, once.
        skip={"validators": "(run by the review that follows)"},
        home=ctx.home,
        origins=origins,
    )
    try:
        verdict = judge(ctx.workspace, batch, gate)
    except AgentQuarantined:
        raise
    except CheckFailed:
        # A stale anchor or a conflict: the review records it as the gate's refusal.
        return None
    with ctx.ledger() as ledger:
        ledger.record(verdict_event(verdict))
    if verdict.policy != "refuse":
        return None
    ctx.emit("message", message=f"quarantined {ctx.agent}: {verdict.reason}")
    return (
        f"{verdict.reason}; agent {ctx.agent!r} is quarantined and nothing was queued; "
        "a human must release it"
    )


def batch_json_schema_hint() -> str:
    """One line a tool description can give so a model knows the batch's shape."""
    example = {
        "reason": "why",
        "patches": [
            {"op": "replace-block", "file": "apps/x/src/a.ts", "match": "old lines", "block": "new"}
        ],
    }
    return json.dumps(example)
