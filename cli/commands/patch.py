"""`vibehq patch`: apply, preview, roll back and list PatchBatches."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.context import open_workspace, validator_choice
from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json, get_console
from cli.render.common import print_violations
from cli.render.patch import print_batch

patch_app = typer.Typer(
    help="Apply, preview and roll back PatchBatches.", no_args_is_help=True, rich_markup_mode=None
)


@patch_app.command("apply")
@guarded
def patch_apply(
    batch_file: Annotated[str, typer.Argument(help="PatchBatch JSON file, or - for stdin.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unified diff; write nothing.")
    ] = False,
    validate: Annotated[
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="Type-check a staging copy (one project-wide tsc run) before writing. "
            "Default: on when the workspace has its tsconfig, unless [patch] validate = false.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply a PatchBatch all or nothing, or preview it with --dry-run.

    The batch passes the gate first: its requester must not be quarantined, and the lines it
    adds must pass the quality monitor (a critical violation quarantines the requester)."""
    from engine.patch.loader import load_batch_file, parse_batch
    from engine.validate.gate import gated_apply

    ws, settings = open_workspace(workspace)
    if batch_file == "-":
        batch = parse_batch(sys.stdin.read(), source="stdin")
        block_root = None
    else:
        path = Path(batch_file)
        batch = load_batch_file(path)
        block_root = path.resolve().parent
    validator, skip = validator_choice(ws, settings, validate)
    gated = gated_apply(
        ws,
        batch,
        settings,
        dry_run=dry_run,
        validator=validator,
        block_root=block_root,
        with_diff=as_json,
        skip=skip,
    )
    if as_json:
        emit_json(
            {
                "ok": True,
                **gated.batch.model_dump(mode="json"),
                "quality": gated.quality.model_dump(mode="json"),
                "queued": [q.model_dump(mode="json") for q in gated.queued],
            }
        )
        return
    print_batch(gated.batch)
    print_violations(gated.quality.violations, stderr=False)
    for item in gated.queued:
        get_console().print(f"queued for {item.specialist}: {item.rule} ({item.dedup_key})")


@patch_app.command("rollback")
@guarded
def patch_rollback(
    batch_id: Annotated[str, typer.Argument(help="Batch id from `vibehq patch list`.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore every file a batch touched, byte for byte (refused if one changed since)."""
    from engine.validate.gate import gated_rollback

    ws, settings = open_workspace(workspace)
    result = gated_rollback(ws, batch_id, settings)
    if as_json:
        emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    print_batch(result)


@patch_app.command("list")
@guarded
def patch_list(
    limit: Annotated[int, typer.Option(help="Show the newest N batches.", min=1)] = 20,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List journaled batches, newest last, with their state."""
    from engine.patch.journal import Journal

    ws, settings = open_workspace(workspace)
    records = Journal(ws, fsync=settings.patch.fsync).records()[-limit:]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in records])
        return
    from rich.table import Table

    table = Table()
    for name in ("batch", "kind", "state", "created", "files", "requester", "note"):
        table.add_column(name, no_wrap=name in ("batch", "created"))
    for r in records:
        table.add_row(
            r.batch_id,
            r.kind,
            r.state,
            r.created[:19],
            str(len(r.files)),
            r.meta.get("requester") or "",
            r.note or "",
        )
    get_console().print(table if records else "no batches in the journal")
