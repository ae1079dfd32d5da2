"""The approval queue, stored in the ledger's `approvals` table.

Every change of state happens in one `BEGIN IMMEDIATE` transaction together with its ledger
event (`approval_submitted`, `approval_decided`), so the table and the event log never
disagree. A decision is a conditional `UPDATE ... WHERE state = 'pending'`: when two
approvers, in two processes, decide the same item at once, exactly one wins and the other gets
`AlreadyDecided` naming the winner.

Expiry is lazy: reading or deciding an item whose `expires_at` has passed marks it expired
first (decided by `vibehq`, with an event), so no daemon is needed.

Deciding records the decision and nothing else: no file is written. The flow that owns the
item's resume token carries out an approved item (`engine.approvals.apply`).
"""

from __future__ import annotations

import functools
import json
import posixpath
import secrets
import sqlite3
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.approvals.models import (
    EXPIRY_DECIDER,
    ITEM_KINDS,
    ITEM_STATES,
    AllSafeResult,
    ApprovalItem,
    ApprovalRequest,
    AutoApprove,
    DecidedState,
    Decision,
    ItemState,
    NeedsHuman,
    PatchBatchPayload,
    PauseStatus,
    PolicyReason,
)
from engine.approvals.policy import SignatureHistory, evaluate
from engine.approvals.review import BatchReviewer
from engine.approvals.table import APPROVALS
from engine.errors import BadInput, CheckFailed
from engine.globs import matcher
from engine.ledger.events import LedgerEvent, utc_now
from engine.ledger.store import Ledger, canonical_ts, insert_event
from engine.patch.models import PatchBatch
from engine.settings import ApprovalSettings

# Who approves an item the policy passed at submission.
POLICY_DECIDER = "policy"
SUBMITTED_EVENT = "approval_submitted"
DECIDED_EVENT = "approval_decided"

# Columns stored as they are in the model; the rest are JSON, flags or the decision.
_PLAIN_COLUMNS = (
    "id",
    "kind",
    "state",
    "title",
    "requester",
    "run_id",
    "step",
    "resume_token",
    "signature",
    "created_at",
    "expires_at",
)
_COLUMNS = (
    *_PLAIN_COLUMNS,
    "payload",
    "original_payload",
    "verdict",
    "decided_by",
    "decided_at",
    "reason",
    "auto",
    "rule",
    "confidence",
    "edited",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM approvals"


class UnknownApproval(BadInput):
    """No approval item has that id (or resume token, or run)."""


class AlreadyDecided(CheckFailed):
    """The item left `pending` before this decision: another approver, the policy or expiry."""

    def __init__(self, item: ApprovalItem) -> None:
        super().__init__(_decided_message(item))
        self.item = item


class NotApprovable(CheckFailed):
    """Approving would let something through that the gate refused: the item stays pending.

    Carries the refused review's quality report and validation result, so the CLI shows the
    findings that stopped it."""

    def __init__(self, message: str, payload: PatchBatchPayload | None = None) -> None:
        super().__init__(message)
        self.payload = payload
        self.report = None if payload is None else payload.quality
        self.result = None if payload is None else payload.validation


def subject(item_id: int) -> str:
    """The `subject` of an item's ledger events."""
    return f"approval:{item_id}"


# --- submitting ---------------------------------------------------------------------------------


def submit(
    ledger: Ledger,
    request: ApprovalRequest,
    settings: ApprovalSettings,
    *,
    now: str | None = None,
    auto_pass: bool = True,
) -> ApprovalItem:
    """Queue `request`. The policy runs at once: an item it passes is stored approved (by
    `policy`, with the rule and its confidence), anything else is stored pending. With
    `auto_pass=False` (a run started with `--auto-approve none`) every item waits for a human;
    the verdict is still stored, so the human sees what the policy would have done."""
    at = _now(now)
    expires_at = _expiry(request.expires_at, settings, at)
    payload_json = request.payload.model_dump_json()

    def work(conn: sqlite3.Connection) -> ApprovalItem:
        token = _resume_token(conn, request)
        history = _history(conn, request.payload.kind, request.signature)
        verdict = evaluate(
            request.payload,
            settings,
            signature=request.signature,
            history=history,
            requester=request.requester,
        )
        passed = verdict if auto_pass and isinstance(verdict, AutoApprove) else None
        auto = passed is not None
        cursor = conn.execute(
            "INSERT INTO approvals (kind, state, title, requester, run_id, step, resume_token,"
            " signature, created_at, expires_at, payload, verdict, decided_by, decided_at,"
            " reason, auto, rule, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?)",
            (
                request.payload.kind,
                "approved" if auto else "pending",
                request.title,
                request.requester,
                request.run_id,
                request.step,
                token,
                request.signature,
                at,
                expires_at,
                payload_json,
                verdict.model_dump_json(),
                POLICY_DECIDER if auto else None,
                at if auto else None,
                None if passed is None else passed.detail,
                int(auto),
                None if passed is None else passed.rule,
                None if passed is None else passed.confidence,
            ),
        )
        item = _load(conn, int(cursor.lastrowid or 0))
        assert item is not None
        _event(conn, SUBMITTED_EVENT, item, at, verdict=json.loads(verdict.model_dump_json()))
        if item.decision is not None:
            _decision_event(conn, item)
        return item

    # Verbatim: the payload is the reviewed batch, applied later byte for byte as approved;
    # scrubbing a key-shaped string out of it would change the code a human approved.
    return ledger.write(work, APPROVALS, verbatim=True)


def _resume_token(conn: sqlite3.Connection, request: ApprovalRequest) -> str:
    if request.resume_token is None:
        return secrets.token_urlsafe(24)
    row = conn.execute(
        "SELECT run_id, step FROM approvals WHERE resume_token = ? LIMIT 1",
        (request.resume_token,),
    ).fetchone()
    if row is not None and (row[0], row[1]) != (request.run_id, request.step):
        raise BadInput(
            f"resume token belongs to run {row[0]!r} step {row[1]!r}, "
            f"not run {request.run_id!r} step {request.step!r}"
        )
    return request.resume_token


def _expiry(expires_at: str | None, settings: ApprovalSettings, at: str) -> str | None:
    if expires_at is not None:
        when = canonical_ts(expires_at)
    elif settings.expires_after_h is not None:
        moment = _parse(at) + timedelta(hours=settings.expires_after_h)
        when = canonical_ts(moment.isoformat())
    else:
        return None
    if when <= at:
        raise BadInput(f"expires_at {when} is not after now ({at})")
    return when


# --- reading ------------------------------------------------------------------------------------


def get_item(ledger: Ledger, item_id: int, *, now: str | None = None) -> ApprovalItem:
    """The item (marked expired first if its time ran out); UnknownApproval if there is none."""
    at = _now(now)

    def work(conn: sqlite3.Connection) -> ApprovalItem | None:
        item = _load(conn, item_id)
        if item is not None and _is_due(item, at):
            item = _expire(conn, item, at)
        return item

    item = ledger.write(work, APPROVALS)
    if item is None:
        raise UnknownApproval(f"no approval item {item_id}")
    return item


def list_items(
    ledger: Ledger,
    *,
    state: str | None = None,
    kind: str | None = None,
    run_id: str | None = None,
    now: str | None = None,
) -> list[ApprovalItem]:
    """Items in id order, filtered; every due item is marked expired first."""
    if state is not None and state not in ITEM_STATES:
        raise BadInput(f"unknown state {state!r}; expected one of {', '.join(ITEM_STATES)}")
    if kind is not None and kind not in ITEM_KINDS:
        raise BadInput(f"unknown kind {kind!r}; expected one of {', '.join(ITEM_KINDS)}")
    expire_due(ledger, now=now)
    where: list[str] = []
    params: list[object] = []
    for column, value in (("state", state), ("kind", kind), ("run_id", run_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with ledger.reading(APPROVALS) as conn:
        rows = conn.execute(f"{_SELECT}{clause} ORDER BY id", params).fetchall()
    return [_item(row) for row in rows]


def token_status(ledger: Ledger, token: str, *, now: str | None = None) -> PauseStatus:
    """The items a paused flow waits on, by the resume token it was given."""
    expire_due(ledger, now=now)
    with ledger.reading(APPROVALS) as conn:
        rows = conn.execute(f"{_SELECT} WHERE resume_token = ? ORDER BY id", (token,)).fetchall()
    if not rows:
        raise UnknownApproval("no approval item has that resume token")
    items = [_item(row) for row in rows]
    return _pause(items[0].run_id, items[0].step, items)


def run_status(ledger: Ledger, run_id: str, *, now: str | None = None) -> PauseStatus:
    """Every item of one flow run, over all its steps."""
    items = list_items(ledger, run_id=run_id, now=now)
    if not items:
        raise UnknownApproval(f"no approval item belongs to run {run_id!r}")
    return _pause(run_id, None, items)


def _pause(run_id: str | None, step: str | None, items: Sequence[ApprovalItem]) -> PauseStatus:
    counts: dict[ItemState, int] = dict.fromkeys(ITEM_STATES, 0)
    for item in items:
        counts[item.state] += 1
    return PauseStatus(
        run_id=run_id,
        step=step,
        items=list(items),
        counts=counts,
        all_decided=counts["pending"] == 0,
        all_approved=bool(items) and counts["approved"] == len(items),
    )


# --- deciding -----------------------------------------------------------------------------------


def approve(
    ledger: Ledger,
    item_id: int,
    *,
    by: str,
    reason: str = "",
    edit: PatchBatch | None = None,
    review: BatchReviewer | None = None,
    now: str | None = None,
) -> ApprovalItem:
    """Approve a pending item, optionally with an edited batch.

    For a patch_batch item the edit replaces the batch; for a needs_model item it is the
    answer. Either way `review` re-runs the gate's checks on it first, and an edit the gate
    refuses (or, for an answer, one touching files outside the item's allowed files) raises
    NotApprovable with the item still pending. A patch_batch item whose stored batch the gate
    refused can only be approved with an edit."""
    by = _who(by)
    if edit is None:
        current = get_item(ledger, item_id, now=now)
        if current.state == "pending":
            _require_approvable(current)
        return _decide(ledger, item_id, "approved", by=by, reason=reason, now=now)
    if review is None:
        raise BadInput("an edited batch needs a reviewer to check it")
    current = get_item(ledger, item_id, now=now)
    if current.state != "pending":
        raise AlreadyDecided(current)
    payload = current.payload
    if payload.kind == "patch_batch":
        original_id = payload.batch.batch_id
    elif payload.kind == "needs_model":
        original_id = None
        _check_allowed(item_id, edit, payload.allowed_files)
    else:
        raise BadInput(
            f"item {item_id} is a {payload.kind} item; only patch_batch and needs_model "
            "items take an edited batch"
        )
    if edit.batch_id is None and original_id is not None:
        edit = edit.model_copy(update={"batch_id": original_id})
    reviewed = review(edit)
    if reviewed.refused is not None:
        raise NotApprovable(
            f"item {item_id}: the edited batch was refused, the item stays pending: "
            f"{reviewed.refused}",
            reviewed,
        )
    new_payload = (
        reviewed
        if payload.kind == "patch_batch"
        else payload.model_copy(update={"answer": reviewed})
    )
    return _decide(
        ledger,
        item_id,
        "approved",
        by=by,
        reason=reason,
        payload_json=new_payload.model_dump_json(),
        now=now,
    )


def reject(
    ledger: Ledger, item_id: int, *, by: str, reason: str, now: str | None = None
) -> ApprovalItem:
    if not reason.strip():
        raise BadInput("a rejection needs a reason (--reason)")
    return _decide(ledger, item_id, "rejected", by=_who(by), reason=reason.strip(), now=now)


def approve_all_safe(
    ledger: Ledger,
    settings: ApprovalSettings,
    *,
    by: str,
    now: str | None = None,
    only: Collection[int] | None = None,
) -> AllSafeResult:
    """Approve every pending item (of `only`, if given) the policy passes now, recording its
    rule and confidence.

    Each item is judged and decided in its own transaction, so one decided elsewhere in the
    meantime is skipped, not overwritten."""
    by = _who(by)
    result = AllSafeResult()
    for candidate in list_items(ledger, state="pending", now=now):
        if only is not None and candidate.id not in only:
            continue
        judge = functools.partial(
            _approve_if_safe,
            item_id=candidate.id,
            settings=settings,
            by=by,
            at=_now(now),
            left=result.left,
        )
        approved = ledger.write(judge, APPROVALS, verbatim=True)
        if approved is not None:
            result.approved.append(approved)
    return result


def _approve_if_safe(
    conn: sqlite3.Connection,
    *,
    item_id: int,
    settings: ApprovalSettings,
    by: str,
    at: str,
    left: dict[int, list[PolicyReason]],
) -> ApprovalItem | None:
    item = _load(conn, item_id)
    if item is None or item.state != "pending" or _is_due(item, at):
        return None
    verdict = evaluate(
        item.payload,
        settings,
        signature=item.signature,
        history=_history(conn, item.kind, item.signature),
        requester=item.requester,
    )
    if isinstance(verdict, NeedsHuman):
        left[item_id] = verdict.reasons
        return None
    decision = Decision(
        state="approved",
        by=by,
        at=at,
        reason=verdict.detail,
        auto=True,
        rule=verdict.rule,
        confidence=verdict.confidence,
    )
    return _record_decision(conn, item, decision, verdict_json=verdict.model_dump_json())


def expire_due(ledger: Ledger, *, now: str | None = None) -> list[int]:
    """Mark every pending item whose `expires_at` has passed as expired; their ids."""
    at = _now(now)

    def work(conn: sqlite3.Connection) -> list[int]:
        rows = conn.execute(
            f"{_SELECT} WHERE state = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?"
            " ORDER BY id",
            (at,),
        ).fetchall()
        return [_expire(conn, _item(row), at).id for row in rows]

    return ledger.write(work, APPROVALS)


def _decide(
    ledger: Ledger,
    item_id: int,
    state: DecidedState,
    *,
    by: str,
    reason: str,
    payload_json: str | None = None,
    now: str | None = None,
) -> ApprovalItem:
    at = _now(now)

    def work(conn: sqlite3.Connection) -> tuple[bool, ApprovalItem | None]:
        item = _load(conn, item_id)
        if item is None:
            return False, None
        if item.state == "pending" and _is_due(item, at):
            return False, _expire(conn, item, at)
        if item.state != "pending":
            return False, item
        decision = Decision(state=state, by=by, at=at, reason=reason)
        return True, _record_decision(conn, item, decision, payload_json=payload_json)

    won, item = ledger.write(work, APPROVALS, verbatim=True)
    if item is None:
        raise UnknownApproval(f"no approval item {item_id}")
    if not won:
        raise AlreadyDecided(item)
    return item


def _record_decision(
    conn: sqlite3.Connection,
    item: ApprovalItem,
    decision: Decision,
    *,
    payload_json: str | None = None,
    verdict_json: str | None = None,
) -> ApprovalItem:
    """The one conditional UPDATE every decision goes through, and its ledger event."""
    sets = [
        "state = ?",
        "decided_by = ?",
        "decided_at = ?",
        "reason = ?",
        "auto = ?",
        "rule = ?",
        "confidence = ?",
    ]
    params: list[Any] = [
        decision.state,
        decision.by,
        decision.at,
        decision.reason,
        int(decision.auto),
        decision.rule,
        decision.confidence,
    ]
    if payload_json is not None:
        # Right-hand sides see the row before the update: the old payload is kept.
        sets += [
            "original_payload = COALESCE(original_payload, payload)",
            "payload = ?",
            "edited = 1",
        ]
        params.append(payload_json)
    if verdict_json is not None:
        sets.append("verdict = ?")
        params.append(verdict_json)
    cursor = conn.execute(
        f"UPDATE approvals SET {', '.join(sets)} WHERE id = ? AND state = 'pending'",
        [*params, item.id],
    )
    decided = _load(conn, item.id)
    assert decided is not None
    if cursor.rowcount != 1:
        raise AlreadyDecided(decided)
    _decision_event(conn, decided)
    return decided


def _expire(conn: sqlite3.Connection, item: ApprovalItem, at: str) -> ApprovalItem:
    decision = Decision(
        state="expired",
        by=EXPIRY_DECIDER,
        at=at,
        reason=f"still pending at its expiry {item.expires_at}",
    )
    return _record_decision(conn, item, decision)


def _require_approvable(item: ApprovalItem) -> None:
    payload = item.payload
    if payload.kind == "patch_batch" and payload.refused is not None:
        raise NotApprovable(
            f"item {item.id}: the gate refused this batch ({payload.refused}); approve an "
            "edited batch that passes (--edit FILE) or reject it",
            payload,
        )


def _check_allowed(item_id: int, edit: PatchBatch, allowed: Sequence[str]) -> None:
    if not allowed:
        return
    globs = [f"{entry}**" if entry.endswith("/") else entry for entry in allowed]
    inside = matcher(globs)
    outside = sorted({op.file for op in edit.patches if not inside(_normalise(op.file))})
    if outside:
        raise NotApprovable(
            f"item {item_id}: the answer touches {', '.join(outside)}, outside the item's "
            f"allowed files ({', '.join(allowed)}); the item stays pending"
        )


# --- rows and events ----------------------------------------------------------------------------


def _load(conn: sqlite3.Connection, item_id: int) -> ApprovalItem | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else _item(row)


def _item(row: Sequence[Any]) -> ApprovalItem:
    data = dict(zip(_COLUMNS, row, strict=True))
    decision = None
    if data["state"] != "pending":
        decision = Decision(
            state=data["state"],
            by=data["decided_by"],
            at=data["decided_at"],
            reason=data["reason"] or "",
            auto=bool(data["auto"]),
            rule=data["rule"],
            confidence=data["confidence"],
        )
    original = data["original_payload"]
    return ApprovalItem.model_validate(
        {
            **{k: data[k] for k in _PLAIN_COLUMNS},
            "payload": json.loads(data["payload"]),
            "original_payload": None if original is None else json.loads(original),
            "verdict": json.loads(data["verdict"]),
            "decision": decision,
            "edited": bool(data["edited"]),
        }
    )


def _history(conn: sqlite3.Connection, kind: str, signature: str | None) -> SignatureHistory | None:
    if signature is None:
        return None
    clean, other = conn.execute(
        "SELECT COALESCE(SUM(state = 'approved' AND edited = 0), 0),"
        " COALESCE(SUM(state = 'rejected' OR (state = 'approved' AND edited = 1)), 0)"
        " FROM approvals WHERE kind = ? AND signature = ? AND auto = 0"
        " AND (state = 'approved' OR state = 'rejected')",
        (kind, signature),
    ).fetchone()
    return SignatureHistory(clean=int(clean), other=int(other))


def _decision_event(conn: sqlite3.Connection, item: ApprovalItem) -> None:
    decision = item.decision
    assert decision is not None
    _event(
        conn,
        DECIDED_EVENT,
        item,
        decision.at,
        state=decision.state,
        by=decision.by,
        at=decision.at,
        reason=decision.reason,
        auto=decision.auto,
        rule=decision.rule,
        confidence=decision.confidence,
        edited=item.edited,
    )


def _event(conn: sqlite3.Connection, kind: str, item: ApprovalItem, ts: str, **extra: Any) -> None:
    payload: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "requester": item.requester,
        "run_id": item.run_id,
        "step": item.step,
        "signature": item.signature,
        **extra,
    }
    if item.payload.kind == "patch_batch":
        payload["batch_id"] = item.payload.batch.batch_id
    insert_event(conn, LedgerEvent(ts=ts, kind=kind, subject=subject(item.id), payload=payload))


# --- small values -------------------------------------------------------------------------------


def _now(now: str | None) -> str:
    return utc_now() if now is None else canonical_ts(now)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def _is_due(item: ApprovalItem, at: str) -> bool:
    return item.state == "pending" and item.expires_at is not None and item.expires_at <= at


def _normalise(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def _who(by: str) -> str:
    if not by.strip():
        raise BadInput("a decision needs who made it (--by)")
    return by.strip()


def _decided_message(item: ApprovalItem) -> str:
    decision = item.decision
    if decision is None:
        return f"item {item.id} is pending"
    if decision.state == "expired":
        return f"item {item.id} expired at {decision.at} ({decision.reason})"
    how = f" (rule {decision.rule}, confidence {decision.confidence})" if decision.auto else ""
    why = f": {decision.reason}" if decision.reason and not decision.auto else ""
    return (
        f"item {item.id} was already {decision.state} by {decision.by} at {decision.at}{how}{why}"
    )
