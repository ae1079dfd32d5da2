"""`vibehq chat`: talk to Auto; pending approvals decided inline."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.patch.validation import BatchValidator
    from engine.settings import Settings
    from engine.workspace import Workspace

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cli.context import approver, chosen_validator, open_workspace
from cli.errors import guarded
from cli.options import ApproverByOpt, ApproverOpt, JsonOpt, ValidateOpt, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.chat import chat_progress, print_turn

# --- chat ---------------------------------------------------------------------------------------

CHAT_WITHOUT_MODEL = (
    "without a model, use the deterministic commands: vibehq tasks list|show|next|set-status, "
    "vibehq approvals list|show|approve|reject, vibehq epic run MANIFEST"
)
CHAT_SLASH_WITHOUT_MODEL = "/pending, /approve N and /reject N REASON work without a model"
CHAT_HELP = (
    "/pending  list what waits for a decision\n"
    "/approve N [REASON]  approve item N (a batch or plan change is applied at once)\n"
    "/reject N REASON  reject item N\n"
    "/quit  leave (Ctrl-D too)"
)


@guarded
def chat_cmd(
    once: Annotated[
        str | None,
        typer.Option("--once", help="One turn for scripts: send MESSAGE, print the answer, exit."),
    ] = None,
    staging: Annotated[
        Path | None,
        typer.Option(
            "--staging",
            help="The STAGING folder migrations read from. Default: STAGING beside the "
            "workspace, if there is one.",
            show_default=False,
        ),
    ] = None,
    approver_name: ApproverOpt = None,
    by: ApproverByOpt = None,
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Talk to Auto, the architect: ask about the plan, change it, or hand work to the crew.
    Pending approvals are decided inline with /approve N and /reject N REASON; those, and
    /pending, work without a model (also as --once "/pending")."""
    from agents.spec import agents_path, load_agents, tier_missing

    ws, settings = open_workspace(workspace)
    missing = tier_missing(settings, load_agents(agents_path(ws, settings)).get("auto"))
    no_model = None if missing is None else missing.removeprefix("needs a model: ")
    # Built on first use: /pending needs no validator, so a chat without a model serves it
    # in a workspace whose tsc is not installed yet.
    validator = functools.cache(lambda: chosen_validator(ws, settings, validate))
    console = get_console()
    if once is not None and once.startswith("/"):
        _chat_command(once, ws, settings, approver(approver_name, by), validator, once=True)
        return
    if once is not None and no_model is not None:
        from engine.errors import CheckFailed

        raise CheckFailed(f"chat needs a model: {no_model}; {CHAT_SLASH_WITHOUT_MODEL}; "
                          f"{CHAT_WITHOUT_MODEL}")  # fmt: skip
    session = None
    if no_model is None:
        from crews.chat import ChatSession

        if staging is None and (ws.root.parent / "STAGING").is_dir():
            staging = ws.root.parent / "STAGING"
        session = ChatSession(
            ws,
            settings,
            staging=None if staging is None else staging.resolve(),
            validator=validator(),
            on_event=None if as_json else chat_progress(console),
        )
    if once is not None and session is not None:
        turn = session.turn(once)
        if as_json:
            emit_json(turn.model_dump(mode="json"))
        else:
            print_turn(turn)
        if not turn.ok:
            raise typer.Exit(1)
        return
    console.print(
        f"[bold]vibehq chat[/] with Auto in {escape(str(ws.root))} "
        "(/help for commands, Ctrl-D to leave)"
    )
    if no_model is not None:
        console.print(f"[yellow]no model:[/] {escape(no_model)}")
        console.print(f"{CHAT_SLASH_WITHOUT_MODEL}; messages to Auto need a model")
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line:
            continue
        if line.startswith("/"):
            if not _chat_command(line, ws, settings, approver(approver_name, by), validator):
                return
            continue
        if session is None:
            console.print(
                f"[yellow]not sent:[/] a message to Auto needs a model ({escape(str(no_model))}); "
                f"{CHAT_SLASH_WITHOUT_MODEL}"
            )
            continue
        print_turn(session.turn(line))


def _chat_command(
    line: str,
    ws: Workspace,
    settings: Settings,
    by: str,
    validator: Callable[[], BatchValidator | None],
    *,
    once: bool = False,
) -> bool:
    """Run one /command; False to leave the chat. In the loop errors are printed, never
    raised; with `once` (chat --once /...) they are raised, so the exit code tells."""
    from engine.errors import BadInput, VibehqError

    console = get_console()
    words = line.split()
    name, rest = words[0].lower(), words[1:]
    if name in ("/quit", "/exit", "/q"):
        return False
    if name == "/help":
        console.print(CHAT_HELP)
        return True
    try:
        if name == "/pending":
            from crews.chat_commands import pending_items

            items = pending_items(ws)
            for item in items:
                console.print(f"  {item.id}  {item.kind}  {escape(item.title)}")
            console.print(f"{len(items)} pending" if items else "nothing is pending")
            return True
        if name in ("/approve", "/reject") and rest and rest[0].isdigit():
            from crews.chat_commands import decide

            reason = " ".join(rest[1:]).removeprefix("--reason").strip()
            done = decide(
                ws,
                settings,
                int(rest[0]),
                approve=name == "/approve",
                by=by,
                reason=reason,
                validator=validator(),
            )
            console.print(escape(done))
            return True
    except VibehqError as exc:
        if once:
            raise
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        return True
    if once:
        raise BadInput(f"unknown chat command {line!r}; {CHAT_HELP.replace(chr(10), '; ')}")
    console.print(f"unknown command {escape(line)!r}\n{CHAT_HELP}")
    return True
