"""Which reviewer judges a human's edited batch before it is approved.

An answer to a needs-model item of an epic folder that is not applied yet is written against
files that exist only on the run's overlay, so it is reviewed there; every other edit is
reviewed against the workspace."""

from __future__ import annotations

from pathlib import Path

from engine.approvals.models import ApprovalItem
from engine.approvals.review import BatchReviewer, batch_reviewer
from engine.epic.runner import answer_reviewer
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.workspace import Workspace


def edit_reviewer(
    ws: Workspace,
    settings: Settings,
    item: ApprovalItem,
    *,
    validator: BatchValidator | None,
    block_root: Path | None,
) -> BatchReviewer:
    """The reviewer for an edit of `item`: on the epic's overlay, or on the workspace."""
    on_overlay = answer_reviewer(ws, settings, item, validator=validator, block_root=block_root)
    if on_overlay is not None:
        return on_overlay
    return batch_reviewer(ws, settings, validator=validator, block_root=block_root)
