"""The delivery report of one epic run, built from the ledger alone.

Like the seed's delivery reports (one Markdown and one JSON document per order), one run gets
`.vibehq/runs/<run>/delivery-report.{md,json,html}`: per folder and in total the files and SQL
sites, the sites recipes handled and those that went to a model, the model calls with their
tokens and cost per tier and per agent, every approval with who decided it, the violations and
quarantines, the patches applied, the time per step, and what a model or a human must still do.

Sources: `epic_runs`/`epic_steps` (the steps' `data`), `approvals` of the run, `model_calls`
of the run, `agent_events` in the run's window and `patch_events` of the batches the apply
steps list. Nothing else is read, so a report can be rebuilt at any time from the ledger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from engine.approvals.table import APPROVALS, run_approvals
from engine.epic.models import FOLDER_STEPS, REPORT_STEP, RUN_FOLDER, EpicRun, StepRecord
from engine.epic.report_models import (
    AgentChecks,
    ApprovalLine,
    BatchLine,
    CallGroup,
    DeliveryReport,
    FailedStep,
    FolderReport,
    GuardEvent,
    PendingDecision,
    ReportPaths,
    StepTime,
    StepTotal,
    Totals,
)
from engine.epic.report_pages import report_html, report_markdown
from engine.epic.store import UnknownRun, load_run
from engine.filelock import write_atomic
from engine.ids import check_run_id
from engine.ledger.store import Ledger
from engine.patch.patch_events import PATCH_EVENTS, batch_kind_totals
from engine.route.calls import MODEL_CALLS, run_call_groups
from engine.validate.quarantine import (
    AGENT_EVENTS,
    is_quarantined,
    window_check_totals,
    window_guard_records,
)
from engine.workspace import Workspace

__all__ = [
    "REPORT_NAME",
    "AgentChecks",
    "ApprovalLine",
    "BatchLine",
    "CallGroup",
    "DeliveryReport",
    "FailedStep",
    "FolderReport",
    "GuardEvent",
    "PendingDecision",
    "ReportPaths",
    "StepTime",
    "StepTotal",
    "Totals",
    "build_report",
    "report_folder",
    "write_report",
]

REPORT_NAME = "delivery-report"
# The tiers in cost order; a tier outside these sorts after them, by name.
_TIER_ORDER = ("simple", "standard", "complex", "reasoning")
# Run states after which nothing more happens in the run's name.
_CLOSED = ("done", "failed")


# --- building -----------------------------------------------------------------------------------


def build_report(ws: Workspace, run_id: str, *, ledger: Ledger | None = None) -> DeliveryReport:
    """The run's delivery report; UnknownRun (bad input) when the ledger has no such run.

    Pass the `ledger` a flow already holds open; without one the workspace's ledger is opened
    for the call (and never created: no ledger means no run)."""
    if ledger is not None:
        return _build(ledger, run_id)
    if not ws.ledger_path.is_file():
        raise UnknownRun(run_id)
    with Ledger.open(ws.ledger_path) as opened:
        return _build(opened, run_id)


def _build(ledger: Ledger, run_id: str) -> DeliveryReport:
    from engine.approvals.queue import expire_due

    run = load_run(ledger, run_id)
    # Reading the queue marks items whose time ran out as expired, as every reader does.
    expire_due(ledger)
    folders = _folder_reports(run)
    batch_folder = {b: f.folder for f in folders for b in f.batches}
    with ledger.reading(APPROVALS, MODEL_CALLS, AGENT_EVENTS, PATCH_EVENTS) as conn:
        approvals, work = _approvals(conn, run, folders)
        tiers = _call_groups(conn, run_id, "tier")
        agents = _call_groups(conn, run_id, "agent")
        checks, guards, quarantined_now = _guards(conn, run)
        batches = _batches(conn, batch_folder)
    tiers.sort(key=lambda g: (_tier_rank(g.name), g.name))
    agents.sort(key=lambda g: (-g.cost_usd, g.name))
    _count_approvals(folders, approvals)
    waiting = _waiting(approvals, work, run_id)
    failed = [
        FailedStep(folder=s.folder, step=s.step, error=_step_time(s).error)
        for s in run.steps
        if s.status == "failed"
    ]
    totals = _totals(run, folders, tiers, guards, approvals)
    deciders: dict[str, int] = {}
    for a in approvals:
        if a.decided_by is not None:
            deciders[a.decided_by] = deciders.get(a.decided_by, 0) + 1
    report = DeliveryReport(
        run_id=run.run_id,
        name=run.name,
        source=run.source,
        epic=run.spec.epic,
        staging=run.spec.staging,
        manifest=run.spec.manifest,
        status=run.status,
        created_at=run.created_at,
        updated_at=run.updated_at,
        options=run.options.model_dump(mode="json"),
        headline="",
        totals=totals,
        folders=folders,
        tiers=tiers,
        agents=agents,
        approvals=approvals,
        deciders=dict(sorted(deciders.items(), key=lambda kv: (-kv[1], kv[0]))),
        agent_checks=checks,
        guard_events=guards,
        quarantined_now=quarantined_now,
        batches=batches,
        steps=_step_totals(run),
        failed_steps=failed,
        waiting=waiting,
    )
    report.next = _next_actions(report)
    report.headline = _headline(report)
    return report


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _step_time(record: StepRecord) -> StepTime:
    error = record.data.get("error")
    return StepTime(
        step=record.step,
        status=record.status,
        duration_ms=record.duration_ms,
        error=None if error is None else str(error),
    )


def _folder_reports(run: EpicRun) -> list[FolderReport]:
    by_folder: dict[str, dict[str, StepRecord]] = {}
    for record in run.steps:
        if record.folder != RUN_FOLDER:
            by_folder.setdefault(record.folder, {})[record.step] = record
    return [_folder_report(folder, steps) for folder, steps in by_folder.items()]


def _folder_report(folder: str, steps: Mapping[str, StepRecord]) -> FolderReport:
    def data(step: str) -> dict[str, Any]:
        record = steps.get(step)
        return record.data if record is not None else {}

    plan, refactor, gate = data("plan"), data("refactor"), data("gate")
    approve, apply, tasks = data("approve"), data("apply"), data("tasks")
    ordered = [steps[s] for s in FOLDER_STEPS if s in steps]
    ordered += [r for s, r in steps.items() if s not in FOLDER_STEPS]
    statuses = {r.status for r in ordered}
    if "failed" in statuses:
        status = "failed"
    elif "waiting" in statuses:
        status = "waiting"
    elif "running" in statuses:
        status = "running"
    elif all(s in steps for s in FOLDER_STEPS) and statuses <= {"done", "skipped"}:
        status = "done"
    else:
        status = "pending"
    dest = plan.get("dest")
    subtask = tasks.get("subtask")
    task_status = tasks.get("status")
    refused = gate.get("refused")
    tsc = gate.get("tsc_new_errors")
    ok = gate.get("ok")
    sites, recipes = _int(refactor, "sites"), _int(refactor, "recipes")
    models = _int(refactor, "needs_model")
    return FolderReport(
        folder=folder,
        dest=None if dest is None else str(dest),
        status=status,
        files=_int(plan, "files"),
        rewrites=_int(plan, "rewrites"),
        unresolved=_int(plan, "unresolved"),
        sql_sites=_int(plan, "sql_sites"),
        sites=sites,
        recipe_sites=recipes,
        model_sites=models,
        other_sites=max(sites - recipes - models, 0),
        model_answers=_int(refactor, "model_answers"),
        methods=_int(refactor, "methods"),
        gate_ok=ok if isinstance(ok, bool) else None,
        tsc_new_errors=tsc if isinstance(tsc, int) and not isinstance(tsc, bool) else None,
        new_errors=_strs(gate.get("new_errors")),
        violations=_int(gate, "violations"),
        critical=_int(gate, "critical"),
        quarantined=_strs(gate.get("quarantined")),
        refused=None if refused is None else str(refused),
        pending=_int(approve, "pending"),
        batches=_strs(apply.get("batches")),
        files_written=_int(apply, "files_written"),
        subtask=None if subtask is None else str(subtask),
        task_status=None if task_status is None else str(task_status),
        remediation=_strs(tasks.get("remediation")),
        steps=[_step_time(r) for r in ordered],
        duration_ms=round(sum(r.duration_ms or 0.0 for r in ordered), 3),
    )


def _approval_folders(run: EpicRun) -> dict[int, str]:
    """Which folder each approval id belongs to, from the steps that queued or decided it."""
    owner: dict[int, str] = {}
    for record in run.steps:
        if record.folder == RUN_FOLDER:
            continue
        ids: list[object] = []
        if record.step == "refactor":
            ids += record.data.get("model_proposals") or []
        elif record.step == "approve":
            ids += [i.get("id") for i in record.data.get("items") or [] if isinstance(i, dict)]
        for item_id in ids:
            if isinstance(item_id, int) and not isinstance(item_id, bool):
                owner.setdefault(item_id, record.folder)
    return owner


def _approvals(
    conn: sqlite3.Connection, run: EpicRun, folders: Sequence[FolderReport]
) -> tuple[list[ApprovalLine], dict[int, dict[str, Any]]]:
    """The run's approval items in id order, and the work item of each needs-model item."""
    owner = _approval_folders(run)
    by_dest = {f.dest: f.folder for f in folders if f.dest}
    names = {f.folder for f in folders}
    lines: list[ApprovalLine] = []
    work: dict[int, dict[str, Any]] = {}
    for row in run_approvals(conn, run.run_id):
        # A rule matched by several files of one batch is still one reason for a human.
        policy_rules = list(
            dict.fromkeys(str(r.get("rule")) for r in row.verdict.get("reasons") or [])
        )
        folder = owner.get(row.id)
        if row.work_item is not None:
            work[row.id] = row.work_item
            if folder is None:
                source = str(row.work_item.get("folder"))
                folder = by_dest.get(source) or (source if source in names else None)
        lines.append(
            ApprovalLine(
                id=row.id,
                kind=row.kind,
                state=row.state,
                title=row.title,
                folder=folder,
                step=row.step,
                requester=row.requester,
                decided_by=row.decided_by,
                decided_at=row.decided_at,
                auto=row.auto,
                rule=row.rule,
                policy_rules=policy_rules if row.state == "pending" or not row.auto else [],
                reason=row.reason,
            )
        )
    return lines, work


def _count_approvals(folders: Sequence[FolderReport], approvals: Iterable[ApprovalLine]) -> None:
    by_name = {f.folder: f for f in folders}
    pending: dict[str, int] = {}
    for a in approvals:
        folder = by_name.get(a.folder or "")
        if folder is None:
            continue
        folder.approvals += 1
        if a.state == "pending":
            pending[folder.folder] = pending.get(folder.folder, 0) + 1
    # The queue is the truth: an item decided since the approve step ran no longer waits.
    for name, folder in by_name.items():
        folder.pending = pending.get(name, 0)


def _call_groups(
    conn: sqlite3.Connection, run_id: str, by: Literal["tier", "agent"]
) -> list[CallGroup]:
    return [
        CallGroup(
            name=g.name,
            calls=g.calls,
            ok=g.ok,
            fallback=g.fallback,
            errors=g.errors,
            prompt_tokens=g.prompt_tokens,
            completion_tokens=g.completion_tokens,
            cost_usd=round(g.cost_usd, 6),
        )
        for g in run_call_groups(conn, run_id, by)
    ]


def _tier_rank(tier: str) -> int:
    return _TIER_ORDER.index(tier) if tier in _TIER_ORDER else len(_TIER_ORDER)


def _window(run: EpicRun) -> tuple[str, str | None]:
    """The run's time span in ledger timestamps; open-ended while the run can still act."""
    if run.status not in _CLOSED:
        return run.created_at, None
    ends = [run.updated_at] + [s.finished_at for s in run.steps if s.finished_at is not None]
    return run.created_at, max(ends)


def _guards(
    conn: sqlite3.Connection, run: EpicRun
) -> tuple[list[AgentChecks], list[GuardEvent], list[str]]:
    start, end = _window(run)
    checks = [
        AgentChecks(
            agent=t.agent,
            checks=t.checks,
            with_violations=t.with_violations,
            violations=t.violations,
            critical=t.critical,
            quarantines=t.quarantines,
            releases=t.releases,
            refusals=t.refusals,
        )
        for t in window_check_totals(conn, start, end)
    ]
    guards = [
        GuardEvent(
            ts=g.ts,
            agent=g.agent,
            kind=g.kind,
            batch_id=g.batch_id,
            violations=g.violations,
            critical=g.critical,
            reason=g.reason,
            actor=g.actor,
        )
        for g in window_guard_records(conn, start, end)
    ]
    agents = sorted({g.agent for g in guards} | {c.agent for c in checks})
    quarantined_now = [agent for agent in agents if is_quarantined(conn, agent)]
    return checks, guards, quarantined_now


def _batches(conn: sqlite3.Connection, batch_folder: Mapping[str, str]) -> list[BatchLine]:
    if not batch_folder:
        return []
    ids = list(batch_folder)
    found: dict[str, dict[str, Any]] = {}
    for t in batch_kind_totals(conn, ids):
        found.setdefault(t.batch_id, {})[t.kind] = (
            t.ops,
            t.files,
            t.lines_added,
            t.lines_removed,
            t.error,
        )
    lines = []
    for batch_id in ids:
        kinds = found.get(batch_id, {})
        status = next(
            (k for k in ("rolled_back", "applied", "failed", "requested") if k in kinds), "unknown"
        )
        ops, files, added, removed, error = kinds.get(status, (0, 0, 0, 0, None))
        if status == "rolled_back" and "applied" in kinds:
            ops, files, added, removed, _ = kinds["applied"]
        lines.append(
            BatchLine(
                batch_id=batch_id,
                folder=batch_folder[batch_id],
                status=status,
                ops=int(ops),
                files=int(files),
                lines_added=int(added or 0),
                lines_removed=int(removed or 0),
                error=error,
            )
        )
    return lines


def _step_totals(run: EpicRun) -> list[StepTotal]:
    order = [*FOLDER_STEPS, REPORT_STEP]
    order += sorted({s.step for s in run.steps} - set(order))
    totals = []
    for step in order:
        times = [s.duration_ms or 0.0 for s in run.steps if s.step == step]
        if times:
            totals.append(
                StepTotal(
                    step=step,
                    folders=len(times),
                    duration_ms=round(sum(times), 3),
                    max_ms=max(times),
                )
            )
    return totals


def _totals(
    run: EpicRun,
    folders: Sequence[FolderReport],
    tiers: Sequence[CallGroup],
    guards: Sequence[GuardEvent],
    approvals: Sequence[ApprovalLine],
) -> Totals:
    def total(name: str) -> int:
        return sum(int(getattr(f, name)) for f in folders)

    finished = [s.finished_at for s in run.steps if s.finished_at is not None]
    wall = _ms_between(run.created_at, max(finished)) if finished else None
    return Totals(
        folders=len(folders),
        folders_done=sum(1 for f in folders if f.status == "done"),
        files=total("files"),
        rewrites=total("rewrites"),
        unresolved=total("unresolved"),
        sql_sites=total("sql_sites"),
        sites=total("sites"),
        recipe_sites=total("recipe_sites"),
        model_sites=total("model_sites"),
        model_answers=total("model_answers"),
        methods=total("methods"),
        files_written=total("files_written"),
        batches=sum(len(f.batches) for f in folders),
        violations=total("violations"),
        critical=total("critical"),
        quarantines=sum(1 for g in guards if g.kind == "quarantined"),
        approvals=len(approvals),
        pending=sum(1 for a in approvals if a.state == "pending"),
        model_calls=sum(t.calls for t in tiers),
        prompt_tokens=sum(t.prompt_tokens for t in tiers),
        completion_tokens=sum(t.completion_tokens for t in tiers),
        cost_usd=round(sum(t.cost_usd for t in tiers), 6),
        step_ms=round(sum(s.duration_ms or 0.0 for s in run.steps), 3),
        wall_ms=wall,
    )


def _waiting(
    approvals: Sequence[ApprovalLine], work: Mapping[int, Mapping[str, Any]], run_id: str
) -> list[PendingDecision]:
    waiting = []
    for a in approvals:
        if a.state != "pending":
            continue
        item = work.get(a.id, {})
        file = None if item.get("file") is None else str(item["file"])
        start = item.get("start_line") if isinstance(item.get("start_line"), int) else None
        end = item.get("end_line") if isinstance(item.get("end_line"), int) else None
        waiting.append(
            PendingDecision(
                approval_id=a.id,
                kind=a.kind,
                title=a.title,
                folder=a.folder,
                file=file,
                start_line=start,
                end_line=end,
                location=_location(file, start, end),
                reason=str(item["reason"]) if item.get("reason") else "; ".join(a.policy_rules),
                action=_action(a, run_id),
            )
        )
    return waiting


def _location(file: str | None, start: int | None, end: int | None) -> str | None:
    if file is None or start is None:
        return file
    if end is None or end == start:
        return f"{file}:{start}"
    return f"{file}:{start}-{end}"


def _action(item: ApprovalLine, run_id: str) -> str:
    if item.kind == "needs_model":
        return (
            "a model must write this change (configure [route] models, then "
            f"`vibehq epic resume {run_id}`), or a human answers it with "
            f"`vibehq approvals approve {item.id} --edit BATCH.json`"
        )
    if item.kind == "patch_batch":
        return (
            f"a human reviews the batch: `vibehq approvals approve {item.id}` or "
            f"`vibehq approvals reject {item.id} --reason ...`"
        )
    if item.kind == "quarantine_release":
        return f"a human decides the release: `vibehq approvals approve {item.id}` or reject it"
    return f"a human decides the plan change: `vibehq approvals approve {item.id}` or reject it"


def _next_actions(report: DeliveryReport) -> list[str]:
    steps: list[str] = []
    needs_model = sum(1 for w in report.waiting if w.kind == "needs_model")
    others = len(report.waiting) - needs_model
    if needs_model:
        steps.append(
            f"{needs_model} needs-model item{_s(needs_model)} need a model or a human: configure "
            f"a model ([route] in vibehq.toml) and run `vibehq epic resume {report.run_id}`, or "
            "answer each with `vibehq approvals approve ID --edit BATCH.json`"
        )
    if others:
        steps.append(
            f"{others} approval{_s(others)} need a human decision: `vibehq approvals list "
            f"--run {report.run_id}`, then `vibehq approvals approve ID` or `reject ID --reason`"
        )
    for agent in report.quarantined_now:
        steps.append(
            f"agent {agent} is quarantined: review its batches, then "
            f"`vibehq agents release {agent} --reason ...`"
        )
    for failed in report.failed_steps:
        where = "the run" if failed.folder == RUN_FOLDER else failed.folder
        detail = f": {failed.error}" if failed.error else ""
        steps.append(
            f"{where}: step {failed.step} failed{detail}; fix the cause, then "
            f"`vibehq epic resume {report.run_id}`"
        )
    if report.waiting:
        steps.append(f"when every item is decided: `vibehq epic resume {report.run_id}`")
    elif report.status not in _CLOSED and not report.failed_steps:
        unfinished = [f.folder for f in report.folders if f.status != "done"]
        if unfinished:
            steps.append(
                f"{len(unfinished)} folder{_s(len(unfinished))} not finished "
                f"({', '.join(unfinished)}): `vibehq epic resume {report.run_id}`"
            )
    return steps


def _headline(report: DeliveryReport) -> str:
    """Where the run stands, as the work flowed: SQL sites -> the items they were grouped
    into (a folder's batch, a needs-model item) -> the decisions taken on those items."""
    t = report.totals
    needs_model = sum(1 for a in report.approvals if a.kind == "needs_model")
    batches = sum(1 for a in report.approvals if a.kind == "patch_batch")
    others = len(report.approvals) - needs_model - batches
    kinds = f"{needs_model} needs-model, {_count(batches, 'batch')}"
    kinds += f", {others} other" if others else ""
    decided = [a for a in report.approvals if a.state != "pending"]
    by_policy = sum(1 for a in decided if a.auto)
    flow = (
        f"{t.sites} SQL site{_s(t.sites)} → {t.recipe_sites} by recipes, {t.model_sites} to "
        f"models ({t.model_answers} answered) → {_count(len(report.approvals), 'approval item')}"
        f" ({kinds}) → "
        f"{len(decided)} decided ({by_policy} by policy, {len(decided) - by_policy} by people)"
    )
    parts = [
        f"{report.status}",
        f"{t.folders_done}/{t.folders} folders done",
        flow,
        f"{t.model_calls} model call{_s(t.model_calls)}, ${t.cost_usd:.4f}",
    ]
    if report.waiting:
        parts.append(f"waiting for {len(report.waiting)} approval{_s(len(report.waiting))}")
    return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'es' if n != 1 and noun.endswith('ch') else _s(n)}"


def _ms_between(start: str, end: str) -> float:
    def parse(ts: str) -> datetime:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))

    return round((parse(end) - parse(start)).total_seconds() * 1000, 3)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --- writing ------------------------------------------------------------------------------------


def report_folder(ws: Workspace, run_id: str) -> Path:
    """`.vibehq/runs/<run>/`; a run id that is not a plain name is refused (bad input)."""
    return ws.runs_dir / check_run_id(run_id)


def write_report(ws: Workspace, report: DeliveryReport) -> ReportPaths:
    """Write the report as Markdown, JSON and one self-contained HTML page, each atomically."""
    folder = report_folder(ws, report.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        markdown=folder / f"{REPORT_NAME}.md",
        json_path=folder / f"{REPORT_NAME}.json",
        html=folder / f"{REPORT_NAME}.html",
    )
    write_atomic(paths.json_path, report.model_dump_json(indent=2) + "\n")
    write_atomic(paths.markdown, report_markdown(report))
    write_atomic(paths.html, report_html(report))
    return paths
