"""`vibehq migrate`: plan, apply and roll back a manifest's migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.migrate.manifest import LoadedManifest

from pathlib import Path
from typing import Annotated

import typer

from cli.context import open_workspace, tasks_file, validator_choice
from cli.errors import guarded
from cli.options import BaseOpt, ConflictOpt, JsonOpt, ManifestArg, OnConflict, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.migrate import print_plan

migrate_app = typer.Typer(
    help="Move STAGING folders into the workspace by manifest: plan, apply, roll back.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def load_manifest_file(path: Path, base: Path | None) -> LoadedManifest:
    from engine.migrate.manifest import load_manifest

    return load_manifest(path, base=base)


@migrate_app.command("plan")
@guarded
def migrate_plan(
    manifest: ManifestArg,
    base: BaseOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute the whole migration and write only .vibehq/runs/<run>/plan.json."""
    from engine.migrate.runner import plan_run

    ws, _ = open_workspace(workspace)
    run_id, result, path = plan_run(ws, load_manifest_file(manifest, base))
    if as_json:
        emit_json(
            {
                "ok": True,
                "run_id": run_id,
                "plan_path": str(path),
                "totals": result.plan.totals(),
                **result.plan.model_dump(mode="json"),
            }
        )
        return
    print_plan(result.plan, details=True)
    get_console().print(f"plan written to {path} (run {run_id}); nothing else was written")


@migrate_app.command("apply")
@guarded
def migrate_apply(
    manifest: ManifestArg,
    base: BaseOpt = None,
    on_conflict: ConflictOpt = OnConflict.fail,
    validate: Annotated[
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="Type-check each folder's batch first. Default: on when the workspace has "
            "its tsconfig, unless [patch] validate = false.",
            show_default=False,
        ),
    ] = None,
    refactor: Annotated[
        bool,
        typer.Option(
            "--refactor",
            help="Then run the D1-to-RPC refactor on every migrated folder with SQL sites "
            "(one tsc check per folder against the baseline; recorded first if missing).",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Perform the plan: one atomic, journaled batch per folder. Re-running writes nothing."""
    from engine.migrate.runner import apply_migration
    from engine.refactor.after_migration import refactor_migrated

    ws, settings = open_workspace(workspace)
    validator, skip = validator_choice(ws, settings, validate)
    if refactor and validate is None and validator is not None:
        # A STAGING copy still holds the SQL the refactor replaces (bun:sqlite and the like):
        # it is type-checked once, after the refactor, against the baseline.
        validator, skip = None, {"validators": "deferred to the refactor's type check (--refactor)"}
    loaded = load_manifest_file(manifest, base)
    record, result = apply_migration(
        ws, loaded, settings, on_conflict=on_conflict.value, validator=validator, skip=skip
    )
    refactored = (
        refactor_migrated(
            ws, settings, loaded, result.plan, tasks_path=tasks_file(ws, settings, None)
        )
        if refactor
        else []
    )
    if as_json:
        payload = {"ok": True, **record.model_dump(mode="json")}
        if refactor:
            payload["refactor"] = [r.model_dump(mode="json") for r in refactored]
        emit_json(payload)
        if any(r.status == "rejected" for r in refactored):
            raise typer.Exit(1)
        return
    print_plan(result.plan, details=False)
    console = get_console()
    for folder in record.folders:
        extra = (
            f", skipped conflicts: {', '.join(folder.skipped_conflicts)}"
            if (folder.skipped_conflicts)
            else ""
        )
        console.print(
            f"{folder.name}: {folder.status}, {folder.written} files written"
            f"{' in batch ' + folder.batch_id if folder.batch_id else ''}{extra}"
            + (f"; {escape(folder.held)}" if folder.held else "")
        )
    if record.written == 0:
        console.print(
            f"[bold]nothing to write[/]: the workspace already matches (run {record.run_id})"
        )
    else:
        console.print(
            f"[bold]applied[/] run {record.run_id}: {record.written} files written; "
            f"undo with `vibehq migrate rollback {record.run_id}`"
        )
    for done in refactored:
        share = done.share
        console.print(
            f"refactor {done.folder}: {done.status}, {share['recipes']}/{share['sites']} SQL "
            f"sites by recipes, {share['needs_model']} need a model"
            + (f" ({escape(done.error)})" if done.error else "")
        )
    if any(r.status == "rejected" for r in refactored):
        raise typer.Exit(1)


@migrate_app.command("rollback")
@guarded
def migrate_rollback(
    run_id: Annotated[str | None, typer.Argument(help="Run id from `migrate apply`.")] = None,
    last: Annotated[bool, typer.Option("--last", help="Roll back the newest applied run.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore every file a migration run wrote, byte for byte."""
    from engine.errors import BadInput
    from engine.migrate.runner import last_run, rollback_migration

    ws, settings = open_workspace(workspace)
    if (run_id is None) == (not last):
        raise BadInput("give a run id or --last (one of them)")
    record = rollback_migration(ws, run_id or last_run(ws), settings)
    if as_json:
        emit_json({"ok": True, **record.model_dump(mode="json")})
        return
    rolled = [f.name for f in record.folders if f.status == "rolled-back"]
    get_console().print(
        f"[bold]rolled back[/] run {record.run_id}: {', '.join(rolled) or 'nothing'}"
    )
