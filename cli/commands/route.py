"""`vibehq route`: routing explained; calls and cost per tier."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.context import open_workspace, tasks_file
from cli.errors import guarded
from cli.options import JsonOpt, TagOpt, TasksFileOpt, WorkspaceOpt
from cli.output import emit_json
from cli.render.route import print_call_stats, print_explanation

route_app = typer.Typer(
    help="Model routing: complexity score, tier and model chain; calls and cost per tier.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@route_app.command("explain")
@guarded
def route_explain(
    text: Annotated[
        str | None,
        typer.Argument(help="The ask to route, or - for stdin.", show_default=False),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", help="Route a task of tasks.json (3 or 3.1).", show_default=False),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="The agent asking ([route.overrides.agents])."),
    ] = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the complexity score, its evidence, the tier and the model chain. Calls no model."""
    from engine.errors import BadInput
    from engine.route.decision import decide
    from engine.route.explain import explanation

    if (text is None) == (task is None):
        raise BadInput("give the text to route or --task ID (one of them)")
    ws, settings = open_workspace(workspace)
    view = None
    if task is not None:
        from engine.plan.document import load_tasks
        from engine.route.task_text import task_text

        tasks = load_tasks(tasks_file(ws, settings, file), tag=tag or settings.plan.tag)
        view, text = task_text(tasks, task)
    elif text == "-":
        text = sys.stdin.read()
    decision = decide(settings.route, text=text, task_id=view.id if view else None, agent=agent)
    report = explanation(decision, task=view)
    if as_json:
        emit_json(report)
        return
    print_explanation(report)


@route_app.command("stats")
@guarded
def route_stats(
    run: Annotated[str | None, typer.Option("--run", help="Only this run's calls.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Calls, tokens and cost per tier and model, from the ledger."""
    from engine.ledger.store import Ledger
    from engine.route.call_totals import call_totals
    from engine.route.calls import call_stats, run_spend

    ws, settings = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        rows = call_stats(ledger, run)
        spent = run_spend(ledger, run) if run is not None else None
    budget = settings.route.budget_usd
    totals = call_totals(rows)
    if as_json:
        emit_json(
            {
                "run": run,
                "rows": [vars(r) for r in rows],
                "total": vars(totals),
                "budget_usd": budget if run is not None else None,
                "spent_usd": spent,
            }
        )
        return
    print_call_stats(rows, totals, run=run, spent=spent, budget=budget)
