"""Plan edits by agents: proposed through the approval queue, applied once when approved.

A plan tool first runs its operation on an in-memory copy of tasks.json, so a change that
cannot apply (an unknown task, a cycle) is refused before anything is queued. The proposal is a
`plan_change` approval item whose change carries the request (`op` and its arguments) under
`fields["request"]`; applying an approved item replays that request on the file as it is then,
through the plan-change service (`engine.plan.change`: lock, tag, plan history with the
requester as actor), and marks the item applied so it never applies twice.

The `plan_owner` policy rule passes the owner's changes at once ("Auto" by default); anyone
else's wait for a human.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from engine.approvals.apply import APPLIED_EVENT
from engine.approvals.models import ApprovalItem, ApprovalRequest, PlanChangePayload
from engine.approvals.queue import get_item, subject, submit
from engine.errors import BadInput, CheckFailed
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.plan.change import change_plan
from engine.plan.document import TasksFile, load_tasks
from engine.plan.ops import PlanChange, add_subtask, add_task, set_status, update_task
from engine.settings import Settings
from engine.workspace import Workspace, resolve_inside
from tools.context import ToolContext

REQUEST_KEY = "request"
PLAN_STEP = "tasks"

PlanOp = Callable[[TasksFile, Mapping[str, Any]], PlanChange]


def _set_status(tf: TasksFile, a: Mapping[str, Any]) -> PlanChange:
    return set_status(tf, list(a["ids"]), a["status"], cascade_parent=True)


def _add_task(tf: TasksFile, a: Mapping[str, Any]) -> PlanChange:
    return add_task(
        tf,
        title=a["title"],
        description=a.get("description") or "",
        details=a.get("details"),
        test_strategy=a.get("test_strategy"),
        priority=a.get("priority") or "medium",
        dependencies=list(a.get("dependencies") or ()),
    )


def _add_subtask(tf: TasksFile, a: Mapping[str, Any]) -> PlanChange:
    return add_subtask(
        tf,
        a["parent"],
        title=a["title"],
        description=a.get("description"),
        details=a.get("details"),
        dependencies=list(a.get("dependencies") or ()),
    )


def _update_task(tf: TasksFile, a: Mapping[str, Any]) -> PlanChange:
    return update_task(
        tf,
        a["id"],
        title=a.get("title"),
        description=a.get("description"),
        details=a.get("details"),
        test_strategy=a.get("test_strategy"),
        priority=a.get("priority"),
        append_details=a.get("append_details"),
    )


PLAN_OPS: dict[str, PlanOp] = {
    "set_status": _set_status,
    "add_task": _add_task,
    "add_subtask": _add_subtask,
    "update_task": _update_task,
}


class PlanProposal(BaseModel):
    proposal: int
    state: str
    summary: str
    rule: str | None = None
    waits_for: str | None = None
    applied: str | None = None


def propose_plan_change(ctx: ToolContext, op: str, args: Mapping[str, Any]) -> PlanProposal:
    """Check `op(args)` on a copy of tasks.json, queue it as a plan_change item requested by
    the agent, and apply it now if the policy passed it and the context applies approvals."""
    run = _op(op)
    path = ctx.tasks_path()
    request = {"op": op, "args": dict(args)}
    change = run(load_tasks(path, tag=ctx.settings.plan.tag), args)
    change = change.model_copy(update={"fields": {**change.fields, REQUEST_KEY: request}})
    payload = PlanChangePayload(change=change, tasks_file=ctx.home.relative(path))
    with ctx.ledger() as ledger:
        item = submit(
            ledger,
            ApprovalRequest(
                payload=payload,
                title=f"plan: {change.summary}",
                requester=ctx.agent,
                run_id=ctx.run_id,
                step=PLAN_STEP,
                signature=f"plan/{op}",
            ),
            ctx.settings.approvals,
        )
    ctx.proposals.append(item.id)
    ctx.emit("message", message=f"proposal {item.id} ({item.state}): {change.summary}")
    out = PlanProposal(proposal=item.id, state=item.state, summary=change.summary)
    if item.decision is not None:
        out.rule = item.decision.rule
    else:
        out.waits_for = "a human decision (vibehq approvals approve/reject " + str(item.id) + ")"
    if item.state == "approved" and ctx.apply_approved:
        out.applied = apply_plan_item(ctx.home, ctx.settings, item.id).summary
    return out


def apply_plan_item(home: Workspace, settings: Settings, item_id: int) -> PlanChange:
    """Carry out an approved plan_change item on tasks.json, once; the change as applied."""
    home.ensure_state_dir()
    with Ledger.open(home.ledger_path) as ledger:
        item = get_item(ledger, item_id)
        op, args = _request(item)
        done = ledger.events(kind=APPLIED_EVENT, subject=subject(item.id), limit=1)
    if item.state != "approved":
        raise CheckFailed(f"item {item.id} is {item.state}; only an approved item is applied")
    if done:
        raise CheckFailed(f"plan change {item.id} was already applied at {done[0].ts}")
    payload = item.payload
    assert payload.kind == "plan_change"
    rel = payload.tasks_file or settings.plan.tasks_file
    path = resolve_inside(home.root, rel, what="tasks file")
    run = _op(op)
    change = change_plan(
        home, settings, lambda tf: run(tf, args), item.requester or "unknown", file=path
    ).change
    with Ledger.open(home.ledger_path) as ledger:
        ledger.record(
            LedgerEvent(
                kind=APPLIED_EVENT,
                subject=subject(item.id),
                payload={
                    "id": item.id,
                    "plan_change": change.summary,
                    "ids": change.ids,
                    "run_id": item.run_id,
                    "step": item.step,
                },
            )
        )
    return change


def _op(op: str) -> PlanOp:
    run = PLAN_OPS.get(op)
    if run is None:
        raise BadInput(f"unknown plan operation {op!r}; known: {', '.join(PLAN_OPS)}")
    return run


def _request(item: ApprovalItem) -> tuple[str, dict[str, Any]]:
    payload = item.payload
    if payload.kind != "plan_change":
        raise BadInput(f"item {item.id} is a {payload.kind} item, not a plan change")
    request = payload.change.fields.get(REQUEST_KEY)
    if not isinstance(request, dict) or not isinstance(request.get("args"), dict):
        raise BadInput(
            f"plan change {item.id} carries no replayable request; apply it by hand with: "
            + "; ".join(payload.change.commands)
        )
    return str(request.get("op")), request["args"]
