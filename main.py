"""vibehq command line. Thin: parse arguments, call one engine function, print the result.

Deterministic commands import only `engine`; crewai, litellm, langchain and chromadb stay
out of this module's import path so `vibehq --help` starts in a fraction of a second.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from engine.patch.apply import BatchResult
    from engine.patch.validation import ValidationResult
    from engine.settings import Settings
    from engine.workspace import Workspace

# Set before anything can import litellm or crewai: no price-map fetch, no telemetry.
for _key, _value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
}.items():
    os.environ.setdefault(_key, _value)

app = typer.Typer(
    name="vibehq",
    help="Carry a code-migration epic through an atomic, validated, recorded patch gate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich-formatted help imports rich.markdown, ~0.3 s of start-up.
    rich_markup_mode=None,
)
patch_app = typer.Typer(
    help="Apply, preview and roll back PatchBatches.", no_args_is_help=True, rich_markup_mode=None
)
report_app = typer.Typer(
    help="Reports: queries on the event ledger.", no_args_is_help=True, rich_markup_mode=None
)
migrate_app = typer.Typer(
    help="Move STAGING folders into the workspace by manifest: plan, apply, roll back.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
agents_app = typer.Typer(
    help="Agents: quality status and quarantine.", no_args_is_help=True, rich_markup_mode=None
)
queue_app = typer.Typer(
    help="The specialist queue (DocString Architect, Lint Surgeon, Dependency Auditor).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(patch_app, name="patch")
app.add_typer(migrate_app, name="migrate")
app.add_typer(agents_app, name="agents")
app.add_typer(queue_app, name="queue")
app.add_typer(report_app, name="report")

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="VIBEHQ_WORKSPACE",
        help="Workspace (target monorepo) root. Default: the current directory.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]

F = TypeVar("F", bound=Callable[..., None])


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    # Piped output (CI logs, `| less`) gets a wide fixed width instead of 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def guarded(fn: F) -> F:
    """Turn vibehq's typed errors into one line and an exit code (2 bad input, 1 check failed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from engine.errors import VibehqError

        as_json = bool(kwargs.get("as_json"))
        try:
            fn(*args, **kwargs)
        except VibehqError as exc:
            result = getattr(exc, "result", None)
            report = getattr(exc, "report", None)
            if as_json:
                payload: dict[str, Any] = {
                    "ok": False,
                    "error": exc.message,
                    "errorType": type(exc).__name__,
                    "exitCode": exc.exit_code,
                }
                if result is not None:
                    payload["validation"] = result.model_dump(mode="json")
                if report is not None:
                    payload["quality"] = report.model_dump(mode="json")
                _emit_json(payload)
            else:
                if result is not None:
                    _print_findings(result)
                if report is not None:
                    _print_violations(report.violations, stderr=True)
                _console(stderr=True).print(f"[bold red]error:[/] {_escape(exc.message)}")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _open(workspace: Path | None) -> tuple[Workspace, Settings]:
    """Open the workspace, load its settings, and finish any commit a crash interrupted."""
    from engine.patch.apply import recover_workspace
    from engine.settings import load_settings
    from engine.workspace import Workspace

    ws = Workspace.open(workspace)
    settings = load_settings(ws.root)
    if any(ws.journal_dir.glob("*.pending")):
        for batch_id in recover_workspace(ws, settings):
            _console(stderr=True).print(
                f"[yellow]recovered:[/] batch {batch_id} was interrupted mid-commit; "
                "its files were restored"
            )
    return ws, settings


@app.callback()
def main() -> None:
    """vibehq: STAGING workers into a monorepo, through one atomic patch gate."""


@patch_app.command("apply")
@guarded
def patch_apply(
    batch_file: Annotated[str, typer.Argument(help="PatchBatch JSON file, or - for stdin.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unified diff; write nothing.")
    ] = False,
    validate: Annotated[
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="Type-check a staging copy (one project-wide tsc run) before writing. "
            "Default: [patch] validate in vibehq.toml.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply a PatchBatch all or nothing, or preview it with --dry-run.

    The batch passes the gate first: its requester must not be quarantined, and the lines it
    adds must pass the quality monitor (a critical violation quarantines the requester)."""
    from engine.patch.loader import load_batch_file, parse_batch
    from engine.validate.gate import gated_apply

    ws, settings = _open(workspace)
    if batch_file == "-":
        batch = parse_batch(sys.stdin.read(), source="stdin")
        block_root = None
    else:
        path = Path(batch_file)
        batch = load_batch_file(path)
        block_root = path.resolve().parent
    wanted = validate if validate is not None else settings.patch.validate_batches
    validator = _batch_validator(ws, settings) if wanted else None
    gated = gated_apply(
        ws,
        batch,
        settings,
        dry_run=dry_run,
        validator=validator,
        block_root=block_root,
        with_diff=as_json,
    )
    if as_json:
        _emit_json(
            {
                "ok": True,
                **gated.batch.model_dump(mode="json"),
                "quality": gated.quality.model_dump(mode="json"),
                "queued": [q.model_dump(mode="json") for q in gated.queued],
            }
        )
        return
    _print_batch(gated.batch)
    _print_violations(gated.quality.violations, stderr=False)
    for item in gated.queued:
        _console().print(f"queued for {item.specialist}: {item.rule} ({item.dedup_key})")


@patch_app.command("rollback")
@guarded
def patch_rollback(
    batch_id: Annotated[str, typer.Argument(help="Batch id from `vibehq patch list`.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore every file a batch touched, byte for byte (refused if one changed since)."""
    from engine.patch.apply import rollback_batch

    ws, settings = _open(workspace)
    result = rollback_batch(ws, batch_id, settings)
    if as_json:
        _emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    _print_batch(result)


@patch_app.command("list")
@guarded
def patch_list(
    limit: Annotated[int, typer.Option(help="Show the newest N batches.", min=1)] = 20,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List journaled batches, newest last, with their state."""
    from engine.patch.journal import Journal

    ws, settings = _open(workspace)
    records = Journal(ws, fsync=settings.patch.fsync).records()[-limit:]
    if as_json:
        _emit_json([r.model_dump(mode="json") for r in records])
        return
    from rich.table import Table

    table = Table()
    for name in ("batch", "kind", "state", "created", "files", "requester", "note"):
        table.add_column(name, no_wrap=name in ("batch", "created"))
    for r in records:
        table.add_row(
            r.batch_id,
            r.kind,
            r.state,
            r.created[:19],
            str(len(r.files)),
            r.meta.get("requester") or "",
            r.note or "",
        )
    _console().print(table if records else "no batches in the journal")


ManifestArg = Annotated[Path, typer.Argument(help="Migration manifest (YAML or JSON).")]
BaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--base",
        help="Folder that manifest `from` paths are relative to. Default: the manifest's folder.",
        show_default=False,
    ),
]
ConflictOpt = Annotated[
    str,
    typer.Option(
        "--on-conflict",
        help="skip | overwrite | fail: a destination file that exists with other content.",
    ),
]


def _batch_validator(ws: Workspace, settings: Settings) -> Any:
    """tsc (incremental) and eslint when configured, each judged against its baseline."""
    from engine.validate.run import make_batch_validator

    return make_batch_validator(ws, settings)


@app.command("validate")
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

    ws, settings = _open(workspace)
    report = validate_workspace(ws, tests=tests, record=baseline, settings=settings)
    if as_json:
        _emit_json(report.model_dump(mode="json"))
    else:
        _print_validate(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_validate(report: Any) -> None:
    from rich.table import Table

    console = _console()
    table = Table("tool", "baseline", "findings", "new", "fixed", "time", "summary")
    for r in report.results:
        table.add_row(
            r.tool,
            r.baseline,
            str(r.findings),
            str(len(r.new)),
            str(len(r.fixed)),
            f"{r.duration_s:.2f}s",
            _escape(r.summary),
        )
    console.print(table)
    for f in report.new[:50]:
        where = f"{f.file}:{f.line}:{f.column}" if f.file else f.tool
        console.print(f"  [red]new[/] {_escape(where)} {f.code or ''} {_escape(f.message)}")
    for f in report.fixed[:20]:
        where = f"{f.file}:{f.line}" if f.file else f.tool
        console.print(f"  [green]fixed[/] {_escape(where)} {f.code or ''} {_escape(f.message)}")
    verb = "baseline recorded" if report.recorded else ("ok" if report.ok else "new findings")
    console.print(f"[bold]{verb}[/] in {report.duration_s:.2f}s")


def _load_manifest(path: Path, base: Path | None) -> Any:
    from engine.migrate.manifest import load_manifest

    return load_manifest(path, base=base)


def _conflict_policy(value: str) -> Any:
    from engine.errors import BadInput

    if value not in ("skip", "overwrite", "fail"):
        raise BadInput(f"--on-conflict must be skip, overwrite or fail, not {value!r}")
    return value


@migrate_app.command("plan")
@guarded
def migrate_plan(
    manifest: ManifestArg,
    base: BaseOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute the whole migration and write only .vibehq/runs/<run>/plan.json."""
    from engine.migrate.runner import plan_run

    ws, _ = _open(workspace)
    run_id, result, path = plan_run(ws, _load_manifest(manifest, base))
    if as_json:
        _emit_json(
            {
                "ok": True,
                "run_id": run_id,
                "plan_path": str(path),
                "totals": result.plan.totals(),
                **result.plan.model_dump(mode="json"),
            }
        )
        return
    _print_plan(result.plan, details=True)
    _console().print(f"plan written to {path} (run {run_id}); nothing else was written")


@migrate_app.command("apply")
@guarded
def migrate_apply(
    manifest: ManifestArg,
    base: BaseOpt = None,
    on_conflict: ConflictOpt = "fail",
    validate: Annotated[
        bool, typer.Option("--validate", help="Type-check each folder's batch first.")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Perform the plan: one atomic, journaled batch per folder. Re-running writes nothing."""
    from engine.migrate.runner import apply_migration

    ws, settings = _open(workspace)
    policy = _conflict_policy(on_conflict)
    validator = _batch_validator(ws, settings) if validate else None
    record, result = apply_migration(
        ws, _load_manifest(manifest, base), settings, on_conflict=policy, validator=validator
    )
    if as_json:
        _emit_json({"ok": True, **record.model_dump(mode="json")})
        return
    _print_plan(result.plan, details=False)
    console = _console()
    for folder in record.folders:
        extra = (
            f", skipped conflicts: {', '.join(folder.skipped_conflicts)}"
            if (folder.skipped_conflicts)
            else ""
        )
        console.print(
            f"{folder.name}: {folder.status}, {folder.written} files written"
            f"{' in batch ' + folder.batch_id if folder.batch_id else ''}{extra}"
        )
    if record.written == 0:
        console.print(
            f"[bold]nothing to write[/]: the workspace already matches (run {record.run_id})"
        )
    else:
        console.print(
            f"[bold]applied[/] run {record.run_id}: {record.written} files written; "
            f"undo with `vibehq migrate rollback {record.run_id}`"
        )


@migrate_app.command("rollback")
@guarded
def migrate_rollback(
    run_id: Annotated[str | None, typer.Argument(help="Run id from `migrate apply`.")] = None,
    last: Annotated[bool, typer.Option("--last", help="Roll back the newest applied run.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore every file a migration run wrote, byte for byte."""
    from engine.errors import BadInput
    from engine.migrate.runner import last_run, rollback_migration

    ws, settings = _open(workspace)
    if (run_id is None) == (not last):
        raise BadInput("give a run id or --last (one of them)")
    record = rollback_migration(ws, run_id or last_run(ws), settings)
    if as_json:
        _emit_json({"ok": True, **record.model_dump(mode="json")})
        return
    rolled = [f.name for f in record.folders if f.status == "rolled-back"]
    _console().print(f"[bold]rolled back[/] run {record.run_id}: {', '.join(rolled) or 'nothing'}")


@app.command("batch")
@guarded
def batch_run(
    staging: Annotated[Path, typer.Argument(help="STAGING folder: each subfolder is a worker.")],
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest", help="Manifest template; may use {folder}, {staging} and {name}."
        ),
    ],
    workers: Annotated[int, typer.Option("--workers", min=1, max=32)] = 2,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip folders done in the last batch run.")
    ] = False,
    only: Annotated[str | None, typer.Option("--only", help="Glob over folder names.")] = None,
    on_conflict: ConflictOpt = "fail",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan and apply every STAGING subfolder, each in its own process and atomic batch."""
    from engine.migrate.batchrun import run_batch

    ws, settings = _open(workspace)
    policy = _conflict_policy(on_conflict)
    summary = run_batch(
        ws,
        settings,
        staging,
        manifest,
        workers=workers,
        resume=resume,
        only=only,
        on_conflict=policy,
        progress=not as_json,
    )
    if as_json:
        _emit_json({"ok": summary.failed == 0, **summary.model_dump(mode="json")})
    else:
        _print_batch_summary(summary)
    if summary.failed:
        raise typer.Exit(1)


@agents_app.command("list")
@guarded
def agents_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Each agent's status, violation rate, clean-change rate, quarantines, time to release."""
    from engine.ledger.store import Ledger
    from engine.validate.quarantine import agent_statuses

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        statuses = agent_statuses(ledger)
    if as_json:
        _emit_json([s.model_dump(mode="json") for s in statuses])
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
            _rate(s.violation_rate),
            _rate(s.clean_rate),
            str(s.quarantine_count),
            str(s.refused),
            release_s,
            _escape(s.reason or ""),
        )
    _console().print(table if statuses else "no agent has proposed a batch yet")


@agents_app.command("release")
@guarded
def agents_release(
    agent: Annotated[str, typer.Argument(help="The quarantined agent.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it may work again.")],
    actor: Annotated[str, typer.Option("--by", help="Who releases it.")] = "",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a quarantined agent; its next batches are accepted again."""
    import getpass

    from engine.ledger.store import Ledger
    from engine.validate.quarantine import release

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        release(ledger, agent, reason=reason, actor=actor or getpass.getuser())
    if as_json:
        _emit_json({"ok": True, "agent": agent, "released": True})
        return
    _console().print(f"released agent {agent}")


@queue_app.command("list")
@guarded
def queue_list(
    status: Annotated[str | None, typer.Option("--status", help="open | done")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Work the specialist rules queued (each at most once)."""
    from engine.ledger.store import Ledger
    from engine.validate.triggers import queue_items

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        items = queue_items(ledger, status=status)
    if as_json:
        _emit_json([i.model_dump(mode="json") for i in items])
        return
    from rich.table import Table

    table = Table("id", "specialist", "rule", "batch", "task", "detail", "status")
    for i in items:
        table.add_row(
            str(i.id),
            i.specialist,
            i.rule,
            i.batch_id or "",
            i.task_id or "",
            json.dumps(i.detail),
            i.status,
        )
    _console().print(table if items else "the specialist queue is empty")


ReportView = Literal["logs", "stats", "trends"]


@report_app.command("patches")
@guarded
def report_patches(
    view: Annotated[str, typer.Argument(help="logs | stats | trends")] = "logs",
    task: Annotated[str | None, typer.Option("--task", help="logs: task id")] = None,
    file: Annotated[str | None, typer.Option("--file", help="logs: path or glob")] = None,
    search: Annotated[str | None, typer.Option("--search", help="logs: text search")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="logs: event kind")] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="logs: batch id")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    order: Annotated[str, typer.Option("--order", help="logs: desc | asc")] = "desc",
    date_from: Annotated[str | None, typer.Option("--from", help="stats: YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="stats: YYYY-MM-DD")] = None,
    by: Annotated[str, typer.Option("--by", help="trends: weekly | task | order")] = "weekly",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Patch logs, stats and trends from the ledger (the seed's three analytics APIs)."""
    from engine.errors import BadInput
    from engine.ledger import reports
    from engine.ledger.store import Ledger

    ws, _ = _open(workspace)
    if view not in ("logs", "stats", "trends"):
        raise BadInput(f"unknown view {view!r}; expected logs, stats or trends")
    if order not in ("asc", "desc"):
        raise BadInput(f"--order must be asc or desc, not {order!r}")
    if by not in ("weekly", "task", "order"):
        raise BadInput(f"--by must be weekly, task or order, not {by!r}")
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
                    order=order,
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                raise BadInput(f"--{err['loc'][0]}: {err['msg']}") from None
            data: Any = reports.patch_logs(ledger, query)
        elif view == "stats":
            data = reports.patch_stats(ledger, date_from, date_to)
        else:
            data = reports.patch_trends(ledger, by)  # type: ignore[arg-type]
    if as_json:
        _emit_json(
            data.model_dump(mode="json")
            if hasattr(data, "model_dump")
            else [row.model_dump(mode="json") for row in data]
        )
        return
    _print_report(view, data)


def _print_batch(result: BatchResult) -> None:
    from rich.table import Table

    console = _console()
    if result.diff:
        _print_diff(result.diff)
    table = Table("action", "file", "+", "-", box=None, pad_edge=False)
    for f in result.files:
        colour = {"created": "green", "deleted": "red", "unchanged": "dim"}.get(f.action, "cyan")
        table.add_row(f"[{colour}]{f.action}[/]", f.path, str(f.lines_added), str(f.lines_removed))
    console.print(table)
    if result.validation is not None:
        console.print(f"validation: [green]{_escape(result.validation.summary)}[/]")
    verb = {
        "dry-run": "dry run, nothing written:",
        "applied": "applied",
        "unchanged": "nothing to do, files already match:",
        "rolled-back": "rolled back as",
    }[result.status]
    console.print(
        f"[bold]{verb}[/] batch {result.batch_id}: {result.ops} ops on {len(result.files)} "
        f"files (+{result.lines_added} -{result.lines_removed})"
    )
    if result.webhook is not None and not result.webhook.delivered:
        console.print(
            f"[yellow]warning:[/] webhook {result.webhook.url} failed after "
            f"{result.webhook.attempts} attempts ({result.webhook.error}); the patch stands"
        )


def _print_plan(plan: Any, *, details: bool) -> None:
    from rich.table import Table

    console = _console()
    table = Table(
        "from",
        "to",
        "files",
        "new",
        "same",
        "conflicts",
        "rewrites",
        "unresolved",
        "sql sites",
        title=f"migration plan: {plan.manifest}",
    )
    for f in plan.folders:
        counts = {
            s: sum(1 for p in f.files if p.status == s) for s in ("new", "identical", "conflict")
        }
        table.add_row(
            _short(f.source_root),
            f.dest_root,
            str(len(f.files)),
            str(counts["new"]),
            str(counts["identical"]),
            str(counts["conflict"]),
            str(len(f.rewrites)),
            str(len(f.unresolved)),
            str(len(f.sql_sites)),
        )
    console.print(table)
    if not details:
        return
    rewrites = [r for f in plan.folders for r in f.rewrites]
    if rewrites:
        t = Table("file:line", "old", "new", "rule", title="import rewrites")
        for r in rewrites:
            t.add_row(f"{r.file}:{r.line}", r.old, r.new, r.rule)
        console.print(t)
    unresolved = [u for f in plan.folders for u in f.unresolved]
    if unresolved:
        t = Table("file:line", "specifier", "why", title="unresolved imports")
        for u in unresolved:
            t.add_row(f"{u.file}:{u.line}", u.specifier, u.reason)
        console.print(t)
    sites = [s for f in plan.folders for s in f.sql_sites]
    if sites:
        t = Table("file:lines", "driver", "call", "kind", "tables", "in", title="SQL sites")
        for s in sites:
            where = ".".join(x for x in (s.class_name, s.function) if x) or "-"
            tables = ", ".join(sorted(set(s.tables_read) | set(s.tables_written))) or "-"
            t.add_row(
                f"{s.file}:{s.start_line}-{s.end_line}", s.driver, s.call, s.kind, tables, where
            )
        console.print(t)
    conflicts = [c for f in plan.folders for c in f.conflicts]
    if conflicts:
        t = Table("destination", "existing sha256", "incoming sha256", title="conflicts")
        for c in conflicts:
            t.add_row(c.dest, (c.existing_sha256 or "")[:12], c.sha256[:12])
        console.print(t)
    if plan.tsconfig_paths_missing:
        console.print(
            "tsconfig paths the manifest asks for and the workspace lacks: "
            + ", ".join(plan.tsconfig_paths_missing)
        )


def _short(path: str) -> str:
    """A path relative to the current folder when that is shorter."""
    rel = os.path.relpath(path)
    return rel if len(rel) < len(path) else path


def _print_batch_summary(summary: Any) -> None:
    from rich.table import Table

    table = Table(
        "folder",
        "status",
        "files",
        "rewritten",
        "unresolved",
        "sql sites",
        "conflicts",
        "time",
        "error",
        title=f"batch {summary.batch_id}",
    )
    for f in summary.folders:
        colour = {"done": "green", "failed": "red", "skipped": "dim"}.get(f.status, "")
        table.add_row(
            f.folder,
            f"[{colour}]{f.status}[/]",
            str(f.files),
            str(f.rewrites),
            str(f.unresolved),
            str(f.sql_sites),
            str(f.conflicts),
            f"{f.seconds:.2f}s",
            _escape(f.error or ""),
        )
    console = _console()
    console.print(table)
    console.print(
        f"{summary.done} done, {summary.failed} failed, {summary.skipped} skipped; "
        f"reports: {summary.report_dir}"
    )


def _print_diff(diff: str) -> None:
    if sys.stdout.isatty():
        from rich.syntax import Syntax

        _console().print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(diff)


def _print_findings(result: ValidationResult) -> None:
    console = _console(stderr=True)
    for f in result.findings[:20]:
        where = f"{f.file}:{f.line}:{f.column}" if f.file else result.validator
        console.print(f"  {_escape(where)} [red]{f.code or f.severity}[/] {_escape(f.message)}")
    if len(result.findings) > 20:
        console.print(f"  and {len(result.findings) - 20} more")


def _print_violations(violations: Any, *, stderr: bool) -> None:
    console = _console(stderr=stderr)
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
    for v in violations[:30]:
        colour = colours.get(v.severity, "")
        console.print(
            f"  [{colour}]{v.severity}[/] {v.kind} {_escape(v.file)}:{v.line} {_escape(v.message)}"
        )
    if len(violations) > 30:
        console.print(f"  and {len(violations) - 30} more")


@app.command("scan")
@guarded
def scan_cmd(
    paths: Annotated[list[str], typer.Argument(help="Files or folders, workspace-relative.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the code quality monitor over files: placeholders, incomplete code, syntax,
    security risks, logic errors. Exit 1 if anything critical is found."""
    from engine.validate.quality import scan_paths

    ws, _ = _open(workspace)
    report = scan_paths(ws.root, paths)
    if as_json:
        _emit_json(report.model_dump(mode="json"))
    else:
        _print_violations(report.violations, stderr=False)
        counts = ", ".join(f"{k} {n}" for k, n in report.counts.items() if n) or "no violations"
        _console().print(f"{report.files_checked} files, {report.lines_judged} lines: {counts}")
    if report.critical:
        raise typer.Exit(1)


def _print_report(view: str, data: Any) -> None:
    from rich.table import Table

    console = _console()
    if view == "logs":
        table = Table("ts", "kind", "batch", "task", "file", "op", "+", "-", "error")
        for e in data.items:
            table.add_row(
                e.ts[:19],
                e.kind,
                e.batch_id,
                e.task_id or "",
                e.file or "",
                e.op or "",
                str(e.lines_added),
                str(e.lines_removed),
                e.error or "",
            )
        console.print(table)
        console.print(f"{len(data.items)} of {data.total} events (offset {data.offset})")
        return
    if view == "trends":
        table = Table(
            "key", "batches", "applied", "failed", "rolled back", "success", "first", "last"
        )
        for row in data:
            table.add_row(
                str(row.key),
                str(row.batches),
                str(row.applied),
                str(row.failed),
                str(row.rolled_back),
                _rate(row.success_rate),
                row.first_ts[:10],
                row.last_ts[:10],
            )
        console.print(table)
        return
    _print_stats(data)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_stats(stats: Any) -> None:
    from rich.table import Table

    console = _console()
    span = f"{(stats.first_ts or '-')[:19]} .. {(stats.last_ts or '-')[:19]}"
    console.print(f"[bold]{stats.total_events}[/] events, {span}")
    days = Table("day", "requested", "applied", "failed", "rolled back", title="per day")
    for d in stats.daily:
        days.add_row(d.day, str(d.requested), str(d.applied), str(d.failed), str(d.rolled_back))
    people = Table("requester", "applied", "failed", "success", title="per requester")
    for r in stats.requesters:
        people.add_row(r.requester or "-", str(r.applied), str(r.failed), _rate(r.success_rate))
    ops = Table("op", "count", title="operations")
    for o in stats.operations:
        ops.add_row(o.op or "-", str(o.count))
    console.print(days, people, ops)
    if stats.errors:
        errors = Table("count", "error", title="errors")
        for e in stats.errors:
            errors.add_row(str(e.count), e.error)
        console.print(errors)


def run() -> None:
    """Console-script entry: usage errors become one line and exit 2, never a traceback."""
    # Typer 0.2x vendors click; older releases depend on it.
    try:
        from typer._click import exceptions as click_exc
    except ImportError:
        from click import exceptions as click_exc  # type: ignore[no-redef]

    try:
        # Without standalone mode, click returns an Exit's code instead of raising it.
        code = app(standalone_mode=False)
    except click_exc.ClickException as exc:
        # `vibehq` alone prints help and raises an error with no message.
        if message := exc.format_message():
            _console(stderr=True).print(f"[bold red]error:[/] {_escape(message)}")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
