"""Plan changes in the ledger: who changed which tasks file how, replayable as task-master lines.

Each change is one generic ledger event (`kind="plan_change"`, subject the resolved path of the
tasks file), so the history of a plan survives the file and can be turned back into the
`npx task-master-ai` commands a team without vibehq would run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.plan.document import PlanError
from engine.plan.ops import PlanChange

__all__ = ["PLAN_CHANGE", "RecordedChange", "emit_commands", "plan_changes", "record_change"]

PLAN_CHANGE = "plan_change"


class RecordedChange(BaseModel):
    ts: str
    actor: str
    path: str
    change: PlanChange


def record_change(ledger: Ledger, change: PlanChange, *, actor: str, path: Path) -> None:
    payload: dict[str, object] = {"actor": actor, **change.model_dump(mode="json")}
    ledger.record(LedgerEvent(kind=PLAN_CHANGE, subject=_subject(path), payload=payload))


def plan_changes(ledger: Ledger, path: Path | None = None) -> list[RecordedChange]:
    """Every recorded change (to one tasks file, if given), oldest first."""
    subject = None if path is None else _subject(path)
    changes: list[RecordedChange] = []
    for event in ledger.events(kind=PLAN_CHANGE, subject=subject, limit=None):
        try:
            data = dict(event.payload)
            actor = data.pop("actor", "")
            change = PlanChange.model_validate(data)
        except (ValueError, ValidationError, AttributeError) as exc:
            raise PlanError(
                f"ledger event at {event.ts} is not a readable plan change: {exc}"
            ) from None
        changes.append(
            RecordedChange(ts=event.ts, actor=str(actor), path=event.subject or "", change=change)
        )
    return changes


def emit_commands(changes: Iterable[PlanChange | RecordedChange]) -> list[str]:
    """The task-master command lines of `changes`, in order."""
    commands: list[str] = []
    for item in changes:
        change = item.change if isinstance(item, RecordedChange) else item
        commands.extend(change.commands)
    return commands


def _subject(path: Path) -> str:
    # Resolved so a relative and an absolute spelling of one file share one history.
    return str(path.resolve())
