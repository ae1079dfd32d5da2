"""`vibehq refactor`: the D1/SQLite-to-RPC refactor of a migrated folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.refactor.pipeline import RefactorPlan
    from engine.workspace import Workspace

from pathlib import Path
from typing import Annotated

import typer

from cli.commands.migrate import load_manifest_file
from cli.context import open_workspace, tasks_file, validator_choice, workspace_relative
from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.refactor import print_recipes, print_refactor

refactor_app = typer.Typer(
    help="D1/SQLite-to-RPC refactor of a migrated folder: recipes first, needs-model for the rest.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FolderArg = Annotated[
    str,
    typer.Argument(
        help="The migrated folder, e.g. apps/sqlite-demo: relative to the current directory, "
        "or absolute; inside the workspace."
    ),
]
RpcManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="Manifest whose `rpc` section names the entrypoint and "
        "binding (default: conventions from the folder name).",
    ),
]


def _refactor_plan(
    ws: Workspace, folder: str, manifest: Path | None
) -> tuple[RefactorPlan, str | None]:
    from engine.refactor.pipeline import plan_refactor, target_for

    loaded = load_manifest_file(manifest, None) if manifest is not None else None
    rpc = loaded.manifest.rpc if loaded is not None else None
    owner = None if loaded is None or loaded.manifest.owner is None else str(loaded.manifest.owner)
    folder = ws.relative(ws.resolve(workspace_relative(ws, folder)))
    return plan_refactor(ws, target_for(folder, rpc), task_id=owner), owner


@refactor_app.command("recipes")
@guarded
def refactor_recipes(as_json: JsonOpt = False) -> None:
    """List the recipes in the order they are tried: name, call shapes, what each rewrites."""
    from engine.refactor.recipes import list_recipes

    recipes = list_recipes()
    if as_json:
        emit_json({"recipes": [info.model_dump(mode="json") for info in recipes]})
        return
    print_recipes(recipes)


@refactor_app.command("plan")
@guarded
def refactor_plan(
    folder: FolderArg,
    manifest: RpcManifestOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every SQL site, the recipe chosen or why it needs a model, and the diffs."""
    ws, _ = open_workspace(workspace)
    plan, _owner = _refactor_plan(ws, folder, manifest)
    if as_json:
        emit_json({"ok": True, "share": plan.share(), **plan.model_dump(mode="json")})
        return
    print_refactor(plan)


@refactor_app.command("apply")
@guarded
def refactor_apply(
    folder: FolderArg,
    manifest: RpcManifestOpt = None,
    validate: Annotated[
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="One tsc run over both batches. Default: on when the workspace has its "
            "tsconfig, unless [patch] validate = false.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply the recipes' two batches (orchestrator, then worker) after one validation of
    both on a staging copy; on failure nothing is applied and a remediation task is added."""
    from engine.refactor.pipeline import apply_refactor

    ws, settings = open_workspace(workspace)
    plan, owner = _refactor_plan(ws, folder, manifest)
    tasks_path = tasks_file(ws, settings, None)
    validator, skip = validator_choice(ws, settings, validate)
    outcome = apply_refactor(
        ws,
        plan,
        settings,
        validator=validator,
        skip=skip,
        tasks_path=tasks_path,
        epic_id=owner,
    )
    if as_json:
        emit_json({"ok": True, "share": plan.share(), **outcome.model_dump(mode="json")})
        return
    print_refactor(plan, diffs=False)
    for label, result in (("orchestrator", outcome.orchestrator), ("worker", outcome.worker)):
        if result is not None:
            get_console().print(
                f"{label}: {result.status} batch {result.batch_id} ({len(result.files)} files)"
            )
    if outcome.validation is not None:
        get_console().print(f"validation: {escape(outcome.validation.summary)}")
    get_console().print(f"[bold]{outcome.status}[/]")
