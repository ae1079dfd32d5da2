"""`vibehq config`: the settings in force, where each comes from, secrets redacted."""

from __future__ import annotations

import typer

from cli.errors import guarded
from cli.options import JsonOpt, WorkspaceOpt
from cli.output import emit_json
from cli.render.config import print_config

config_app = typer.Typer(
    help="The configuration in force: vibehq.toml, VIBEHQ_* variables, a LiteLLM config.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@config_app.command("show")
@guarded
def config_show(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Print every setting in force and its source (default, vibehq.toml, env, litellm
    config), with API keys and other secrets redacted. Writes nothing."""
    from dataclasses import asdict

    from engine.config.show import config_view
    from engine.settings import load_settings
    from engine.workspace import Workspace

    ws = Workspace.open(workspace)
    view = config_view(ws.root, load_settings(ws.root))
    if as_json:
        emit_json(
            {
                "workspace": str(ws.root),
                "file": view.file,
                "values": [asdict(v) for v in view.values],
                "problems": view.problems,
                "unusedLitellmGroups": view.unused_litellm_groups,
            }
        )
        return
    print_config(str(ws.root), view)
