"""Run a migration plan: one atomic PatchBatch per folder through the gate, a run record in
`.vibehq/runs/<run>/`, and byte-for-byte rollback of a whole run.

Each folder's batch is judged like any other write. What the folder copies from STAGING is
its origin: a finding already there is reported as pre-existing (the migrator did not write
it and is not quarantined for it), but a secret stops that folder and queues it for a human.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import BadInput, PatchConflict
from engine.ids import check_run_id, new_run_id
from engine.ledger.events import LedgerEvent, utc_now
from engine.ledger.store import Ledger
from engine.migrate.manifest import LoadedManifest
from engine.migrate.planner import (
    FolderPlan,
    MigrationPlan,
    PlanResult,
    plan_migration,
    source_fingerprint,
)
from engine.patch.models import PatchBatch, PatchOperation
from engine.patch.validation import BatchValidator
from engine.settings import Settings
from engine.validate.gate import HeldForHuman, gated_apply, gated_rollback
from engine.validate.judge import Step
from engine.validate.quality import Violation
from engine.workspace import Workspace

ConflictPolicy = Literal["skip", "overwrite", "fail"]
FolderStatus = Literal["applied", "unchanged", "rolled-back", "held"]
HELD_EVENT = "migration_held"
RunState = Literal["applied", "unchanged", "rolled_back"]


class FolderOutcome(BaseModel):
    name: str
    batch_id: str | None = None
    status: FolderStatus
    written: int = 0
    skipped_conflicts: list[str] = Field(default_factory=list)
    verdict: str | None = Field(None, description="the gate's summary for the folder's batch")
    preexisting: list[Violation] = Field(
        default_factory=list, description="quality findings STAGING already held"
    )
    held: str | None = Field(None, description="why a human must look at it before it moves")
    approval: int | None = Field(None, description="the approval item the held folder waits in")


class RunRecord(BaseModel):
    run_id: str
    manifest: str
    state: RunState
    created: str = Field(default_factory=utc_now)
    updated: str = Field(default_factory=utc_now)
    on_conflict: ConflictPolicy = "fail"
    folders: list[FolderOutcome] = Field(default_factory=list)
    totals: dict[str, int] = Field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(f.written for f in self.folders)


def run_dir(ws: Workspace, run_id: str) -> Path:
    return ws.runs_dir / check_run_id(run_id)


def write_plan(ws: Workspace, run_id: str, plan: MigrationPlan) -> Path:
    """Write plan.json, and one sql-sites.json per folder, under `.vibehq/runs/<run>/`."""
    folder = run_dir(ws, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for fp in plan.folders:
        sites = [s.model_dump(mode="json") for s in fp.sql_sites]
        (folder / _slug(fp.name)).mkdir(exist_ok=True)
        (folder / _slug(fp.name) / "sql-sites.json").write_text(json.dumps(sites, indent=2) + "\n")
    path = folder / "plan.json"
    path.write_text(plan.model_dump_json(indent=2) + "\n")
    return path


def plan_run(ws: Workspace, loaded: LoadedManifest) -> tuple[str, PlanResult, Path]:
    result = plan_migration(ws, loaded)
    run_id = new_run_id()
    return run_id, result, write_plan(ws, run_id, result.plan)


def apply_migration(
    ws: Workspace,
    loaded: LoadedManifest,
    settings: Settings,
    *,
    on_conflict: ConflictPolicy = "fail",
    validator: BatchValidator | None = None,
    run_id: str | None = None,
    skip: dict[Step, str] | None = None,
) -> tuple[RunRecord, PlanResult]:
    """Perform exactly the plan: each folder is one all-or-nothing batch. Idempotent: a second
    run on an unchanged tree writes nothing."""
    fingerprint = source_fingerprint(ws, loaded)
    cached = _cached_plan(ws, loaded, fingerprint)
    if cached is not None:
        return _unchanged_run(ws, loaded, cached, on_conflict, run_id), PlanResult(cached)
    result = plan_migration(ws, loaded)
    conflicts = [c.dest for f in result.plan.folders for c in f.conflicts]
    if conflicts and on_conflict == "fail":
        shown = ", ".join(conflicts[:5]) + (
            f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        )
        raise PatchConflict(
            f"{len(conflicts)} destination files exist with other content: "
            f"{shown}; pass --on-conflict skip or overwrite"
        )
    run_id = run_id or new_run_id()
    write_plan(ws, run_id, result.plan)
    record = RunRecord(
        run_id=run_id,
        manifest=str(loaded.path),
        state="applied",
        on_conflict=on_conflict,
        totals=result.plan.totals(),
    )
    tsconfig = _apply_tsconfig_paths(ws, settings, run_id, loaded, result.plan, skip)
    if tsconfig is not None:
        record.folders.append(tsconfig)
    for folder in result.plan.folders:
        record.folders.append(
            _apply_folder(
                ws, settings, run_id, loaded, folder, result, on_conflict, validator, skip
            )
        )
        _save(ws, record)
    # A run that wrote nothing has nothing to roll back; --last must skip it.
    if not any(f.status == "applied" for f in record.folders):
        record.state = "unchanged"
    _save(ws, record)
    if not any(f.skipped_conflicts or f.status == "held" for f in record.folders):
        _store_plan(ws, loaded, fingerprint, result.plan)
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(
            LedgerEvent(
                kind="migration_run",
                subject=run_id,
                payload={
                    "state": record.state,
                    "written": record.written,
                    "manifest": record.manifest,
                    **record.totals,
                },
            )
        )
    return record, result


def _apply_folder(
    ws: Workspace,
    settings: Settings,
    run_id: str,
    loaded: LoadedManifest,
    folder: FolderPlan,
    result: PlanResult,
    on_conflict: ConflictPolicy,
    validator: BatchValidator | None,
    skip: dict[Step, str] | None,
) -> FolderOutcome:
    ops: list[PatchOperation] = []
    skipped: list[str] = []
    owner = loaded.manifest.owner
    for planned in folder.files:
        if planned.status == "identical":
            continue
        if planned.status == "conflict" and on_conflict == "skip":
            skipped.append(planned.dest)
            continue
        ops.append(
            PatchOperation(
                op="create",
                file=planned.dest,
                block=result.contents[planned.dest].decode("utf-8", "surrogateescape"),
                overwrite=planned.status == "conflict",
                task_id=owner,
            )
        )
    if not ops:
        return FolderOutcome(name=folder.name, status="unchanged", skipped_conflicts=skipped)
    batch = PatchBatch(
        batch_id=f"{run_id}.{_slug(folder.name)}",
        order_id=run_id,
        requester="migrator",
        reason=f"migrate {folder.source_root} -> {folder.dest_root} ({loaded.manifest.name})",
        task_id=owner,
        patches=ops,
    )
    # The migrator only rewrites import specifiers: what it writes is what STAGING held.
    origins = {op.file: result.contents[op.file] for op in ops}
    try:
        gated = gated_apply(ws, batch, settings, validator=validator, skip=skip, origins=origins)
    except HeldForHuman as exc:
        return FolderOutcome(
            name=folder.name,
            batch_id=batch.batch_id,
            status="held",
            skipped_conflicts=skipped,
            verdict=exc.verdict.summary,
            preexisting=exc.verdict.preexisting.violations,
            held=exc.message,
            approval=_held_item(ws, settings, batch, folder, exc.message),
        )
    applied = gated.batch
    written = sum(1 for f in applied.files if f.action != "unchanged")
    return FolderOutcome(
        name=folder.name,
        batch_id=applied.batch_id,
        status="applied" if written else "unchanged",
        written=written,
        skipped_conflicts=skipped,
        verdict=gated.verdict.summary,
        preexisting=gated.verdict.preexisting.violations,
    )


def _held_item(
    ws: Workspace, settings: Settings, batch: PatchBatch, folder: FolderPlan, reason: str
) -> int:
    """Queue the held folder for a human: the item shows the diff and why it stopped. It is
    never auto-passed; the cure is to fix STAGING and migrate again, or to reject it."""
    from engine.approvals.models import ApprovalRequest, PatchBatchPayload
    from engine.approvals.queue import submit

    payload = PatchBatchPayload(batch=batch, diff="", refused=reason)
    with Ledger.open(ws.ledger_path) as ledger:
        item = submit(
            ledger,
            ApprovalRequest(
                payload=payload,
                title=f"migration held: {folder.name} ({reason})"[:300],
                requester="migrator",
                run_id=batch.order_id,
                step=f"migrate:{folder.name}",
            ),
            settings.approvals,
            auto_pass=False,
        )
        ledger.record(
            LedgerEvent(
                kind=HELD_EVENT,
                subject=batch.batch_id,
                payload={"folder": folder.name, "reason": reason, "approval": item.id},
            )
        )
    return item.id


def _cache_path(ws: Workspace, loaded: LoadedManifest) -> Path:
    key = hashlib.sha256(f"{loaded.path.resolve()}\0{loaded.base}".encode()).hexdigest()[:24]
    return ws.state_dir / "cache" / "migrate" / f"{key}.json"


def _store_plan(
    ws: Workspace, loaded: LoadedManifest, fingerprint: str, plan: MigrationPlan
) -> None:
    path = _cache_path(ws, loaded)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "plan": plan.model_dump(mode="json")}))
    tmp.replace(path)


def _cached_plan(ws: Workspace, loaded: LoadedManifest, fingerprint: str) -> MigrationPlan | None:
    """The last applied plan, if no source changed since and every destination still holds
    exactly what it wrote: then a re-run has nothing to do and need not parse a file."""
    path = _cache_path(ws, loaded)
    try:
        data = json.loads(path.read_text())
        if data.get("fingerprint") != fingerprint:
            return None
        plan = MigrationPlan.model_validate(data["plan"])
    except (OSError, ValueError, KeyError):
        return None
    for folder in plan.folders:
        for planned in folder.files:
            target = ws.root / planned.dest
            try:
                if hashlib.sha256(target.read_bytes()).hexdigest() != planned.sha256:
                    return None
            except OSError:
                return None
            planned.status, planned.existing_sha256 = "identical", planned.sha256
    return plan


def _unchanged_run(
    ws: Workspace,
    loaded: LoadedManifest,
    plan: MigrationPlan,
    on_conflict: ConflictPolicy,
    run_id: str | None,
) -> RunRecord:
    record = RunRecord(
        run_id=run_id or new_run_id(),
        manifest=str(loaded.path),
        state="unchanged",
        on_conflict=on_conflict,
        totals=plan.totals(),
        folders=[FolderOutcome(name=f.name, status="unchanged") for f in plan.folders],
    )
    write_plan(ws, record.run_id, plan)
    _save(ws, record)
    return record


_PATHS_LINE = r'^\s*"paths"\s*:\s*\{\s*$'
_OPTIONS_LINE = r'^\s*"compilerOptions"\s*:\s*\{\s*$'


def _apply_tsconfig_paths(
    ws: Workspace,
    settings: Settings,
    run_id: str,
    loaded: LoadedManifest,
    plan: MigrationPlan,
    skip: dict[Step, str] | None,
) -> FolderOutcome | None:
    batch = tsconfig_paths_batch(ws, run_id, loaded, plan)
    if batch is None:
        return None
    # The aliases point at folders not migrated yet: type-checking now would fail on them.
    applied = gated_apply(
        ws, batch, settings, skip={**(skip or {}), "validators": "(path aliases go first)"}
    ).batch
    return FolderOutcome(name=plan.tsconfig, batch_id=applied.batch_id, status="applied", written=1)


def tsconfig_paths_batch(
    ws: Workspace, run_id: str, loaded: LoadedManifest, plan: MigrationPlan
) -> PatchBatch | None:
    """The manifest's missing path aliases added to the workspace tsconfig, as one batch.

    The file is JSONC, so it is edited as text at an anchor, never re-serialised: comments
    and layout stay. Without a multi-line `"paths": {` or `"compilerOptions": {` line to
    anchor on, the aliases stay listed in the plan for a human to add."""
    missing = plan.tsconfig_paths_missing
    path = ws.root / plan.tsconfig
    if not missing or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    entries = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(missing.items())]
    paths_at = re.search(_PATHS_LINE, text, re.M)
    options_at = re.search(_OPTIONS_LINE, text, re.M)
    anchor = paths_at or options_at
    if anchor is None:
        return None
    line = anchor.group(0)
    indent = line[: len(line) - len(line.lstrip())] + "  "
    if paths_at is not None:
        # Inside an existing "paths" object: a comma after each entry unless it becomes last.
        closing = text[paths_at.end() :].lstrip().startswith("}")
        last = len(entries) - 1
        lines = [
            f"{indent}{e}{'' if closing and i == last else ','}" for i, e in enumerate(entries)
        ]
    else:
        inner = [f"{indent}  {e}," for e in entries]
        inner[-1] = inner[-1].rstrip(",")
        lines = [f'{indent}"paths": {{', *inner, f"{indent}}},"]
    op = PatchOperation(
        op="insert-after",
        file=plan.tsconfig,
        regex=_PATHS_LINE if paths_at is not None else _OPTIONS_LINE,
        block="\n".join(lines),
        open_space=True,
    )
    return PatchBatch(
        batch_id=f"{run_id}.tsconfig",
        order_id=run_id,
        requester="migrator",
        reason=f"add path aliases {', '.join(sorted(missing))}",
        task_id=loaded.manifest.owner,
        patches=[op],
    )


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--")).strip("-.") or "folder"


def _save(ws: Workspace, record: RunRecord) -> None:
    record.updated = utc_now()
    folder = run_dir(ws, record.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "run.json.tmp"
    tmp.write_text(record.model_dump_json(indent=2) + "\n")
    tmp.replace(folder / "run.json")


def load_run(ws: Workspace, run_id: str) -> RunRecord:
    path = run_dir(ws, run_id) / "run.json"
    if not path.is_file():
        raise BadInput(f"no migration run {run_id!r} in {ws.runs_dir}")
    return RunRecord.model_validate_json(path.read_bytes())


def last_run(ws: Workspace) -> str:
    runs = [p for p in ws.runs_dir.glob("m-*/run.json")] if ws.runs_dir.is_dir() else []
    applied = [RunRecord.model_validate_json(p.read_bytes()) for p in runs]
    applied = [r for r in applied if r.state == "applied"]
    if not applied:
        raise BadInput("no applied migration run to roll back")
    return max(applied, key=lambda r: (r.created, r.run_id)).run_id


def rollback_migration(ws: Workspace, run_id: str, settings: Settings) -> RunRecord:
    """Roll back every folder batch of a run, newest first, byte for byte."""
    record = load_run(ws, run_id)
    if record.state != "applied":
        raise BadInput(f"run {run_id!r} is {record.state.replace('_', ' ')}; nothing to roll back")
    for folder in reversed(record.folders):
        if folder.batch_id is not None and folder.status == "applied":
            gated_rollback(ws, folder.batch_id, settings)
            folder.status = "rolled-back"
            _save(ws, record)
    record.state = "rolled_back"
    _save(ws, record)
    with Ledger.open(ws.ledger_path) as ledger:
        ledger.record(
            LedgerEvent(kind="migration_run", subject=run_id, payload={"state": "rolled_back"})
        )
    return record
