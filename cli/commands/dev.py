"""`vibehq dev`: developer tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.errors import guarded

dev_app = typer.Typer(
    help="Developer tools: the scripted model server for tests and demos.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@dev_app.command("model-server")
@guarded
def dev_model_server(
    script: Annotated[
        Path,
        typer.Option("--script", help="YAML script of turns (see README).", show_default=False),
    ],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 0,
    host: Annotated[
        str, typer.Option("--host", help="Loopback only: 127.0.0.1, ::1 or localhost.")
    ] = "127.0.0.1",
    log: Annotated[
        Path | None,
        typer.Option(
            "--log", help="Append every request as one JSON line here.", show_default=False
        ),
    ] = None,
) -> None:
    """Serve the OpenAI chat-completions API on 127.0.0.1 from a script, until Ctrl-C."""
    from devtools.scripted_model.script import load_script
    from devtools.scripted_model.server import check_loopback, serve

    check_loopback(host)
    loaded = load_script(script)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    serve(loaded, host=host, port=port, log=log, say=say)
