"""`vibehq batch`: every STAGING subfolder, each in its own process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.context import open_workspace
from cli.errors import guarded
from cli.options import ConflictOpt, JsonOpt, OnConflict, WorkspaceOpt
from cli.output import emit_json
from cli.render.batch import print_batch_summary


@guarded
def batch_run(
    staging: Annotated[Path, typer.Argument(help="STAGING folder: each subfolder is a worker.")],
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest", help="Manifest template; may use {folder}, {staging} and {name}."
        ),
    ],
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=32,
            help="Folders planned and applied at once, each in its own process.",
        ),
    ] = 2,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip folders done in the last batch run.")
    ] = False,
    only: Annotated[str | None, typer.Option("--only", help="Glob over folder names.")] = None,
    on_conflict: ConflictOpt = OnConflict.fail,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan and apply every STAGING subfolder, each in its own process and atomic batch."""
    from engine.migrate.batchrun import run_batch

    ws, settings = open_workspace(workspace)
    summary = run_batch(
        ws,
        settings,
        staging,
        manifest,
        workers=workers,
        resume=resume,
        only=only,
        on_conflict=on_conflict.value,
        progress=not as_json,
    )
    if as_json:
        emit_json({"ok": summary.failed == 0, **summary.model_dump(mode="json")})
    else:
        print_batch_summary(summary)
    if summary.failed:
        raise typer.Exit(1)
