"""The vibehq Typer app: the root command, its groups, and the console-script entry."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.commands import (
    agents,
    approvals,
    batch,
    chat,
    config,
    dev,
    epic,
    init,
    memory,
    migrate,
    patch,
    queue,
    refactor,
    report,
    route,
    scan,
    tasks,
    validate,
)
from cli.errors import one_line, report_crash
from cli.output import escape, get_console

app = typer.Typer(
    name="vibehq",
    help="Carry a code-migration epic through an atomic, validated, recorded patch gate.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain click help: rich-formatted help imports rich.markdown, ~0.3 s of start-up.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("vibehq")
    except PackageNotFoundError:
        found = "unknown (not installed as a package)"
    print(f"vibehq {found}")
    raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="VIBEHQ_WORKSPACE",
            help="Workspace (target monorepo) root, for every command. The command's own "
            "-w, given after it, wins. Default: the current directory.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document for machines (any command).")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            expose_value=True,
            help="Print vibehq's version and exit.",
        ),
    ] = False,
) -> None:
    """vibehq: STAGING workers into a monorepo, through one atomic patch gate."""
    from cli.root_options import RootOptions, typed_on_command_line

    ctx.obj = RootOptions(
        workspace=workspace,
        workspace_typed=typed_on_command_line("workspace"),
        as_json=as_json,
    )


app.command("init")(init.init_cmd)
app.add_typer(patch.patch_app, name="patch")
app.command("validate")(validate.validate_cmd)
app.add_typer(migrate.migrate_app, name="migrate")
app.command("batch")(batch.batch_run)
app.add_typer(refactor.refactor_app, name="refactor")
app.add_typer(tasks.tasks_app, name="tasks")
app.add_typer(agents.agents_app, name="agents")
app.command("chat")(chat.chat_cmd)
app.add_typer(queue.queue_app, name="queue")
app.add_typer(approvals.approvals_app, name="approvals")
app.add_typer(report.report_app, name="report")
app.command("scan")(scan.scan_cmd)
app.add_typer(dev.dev_app, name="dev")
app.add_typer(route.route_app, name="route")
app.add_typer(memory.memory_app, name="memory")
app.add_typer(config.config_app, name="config")
app.add_typer(epic.epic_run_app, name="epic")


def run_app() -> None:
    """Usage errors become one line and exit 2, never a traceback; an unexpected exception
    becomes one line and exit 70 (`cli.errors.report_crash`). Output is scrubbed of keys."""
    from cli.errors import redacted_output

    with redacted_output():
        code = _run()
    sys.exit(code)


@functools.cache
def _command() -> Any:
    """The click command Typer builds from `app`: built once per process, not per call (half
    a second each time; the in-process tests and the fuzz runner call the CLI thousands of
    times)."""
    return typer.main.get_command(app)


def _run() -> int:
    # Typer 0.2x vendors click; older releases depend on it.
    try:
        from typer._click import exceptions as click_exc
    except ImportError:
        from click import exceptions as click_exc  # type: ignore[no-redef]

    try:
        # Without standalone mode, click returns an Exit's code instead of raising it.
        code = _command().main(args=sys.argv[1:], prog_name="vibehq", standalone_mode=False)
    except click_exc.ClickException as exc:
        # `vibehq` alone prints help and raises an error with no message.
        if message := exc.format_message():
            get_console(stderr=True).print(f"[bold red]error:[/] {escape(one_line(message))}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except Exception as exc:
        return report_crash(exc, sys.argv)
    return code if isinstance(code, int) else 0
