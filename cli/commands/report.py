"""`vibehq report`: queries on the event ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.context import open_workspace
from cli.errors import guarded
from cli.options import JsonOpt, LogOrder, ReportView, TrendGroup, WorkspaceOpt, either
from cli.output import emit_json
from cli.render.report import print_logs, print_stats, print_trends

if TYPE_CHECKING:
    from engine.patch.reports import TrendBy

report_app = typer.Typer(
    help="Reports: queries on the event ledger.", no_args_is_help=True, rich_markup_mode=None
)


TREND_GROUPS: dict[TrendGroup, TrendBy] = {
    TrendGroup.weekly: "weekly",
    TrendGroup.task: "task",
    TrendGroup.order: "order",
}


@report_app.command("patches")
@guarded
def report_patches(
    view: Annotated[ReportView, typer.Argument(help="What to show.")] = ReportView.logs,
    task: Annotated[str | None, typer.Option("--task", help="logs: task id")] = None,
    file: Annotated[str | None, typer.Option("--file", help="logs: path or glob")] = None,
    search: Annotated[str | None, typer.Option("--search", help="logs: text search")] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="logs: event kind: requested, applied, failed or rolled_back."),
    ] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="logs: batch id")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="logs: at most this many events.")
    ] = 50,
    offset: Annotated[
        int, typer.Option("--offset", min=0, help="logs: skip this many events first (paging).")
    ] = 0,
    order: Annotated[LogOrder, typer.Option("--order", help="logs: by time.")] = LogOrder.desc,
    date_from: Annotated[str | None, typer.Option("--from", help="stats: YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="stats: YYYY-MM-DD")] = None,
    group_by: Annotated[
        TrendGroup | None,
        typer.Option(
            "--group-by",
            help="trends: one row per ISO week, task or order.  [default: weekly]",
            show_default=False,
        ),
    ] = None,
    by: Annotated[TrendGroup | None, typer.Option("--by", hidden=True)] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Patch logs, stats and trends from the ledger (the seed's three analytics APIs)."""
    from engine.errors import BadInput
    from engine.ledger.store import Ledger
    from engine.patch import reports

    ws, _ = open_workspace(workspace)
    grouping = either(group_by, by, name="--group-by", alias="--by") or TrendGroup.weekly
    if not ws.ledger_path.is_file():
        raise BadInput(f"no ledger yet at {ws.ledger_path}: apply a batch first")
    with Ledger.open(ws.ledger_path) as ledger:
        if view == "logs":
            from pydantic import ValidationError

            try:
                query = reports.LogQuery(
                    task_id=task,
                    file=file,
                    search=search,
                    kind=kind,
                    batch_id=batch,
                    limit=limit,
                    offset=offset,
                    order=order.value,
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                raise BadInput(f"--{err['loc'][0]}: {err['msg']}") from None
            logs = reports.patch_logs(ledger, query)
        elif view == "stats":
            stats = reports.patch_stats(ledger, date_from, date_to)
        else:
            trends = reports.patch_trends(ledger, TREND_GROUPS[grouping])
    if view == "logs" and as_json:
        emit_json(logs.model_dump(mode="json"))
    elif view == "logs":
        print_logs(logs)
    elif view == "stats" and as_json:
        emit_json(stats.model_dump(mode="json"))
    elif view == "stats":
        print_stats(stats)
    elif as_json:
        emit_json([row.model_dump(mode="json") for row in trends])
    else:
        print_trends(trends)
