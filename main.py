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
import engine.offline_env  # noqa: F401

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
approvals_app = typer.Typer(
    help="The approval queue: what waits for a human, what the policy passed, who decided.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
tasks_app = typer.Typer(
    help="The task plan: task-master tasks.json, read and changed exactly and safely.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
dep_app = typer.Typer(
    help="Add or remove one dependency.", no_args_is_help=True, rich_markup_mode=None
)
deps_app = typer.Typer(
    help="Check or repair every dependency.", no_args_is_help=True, rich_markup_mode=None
)
subtask_app = typer.Typer(
    help="Add or remove subtasks.", no_args_is_help=True, rich_markup_mode=None
)
epic_app = typer.Typer(
    help="Batch granular tasks into epics.", no_args_is_help=True, rich_markup_mode=None
)
tasks_app.add_typer(dep_app, name="dep")
tasks_app.add_typer(deps_app, name="deps")
tasks_app.add_typer(subtask_app, name="subtask")
tasks_app.add_typer(epic_app, name="epic")
refactor_app = typer.Typer(
    help="D1/SQLite-to-RPC refactor of a migrated folder: recipes first, needs-model for the rest.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(patch_app, name="patch")
app.add_typer(migrate_app, name="migrate")
app.add_typer(refactor_app, name="refactor")
app.add_typer(tasks_app, name="tasks")
app.add_typer(agents_app, name="agents")
app.add_typer(queue_app, name="queue")
app.add_typer(approvals_app, name="approvals")
app.add_typer(report_app, name="report")
dev_app = typer.Typer(
    help="Developer tools: the scripted model server for tests and demos.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(dev_app, name="dev")
route_app = typer.Typer(
    help="Model routing: complexity score, tier and model chain; calls and cost per tier.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(route_app, name="route")
memory_app = typer.Typer(
    help="Project memory: conventions, decisions, task history and migration facts, "
    "searched by meaning with an offline embedder.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(memory_app, name="memory")
epic_run_app = typer.Typer(
    help="The migration epic: every folder planned, migrated, refactored, gated, approved, "
    "applied and tracked in tasks.json; pauses on approvals, resumes from the ledger.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(epic_run_app, name="epic")

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
    validator, skip = _validator_choice(ws, settings, validate)
    gated = gated_apply(
        ws,
        batch,
        settings,
        dry_run=dry_run,
        validator=validator,
        block_root=block_root,
        with_diff=as_json,
        skip=skip,
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


def _validator_choice(ws: Workspace, settings: Settings, flag: bool | None) -> Any:
    """(validator or None, the gate's skip): on wherever the workspace has its tsconfig."""
    from engine.validate.judge import choose_validator

    return choose_validator(ws, settings, flag)


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
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="Type-check each folder's batch first. Default: on when the workspace has "
            "its tsconfig, unless [patch] validate = false.",
            show_default=False,
        ),
    ] = None,
    refactor: Annotated[
        bool,
        typer.Option(
            "--refactor",
            help="Then run the D1-to-RPC refactor on every migrated folder with SQL sites "
            "(one tsc check per folder against the baseline; recorded first if missing).",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Perform the plan: one atomic, journaled batch per folder. Re-running writes nothing."""
    from engine.migrate.runner import apply_migration

    ws, settings = _open(workspace)
    policy = _conflict_policy(on_conflict)
    validator, skip = _validator_choice(ws, settings, validate)
    loaded = _load_manifest(manifest, base)
    record, result = apply_migration(
        ws, loaded, settings, on_conflict=policy, validator=validator, skip=skip
    )
    refactored = _refactor_migrated(ws, settings, loaded, result.plan) if refactor else []
    if as_json:
        payload = {"ok": True, **record.model_dump(mode="json")}
        if refactor:
            payload["refactor"] = [r.model_dump(mode="json") for r in refactored]
        _emit_json(payload)
        if any(r.status == "rejected" for r in refactored):
            raise typer.Exit(1)
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
            + (f"; {_escape(folder.held)}" if folder.held else "")
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
    for done in refactored:
        share = done.share
        console.print(
            f"refactor {done.folder}: {done.status}, {share['recipes']}/{share['sites']} SQL "
            f"sites by recipes, {share['needs_model']} need a model"
            + (f" ({_escape(done.error)})" if done.error else "")
        )
    if any(r.status == "rejected" for r in refactored):
        raise typer.Exit(1)


def _refactor_migrated(ws: Workspace, settings: Settings, loaded: Any, plan: Any) -> list[Any]:
    from engine.refactor.pipeline import refactor_folders
    from engine.validate.baseline import load_baseline
    from engine.validate.run import validate_workspace

    folders = [f.dest_root for f in plan.folders if f.sql_sites]
    if not folders:
        return []
    if load_baseline(ws, "tsc") is None:
        # "No new errors" needs a before: the migrated tree, as it is now, is that before.
        validate_workspace(ws, tools=("tsc",), record=True, settings=settings)
    owner = getattr(loaded.manifest, "owner", None)
    return refactor_folders(
        ws,
        folders,
        settings,
        rpc=getattr(loaded.manifest, "rpc", None),
        validator=_batch_validator(ws, settings),
        tasks_path=_tasks_path(ws, settings, None),
        epic_id=None if owner is None else str(owner),
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
    """Each agent's status, violation rate, clean-change rate, quarantines, time to release;
    then the crew's agents from agents.yaml with their role and model tier."""
    from engine.ledger.store import Ledger
    from engine.validate.quarantine import agent_statuses

    ws, settings = _open(workspace)
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
    console = _console()
    console.print(table if statuses else "no agent has proposed a batch yet")
    from agents.spec import agents_path, load_agents

    defined = load_agents(agents_path(ws, settings))
    crew = Table("agent", "role", "tier", "tools", "delegates", title=f"crew ({defined.path})")
    for spec in defined.agents.values():
        crew.add_row(
            spec.name,
            _escape(spec.role),
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


@app.command("chat")
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
    by: ByOpt = None,
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Talk to Auto, the architect: ask about the plan, change it, or hand work to the crew.
    Pending approvals are decided inline with /approve N and /reject N REASON."""
    from agents.spec import agents_path, load_agents, tier_missing

    ws, settings = _open(workspace)
    missing = tier_missing(settings, load_agents(agents_path(ws, settings)).get("auto"))
    if missing is not None:
        from engine.errors import CheckFailed

        detail = missing.removeprefix("needs a model: ")
        raise CheckFailed(f"chat needs a model: {detail}; {CHAT_WITHOUT_MODEL}")
    from crews.chat import ChatSession

    if staging is None and (ws.root.parent / "STAGING").is_dir():
        staging = ws.root.parent / "STAGING"
    validator, _skip = _validator_choice(ws, settings, validate)
    console = _console()
    session = ChatSession(
        ws,
        settings,
        staging=None if staging is None else staging.resolve(),
        validator=validator,
        on_event=None if as_json else _chat_progress(console),
    )
    if once is not None:
        turn = session.turn(once)
        if as_json:
            _emit_json(turn.model_dump(mode="json"))
        else:
            _print_turn(turn)
        if not turn.ok:
            raise typer.Exit(1)
        return
    console.print(
        f"[bold]vibehq chat[/] with Auto in {_escape(str(ws.root))} "
        "(/help for commands, Ctrl-D to leave)"
    )
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line:
            continue
        if line.startswith("/"):
            if not _chat_command(line, ws, settings, _approver(by), validator):
                return
            continue
        _print_turn(session.turn(line))


def _chat_progress(console: Any) -> Any:
    def show(event: Any) -> None:
        if event.kind == "tool" and event.status == "started":
            console.print(f"  [dim]{_escape(event.agent or '?')} -> {_escape(event.tool or '')}[/]")
        elif event.kind == "message" and event.message:
            console.print(f"  [dim]{_escape(event.message)}[/]")

    return show


def _print_turn(turn: Any) -> None:
    from rich.panel import Panel

    console = _console()
    if turn.answer:
        console.print(Panel(_escape(turn.answer), title="Auto", title_align="left"))
    for task in turn.delegated:
        console.print(f"[dim]handed to the crew: {_escape(task)}[/]")
    if turn.proposals:
        console.print(
            "proposals: "
            + ", ".join(str(p) for p in turn.proposals)
            + " (vibehq approvals show N; /approve N)"
        )
    for note in turn.notes:
        console.print(f"[yellow]note:[/] {_escape(note)}")
    if turn.error:
        console.print(f"[bold red]error:[/] {_escape(turn.error)}")


def _chat_command(line: str, ws: Workspace, settings: Settings, by: str, validator: Any) -> bool:
    """Run one /command; False to leave the chat. Errors are printed, never raised."""
    from engine.errors import VibehqError

    console = _console()
    words = line.split()
    name, rest = words[0].lower(), words[1:]
    if name in ("/quit", "/exit", "/q"):
        return False
    if name == "/help":
        console.print(CHAT_HELP)
        return True
    try:
        if name == "/pending":
            from crews.chat import pending_items

            items = pending_items(ws)
            for item in items:
                console.print(f"  {item.id}  {item.kind}  {_escape(item.title)}")
            console.print(f"{len(items)} pending" if items else "nothing is pending")
            return True
        if name in ("/approve", "/reject") and rest and rest[0].isdigit():
            from crews.chat import decide

            reason = " ".join(rest[1:]).removeprefix("--reason").strip()
            done = decide(
                ws,
                settings,
                int(rest[0]),
                approve=name == "/approve",
                by=by,
                reason=reason,
                validator=validator,
            )
            console.print(_escape(done))
            return True
    except VibehqError as exc:
        console.print(f"[bold red]error:[/] {_escape(exc.message)}")
        return True
    console.print(f"unknown command {_escape(line)!r}\n{CHAT_HELP}")
    return True


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


ItemArg = Annotated[int, typer.Argument(help="Approval item id (from `vibehq approvals list`).")]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who decides (recorded in the ledger). Default: your user name."),
]
ValidateOpt = Annotated[
    bool | None,
    typer.Option(
        "--validate/--no-validate",
        help="Run the validator (tsc, eslint) on a staging copy when checking a batch. "
        "Default: [patch] validate in vibehq.toml.",
        show_default=False,
    ),
]


def _approver(by: str | None) -> str:
    import getpass

    return by if by is not None else getpass.getuser()


def _reviewer(
    ws: Workspace, settings: Settings, validate: bool | None, block_root: Path | None
) -> Any:
    from engine.approvals.review import batch_reviewer

    validator, _skip = _validator_choice(ws, settings, validate)
    return batch_reviewer(ws, settings, validator=validator, block_root=block_root)


@approvals_app.command("submit")
@guarded
def approvals_submit(
    batch_file: Annotated[Path, typer.Argument(help="PatchBatch JSON file to queue.")],
    run: Annotated[str | None, typer.Option("--run", help="Flow run that waits on it.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Step of that run.")] = None,
    signature: Annotated[
        str | None, typer.Option("--signature", help="Recurring case it belongs to.")
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 30m, 4h, 2d.")
    ] = None,
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review a PatchBatch (gate checks, dry run) and queue it; the policy may pass it at once.

    Nothing in the workspace changes: an approved batch is applied by `approvals apply`."""
    from engine.approvals.models import ApprovalRequest
    from engine.approvals.queue import submit
    from engine.approvals.review import batch_title
    from engine.ledger.store import Ledger
    from engine.patch.loader import load_batch_file

    ws, settings = _open(workspace)
    batch = load_batch_file(batch_file)
    payload = _reviewer(ws, settings, validate, batch_file.resolve().parent)(batch)
    request = ApprovalRequest(
        payload=payload,
        title=batch_title(payload.batch, payload),
        requester=batch.requester,
        run_id=run,
        step=step,
        signature=signature,
        expires_at=None if expires_in is None else _expires_at(expires_in),
    )
    ws.ensure_state_dir()
    with Ledger.open(ws.ledger_path) as ledger:
        item = submit(ledger, request, settings.approvals)
    if as_json:
        _emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    _console().print(f"item {item.id}: {_item_state(item)}")
    _print_verdict(item)


def _expires_at(text: str) -> str:
    import re
    from datetime import UTC, datetime, timedelta

    from engine.errors import BadInput

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhd])\s*", text)
    if match is None:
        raise BadInput(f"--expires-in {text!r}: give a number and m, h or d (e.g. 30m, 4h, 2d)")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    amount = float(match.group(1))
    if amount <= 0:
        raise BadInput(f"--expires-in {text!r}: must be more than zero")
    return (datetime.now(UTC) + timedelta(**{unit: amount})).isoformat()


@approvals_app.command("list")
@guarded
def approvals_list(
    state: Annotated[
        str | None, typer.Option("--state", help="pending | approved | rejected | expired")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="patch_batch | needs_model | plan_change | quarantine_release"),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only this flow run.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The approval queue, oldest first (items past their expiry are marked expired)."""
    from engine.approvals.queue import list_items
    from engine.ledger.store import Ledger

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        items = list_items(ledger, state=state, kind=kind, run_id=run)
    if as_json:
        _emit_json([i.model_dump(mode="json") for i in items])
        return
    from rich.table import Table

    table = Table("id", "kind", "state", "title", "run", "created", "decided by", "rule")
    for i in items:
        decision = i.decision
        table.add_row(
            str(i.id),
            i.kind,
            _item_state(i),
            _escape(i.title),
            _escape(" / ".join(p for p in (i.run_id, i.step) if p)),
            i.created_at[:19],
            _escape(decision.by) if decision else "",
            (decision.rule or "") if decision else "",
        )
    _console().print(table if items else "no approval items")


@approvals_app.command("show")
@guarded
def approvals_show(
    item_id: ItemArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False
) -> None:
    """One item: its decision or the policy's reasons, and what it is (a batch's diff in
    colour, with its quality and validation results; a work item's context)."""
    from engine.approvals.queue import get_item
    from engine.ledger.store import Ledger

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        item = get_item(ledger, item_id)
    if as_json:
        _emit_json(item.model_dump(mode="json"))
        return
    _print_item(item)


@approvals_app.command("approve")
@guarded
def approvals_approve(
    item_id: Annotated[
        int | None, typer.Argument(help="Item to approve (or use --all-safe).", show_default=False)
    ] = None,
    all_safe: Annotated[
        bool, typer.Option("--all-safe", help="Approve every pending item the policy passes.")
    ] = False,
    by: ByOpt = None,
    edit: Annotated[
        Path | None,
        typer.Option(
            "--edit",
            help="An edited PatchBatch (JSON) to approve instead; for a needs_model item, the "
            "answer. It is checked by the gate again first.",
        ),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    validate: ValidateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve one pending item, or with --all-safe every one the policy marks safe.

    Approving writes no file: the flow holding the item's resume token applies an approved
    batch (or run `vibehq approvals apply ID`)."""
    from engine.approvals.queue import approve, approve_all_safe
    from engine.errors import BadInput
    from engine.ledger.store import Ledger
    from engine.patch.loader import load_batch_file

    if all_safe == (item_id is not None):
        raise BadInput("give one item id, or --all-safe")
    if all_safe and edit is not None:
        raise BadInput("--edit approves one item; it cannot go with --all-safe")
    ws, settings = _open(workspace)
    who = _approver(by)
    if all_safe:
        with Ledger.open(ws.ledger_path) as ledger:
            result = approve_all_safe(ledger, settings.approvals, by=who)
        if as_json:
            _emit_json({"ok": True, **result.model_dump(mode="json")})
            return
        for item in result.approved:
            decision = item.decision
            assert decision is not None
            _console().print(
                f"approved item {item.id} ({_escape(item.title)}): rule {decision.rule}, "
                f"confidence {decision.confidence}"
            )
        _console().print(f"{len(result.approved)} approved; {len(result.left)} still need a human")
        return
    assert item_id is not None
    edited = None
    review = None
    if edit is not None:
        from engine.approvals.queue import get_item
        from engine.epic.runner import answer_reviewer

        edited = load_batch_file(edit)
        with Ledger.open(ws.ledger_path) as ledger:
            current = get_item(ledger, item_id)
        review = answer_reviewer(
            ws,
            settings,
            current,
            validator=_validator_choice(ws, settings, validate)[0],
            block_root=edit.resolve().parent,
        ) or _reviewer(ws, settings, validate, edit.resolve().parent)
    with Ledger.open(ws.ledger_path) as ledger:
        item = approve(ledger, item_id, by=who, reason=reason, edit=edited, review=review)
    if as_json:
        _emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    note = " with an edited batch" if item.edited else ""
    _console().print(f"approved item {item.id}{note}: {_escape(item.title)}")


@approvals_app.command("reject")
@guarded
def approvals_reject(
    item_id: ItemArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending item; the flow waiting on it sees the reason."""
    from engine.approvals.queue import reject
    from engine.ledger.store import Ledger

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        item = reject(ledger, item_id, by=_approver(by), reason=reason)
    if as_json:
        _emit_json({"ok": True, **item.model_dump(mode="json")})
        return
    _console().print(f"rejected item {item.id}: {_escape(item.title)}")


@approvals_app.command("apply")
@guarded
def approvals_apply(
    item_id: ItemArg,
    validate: ValidateOpt = None,
    accept_unvalidated: Annotated[
        bool,
        typer.Option(
            "--accept-unvalidated",
            help="Apply a batch no validator checked (at review or now); recorded in the ledger.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply an approved item's batch through the gate, once: exactly the approved diff, or
    nothing (a file changed since the review is a conflict)."""
    from engine.approvals.apply import apply_approved

    ws, settings = _open(workspace)
    validator, skip = _validator_choice(ws, settings, validate)
    gated = apply_approved(
        ws,
        item_id,
        settings,
        validator=validator,
        skip=skip,
        accept_unvalidated=accept_unvalidated,
    )
    if as_json:
        _emit_json(
            {
                "ok": True,
                **gated.batch.model_dump(mode="json"),
                "quality": gated.quality.model_dump(mode="json"),
            }
        )
        return
    _print_batch(gated.batch)


def _item_state(item: Any) -> str:
    colour = {"pending": "yellow", "approved": "green", "rejected": "red"}.get(item.state, "dim")
    auto = " (auto)" if item.decision is not None and item.decision.auto else ""
    return f"[{colour}]{item.state}[/]{auto}"


def _print_verdict(item: Any) -> None:
    console = _console()
    verdict = item.verdict
    if verdict.verdict == "auto":
        console.print(
            f"policy: auto-pass by rule {verdict.rule} (confidence {verdict.confidence}): "
            f"{_escape(verdict.detail)}"
        )
        return
    console.print("policy: needs a human")
    for r in verdict.reasons:
        console.print(f"  - {r.rule}: {_escape(r.detail)}")


def _print_item(item: Any) -> None:
    console = _console()
    console.print(f"[bold]item {item.id}[/] {item.kind} {_item_state(item)}: {_escape(item.title)}")
    facts = [
        ("requester", item.requester),
        ("run", item.run_id),
        ("step", item.step),
        ("signature", item.signature),
        ("created", item.created_at),
        ("expires", item.expires_at),
    ]
    for name, value in facts:
        if value:
            console.print(f"{name}: {_escape(value)}")
    decision = item.decision
    if decision is not None:
        how = (
            f" by rule {decision.rule} (confidence {decision.confidence})" if decision.auto else ""
        )
        edited = " with an edited batch" if item.edited else ""
        console.print(
            f"decision: {decision.state} by {_escape(decision.by)} at {decision.at}{how}{edited}"
            + (f": {_escape(decision.reason)}" if decision.reason else "")
        )
    _print_verdict(item)
    payload = item.payload
    if payload.kind == "patch_batch":
        _print_batch_payload(payload)
    elif payload.kind == "needs_model":
        work = payload.work_item
        console.print(
            f"work item {_escape(work.id)}: {_escape(work.file)}:{work.start_line}-"
            f"{work.end_line}: {_escape(work.reason)}"
        )
        if payload.allowed_files:
            console.print("allowed files: " + _escape(", ".join(payload.allowed_files)))
        _print_code(work.context, "typescript")
        if payload.prompt:
            console.print("[bold]prompt:[/]")
            console.print(_escape(payload.prompt))
        if payload.answer is not None:
            console.print("[bold]answer:[/]")
            _print_batch_payload(payload.answer)
    elif payload.kind == "plan_change":
        change = payload.change
        console.print(
            f"plan change: {change.op} {', '.join(change.ids)}: {_escape(change.summary)}"
        )
        if change.fields:
            console.print(_escape(json.dumps(change.fields, indent=2, default=str)))
        for command in change.commands:
            console.print(f"  $ {_escape(command)}")
    else:
        console.print(
            f"release agent {_escape(payload.agent)}, quarantined since "
            f"{payload.quarantined_since or '?'}: {_escape(payload.quarantine_reason or '')}"
        )


def _print_batch_payload(payload: Any) -> None:
    from rich.table import Table

    console = _console()
    table = Table("action", "file", "+", "-", "import-only", box=None, pad_edge=False)
    for f in payload.files:
        table.add_row(
            f.action,
            _escape(f.path),
            str(f.lines_added),
            str(f.lines_removed),
            "yes" if f.import_only else "no",
        )
    if payload.files:
        console.print(table)
    violations = payload.quality.violations
    counts = ", ".join(f"{n} {k}" for k, n in payload.quality.counts.items() if n)
    console.print(f"quality: {len(violations)} violations" + (f" ({counts})" if counts else ""))
    _print_violations(violations, stderr=False)
    validation = payload.validation
    if validation is None:
        console.print("validation: not run")
    else:
        mark = "[green]passed[/]" if validation.ok else "[red]failed[/]"
        console.print(f"validation: {validation.validator} {mark} {_escape(validation.summary)}")
    if payload.refused:
        console.print(f"[red]refused by the gate:[/] {_escape(payload.refused)}")
    if payload.diff:
        _print_diff(payload.diff)


def _print_code(text: str, lexer: str) -> None:
    console = _console()
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text, lexer, theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


TasksFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="tasks.json (default: [plan] tasks_file, .taskmaster/tasks/tasks.json)",
        show_default=False,
    ),
]
TagOpt = Annotated[str | None, typer.Option("--tag", help="task-master tag (default: current)")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who makes the change (ledger).")]


def _tasks_path(ws: Workspace, settings: Settings, file: Path | None) -> Path:
    from engine.workspace import resolve_inside

    if file is not None:
        return file if file.is_absolute() else Path.cwd() / file
    return resolve_inside(ws.root, settings.plan.tasks_file, what="[plan] tasks_file")


def _read_plan(workspace: Path | None, file: Path | None, tag: str | None) -> Any:
    from engine.plan.document import load_tasks

    ws, settings = _open(workspace)
    return load_tasks(_tasks_path(ws, settings, file), tag=tag or settings.plan.tag)


def _change_plan(
    workspace: Path | None,
    file: Path | None,
    tag: str | None,
    actor: str | None,
    as_json: bool,
    change_fn: Callable[[Any], Any],
) -> None:
    """Apply one plan operation under the tasks.json lock, record it, print it."""
    import getpass

    from engine.ledger.store import Ledger
    from engine.plan.document import editing
    from engine.plan.history import record_change

    ws, settings = _open(workspace)
    path = _tasks_path(ws, settings, file)
    with editing(path, tag=tag or settings.plan.tag) as tf:
        change = change_fn(tf)
    with Ledger.open(ws.ledger_path) as ledger:
        record_change(ledger, change, actor=actor or getpass.getuser(), path=path)
    if as_json:
        _emit_json({"ok": True, **change.model_dump(mode="json")})
        return
    console = _console()
    console.print(f"[bold]{_escape(change.summary)}[/]")
    for line in change.commands:
        console.print(f"  [dim]{_escape(line)}[/]")


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@tasks_app.command("list")
@guarded
def tasks_list(
    status: Annotated[str | None, typer.Option("--status")] = None,
    priority: Annotated[str | None, typer.Option("--priority")] = None,
    ready: Annotated[bool, typer.Option("--ready", help="Only tasks whose deps are done.")] = False,
    blocking: Annotated[
        bool, typer.Option("--blocking", help="Only tasks others wait on.")
    ] = False,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, filtered."""
    from engine.plan.ops import list_tasks

    views = list_tasks(
        _read_plan(workspace, file, tag),
        status=status,
        priority=priority,
        ready=ready,
        blocking=blocking,
    )
    if as_json:
        _emit_json([v.model_dump(mode="json") for v in views])
        return
    from rich.table import Table

    table = Table("id", "status", "priority", "deps", "title")
    for v in views:
        table.add_row(
            str(v.id), v.status, v.priority or "", ",".join(v.dependencies), _escape(v.title)
        )
    _console().print(table if views else "no tasks match")


@tasks_app.command("show")
@guarded
def tasks_show(
    task_id: Annotated[str, typer.Argument(help="Task id, or 3.1 for a subtask.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one task or subtask."""
    from engine.plan.ops import show_task

    view = show_task(_read_plan(workspace, file, tag), task_id)
    if as_json:
        _emit_json(view.model_dump(mode="json"))
        return
    _print_task(view)


def _print_task(view: Any) -> None:
    console = _console()
    console.print(f"[bold]#{view.id} {_escape(view.title)}[/]")
    console.print(
        f"status: {view.status}  priority: {view.priority or '-'}  "
        f"dependencies: {', '.join(view.dependencies) or 'none'}"
    )
    for label, text in (
        ("description", view.description),
        ("details", view.details),
        ("test strategy", view.testStrategy),
    ):
        if text:
            console.print(f"\n[bold]{label}[/]\n{_escape(text)}")
    for sub in view.subtasks:
        console.print(_escape(f"  - {sub.id} [{sub.status}] {sub.title}"))


@tasks_app.command("next")
@guarded
def tasks_next(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The next task to work on, by task-master's rule."""
    from engine.plan.ops import next_task

    view = next_task(_read_plan(workspace, file, tag))
    if as_json:
        _emit_json(None if view is None else view.model_dump(mode="json"))
        return
    if view is None:
        _console().print("nothing is ready: every open task waits on an unfinished dependency")
        return
    _print_task(view)


@tasks_app.command("add")
@guarded
def tasks_add(
    title: Annotated[str, typer.Option("--title")],
    description: Annotated[str, typer.Option("--description")],
    details: Annotated[str | None, typer.Option("--details")] = None,
    test_strategy: Annotated[str | None, typer.Option("--test-strategy")] = None,
    priority: Annotated[str, typer.Option("--priority")] = "medium",
    dependencies: Annotated[str, typer.Option("--dependencies", help="Comma-separated ids.")] = "",
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task."""
    from engine.plan.ops import add_task

    _change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: add_task(
            tf,
            title=title,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            dependencies=_ids(dependencies),
        ),
    )


@tasks_app.command("update")
@guarded
def tasks_update(
    task_id: Annotated[str, typer.Argument()],
    title: Annotated[str | None, typer.Option("--title")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    details: Annotated[str | None, typer.Option("--details")] = None,
    test_strategy: Annotated[str | None, typer.Option("--test-strategy")] = None,
    priority: Annotated[str | None, typer.Option("--priority")] = None,
    append_details: Annotated[str | None, typer.Option("--append-details")] = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a task's fields (or append to its details)."""
    from engine.plan.ops import update_task

    _change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: update_task(
            tf,
            task_id,
            title=title,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            append_details=append_details,
        ),
    )


@tasks_app.command("set-status")
@guarded
def tasks_set_status(
    task_ids: Annotated[str, typer.Argument(help="Comma-separated ids, e.g. 9,10,11.1")],
    status: Annotated[str, typer.Argument()],
    cascade: Annotated[bool, typer.Option("--cascade", help="Recompute the parents.")] = False,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the status of tasks or subtasks."""
    from engine.plan.ops import set_status

    _change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: set_status(tf, _ids(task_ids), status, cascade_parent=cascade),
    )


@dep_app.command("add")
@guarded
def tasks_dep_add(
    task_id: Annotated[str, typer.Argument()],
    depends_on: Annotated[str, typer.Argument()],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """TASK now depends on DEPENDS_ON (cycles and missing ids are refused)."""
    from engine.plan.ops import add_dependency

    _change_plan(
        workspace, file, tag, actor, as_json, lambda tf: add_dependency(tf, task_id, depends_on)
    )


@dep_app.command("remove")
@guarded
def tasks_dep_remove(
    task_id: Annotated[str, typer.Argument()],
    depends_on: Annotated[str, typer.Argument()],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove one dependency."""
    from engine.plan.ops import remove_dependency

    _change_plan(
        workspace, file, tag, actor, as_json, lambda tf: remove_dependency(tf, task_id, depends_on)
    )


@deps_app.command("validate")
@guarded
def tasks_deps_validate(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dangling, self, duplicate and cyclic dependencies (exit 1 if any)."""
    from engine.plan.ops import validate_dependencies

    issues = validate_dependencies(_read_plan(workspace, file, tag))
    if as_json:
        _emit_json([i.model_dump(mode="json") for i in issues])
    else:
        for issue in issues:
            _console().print(f"  {_escape(str(issue.kind))}: {_escape(issue.message)}")
        _console().print(f"{len(issues)} dependency problems" if issues else "dependencies ok")
    if issues:
        raise typer.Exit(1)


@deps_app.command("fix")
@guarded
def tasks_deps_fix(
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove dangling, self and duplicate references and break cycles."""
    from engine.plan.ops import fix_dependencies

    _change_plan(workspace, file, tag, actor, as_json, fix_dependencies)


@subtask_app.command("add")
@guarded
def tasks_subtask_add(
    parent: Annotated[str, typer.Argument()],
    title: Annotated[str, typer.Option("--title")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    details: Annotated[str | None, typer.Option("--details")] = None,
    dependencies: Annotated[str, typer.Option("--dependencies")] = "",
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a subtask under PARENT."""
    from engine.plan.ops import add_subtask

    _change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: add_subtask(
            tf,
            parent,
            title=title,
            description=description,
            details=details,
            dependencies=_ids(dependencies),
        ),
    )


@subtask_app.command("remove")
@guarded
def tasks_subtask_remove(
    subtask_id: Annotated[str, typer.Argument(help="e.g. 3.2")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a subtask and every reference to it."""
    from engine.plan.ops import remove_subtask

    _change_plan(workspace, file, tag, actor, as_json, lambda tf: remove_subtask(tf, subtask_id))


@tasks_app.command("remove")
@guarded
def tasks_remove(
    task_id: Annotated[str, typer.Argument()],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a task and strip every reference to it."""
    from engine.plan.ops import remove_task

    _change_plan(workspace, file, tag, actor, as_json, lambda tf: remove_task(tf, task_id))


@tasks_app.command("move")
@guarded
def tasks_move(
    from_id: Annotated[str, typer.Argument()],
    to_id: Annotated[str, typer.Argument()],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a task to a free id, or a subtask to another parent; references follow."""
    from engine.plan.ops import move_task

    _change_plan(workspace, file, tag, actor, as_json, lambda tf: move_task(tf, from_id, to_id))


@epic_app.command("create")
@guarded
def tasks_epic_create(
    title: Annotated[str, typer.Option("--title")],
    merge: Annotated[str, typer.Option("--merge", help="Comma-separated ids to absorb.")],
    mark: Annotated[str, typer.Option("--mark", help="subsumed | done | cancelled")] = "subsumed",
    priority: Annotated[str, typer.Option("--priority")] = "high",
    description: Annotated[str | None, typer.Option("--description")] = None,
    details: Annotated[str | None, typer.Option("--details")] = None,
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an epic from granular tasks; dependents are re-pointed to it."""
    from engine.errors import BadInput
    from engine.plan.ops import create_epic

    if mark not in ("subsumed", "done", "cancelled"):
        raise BadInput(f"--mark must be subsumed, done or cancelled, not {mark!r}")
    _change_plan(
        workspace,
        file,
        tag,
        actor,
        as_json,
        lambda tf: create_epic(
            tf,
            title=title,
            merge=_ids(merge),
            mark=mark,  # type: ignore[arg-type]
            priority=priority,
            description=description,
            details=details,
        ),
    )


@tasks_app.command("deprecate")
@guarded
def tasks_deprecate(
    task_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="The task (epic) that supersedes it.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    actor: ActorOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deprecate a task in favour of another; its dependents move over."""
    from engine.plan.ops import deprecate

    _change_plan(workspace, file, tag, actor, as_json, lambda tf: deprecate(tf, task_id, by=by))


@tasks_app.command("emit-commands")
@guarded
def tasks_emit_commands(
    file: TasksFileOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The npx task-master-ai commands equivalent to every change made through vibehq."""
    from engine.ledger.store import Ledger
    from engine.plan.history import emit_commands, plan_changes

    ws, settings = _open(workspace)
    path = _tasks_path(ws, settings, file)
    if not ws.ledger_path.is_file():
        lines: list[str] = []
    else:
        with Ledger.open(ws.ledger_path) as ledger:
            lines = emit_commands([c.change for c in plan_changes(ledger, path)])
    if as_json:
        _emit_json(lines)
        return
    sys.stdout.write("".join(line + "\n" for line in lines))


@tasks_app.command("render")
@guarded
def tasks_render(
    markdown: Annotated[Path, typer.Option("--markdown", help="Write the plan document here.")],
    file: TasksFileOpt = None,
    tag: TagOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the plan as a Markdown document with a To-dos checklist."""
    from engine.plan.render import render_markdown

    text = render_markdown(_read_plan(workspace, file, tag))
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(text, encoding="utf-8")
    if as_json:
        _emit_json({"ok": True, "path": str(markdown), "bytes": len(text.encode())})
        return
    _console().print(f"wrote {markdown}")


FolderArg = Annotated[str, typer.Argument(help="The migrated folder, e.g. apps/sqlite-demo.")]
RpcManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="Manifest whose `rpc` section names the entrypoint and "
        "binding (default: conventions from the folder name).",
    ),
]


def _refactor_plan(ws: Workspace, folder: str, manifest: Path | None) -> tuple[Any, Any]:
    from engine.refactor.pipeline import plan_refactor, target_for

    loaded = _load_manifest(manifest, None) if manifest is not None else None
    rpc = loaded.manifest.rpc if loaded is not None else None
    owner = None if loaded is None or loaded.manifest.owner is None else str(loaded.manifest.owner)
    folder = ws.relative(ws.resolve(folder))
    return plan_refactor(ws, target_for(folder, rpc), task_id=owner), owner


@refactor_app.command("plan")
@guarded
def refactor_plan(
    folder: FolderArg,
    manifest: RpcManifestOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every SQL site, the recipe chosen or why it needs a model, and the diffs."""
    ws, _ = _open(workspace)
    plan, _owner = _refactor_plan(ws, folder, manifest)
    if as_json:
        _emit_json({"ok": True, "share": plan.share(), **plan.model_dump(mode="json")})
        return
    _print_refactor(plan)


@refactor_app.command("apply")
@guarded
def refactor_apply(
    folder: FolderArg,
    manifest: RpcManifestOpt = None,
    validate: Annotated[
        bool | None,
        typer.Option(
            "--validate/--no-validate",
            help="One tsc run over both batches. Default: on when the workspace has its "
            "tsconfig, unless [patch] validate = false.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply the recipes' two batches (orchestrator, then worker) after one validation of
    both on a staging copy; on failure nothing is applied and a remediation task is added."""
    from engine.refactor.pipeline import apply_refactor

    ws, settings = _open(workspace)
    plan, owner = _refactor_plan(ws, folder, manifest)
    tasks_path = _tasks_path(ws, settings, None)
    validator, skip = _validator_choice(ws, settings, validate)
    outcome = apply_refactor(
        ws,
        plan,
        settings,
        validator=validator,
        skip=skip,
        tasks_path=tasks_path,
        epic_id=owner,
    )
    if as_json:
        _emit_json({"ok": True, "share": plan.share(), **outcome.model_dump(mode="json")})
        return
    _print_refactor(plan, diffs=False)
    for label, result in (("orchestrator", outcome.orchestrator), ("worker", outcome.worker)):
        if result is not None:
            _console().print(
                f"{label}: {result.status} batch {result.batch_id} ({len(result.files)} files)"
            )
    if outcome.validation is not None:
        _console().print(f"validation: {_escape(outcome.validation.summary)}")
    _console().print(f"[bold]{outcome.status}[/]")


def _print_refactor(plan: Any, *, diffs: bool = True) -> None:
    from rich.table import Table

    console = _console()
    table = Table("site", "call", "kind", "recipe / method", "needs a model because")
    for d in plan.decisions:
        site = d.site
        table.add_row(
            f"{site.file}:{site.start_line}",
            site.call,
            site.kind,
            f"{d.recipe or '-'} / {d.method or '-'}",
            _escape(d.reason or ""),
        )
    console.print(table)
    share = plan.share()
    console.print(
        f"{share['sites']} sites: {share['recipes']} rewritten by recipes, "
        f"{share['needs_model']} need a model; {len(plan.methods)} RPC methods on "
        f"{plan.target.class_name} via {plan.target.binding}"
    )
    if plan.dropped:
        console.print("dropped (the orchestrator's D1 owns these): " + "; ".join(plan.dropped))
    if diffs and plan.diff:
        _print_diff(plan.diff)


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
    from engine.ledger.store import Ledger
    from engine.patch import reports

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
    # A terminal (or FORCE_COLOR) gets colour; a pipe gets the plain diff, fit for `git apply`.
    if _console().is_terminal:
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


KindOpt = Annotated[
    str | None,
    typer.Option("--kind", help="convention | decision | task | migration_fact"),
]
FolderOpt = Annotated[
    str | None, typer.Option("--folder", help="Workspace folder the entry is about.")
]
TaskOpt = Annotated[str | None, typer.Option("--task", help="Task id the entry is about.")]


def _memory_kind(kind: str | None) -> Any:
    from engine.memory.models import parse_kind

    return None if kind is None else parse_kind(kind)


def _memory_store(ws: Workspace, settings: Settings, *, vectors: bool) -> Any:
    """The workspace's memory store. With `vectors`, the embedder is built first, so a missing
    model fails before anything is written."""
    from engine.memory.chroma_store import MemoryStore
    from engine.memory.embedder import embedder_for

    embedder = embedder_for(settings.memory, ws.root) if vectors else None
    return MemoryStore.open(
        ws, settings.memory, embedder=embedder, lock_timeout_s=settings.patch.lock_timeout_s
    )


def _where_from(entry: Any) -> str:
    if entry.source is None:
        return ""
    if entry.line_start is None:
        return str(entry.source)
    return f"{entry.source}:{entry.line_start}-{entry.line_end}"


def _snippet(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


@memory_app.command("ingest")
@guarded
def memory_ingest(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders inside the workspace (relative to it).")
    ],
    kind: KindOpt = "convention",
    folder: Annotated[
        str | None,
        typer.Option("--folder", help="Folder to file the chunks under (default: the path's)."),
    ] = None,
    task: TaskOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load docs and code in language-aware chunks (Markdown headings, TS/JS declarations,
    Python defs), each with its source path and line range. A file ingested again replaces
    its earlier chunks."""
    from engine.memory.ingest import collect_files, ingest

    parsed = _memory_kind(kind)
    ws, settings = _open(workspace)
    files, skipped = collect_files(ws, paths, folder=folder)
    store = _memory_store(ws, settings, vectors=True)
    result = ingest(store, files, kind=parsed, task_id=task, skipped=skipped)
    if as_json:
        _emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    from rich.table import Table

    table = Table("source", "language", "chunks", "added", "unchanged", "removed")
    for f in result.files:
        table.add_row(
            f.source, f.language, str(f.chunks), str(f.added), str(f.existing), str(f.removed)
        )
    console = _console()
    console.print(table if result.files else "no files to ingest")
    for line in result.skipped:
        console.print(f"[yellow]skipped:[/] {_escape(line)}")
    console.print(
        f"{len(result.files)} files, {result.chunks} chunks, {result.added} new, into {result.kind}"
    )


@memory_app.command("seed")
@guarded
def memory_seed(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Seed the conventions from the Option 2 standardization rules and the workspace's
    RPC entrypoints (classes, methods, base class, service bindings)."""
    from engine.memory.seed import seed_conventions

    ws, settings = _open(workspace)
    store = _memory_store(ws, settings, vectors=True)
    result = seed_conventions(store, ws)
    if as_json:
        _emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    chunks = result.entrypoints.chunks if result.entrypoints else 0
    _console().print(
        f"conventions: {result.rules} standardization rules, {result.workspace} workspace "
        f"conventions, {chunks} entrypoint chunks; {len(result.added)} new, "
        f"{len(result.removed)} stale removed"
    )


@memory_app.command("add")
@guarded
def memory_add(
    text: Annotated[str, typer.Argument(help="What to remember.")],
    kind: Annotated[
        str, typer.Option("--kind", help="convention | decision | task | migration_fact")
    ],
    folder: FolderOpt = None,
    task: TaskOpt = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where it comes from (a path).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember one entry. The same text with the same provenance is stored once."""
    from engine.memory.chroma_store import new_entry

    entry = new_entry(
        text=text, kind=_memory_kind(kind), folder=folder, task_id=task, source=source
    )
    store = _memory_store(*_open(workspace), vectors=True)
    result = store.add_many([entry])
    entry_id = result.ids[0]
    if as_json:
        _emit_json({"ok": True, "id": entry_id, "added": bool(result.added)})
        return
    _console().print(f"{'added' if result.added else 'already stored'}: {entry_id}")


@memory_app.command("search")
@guarded
def memory_search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    k: Annotated[int, typer.Option("-k", "--top", help="How many hits.")] = 5,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The entries nearest in meaning to QUERY, best first, with a relevance score in [0, 1]."""
    parsed = _memory_kind(kind)
    store = _memory_store(*_open(workspace), vectors=True)
    hits = store.search(query, kind=parsed, folder=folder, task_id=task, k=k)
    if as_json:
        _emit_json([h.model_dump(mode="json") for h in hits])
        return
    from rich.table import Table

    table = Table("score", "kind", "id", "from", "text")
    for h in hits:
        table.add_row(f"{h.score:.3f}", h.kind, h.id, _where_from(h), _escape(_snippet(h.text)))
    _console().print(table if hits else "nothing in memory matches")


@memory_app.command("list")
@guarded
def memory_list(
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Entries in memory, newest first, filtered by kind, folder and task."""
    parsed = _memory_kind(kind)
    store = _memory_store(*_open(workspace), vectors=False)
    entries = store.list(kind=parsed, folder=folder, task_id=task, limit=limit)
    if as_json:
        _emit_json([e.model_dump(mode="json") for e in entries])
        return
    from rich.table import Table

    table = Table("id", "kind", "folder", "task", "from", "created", "text")
    for e in entries:
        table.add_row(
            e.id,
            e.kind,
            e.folder or "",
            e.task_id or "",
            _where_from(e),
            e.created[:19],
            _escape(_snippet(e.text, 80)),
        )
    _console().print(table if entries else "no memory entries match")


@memory_app.command("forget")
@guarded
def memory_forget(
    ids: Annotated[list[str] | None, typer.Argument(help="Entry ids to forget.")] = None,
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Forget entries by id (every id must exist, or nothing is forgotten), or every entry
    of a folder or task (optionally of one kind)."""
    parsed = _memory_kind(kind)
    store = _memory_store(*_open(workspace), vectors=False)
    removed = store.forget(ids or (), kind=parsed, folder=folder, task_id=task)
    if as_json:
        _emit_json({"ok": True, "removed": removed})
        return
    _console().print(f"forgot {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}")


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
    ws, settings = _open(workspace)
    view = None
    if task is not None:
        from engine.plan.document import load_tasks
        from engine.route.task_text import task_text

        tasks = load_tasks(_tasks_path(ws, settings, file), tag=tag or settings.plan.tag)
        view, text = task_text(tasks, task)
    elif text == "-":
        text = sys.stdin.read()
    decision = decide(settings.route, text=text, task_id=view.id if view else None, agent=agent)
    report = explanation(decision, task=view)
    if as_json:
        _emit_json(report)
        return
    _print_explanation(report)


def _print_explanation(report: dict[str, Any]) -> None:
    console = _console()
    if report["task"]:
        console.print(f"[bold]task {report['task']['id']}[/] {_escape(report['task']['title'])}")
    score = report["score"]
    if score is not None:
        console.print(f"score [bold]{score['score']}[/]/10 (raw {score['raw']:.2f})")
        for e in score["evidence"]:
            console.print(f"  {e['delta']:+.2f}  {_escape(e['name'])} ({e['value']:g})")
    console.print(f"tier [bold]{report['tier']}[/]: {_escape(report['reason'])}")
    if report["chain"]:
        console.print(f"model chain ({' -> '.join(report['groups'])}):")
        for n, link in enumerate(report["chain"], start=1):
            base = f"  {link['apiBase']}" if link["apiBase"] else ""
            console.print(
                _escape(f"  {n}. {link['deployment']} [{link['tier']}] {link['model']}{base}")
            )
    else:
        console.print(f"[yellow]no model:[/] {_escape(report['noModel'])}")


@route_app.command("stats")
@guarded
def route_stats(
    run: Annotated[str | None, typer.Option("--run", help="Only this run's calls.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Calls, tokens and cost per tier and model, from the ledger."""
    from engine.ledger.store import Ledger
    from engine.route.calls import call_stats, run_spend

    ws, settings = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        rows = call_stats(ledger, run)
        spent = run_spend(ledger, run) if run is not None else None
    budget = settings.route.budget_usd
    if as_json:
        _emit_json(
            {
                "run": run,
                "rows": [vars(r) for r in rows],
                "total": {
                    "calls": sum(r.calls for r in rows),
                    "prompt_tokens": sum(r.prompt_tokens for r in rows),
                    "completion_tokens": sum(r.completion_tokens for r in rows),
                    "cost_usd": sum(r.cost_usd for r in rows),
                },
                "budget_usd": budget if run is not None else None,
                "spent_usd": spent,
            }
        )
        return
    from rich.table import Table

    table = Table(
        "tier", "model", "calls", "ok", "fallback", "errors", "prompt", "completion",
        "cost $", "mean ms",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r.tier, _escape(r.model or "-"), str(r.calls), str(r.ok), str(r.fallback),
            str(r.errors), str(r.prompt_tokens), str(r.completion_tokens),
            f"{r.cost_usd:.4f}", f"{r.mean_latency_ms:.0f}",
        )  # fmt: skip
    console = _console()
    console.print(table if rows else "no model calls recorded" + (f" for run {run}" if run else ""))
    if rows:
        cost = sum(r.cost_usd for r in rows)
        console.print(f"{sum(r.calls for r in rows)} calls, ${cost:.4f}")
    if spent is not None:
        console.print(f"run {run}: spent ${spent:.4f} of its ${budget:.4f} budget")


# Exit codes of `epic run`/`epic resume`: 0 done, 3 paused on approvals, 1 a folder failed.
EPIC_PAUSED_EXIT = 3


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
        str,
        typer.Option(
            "--auto-approve",
            help="safe: what the approval policy passes is approved at once; none: every "
            "item waits for a human.",
        ),
    ] = "safe",
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0, help="USD the run's model calls may spend."),
    ] = None,
    folders: Annotated[
        str | None, typer.Option("--folders", help="Glob over the epic's folder names.")
    ] = None,
    epic: Annotated[
        str | None, typer.Option("--epic", help="The epic task of tasks.json to update.")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON event per line, then the summary.")
    ] = False,
) -> None:
    """Run a migration epic end to end (exit 0 done, 3 paused on approvals, 1 a folder failed)."""
    from engine.epic.models import EpicOptions
    from engine.epic.spec import load_epic
    from engine.errors import BadInput

    if auto_approve not in ("safe", "none"):
        raise BadInput(f"--auto-approve must be safe or none, not {auto_approve!r}")
    ws, settings = _open(workspace)
    tasks_path = _tasks_path(ws, settings, None)
    spec, label = load_epic(source, ws, tasks_path)
    if epic is not None:
        spec = spec.model_copy(update={"epic": epic})
    options = EpicOptions(
        auto_approve=auto_approve,  # type: ignore[arg-type]
        budget_usd=budget,
        folders=folders,
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

    def work(emit: Any) -> Any:
        from crews.epic_flow import resume_epic

        return resume_epic(ws, settings, run.run_id, emit=emit)

    _drive_epic(ws, work, as_json)


@epic_run_app.command("resume")
@guarded
def epic_resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.", show_default=False)],
    workspace: WorkspaceOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON event per line, then the summary.")
    ] = False,
) -> None:
    """Continue a paused or killed run from each folder's first unfinished step."""
    from engine.epic.store import load_run
    from engine.ledger.store import Ledger

    ws, settings = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        load_run(ledger, run_id)

    def work(emit: Any) -> Any:
        from crews.epic_flow import resume_epic

        return resume_epic(ws, settings, run_id, emit=emit)

    _drive_epic(ws, work, as_json)


def _drive_epic(ws: Workspace, work: Callable[[Any], Any], as_json: bool) -> None:
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
        with ProgressView(_console(), pending_approvals=pending) as view:
            summary = work(view.handle)
        _print_epic_summary(ws, summary)
    if summary.status == "paused":
        raise typer.Exit(EPIC_PAUSED_EXIT)
    if summary.status == "failed":
        raise typer.Exit(1)


def _print_epic_summary(ws: Workspace, summary: Any) -> None:
    console = _console()
    colour = {"done": "green", "paused": "yellow", "failed": "red"}.get(summary.status, "white")
    console.print(
        f"\n[bold {colour}]{summary.status}[/] run {summary.run_id}: {_escape(summary.message)}"
    )
    for folder, where in summary.folders.items():
        extra = f" ({_escape(summary.failed[folder])})" if folder in summary.failed else ""
        console.print(f"  {folder}: {where}{extra}")
    if summary.waiting:
        console.print("[bold]still to do[/] (a human decides with `vibehq approvals`):")
        for item in summary.waiting:
            console.print(f"  #{item.id} [{item.kind}] {item.folder}: {_escape(item.why)}")
    if summary.model_note:
        console.print(f"[yellow]needs a model:[/] {_escape(summary.model_note)}")
    if summary.report:
        for kind, path in summary.report.items():
            console.print(f"delivery report ({kind}): {ws.root / path}")


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
    from engine.epic.models import FOLDER_STEPS
    from engine.epic.store import list_runs, load_run
    from engine.ledger.store import Ledger

    ws, _ = _open(workspace)
    with Ledger.open(ws.ledger_path) as ledger:
        if run_id is None:
            runs = list_runs(ledger)
            if as_json:
                _emit_json([r.model_dump(mode="json", exclude={"steps"}) for r in runs])
                return
            for r in runs:
                _console().print(f"{r.run_id}  {r.status:<11} {r.created_at}  {_escape(r.name)}")
            if not runs:
                _console().print("no epic runs yet; start one with `vibehq epic run SPEC`")
            return
        run = load_run(ledger, run_id)
    if as_json:
        _emit_json(run.model_dump(mode="json"))
        return
    from rich.table import Table

    marks = {
        "done": "[green]done[/]",
        "waiting": "[yellow]waiting[/]",
        "failed": "[red]failed[/]",
        "running": "[cyan]running[/]",
        "skipped": "[dim]skipped[/]",
    }
    table = Table(title=f"{run.run_id}: {run.status}")
    table.add_column("folder")
    for step in FOLDER_STEPS:
        table.add_column(step)
    for folder in run.folders:
        cells = []
        for step in FOLDER_STEPS:
            record = run.step(folder, step)
            cells.append("" if record is None else marks.get(record.status, record.status))
        table.add_row(folder, *cells)
    console = _console()
    console.print(table)
    summary = run.summary or {}
    if summary.get("message"):
        console.print(_escape(str(summary["message"])))
    for item in summary.get("waiting", []):
        console.print(f"  #{item['id']} [{item['kind']}] {item['folder']}: {_escape(item['why'])}")


@epic_run_app.command("report")
@guarded
def epic_report(
    run_id: Annotated[str, typer.Argument(help="The epic run (see `vibehq epic status`).")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="md | json | html: also print that document to stdout.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the run's delivery report (Markdown, JSON, one self-contained HTML page with
    charts) to .vibehq/runs/RUN/ from the ledger, and print where it went."""
    from engine.epic.report import build_report, write_report
    from engine.errors import BadInput

    if fmt is not None and fmt not in ("md", "json", "html"):
        raise BadInput(f"--format must be md, json or html, not {fmt!r}")
    ws, _ = _open(workspace)
    report = build_report(ws, run_id)
    paths = write_report(ws, report)
    chosen = {"md": paths.markdown, "json": paths.json_path, "html": paths.html}
    if fmt is not None:
        sys.stdout.write(chosen[fmt].read_text(encoding="utf-8"))
        return
    if as_json:
        _emit_json(
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
    console = _console()
    console.print(_escape(report.headline))
    for step in report.next:
        console.print(f"  - {_escape(step)}")
    for path in chosen.values():
        console.print(str(path))


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
