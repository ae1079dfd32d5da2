"""`vibehq init`: a commented vibehq.toml from what the workspace has, and its baseline."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import open_workspace
from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json, escape, get_console


@guarded
def init_cmd(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing vibehq.toml.")
    ] = False,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline/--no-baseline",
            help="Record the type-check baseline (as `vibehq validate --baseline`) once the "
            "file is written, so later checks report only new errors.",
        ),
    ] = True,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a commented vibehq.toml: the tsconfig, package manager and task-master plan it
    finds, the usual settings as comments; then record the type-check baseline."""
    from engine.errors import ToolchainMissing
    from engine.settings import load_settings
    from engine.validate.run import ValidateReport, validate_workspace
    from engine.workspace_init import detect_workspace, render_config, write_config

    ws, _ = open_workspace(workspace)
    facts = detect_workspace(ws.root)
    path = write_config(ws.root, render_config(facts), force=force)
    report: ValidateReport | None = None
    skipped: str | None = None
    if not baseline:
        skipped = "--no-baseline"
    elif facts.tsconfig is None:
        skipped = "no tsconfig found"
    else:
        try:
            report = validate_workspace(ws, record=True, settings=load_settings(ws.root))
        except ToolchainMissing as exc:
            skipped = exc.message
    if as_json:
        payload: dict[str, Any] = {
            "ok": True,
            "config": str(path),
            "found": facts.model_dump(mode="json"),
            "baseline": None if report is None else report.model_dump(mode="json"),
            "baseline_skipped": skipped,
        }
        emit_json(payload)
        return
    console = get_console()
    console.print(f"wrote {escape(str(path))}")
    console.print(f"  tsconfig:        {escape(facts.tsconfig or 'none found')}")
    manager = (
        f"{facts.package_manager} ({facts.package_manager_reason})"
        if facts.package_manager
        else "none found"
    )
    console.print(f"  package manager: {escape(manager)}")
    console.print(f"  task-master:     {escape(facts.tasks_file or 'none found')}")
    if report is not None:
        from cli.render.validate import print_validate

        print_validate(report)
    else:
        console.print(
            f"[yellow]baseline not recorded:[/] {escape(skipped or '')}; "
            "`vibehq validate --baseline` records it later"
        )
