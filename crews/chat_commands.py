"""What a human decides from the chat prompt (`/pending`, `/approve`, `/reject`): plain engine
calls, with no model and no CrewAI import, so a chat without a model still serves them."""

from __future__ import annotations

from engine.approvals.models import ApprovalItem
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.workspace import Workspace

__all__ = ["decide", "pending_items"]


def pending_items(ws: Workspace) -> list[ApprovalItem]:
    from engine.approvals.queue import list_items
    from engine.ledger.store import Ledger

    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        return list_items(ledger, state="pending")


def decide(
    ws: Workspace,
    settings: Settings,
    item_id: int,
    *,
    approve: bool,
    by: str,
    reason: str = "",
    validator: BatchValidator | None = None,
) -> str:
    """A human's decision from the chat prompt, carried out at once when it can be: an
    approved batch is applied through the gate, an approved plan change is applied to
    tasks.json, an approved release releases the agent. One line saying what happened."""
    from engine.approvals.apply import apply_approved
    from engine.approvals.queue import approve as approve_item
    from engine.approvals.queue import reject
    from engine.ledger.store import Ledger
    from engine.validate.quarantine import release
    from tools.plan_proposals import apply_plan_item

    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        if not approve:
            item = reject(ledger, item_id, by=by, reason=reason)
            return f"rejected item {item.id}: {item.title}"
        item = approve_item(ledger, item_id, by=by, reason=reason)
        if item.payload.kind == "quarantine_release":
            release(ledger, item.payload.agent, reason=reason or item.title, actor=by)
            return f"approved item {item.id}: agent {item.payload.agent} released"
    if item.payload.kind == "patch_batch":
        # A chat session without a validator was started so on purpose (--no-validate or
        # `[patch] validate = false`): the approver's /approve accepts that, and the verdict
        # names it.
        result = apply_approved(
            ws,
            item.id,
            settings,
            validator=validator,
            skip=None if validator else {"validators": "(chat session without a validator)"},
            accept_unvalidated=validator is None,
        )
        files = ", ".join(f.path for f in result.batch.files)
        return f"approved and applied item {item.id} as batch {result.batch.batch_id}: {files}"
    if item.payload.kind == "plan_change":
        change = apply_plan_item(ws, settings, item.id)
        return f"approved and applied item {item.id}: {change.summary}"
    return f"approved item {item.id}: {item.title}"
