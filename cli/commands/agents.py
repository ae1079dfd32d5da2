"""`vibehq agents`: quality status, quarantine release and the crew."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import approver, open_workspace
from cli.errors import guarded
from cli.options import ApproverByOpt, JsonOpt, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.report import rate

agents_app = typer.Typer(
    help="Agents: quality status and quarantine.", no_args_is_help=True, rich_markup_mode=None
)


@agents_app.command("list")
@guarded
def agents_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Each agent's status, violation rate, clean-change rate, quarantines, time to release;
    then the crew's agents from agents.yaml with their role and model tier."""
    from engine.ledger.store import Ledger
    from engine.validate.quarantine import agent_statuses

    ws, settings = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        statuses = agent_statuses(ledger)
    if as_json:
        emit_json([s.model_dump(mode="json") for s in statuses])
        return
    from rich.table import Table

    table = Table(
        "agent",
        "status",
        "checked",
        "violation rate",
        "clean rate",
        "quarantines",
        "refused",
        "mean time to release",
        "reason",
    )
    for s in statuses:
        colour = "red" if s.status == "quarantined" else "green"
        release_s = "-" if s.mean_time_to_release_s is None else f"{s.mean_time_to_release_s:.0f}s"
        table.add_row(
            s.agent,
            f"[{colour}]{s.status}[/]",
            str(s.batches_checked),
            rate(s.violation_rate),
            rate(s.clean_rate),
            str(s.quarantine_count),
            str(s.refused),
            release_s,
            escape(s.reason or ""),
        )
    console = get_console()
    console.print(table if statuses else "no agent has proposed a batch yet")
    from agents.spec import agents_path, load_agents

    defined = load_agents(agents_path(ws, settings))
    crew = Table("agent", "role", "tier", "tools", "delegates", title=f"crew ({defined.path})")
    for spec in defined.agents.values():
        crew.add_row(
            spec.name,
            escape(spec.role),
            spec.tier,
            str(len(spec.tools)),
            "yes" if spec.allow_delegation else "no",
        )
    console.print(crew)


@agents_app.command("release")
@guarded
def agents_release(
    agent: Annotated[str, typer.Argument(help="The quarantined agent.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it may work again.")],
    approver_name: Annotated[
        str | None,
        typer.Option(
            "--approver", help="Who releases it. Default: your user name.", show_default=False
        ),
    ] = None,
    by: ApproverByOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a quarantined agent; its next batches are accepted again."""
    from engine.ledger.store import Ledger
    from engine.validate.quarantine import release

    ws, _ = open_workspace(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        release(ledger, agent, reason=reason, actor=approver(approver_name, by))
    if as_json:
        emit_json({"ok": True, "agent": agent, "released": True})
        return
    get_console().print(f"released agent {agent}")


# --- chat ---------------------------------------------------------------------------------------

CHAT_WITHOUT_MODEL = (
    "without a model, use the deterministic commands: vibehq tasks list|show|next|set-status, "
    "vibehq approvals list|show|approve|reject, vibehq epic run MANIFEST"
)
CHAT_HELP = (
    "/pending  list what waits for a decision\n"
    "/approve N [REASON]  approve item N (a batch or plan change is applied at once)\n"
    "/reject N REASON  reject item N\n"
    "/quit  leave (Ctrl-D too)"
)
