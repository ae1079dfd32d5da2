"""`vibehq scan`: the quality monitor over files."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import open_workspace, workspace_relative
from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json, get_console
from cli.render.common import print_violations


@guarded
def scan_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders inside the workspace: relative to the current directory, "
            "or absolute."
        ),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the code quality monitor over files: placeholders, incomplete code, syntax,
    security risks, logic errors. Exit 1 if anything critical is found."""
    from engine.validate.quality import scan_paths

    ws, _ = open_workspace(workspace)
    report = scan_paths(ws.root, [workspace_relative(ws, p) for p in paths])
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        print_violations(report.violations, stderr=False)
        counts = ", ".join(f"{k} {n}" for k, n in report.counts.items() if n) or "no violations"
        get_console().print(f"{report.files_checked} files, {report.lines_judged} lines: {counts}")
    if report.critical:
        raise typer.Exit(1)
