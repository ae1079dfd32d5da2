"""What the review page asks of the approval queue: the same engine calls as the CLI.

Listing, approving, approving an edited batch (re-checked by the reviewer `approvals approve
--edit` uses) and rejecting go through `engine.approvals.queue`, so one decision wins between
the page, the CLI and any other reviewer, and the ledger records who decided. The ledger is
opened per call: every request sees what other processes decided in the meantime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cli.context import chosen_validator

if TYPE_CHECKING:
    from engine.approvals.models import ApprovalItem
    from engine.settings import Settings
    from engine.workspace import Workspace


@dataclass(frozen=True)
class ItemFilter:
    state: str | None = "pending"
    kind: str | None = None
    text: str = ""

    def keeps(self, item: ApprovalItem) -> bool:
        needle = self.text.strip().lower()
        return not needle or any(needle in hay.lower() for hay in searchable(item))


def searchable(item: ApprovalItem) -> list[str]:
    """The texts a folder or text filter looks in: title, people, run, and every path."""
    texts = [item.title, item.requester or "", item.run_id or "", item.signature or ""]
    payload = item.payload
    if payload.kind == "patch_batch":
        texts += [f.path for f in payload.files]
        texts += [op.file for op in payload.batch.patches]
    elif payload.kind == "needs_model":
        work = payload.work_item
        texts += [work.folder, work.file, work.reason, *payload.allowed_files]
    elif payload.kind == "plan_change":
        texts += [payload.change.summary, *payload.change.ids]
    else:
        texts.append(payload.agent)
    return texts


@dataclass(frozen=True)
class ReviewDesk:
    ws: Workspace
    settings: Settings
    validate: bool | None = None

    def items(self, wanted: ItemFilter) -> list[ApprovalItem]:
        from engine.approvals.queue import list_items
        from engine.ledger.store import Ledger

        with Ledger.open(self.ws.ledger_path) as ledger:
            found = list_items(ledger, state=wanted.state, kind=wanted.kind)
        return [item for item in found if wanted.keeps(item)]

    def item(self, item_id: int) -> ApprovalItem:
        from engine.approvals.queue import get_item
        from engine.ledger.store import Ledger

        with Ledger.open(self.ws.ledger_path) as ledger:
            return get_item(ledger, item_id)

    def approve(self, item_id: int, *, by: str, reason: str) -> ApprovalItem:
        from engine.approvals.queue import approve
        from engine.ledger.store import Ledger

        with Ledger.open(self.ws.ledger_path) as ledger:
            return approve(ledger, item_id, by=by, reason=reason)

    def approve_edit(self, item_id: int, *, by: str, reason: str, batch_json: str) -> ApprovalItem:
        """Approve `batch_json` instead of the item's batch (for a needs_model item: as its
        answer), after the gate's checks, exactly as `approvals approve --edit FILE` does."""
        from engine.approvals.queue import AlreadyDecided, approve
        from engine.epic.edit_review import edit_reviewer
        from engine.ledger.store import Ledger
        from engine.patch.loader import parse_batch

        edited = parse_batch(batch_json, source="the edited batch")
        current = self.item(item_id)
        if current.state != "pending":
            raise AlreadyDecided(current)
        review = edit_reviewer(
            self.ws,
            self.settings,
            current,
            validator=chosen_validator(self.ws, self.settings, self.validate),
            block_root=None,
        )
        with Ledger.open(self.ws.ledger_path) as ledger:
            return approve(ledger, item_id, by=by, reason=reason, edit=edited, review=review)

    def reject(self, item_id: int, *, by: str, reason: str) -> ApprovalItem:
        from engine.approvals.queue import reject
        from engine.ledger.store import Ledger

        with Ledger.open(self.ws.ledger_path) as ledger:
            return reject(ledger, item_id, by=by, reason=reason)
