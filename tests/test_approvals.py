"""The approval queue: its state machine, expiry, edits on approval, resume tokens, ledger
events, concurrent approvers in separate processes, applying through the gate, and the CLI."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.approvals.apply import APPLIED_EVENT, apply_approved
from engine.approvals.models import (
    ApprovalItem,
    ApprovalRequest,
    NeedsModelPayload,
    PatchBatchPayload,
    PlanChangePayload,
)
from engine.approvals.queue import (
    DECIDED_EVENT,
    SUBMITTED_EVENT,
    AlreadyDecided,
    NotApprovable,
    UnknownApproval,
    approve,
    approve_all_safe,
    expire_due,
    get_item,
    list_items,
    reject,
    run_status,
    subject,
    submit,
    token_status,
)
from engine.approvals.review import batch_reviewer, review_batch
from engine.errors import BadInput, CheckFailed, PatchConflict
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.patch.patch_events import patch_events
from engine.plan.ops import PlanChange
from engine.settings import ApprovalSettings, Settings
from engine.workspace import Workspace
from tests.conftest import copy_example, snapshot, write
from tests.test_approvals_policy import B_TS, import_swap, install, review, work_item

HOLD = ApprovalSettings(auto_pass_import_only_max_lines=0)
T0 = "2030-01-01T00:00:00Z"
T1 = "2030-01-01T01:00:00Z"
T2 = "2030-01-01T02:00:00Z"


@pytest.fixture
def root(ws: Path) -> Path:
    write(ws, "src/b.ts", B_TS)
    write(ws, "src/x.ts", "export const x = 1;\n")
    return ws


@pytest.fixture
def ledger(root: Path) -> Iterator[Ledger]:
    with Ledger.open(Workspace.open(root).ledger_path) as opened:
        yield opened


def batch(*patches: dict[str, Any], **fields: Any) -> PatchBatch:
    return PatchBatch.model_validate({"requester": "codex", **fields, "patches": list(patches)})


CODE_EDIT = {"op": "append", "file": "src/x.ts", "block": "export const y = 2;"}


def code_payload(root: Path, *patches: dict[str, Any]) -> PatchBatchPayload:
    return review_batch(Workspace.open(root), batch(*(patches or (CODE_EDIT,))), Settings())


def request(payload: Any, **fields: Any) -> ApprovalRequest:
    return ApprovalRequest(payload=payload, title=fields.pop("title", "a change"), **fields)


def queue_code(ledger: Ledger, root: Path, **fields: Any) -> ApprovalItem:
    item = submit(ledger, request(code_payload(root), **fields), ApprovalSettings())
    assert item.state == "pending"
    return item


def events(ledger: Ledger, item: ApprovalItem, kind: str = DECIDED_EVENT) -> list[dict[str, Any]]:
    return [e.payload | {"ts": e.ts} for e in ledger.events(kind=kind, subject=subject(item.id))]


# --- submitting ----------------------------------------------------------------------------------


def test_submit_leaves_what_needs_a_human_pending_with_the_reasons(
    ledger: Ledger, root: Path
) -> None:
    item = queue_code(ledger, root, run_id="r1", step="refactor", requester="codex")
    assert item.decision is None and item.verdict.verdict == "human"
    assert [r.rule for r in item.verdict.reasons] == ["import_only", "recurring"]
    [submitted] = events(ledger, item, SUBMITTED_EVENT)
    assert submitted["run_id"] == "r1" and submitted["verdict"]["verdict"] == "human"
    assert submitted["batch_id"] == item.payload.batch.batch_id  # type: ignore[union-attr]
    assert events(ledger, item) == []


def test_submit_records_an_auto_approval_with_rule_and_confidence(
    ledger: Ledger, root: Path
) -> None:
    payload = review(root, import_swap())
    item = submit(ledger, request(payload), ApprovalSettings(), now=T0)
    assert item.state == "approved" and item.decision is not None
    assert item.decision.model_dump() == {
        "state": "approved",
        "by": "policy",
        "at": "2030-01-01T00:00:00.000000Z",
        "reason": "import declarations only, 2 changed lines <= 40, imports resolve, "
        "validated: tsc: 0 new errors",
        "auto": True,
        "rule": "import_only",
        "confidence": 1.0,
    }
    [decided] = events(ledger, item)
    assert (decided["by"], decided["rule"], decided["confidence"], decided["auto"]) == (
        "policy",
        "import_only",
        1.0,
        True,
    )


def test_reviewed_batch_is_self_contained_and_pinned_to_the_reviewed_files(
    root: Path, tmp_path: Path
) -> None:
    block = tmp_path / "blocks" / "y.ts"
    write(block.parent, "y.ts", "export const y = 2;")
    raw = batch({"op": "append", "file": "src/x.ts", "blockFile": "y.ts"})
    payload = review_batch(Workspace.open(root), raw, Settings(), block_root=block.parent)
    stored = payload.batch
    assert stored.batch_id is not None
    assert [(op.block, op.block_file) for op in stored.patches] == [("export const y = 2;", None)]
    import hashlib

    digest = hashlib.sha256((root / "src/x.ts").read_bytes()).hexdigest()
    assert stored.base_sha256 == {"src/x.ts": digest}
    assert "+export const y = 2;" in payload.diff


def test_a_resume_token_joins_only_its_own_run_and_step(ledger: Ledger, root: Path) -> None:
    first = queue_code(ledger, root, run_id="r1", step="s1")
    same = queue_code(ledger, root, run_id="r1", step="s1", resume_token=first.resume_token)
    assert same.resume_token == first.resume_token
    with pytest.raises(BadInput, match="resume token belongs to run 'r1' step 's1'"):
        queue_code(ledger, root, run_id="r1", step="s2", resume_token=first.resume_token)


def test_resume_tokens_are_long_random_and_distinct(ledger: Ledger, root: Path) -> None:
    tokens = {queue_code(ledger, root).resume_token for _ in range(5)}
    assert len(tokens) == 5 and all(len(t) >= 32 for t in tokens)


def test_submit_refuses_an_expiry_in_the_past(ledger: Ledger, root: Path) -> None:
    with pytest.raises(BadInput, match="is not after now"):
        submit(ledger, request(code_payload(root), expires_at=T0), ApprovalSettings(), now=T1)
    assert list_items(ledger) == []


# --- the state machine ---------------------------------------------------------------------------


def decide(ledger: Ledger, item: ApprovalItem, action: str, now: str = T1) -> ApprovalItem:
    if action == "approve":
        return approve(ledger, item.id, by="alice", reason="looks right", now=now)
    if action == "reject":
        return reject(ledger, item.id, by="bob", reason="wrong file", now=now)
    if action == "expire":
        assert expire_due(ledger, now=T2) == [item.id]
        return get_item(ledger, item.id, now=T2)
    raise AssertionError(action)


@pytest.mark.parametrize(
    ("action", "state", "by", "reason"),
    [
        ("approve", "approved", "alice", "looks right"),
        ("reject", "rejected", "bob", "wrong file"),
        ("expire", "expired", "vibehq", "still pending at its expiry 2030-01-01T01:30:00.000000Z"),
    ],
)
def test_each_legal_transition_from_pending_is_recorded_as_a_ledger_event(
    ledger: Ledger, root: Path, action: str, state: str, by: str, reason: str
) -> None:
    item = queue_code(ledger, root, expires_at="2030-01-01T01:30:00Z")
    decided = decide(ledger, item, action)
    assert decided.state == state and decided.decision is not None
    assert (decided.decision.by, decided.decision.reason, decided.decision.auto) == (
        by,
        reason,
        False,
    )
    [event] = events(ledger, item)
    assert (event["state"], event["by"], event["reason"], event["at"]) == (
        state,
        by,
        reason,
        decided.decision.at,
    )
    assert event["ts"] == decided.decision.at


@pytest.mark.parametrize("first", ["approve", "reject", "expire"])
@pytest.mark.parametrize("second", ["approve", "reject", "edit"])
def test_a_decided_item_never_changes_again(
    ledger: Ledger, root: Path, first: str, second: str
) -> None:
    item = queue_code(ledger, root, expires_at="2030-01-01T01:30:00Z")
    decided = decide(ledger, item, first)
    with pytest.raises(AlreadyDecided) as caught:
        if second == "edit":
            approve(
                ledger,
                item.id,
                by="carol",
                edit=batch(CODE_EDIT),
                review=batch_reviewer(Workspace.open(root), Settings()),
                now=T2,
            )
        else:
            decide(ledger, item, second, now=T2)
    assert caught.value.exit_code == 1
    assert get_item(ledger, item.id, now=T2) == decided
    assert len(events(ledger, item)) == 1
    expected = {
        "approve": f"item {item.id} was already approved by alice at ",
        "reject": f"item {item.id} was already rejected by bob at ",
        "expire": f"item {item.id} expired at 2030-01-01T02:00:00.000000Z",
    }[first]
    assert str(caught.value).startswith(expected)


def test_reject_needs_a_reason_and_every_decision_needs_a_decider(
    ledger: Ledger, root: Path
) -> None:
    item = queue_code(ledger, root)
    with pytest.raises(BadInput, match="a rejection needs a reason"):
        reject(ledger, item.id, by="bob", reason="  ")
    with pytest.raises(BadInput, match="needs who made it"):
        approve(ledger, item.id, by=" ")
    assert get_item(ledger, item.id).state == "pending"


def test_unknown_ids_and_tokens_are_bad_input(ledger: Ledger, root: Path) -> None:
    with pytest.raises(UnknownApproval, match="no approval item 42"):
        approve(ledger, 42, by="alice")
    with pytest.raises(UnknownApproval):
        reject(ledger, 42, by="alice", reason="x")
    with pytest.raises(UnknownApproval):
        token_status(ledger, "no-such-token-at-all")
    with pytest.raises(UnknownApproval):
        run_status(ledger, "no-such-run")


# --- expiry --------------------------------------------------------------------------------------


def test_listing_marks_due_items_expired_and_leaves_the_rest(ledger: Ledger, root: Path) -> None:
    soon = queue_code(ledger, root, expires_at=T1)
    later = queue_code(ledger, root, expires_at=T2)
    never = queue_code(ledger, root)
    assert [i.state for i in list_items(ledger, now=T0)] == ["pending"] * 3
    states = {i.id: i.state for i in list_items(ledger, now=T1)}
    assert states == {soon.id: "expired", later.id: "pending", never.id: "pending"}
    assert [i.id for i in list_items(ledger, state="expired", now=T1)] == [soon.id]
    [event] = events(ledger, soon)
    assert (event["state"], event["by"]) == ("expired", "vibehq")


def test_deciding_an_overdue_item_expires_it_instead(ledger: Ledger, root: Path) -> None:
    item = queue_code(ledger, root, expires_at=T1)
    with pytest.raises(AlreadyDecided, match=f"item {item.id} expired at"):
        approve(ledger, item.id, by="alice", now=T2)
    assert get_item(ledger, item.id, now=T2).state == "expired"


def test_default_lifetime_comes_from_settings(ledger: Ledger, root: Path) -> None:
    settings = ApprovalSettings(expires_after_h=1.5)
    item = submit(ledger, request(code_payload(root)), settings, now=T0)
    assert item.expires_at == "2030-01-01T01:30:00.000000Z"


# --- editing on approval -------------------------------------------------------------------------


def test_approving_with_an_edit_revalidates_and_stores_the_edited_batch(
    ledger: Ledger, root: Path
) -> None:
    item = queue_code(ledger, root)
    edited = batch({"op": "append", "file": "src/x.ts", "block": "export const y = 3;"})
    approved = approve(
        ledger,
        item.id,
        by="alice",
        reason="3, not 2",
        edit=edited,
        review=batch_reviewer(Workspace.open(root), Settings()),
    )
    assert approved.state == "approved" and approved.edited
    assert approved.payload.kind == "patch_batch"
    assert "+export const y = 3;" in approved.payload.diff
    assert approved.payload.batch.batch_id == item.payload.batch.batch_id  # type: ignore[union-attr]
    assert approved.original_payload == item.payload
    [event] = events(ledger, item)
    assert event["edited"] is True and event["reason"] == "3, not 2"


def test_an_edit_the_gate_refuses_leaves_the_item_pending(ledger: Ledger, root: Path) -> None:
    item = queue_code(ledger, root)
    lazy = batch(
        {"op": "replace-block", "file": "src/x.ts", "start": 1, "end": 1, "block": "// ..."}
    )
    with pytest.raises(NotApprovable, match="the edited batch was refused, the item stays pending"):
        approve(
            ledger,
            item.id,
            by="alice",
            edit=lazy,
            review=batch_reviewer(Workspace.open(root), Settings()),
        )
    assert get_item(ledger, item.id) == item
    assert events(ledger, item) == []
    # A dry-run review quarantines nobody.
    assert approve(ledger, item.id, by="alice").state == "approved"


def test_a_batch_the_gate_refused_is_approved_only_with_an_edit(ledger: Ledger, root: Path) -> None:
    lazy = code_payload(
        root, {"op": "replace-block", "file": "src/x.ts", "start": 1, "end": 1, "block": "// ..."}
    )
    item = submit(ledger, request(lazy), ApprovalSettings())
    with pytest.raises(NotApprovable, match="the gate refused this batch"):
        approve(ledger, item.id, by="alice")
    fixed = approve(
        ledger,
        item.id,
        by="alice",
        edit=batch(CODE_EDIT),
        review=batch_reviewer(Workspace.open(root), Settings()),
    )
    assert fixed.state == "approved" and fixed.payload.refused is None  # type: ignore[union-attr]


def test_only_batch_items_take_an_edit(ledger: Ledger, root: Path) -> None:
    change = PlanChangePayload(change=PlanChange(op="set-status", ids=["1"], summary="1 done"))
    item = submit(ledger, request(change), ApprovalSettings())
    with pytest.raises(BadInput, match="only patch_batch and needs_model items take"):
        approve(
            ledger,
            item.id,
            by="a",
            edit=batch(CODE_EDIT),
            review=batch_reviewer(Workspace.open(root), Settings()),
        )


def test_a_needs_model_answer_must_stay_inside_the_allowed_files(
    ledger: Ledger, root: Path
) -> None:
    payload = NeedsModelPayload(work_item=work_item(), allowed_files=["src/x.ts", "src/lib/"])
    item = submit(ledger, request(payload), ApprovalSettings())
    assert [r.rule for r in item.verdict.reasons] == ["needs_model"]  # type: ignore[union-attr]
    review = batch_reviewer(Workspace.open(root), Settings())
    outside = batch({"op": "append", "file": "src/b.ts", "block": "export const q = 1;"})
    with pytest.raises(NotApprovable, match="outside the item's allowed files"):
        approve(ledger, item.id, by="alice", edit=outside, review=review)
    write(root, "src/lib/deep/h.ts", "export const h = 1;\n")
    inside = batch(CODE_EDIT, {"op": "append", "file": "./src/lib/deep/h.ts", "block": "//"})
    answered = approve(ledger, item.id, by="alice", edit=inside, review=review)
    assert answered.payload.kind == "needs_model" and answered.payload.answer is not None


# --- resume tokens and runs ----------------------------------------------------------------------


def test_a_paused_flow_sees_when_all_its_items_are_decided(ledger: Ledger, root: Path) -> None:
    first = queue_code(ledger, root, run_id="run-7", step="worker-refactor")
    token = first.resume_token
    second = queue_code(ledger, root, run_id="run-7", step="worker-refactor", resume_token=token)
    other_step = queue_code(ledger, root, run_id="run-7", step="entrypoint")

    status = token_status(ledger, token)
    assert (status.run_id, status.step) == ("run-7", "worker-refactor")
    assert [i.id for i in status.items] == [first.id, second.id]
    assert not status.all_decided and status.counts["pending"] == 2

    approve(ledger, first.id, by="alice")
    assert not token_status(ledger, token).all_decided
    reject(ledger, second.id, by="bob", reason="no")
    status = token_status(ledger, token)
    assert status.all_decided and not status.all_approved
    assert status.counts == {"pending": 0, "approved": 1, "rejected": 1, "expired": 0}

    run = run_status(ledger, "run-7")
    assert [i.id for i in run.items] == [first.id, second.id, other_step.id]
    assert not run.all_decided
    assert [i.id for i in list_items(ledger, run_id="run-7", state="pending")] == [other_step.id]


# --- approve --all-safe and recurring cases ------------------------------------------------------


def test_all_safe_approves_what_the_policy_passes_now_and_names_the_rest(
    ledger: Ledger, root: Path
) -> None:
    imports = submit(ledger, request(review(root, import_swap())), HOLD)
    code = queue_code(ledger, root)
    assert imports.state == "pending"

    result = approve_all_safe(ledger, ApprovalSettings(), by="alice", now=T1)
    [approved] = result.approved
    assert approved.id == imports.id and approved.decision is not None
    assert (approved.decision.by, approved.decision.auto) == ("alice", True)
    assert (approved.decision.rule, approved.decision.confidence) == ("import_only", 1.0)
    assert [r.rule for r in result.left[code.id]] == ["import_only", "recurring"]
    assert get_item(ledger, code.id).state == "pending"
    [event] = events(ledger, imports)
    assert (event["by"], event["auto"], event["rule"]) == ("alice", True, "import_only")


def test_recurring_cases_learn_from_human_decisions_only(ledger: Ledger, root: Path) -> None:
    def queue() -> ApprovalItem:
        return submit(
            ledger, request(code_payload(root), signature="add-export"), ApprovalSettings()
        )

    for _ in range(3):
        approve(ledger, queue().id, by="alice")
    fourth = queue()
    assert fourth.state == "approved" and fourth.decision is not None
    assert (fourth.decision.rule, fourth.decision.confidence) == ("recurring", 0.8)
    # The policy's own approval did not count: still three human decisions.
    fifth = queue()
    assert fifth.decision is not None and fifth.decision.confidence == 0.8

    # An edited approval counts against the signature, like a rejection.
    sixth = queue_code_with_history_against(ledger, root)
    assert sixth.state == "pending"
    assert "confidence 0.67" in sixth.verdict.reasons[1].detail  # type: ignore[union-attr]


def queue_code_with_history_against(ledger: Ledger, root: Path) -> ApprovalItem:
    # Settings keep the item pending, so a human can approve it with an edit.
    held = submit(
        ledger,
        request(code_payload(root), signature="add-export"),
        ApprovalSettings(recurring_min_decisions=99),
    )
    approve(
        ledger,
        held.id,
        by="alice",
        edit=batch({"op": "append", "file": "src/x.ts", "block": "export const z = 9;"}),
        review=batch_reviewer(Workspace.open(root), Settings()),
    )
    return submit(ledger, request(code_payload(root), signature="add-export"), ApprovalSettings())


# --- two approvers, two processes ----------------------------------------------------------------


def _decide_in_process(
    ledger_path: str, item_ids: list[int], who: str, barrier: Any, results: Any
) -> None:
    from engine.approvals.queue import AlreadyDecided, approve, reject
    from engine.ledger.store import Ledger

    with Ledger.open(Path(ledger_path)) as ledger:
        for item_id in item_ids:
            barrier.wait()
            try:
                if who == "alice":
                    approve(ledger, item_id, by=who, reason="ship it")
                else:
                    reject(ledger, item_id, by=who, reason="not yet")
                results.put((item_id, who, "won", ""))
            except AlreadyDecided as exc:
                results.put((item_id, who, "lost", exc.message))


def test_two_approvers_in_two_processes_exactly_one_wins(ledger: Ledger, root: Path) -> None:
    ids = [queue_code(ledger, root).id for _ in range(6)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(
            target=_decide_in_process, args=(str(ledger.path), ids, who, barrier, results)
        )
        for who in ("alice", "bob")
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * len(ids))]
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    for item_id in ids:
        mine = sorted((o for o in outcomes if o[0] == item_id), key=lambda o: o[2])
        assert [o[2] for o in mine] == ["lost", "won"]
        (_, _, _, message), (_, winner, _, _) = mine
        item = get_item(ledger, item_id)
        state = "approved" if winner == "alice" else "rejected"
        assert item.state == state and item.decision is not None
        assert item.decision.by == winner
        assert message.startswith(
            f"item {item_id} was already {state} by {winner} at {item.decision.at}"
        )
        assert [e["by"] for e in events(ledger, item)] == [winner]


# --- applying an approved batch ------------------------------------------------------------------


def test_apply_runs_an_approved_batch_through_the_gate_once(ledger: Ledger, root: Path) -> None:
    ws = Workspace.open(root)
    item = queue_code(ledger, root, run_id="r1")
    with pytest.raises(CheckFailed, match="is pending; only an approved item is applied"):
        apply_approved(ws, item.id, Settings())
    approve(ledger, item.id, by="alice")
    result = apply_approved(ws, item.id, Settings())
    assert result.batch.status == "applied"
    assert result.batch.batch_id == item.payload.batch.batch_id  # type: ignore[union-attr]
    assert (root / "src/x.ts").read_text() == "export const x = 1;\nexport const y = 2;\n"
    [applied] = events(ledger, item, APPLIED_EVENT)
    assert applied["batch_id"] == result.batch.batch_id and applied["run_id"] == "r1"
    with pytest.raises(CheckFailed, match="was already applied as batch"):
        apply_approved(ws, item.id, Settings())


def test_apply_refuses_a_batch_whose_files_moved_since_review(ledger: Ledger, root: Path) -> None:
    ws = Workspace.open(root)
    item = queue_code(ledger, root)
    approve(ledger, item.id, by="alice")
    write(root, "src/x.ts", "export const x = 100;\n")
    before = snapshot(root, include_state=False)
    with pytest.raises(PatchConflict, match=r"src/x\.ts: conflict, expected base sha256"):
        apply_approved(ws, item.id, Settings())
    assert snapshot(root, include_state=False) == before
    assert events(ledger, item, APPLIED_EVENT) == []


def test_apply_a_needs_model_item_applies_the_answer(ledger: Ledger, root: Path) -> None:
    ws = Workspace.open(root)
    item = submit(ledger, request(NeedsModelPayload(work_item=work_item())), ApprovalSettings())
    approve(
        ledger, item.id, by="alice", edit=batch(CODE_EDIT), review=batch_reviewer(ws, Settings())
    )
    assert apply_approved(ws, item.id, Settings()).batch.status == "applied"
    no_answer = submit(
        ledger, request(NeedsModelPayload(work_item=work_item())), ApprovalSettings()
    )
    approve(ledger, no_answer.id, by="alice", reason="done by hand")
    with pytest.raises(BadInput, match="has no batch to apply"):
        apply_approved(ws, no_answer.id, Settings())


# --- the ledger table ----------------------------------------------------------------------------


def test_the_table_refuses_a_decided_row_without_a_decider(ledger: Ledger, root: Path) -> None:
    item = queue_code(ledger, root)
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE approvals SET state = 'approved' WHERE id = ?", (item.id,))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE approvals SET state = 'maybe' WHERE id = ?", (item.id,))
    conn.close()


# --- CLI -----------------------------------------------------------------------------------------


def approvals_rows(root: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(Workspace.open(root).ledger_path)
    try:
        return conn.execute("SELECT * FROM approvals ORDER BY id").fetchall()
    finally:
        conn.close()


def unchanged(root: Path) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    return snapshot(root, include_state=False), approvals_rows(root)


def write_batch(path: Path, *patches: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"requester": "codex", "patches": list(patches)}))
    return path


def test_cli_submit_show_approve_apply(cli: Any, root: Path, tmp_path: Path) -> None:
    code = write_batch(tmp_path / "code.json", CODE_EDIT)
    imports = write_batch(tmp_path / "imports.json", import_swap())
    install(root)
    queued = cli("approvals", "submit", code, "--run", "r1", "--step", "s", "-w", root, "--json")
    assert queued.code == 0, queued.err
    item = queued.json()
    assert item["state"] == "pending" and item["run_id"] == "r1"
    # No tsconfig here, so no type check ran: an import-only batch waits like any other.
    held = cli("approvals", "submit", imports, "-w", root, "--json").json()
    assert held["state"] == "pending"
    assert "no type check ran" in held["verdict"]["reasons"][0]["detail"]

    listed = cli("approvals", "list", "--state", "pending", "-w", root, "--json").json()
    assert [i["id"] for i in listed] == [item["id"], held["id"]]
    assert [
        i["id"] for i in cli("approvals", "list", "--run", "r1", "-w", root, "--json").json()
    ] == [item["id"]]
    assert len(cli("approvals", "list", "--kind", "patch_batch", "-w", root, "--json").json()) == 2

    shown = cli("approvals", "show", str(item["id"]), "-w", root)
    assert shown.code == 0
    assert "needs a human" in shown.out and "+export const y = 2;" in shown.out
    assert "quality: 0 violations" in shown.out and "validation: not run" in shown.out

    before = snapshot(root, include_state=False)
    approved = cli("approvals", "approve", str(item["id"]), "--by", "alice", "-w", root)
    assert approved.code == 0 and f"approved item {item['id']}" in approved.out
    assert snapshot(root, include_state=False) == before  # approving writes no file
    applied = cli("approvals", "apply", str(item["id"]), "-w", root)
    assert applied.code == 0, applied.err
    assert "export const y = 2;" in (root / "src/x.ts").read_text()


def test_cli_show_colours_the_diff_on_a_terminal(
    cli: Any, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = write_batch(tmp_path / "code.json", CODE_EDIT)
    item_id = cli("approvals", "submit", code, "-w", root, "--json").json()["id"]
    plain = cli("approvals", "show", str(item_id), "-w", root)
    assert "\x1b[" not in plain.out and "+export const y = 2;\n" in plain.out
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = cli("approvals", "show", str(item_id), "-w", root)
    assert "\x1b[" in coloured.out and "export const y = 2;" in coloured.out
    assert cli("approvals", "show", str(item_id), "-w", root, "--json").json()["id"] == item_id


def test_cli_approve_all_safe_uses_the_workspace_policy(
    cli: Any, root: Path, tmp_path: Path
) -> None:
    write(root, "vibehq.toml", "[approvals]\nauto_pass_import_only_max_lines = 0\n")
    imports = write_batch(tmp_path / "imports.json", import_swap())
    install(root)
    item_id = cli("approvals", "submit", imports, "-w", root, "--json").json()["id"]
    held = cli("approvals", "show", str(item_id), "-w", root, "--json").json()
    assert held["state"] == "pending"
    assert "rule off" in held["verdict"]["reasons"][0]["detail"]
    write(root, "vibehq.toml", "[approvals]\nauto_pass_import_only_max_lines = 2\n")
    # The rule is on now, but no type check ran on the batch: it still needs a human.
    result = cli("approvals", "approve", "--all-safe", "--by", "ops", "-w", root, "--json").json()
    assert result["approved"] == []
    [reason, _] = result["left"][str(item_id)]
    assert reason["rule"] == "import_only" and "no type check ran" in reason["detail"]
    human = cli("approvals", "approve", "--all-safe", "-w", root)
    assert human.code == 0 and "0 approved; 1 still need a human" in human.out


@pytest.mark.parametrize(
    "args",
    [
        ["approve", "99"],
        ["reject", "99", "--reason", "x"],
        ["show", "99"],
        ["apply", "99"],
        ["reject", "{id}"],
        ["reject", "{id}", "--reason", "   "],
        ["approve", "{id}", "--edit", "{malformed}"],
        ["approve", "{id}", "--edit", "{missing}"],
        ["approve", "{id}", "--edit", "{unsafe}"],
        ["approve"],
        ["approve", "{id}", "--all-safe"],
        ["approve", "--all-safe", "--edit", "{malformed}"],
        ["approve", "abc"],
        ["list", "--state", "maybe"],
        ["list", "--kind", "patch"],
        ["submit", "{malformed}"],
        ["submit", "{code}", "--expires-in", "soon"],
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_changes_nothing(
    cli: Any, root: Path, tmp_path: Path, args: list[str]
) -> None:
    code = write_batch(tmp_path / "code.json", CODE_EDIT)
    item_id = cli("approvals", "submit", code, "-w", root, "--json").json()["id"]
    (tmp_path / "bad.json").write_text('{"patches": [')
    write_batch(tmp_path / "unsafe.json", {"op": "append", "file": "../out.ts", "block": "x"})
    names = {
        "id": str(item_id),
        "malformed": str(tmp_path / "bad.json"),
        "missing": str(tmp_path / "nope.json"),
        "unsafe": str(tmp_path / "unsafe.json"),
        "code": str(code),
    }
    before = unchanged(root)
    result = cli("approvals", *[a.format(**names) for a in args], "-w", root)
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert unchanged(root) == before


def test_cli_deciding_a_decided_item_is_one_line_exit_1(
    cli: Any, root: Path, tmp_path: Path
) -> None:
    code = write_batch(tmp_path / "code.json", CODE_EDIT)
    item_id = str(cli("approvals", "submit", code, "-w", root, "--json").json()["id"])
    assert (
        cli("approvals", "reject", item_id, "--reason", "no", "--by", "bob", "-w", root).code == 0
    )
    before = unchanged(root)
    again = cli("approvals", "approve", item_id, "--by", "alice", "-w", root)
    assert again.code == 1 and again.err.count("\n") == 1
    assert f"error: item {item_id} was already rejected by bob at " in again.err
    assert again.err.rstrip().endswith(": no")
    as_json = cli("approvals", "approve", item_id, "-w", root, "--json").json()
    assert as_json["errorType"] == "AlreadyDecided" and as_json["exitCode"] == 1
    assert unchanged(root) == before


def test_cli_refused_edit_is_exit_1_and_the_item_stays_pending(
    cli: Any, root: Path, tmp_path: Path
) -> None:
    code = write_batch(tmp_path / "code.json", CODE_EDIT)
    item_id = str(cli("approvals", "submit", code, "-w", root, "--json").json()["id"])
    lazy = write_batch(
        tmp_path / "lazy.json",
        {"op": "replace-block", "file": "src/x.ts", "start": 1, "end": 1, "block": "// ..."},
    )
    before = unchanged(root)
    refused = cli("approvals", "approve", item_id, "--edit", lazy, "-w", root)
    assert refused.code == 1 and "the edited batch was refused" in refused.err
    assert "PLACEHOLDER_DROPPED" in refused.err
    assert unchanged(root) == before


@pytest.mark.integration
def test_edit_on_approval_is_type_checked_by_real_tsc(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "workspace")
    ws = Workspace.open(root)
    from engine.validate.run import make_batch_validator

    settings = Settings()
    validator = make_batch_validator(ws, settings)
    logger = "apps/logger/src/index.ts"
    line = 'const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];'
    assert line in (root / logger).read_text()
    proposal = batch(
        {"op": "append", "file": logger, "block": "export const size = LEVELS.length;"}
    )
    with Ledger.open(ws.ledger_path) as ledger:
        payload = review_batch(ws, proposal, settings, validator=validator)
        assert payload.validation is not None and payload.validation.ok, payload.validation
        item = submit(ledger, request(payload), ApprovalSettings())
        review = batch_reviewer(ws, settings, validator=validator)

        broken = batch(
            {"op": "append", "file": logger, "block": 'export const size: number = "4";'}
        )
        with pytest.raises(NotApprovable, match="validation failed") as caught:
            approve(ledger, item.id, by="alice", edit=broken, review=review)
        assert caught.value.result is not None
        assert [f.code for f in caught.value.result.findings] == ["TS2322"]
        assert get_item(ledger, item.id).state == "pending"

        fixed = batch({"op": "append", "file": logger, "block": "export const size: number = 4;"})
        approved = approve(ledger, item.id, by="alice", edit=fixed, review=review)
        assert approved.edited and approved.payload.validation is not None  # type: ignore[union-attr]
        assert approved.payload.validation.ok  # type: ignore[union-attr]
    assert apply_approved(ws, item.id, settings, validator=validator).batch.status == "applied"
    assert "export const size: number = 4;" in (root / logger).read_text()


APPLY_CHILD = "import main; main.run()"


@pytest.mark.integration
def test_eight_processes_applying_one_item_apply_it_once(ledger: Ledger, root: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    item = queue_code(ledger, root)
    approve(ledger, item.id, by="alice")
    args = ["approvals", "apply", str(item.id), "-w", str(root), "--accept-unvalidated"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPLY_CHILD, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert sorted(code for code, _ in outcomes) == [0] + [1] * 7, outcomes
    for code, err in outcomes:
        if code == 1:
            # The loser is told who won: while it applies, or once it has.
            assert "being applied by" in err or "already applied as batch" in err, err
            assert "(pid " in err
    assert (root / "src/x.ts").read_text() == "export const x = 1;\nexport const y = 2;\n"
    assert len(events(ledger, item, APPLIED_EVENT)) == 1
    batch_id = item.payload.batch.batch_id  # type: ignore[union-attr]
    assert [e.kind for e in patch_events(ledger, batch_id)].count("applied") == 1
