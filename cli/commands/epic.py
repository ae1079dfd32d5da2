"""`vibehq epic`: run, resume, status and report of a migration epic."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from cli.context import open_workspace, tasks_file
from cli.errors import guarded
from cli.options import AutoApprove, JsonOpt, ReportFormat, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.epic import print_epic_summary, print_run_grid

if TYPE_CHECKING:
    from engine.epic.models import EpicEvent
    from engine.epic.runner import EpicSummary
    from engine.workspace import Workspace

    Emit = Callable[[EpicEvent], None]

epic_run_app = typer.Typer(
    help="The migration epic: every folder planned, migrated, refactored, gated, approved, "
    "applied and tracked in tasks.json; pauses on approvals, resumes from the ledger.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Exit codes of `epic run`/`epic resume`: 0 done, 3 paused on approvals, 1 a folder failed.
EPIC_PAUSED_EXIT = 3

JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        help="Folders gated at once (each type-check is its own tsc process); apply stays "
        "ordered and atomic per folder. Default: the number of cores.",
        show_default=False,
    ),
]


@epic_run_app.command("run")
@guarded
def epic_run(
    source: Annotated[
        str,
        typer.Argument(
            help="An epic spec (manifests/demo-epic.yaml), one migration manifest, or the id "
            "of an epic task in tasks.json whose `epicSpec` field names its spec.",
            show_default=False,
        ),
    ],
    auto_approve: Annotated[
        AutoApprove,
        typer.Option(
            "--auto-approve",
            help="safe: what the approval policy passes is approved at once; none: every "
            "item waits for a human.",
        ),
    ] = AutoApprove.safe,
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0, help="USD the run's model calls may spend."),
    ] = None,
    folders: Annotated[
        str | None,
        typer.Option("--folders", help="Globs over the epic's folder names, comma-separated."),
    ] = None,
    epic: Annotated[
        str | None, typer.Option("--epic", help="The epic task of tasks.json to update.")
    ] = None,
    jobs: JobsOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON event per line, then the summary.")
    ] = False,
) -> None:
    """Run a migration epic end to end (exit 0 done, 3 paused on approvals, 1 a folder failed)."""
    from engine.epic.models import EpicOptions
    from engine.epic.spec import load_epic

    ws, settings = open_workspace(workspace)
    tasks_path = tasks_file(ws, settings, None)
    spec, label = load_epic(source, ws, tasks_path)
    if epic is not None:
        spec = spec.model_copy(update={"epic": epic})
    options = EpicOptions(
        auto_approve=auto_approve.value,
        budget_usd=budget,
        folders=folders,
        jobs=jobs,
    )
    from engine.epic.runner import EpicRunner

    # Every check of the input runs here, before the flow (and crewai) is even imported.
    run = EpicRunner.create(
        ws,
        settings,
        spec,
        source=label,
        options=options,
        tasks_path=tasks_path if tasks_path.is_file() else None,
    )

    def work(emit: Emit) -> EpicSummary:
        from crews.epic_flow import resume_epic

        return resume_epic(ws, settings, run.run_id, emit=emit, jobs=jobs)

    drive_epic(ws, work, as_json)


@epic_run_app.command("resume")
@guarded
def epic_resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.", show_default=False)],
    jobs: JobsOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON event per line, then the summary.")
    ] = False,
) -> None:
    """Continue a paused or killed run from each folder's first unfinished step."""
    from engine.epic.store import load_run
    from engine.ledger.store import Ledger

    ws, settings = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        load_run(ledger, run_id)

    def work(emit: Emit) -> EpicSummary:
        from crews.epic_flow import resume_epic

        return resume_epic(ws, settings, run_id, emit=emit, jobs=jobs)

    drive_epic(ws, work, as_json)


def drive_epic(ws: Workspace, work: Callable[[Emit], EpicSummary], as_json: bool) -> None:
    from crews.progress import JsonLines, ProgressView

    def pending() -> int:
        from engine.approvals.queue import list_items
        from engine.ledger.store import Ledger

        with Ledger.open(ws.ledger_path) as ledger:
            return len(list_items(ledger, state="pending"))

    if as_json:
        summary = work(JsonLines().handle)
        sys.stdout.write(json.dumps({"summary": summary.model_dump(mode="json")}) + "\n")
    else:
        with ProgressView(get_console(), pending_approvals=pending) as view:
            summary = work(view.handle)
        print_epic_summary(ws, summary)
    if summary.status == "paused":
        raise typer.Exit(EPIC_PAUSED_EXIT)
    if summary.status == "failed":
        raise typer.Exit(1)


@epic_run_app.command("status")
@guarded
def epic_status(
    run_id: Annotated[
        str | None, typer.Argument(help="A run; default: list the latest runs.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A run's folders x steps, what it waits for; or the latest runs."""
    from engine.epic.grid import step_grid
    from engine.epic.store import list_runs, load_run
    from engine.ledger.store import Ledger

    ws, _ = open_workspace(workspace)
    with Ledger.open_readonly(ws.ledger_path) as ledger:
        if run_id is None:
            runs = list_runs(ledger)
            if as_json:
                emit_json([r.model_dump(mode="json", exclude={"steps"}) for r in runs])
                return
            for r in runs:
                get_console().print(f"{r.run_id}  {r.status:<11} {r.created_at}  {escape(r.name)}")
            if not runs:
                get_console().print("no epic runs yet; start one with `vibehq epic run SPEC`")
            return
        run = load_run(ledger, run_id)
    if as_json:
        emit_json(run.model_dump(mode="json"))
        return
    print_run_grid(run, step_grid(run))


@epic_run_app.command("report")
@guarded
def epic_report(
    run_id: Annotated[str, typer.Argument(help="The epic run (see `vibehq epic status`).")],
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="Also print that document to stdout.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the run's delivery report (Markdown, JSON, one self-contained HTML page with
    charts) to .vibehq/runs/RUN/ from the ledger, and print where it went."""
    from engine.epic.report import build_report, write_report

    ws, _ = open_workspace(workspace)
    report = build_report(ws, run_id)
    paths = write_report(ws, report)
    chosen = {
        ReportFormat.md: paths.markdown,
        ReportFormat.json: paths.json_path,
        ReportFormat.html: paths.html,
    }
    if fmt is not None:
        sys.stdout.write(chosen[fmt].read_text(encoding="utf-8"))
        return
    if as_json:
        emit_json(
            {
                "ok": True,
                "run_id": report.run_id,
                "status": report.status,
                "headline": report.headline,
                "waiting": len(report.waiting),
                "next": report.next,
                "markdown": str(paths.markdown),
                "json": str(paths.json_path),
                "html": str(paths.html),
            }
        )
        return
    console = get_console()
    console.print(escape(report.headline))
    for step in report.next:
        console.print(f"  - {escape(step)}")
    for path in chosen.values():
        console.print(str(path))
