"""`vibehq validate`: the validators against their baseline."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import open_workspace
from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json
from cli.render.validate import print_validate


@guarded
def validate_cmd(
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Record the current findings as the baseline.")
    ] = False,
    tests: Annotated[bool, typer.Option("--tests", help="Also run the test script.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run tsc (and eslint, tests) on the workspace; report only what is new since the baseline."""
    from engine.validate.run import validate_workspace

    ws, settings = open_workspace(workspace)
    report = validate_workspace(ws, tests=tests, record=baseline, settings=settings)
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        print_validate(report)
    if not report.ok:
        raise typer.Exit(1)
