"""`vibehq approvals`: submit, list, show, approve, reject, apply, and serve a review page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.context import approver, chosen_validator, open_workspace, validator_choice
from cli.errors import guarded
from cli.options import (
    ApprovalKind,
    ApprovalState,
    ApproverByOpt,
    ApproverOpt,
    ItemArg,
    JsonOpt,
    ValidateOpt,
    WorkspaceOpt,
)
from cli.output import emit_json, escape, get_console
from cli.render.approvals import item_state, print_item, print_verdict
from cli.render.patch import print_batch

approvals_app = typer.Typer(
    help="The approval queue: what waits for a human, what the policy passed, who decided.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@approvals_app.command("submit")
@guarded
def approvals_submit(
    batch_file: Annotated[Path, typer.Argument(help="PatchBatch JSON file to queue.")],
    run: Annotated[str | None, typer.Option("--run", help="Flow run that waits on it.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Step of that run.")] = None,
    signature: Annotated[
        str | None, typer.Option("--signature", help="Recurring case it belongs to.")
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 30m, 4h, 2d.")
    ] = None,
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review a PatchBatch (gate checks, dry run) and queue it; the policy may pass it at once.

    Nothing in the workspace changes: an approved batch is applied by `approvals apply`."""
    from engine.approvals.models import ApprovalRequest
    from engine.approvals.queue import submit
    from engine.approvals.review import batch_reviewer, batch_title
    from engine.duration import expires_at
    from engine.ledger.store import Ledger
    from engine.patch.loader import load_batch_file

    ws, settings = open_workspace(workspace)
    batch = load_batch_file(batch_file)
    review = batch_reviewer(
        ws,
        settings,
        validator=chosen_validator(ws, settings, validate),
        block_root=batch_file.resolve().parent,
    )
    payload = review(batch)
    request = ApprovalRequest(
        payload=payload,
        title=batch_title(payload.batch, payload),
        requester=batch.requester,
        run_id=run,
        step=step,
        signature=signature,
        expires_at=None if expires_in is None else expires_at(expires_in, what="--expires-in"),
    )
    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        item = submit(ledger, request, settings.approvals)
    if as_json:
        emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    get_console().print(f"item {item.id}: {item_state(item)}")
    print_verdict(item)


@approvals_app.command("list")
@guarded
def approvals_list(
    state: Annotated[
        ApprovalState | None, typer.Option("--state", help="Only items in this state.")
    ] = None,
    kind: Annotated[
        ApprovalKind | None, typer.Option("--kind", help="Only items of this kind.")
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only this flow run.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The approval queue, oldest first (items past their expiry are marked expired)."""
    from engine.approvals.queue import list_items
    from engine.ledger.store import Ledger

    ws, _ = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        items = list_items(
            ledger,
            state=None if state is None else state.value,
            kind=None if kind is None else kind.value,
            run_id=run,
        )
    if as_json:
        emit_json([i.model_dump(mode="json") for i in items])
        return
    from rich.table import Table

    table = Table("id", "kind", "state", "title", "run", "created", "decided by", "rule")
    for i in items:
        decision = i.decision
        table.add_row(
            str(i.id),
            i.kind,
            item_state(i),
            escape(i.title),
            escape(" / ".join(p for p in (i.run_id, i.step) if p)),
            i.created_at[:19],
            escape(decision.by) if decision else "",
            (decision.rule or "") if decision else "",
        )
    get_console().print(table if items else "no approval items")


@approvals_app.command("show")
@guarded
def approvals_show(
    item_id: ItemArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """One item: its decision or the policy's reasons, and what it is (a batch's diff in
    colour, with its quality and validation results; a work item's context)."""
    from engine.approvals.queue import get_item
    from engine.ledger.store import Ledger

    ws, _ = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        item = get_item(ledger, item_id)
    if as_json:
        emit_json(item.model_dump(mode="json"))
        return
    print_item(item)


@approvals_app.command("approve")
@guarded
def approvals_approve(
    item_id: Annotated[
        int | None, typer.Argument(help="Item to approve (or use --all-safe).", show_default=False)
    ] = None,
    all_safe: Annotated[
        bool, typer.Option("--all-safe", help="Approve every pending item the policy passes.")
    ] = False,
    approver_name: ApproverOpt = None,
    by: ApproverByOpt = None,
    edit: Annotated[
        Path | None,
        typer.Option(
            "--edit",
            help="An edited PatchBatch (JSON) to approve instead; for a needs_model item, the "
            "answer. It is checked by the gate again first.",
        ),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve one pending item, or with --all-safe every one the policy marks safe.

    Approving writes no file: the flow holding the item's resume token applies an approved
    batch (or run `vibehq approvals apply ID`)."""
    from engine.approvals.queue import approve, approve_all_safe
    from engine.errors import BadInput
    from engine.ledger.store import Ledger
    from engine.patch.loader import load_batch_file

    if all_safe == (item_id is not None):
        raise BadInput("give one item id, or --all-safe")
    if all_safe and edit is not None:
        raise BadInput("--edit approves one item; it cannot go with --all-safe")
    ws, settings = open_workspace(workspace)
    who = approver(approver_name, by)
    if all_safe:
        with Ledger.open(ws.ledger_path) as ledger:
            result = approve_all_safe(ledger, settings.approvals, by=who)
        if as_json:
            emit_json({"ok": True, **result.model_dump(mode="json")})
            return
        for item in result.approved:
            decision = item.decision
            assert decision is not None
            get_console().print(
                f"approved item {item.id} ({escape(item.title)}): rule {decision.rule}, "
                f"confidence {decision.confidence}"
            )
        get_console().print(
            f"{len(result.approved)} approved; {len(result.left)} still need a human"
        )
        return
    assert item_id is not None
    edited = None
    review = None
    if edit is not None:
        from engine.approvals.queue import get_item
        from engine.epic.edit_review import edit_reviewer

        edited = load_batch_file(edit)
        with Ledger.open(ws.ledger_path) as ledger:
            current = get_item(ledger, item_id)
        review = edit_reviewer(
            ws,
            settings,
            current,
            validator=chosen_validator(ws, settings, validate),
            block_root=edit.resolve().parent,
        )
    with Ledger.open(ws.ledger_path) as ledger:
        item = approve(ledger, item_id, by=who, reason=reason, edit=edited, review=review)
    if as_json:
        emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    note = " with an edited batch" if item.edited else ""
    get_console().print(f"approved item {item.id}{note}: {escape(item.title)}")


@approvals_app.command("reject")
@guarded
def approvals_reject(
    item_id: ItemArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")],
    approver_name: ApproverOpt = None,
    by: ApproverByOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending item; the flow waiting on it sees the reason."""
    from engine.approvals.queue import reject
    from engine.ledger.store import Ledger

    ws, _ = open_workspace(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        item = reject(ledger, item_id, by=approver(approver_name, by), reason=reason)
    if as_json:
        emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    get_console().print(f"rejected item {item.id}: {escape(item.title)}")


@approvals_app.command("serve")
@guarded
def approvals_serve(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="Port on 127.0.0.1. Default: 0, a free port the system picks.",
        ),
    ] = 0,
    approver_name: ApproverOpt = None,
    by: ApproverByOpt = None,
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve a local review page for the queue: side-by-side diffs with their findings,
    approve, approve an edit, reject. Listens on 127.0.0.1 only; every request needs the
    token in the URL printed at start. Stop it with Ctrl-C."""
    import sys

    from cli.serve.decisions import ReviewDesk
    from cli.serve.review_app import ReviewConfig
    from cli.serve.server import bind, serve
    from cli.serve.token_guard import new_token

    ws, settings = open_workspace(workspace)
    config = ReviewConfig(
        desk=ReviewDesk(ws, settings, validate),
        token=new_token(),
        reviewer=approver(approver_name, by),
    )
    sock = bind(port)

    def started(url: str) -> None:
        # Plain stdout, flushed: scripts (and the browser tests) read the URL from it.
        sys.stdout.write(f"review page: {url}\n(Ctrl-C stops it)\n")
        sys.stdout.flush()

    serve(config, sock, started=started)


@approvals_app.command("apply")
@guarded
def approvals_apply(
    item_id: ItemArg,
    validate: ValidateOpt = None,
    accept_unvalidated: Annotated[
        bool,
        typer.Option(
            "--accept-unvalidated",
            help="Apply a batch no validator checked (at review or now); recorded in the ledger.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply an approved item's batch through the gate, once: exactly the approved diff, or
    nothing (a file changed since the review is a conflict)."""
    from engine.approvals.apply import apply_approved

    ws, settings = open_workspace(workspace)
    validator, skip = validator_choice(ws, settings, validate)
    gated = apply_approved(
        ws,
        item_id,
        settings,
        validator=validator,
        skip=skip,
        accept_unvalidated=accept_unvalidated,
    )
    if as_json:
        emit_json(
            {
                "ok": True,
                **gated.batch.model_dump(mode="json"),
                "quality": gated.quality.model_dump(mode="json"),
            }
        )
        return
    print_batch(gated.batch)
