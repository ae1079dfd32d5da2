"""The D1-to-RPC refactor of one migrated folder, end to end:

    SQL sites -> recipes (worker batch) + RPC methods (orchestrator batch)
      -> both batches on ONE staging copy -> one validator run
      -> apply orchestrator then worker (the first is rolled back if the second fails)
      or, if validation fails, nothing applied and a remediation task in tasks.json.

Sites no recipe can prove safe become `needs-model` work items with their exact context.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from pydantic import BaseModel, Field

from engine.approvals.models import ApprovalRequest, NeedsModelPayload
from engine.approvals.queue import list_items, submit
from engine.errors import BadInput, ValidationFailed
from engine.ledger.events import LedgerEvent
from engine.ledger.store import Ledger
from engine.migrate.manifest import RpcSpec
from engine.patch.apply import BatchResult, ValidationRejected
from engine.patch.diff import unified_diff
from engine.patch.models import PatchBatch
from engine.patch.plan import plan_batch
from engine.patch.validation import BatchValidator, Finding, ValidationResult
from engine.refactor.models import RpcMethod, RpcTarget, WorkItem
from engine.refactor.orchestrator import orchestrator_batch
from engine.refactor.prompts import render_work_item, work_item_files, workspace_conventions
from engine.refactor.worker import (
    GROUP_REASON_PREFIX,
    SiteDecision,
    refactor_worker,
    worker_batch,
)
from engine.settings import Settings
from engine.syntax.parse import is_source
from engine.validate.gate import gated_apply
from engine.validate.judge import Step
from engine.workspace import Workspace

_SKIP_DIRS = frozenset({"node_modules", ".git", ".vibehq", "dist", "build"})


class RefactorPlan(BaseModel):
    target: RpcTarget
    methods: list[RpcMethod] = Field(default_factory=list)
    ddl: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    decisions: list[SiteDecision] = Field(default_factory=list)
    work_items: list[WorkItem] = Field(default_factory=list)
    orchestrator: PatchBatch | None = None
    worker: PatchBatch | None = None
    diff: str = ""

    def share(self) -> dict[str, int]:
        """Sites rewritten by recipes, handed to a model, and moved or dropped (DDL, PRAGMA)."""
        by_recipe = sum(1 for d in self.decisions if d.recipe is not None)
        return {
            "sites": len(self.decisions),
            "recipes": by_recipe,
            "needs_model": len(self.work_items),
        }


class RefactorOutcome(BaseModel):
    plan: RefactorPlan
    status: str = Field(description="applied | unchanged | rejected")
    orchestrator: BatchResult | None = None
    worker: BatchResult | None = None
    validation: ValidationResult | None = None
    remediation_task: str | None = None


class RefactorRejected(ValidationFailed):
    def __init__(self, message: str, result: ValidationResult) -> None:
        super().__init__(message)
        self.result = result


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def target_for(folder: str, rpc: RpcSpec | None) -> RpcTarget:
    """The RPC target of a folder: the manifest's `rpc` section, or conventions from its name."""
    base = pascal(Path(folder).name) or "Worker"
    if rpc is not None:
        class_name = rpc.class_name
        return RpcTarget(
            folder=folder,
            entrypoint_path=rpc.entrypoint.replace("{Name}", base),
            class_name=class_name.replace("{Name}", base),
            binding=rpc.binding,
            wrangler=rpc.wrangler,
            migrations_dir=rpc.migrations_dir,
        )
    snake = re.sub(r"[^A-Za-z0-9]+", "_", Path(folder).name).strip("_").upper()
    return RpcTarget(
        folder=folder,
        entrypoint_path=f"orchestrator/worker/entrypoints/{base}Ops.ts",
        class_name=f"{base}Ops",
        binding=f"ORCHESTRATOR_{snake}",
        wrangler="@shared/base/wrangler.base.jsonc",
    )


def folder_sources(ws: Workspace, folder: str) -> dict[str, bytes]:
    root = ws.resolve(folder)
    if not root.is_dir():
        raise BadInput(f"folder {folder!r} is not in the workspace")
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(p in _SKIP_DIRS for p in rel_parts) or not path.is_file() or path.is_symlink():
            continue
        if is_source(path.name) and not path.name.endswith(".d.ts"):
            found[ws.relative(path)] = path.read_bytes()
    return found


def plan_refactor(ws: Workspace, target: RpcTarget, *, task_id: str | None = None) -> RefactorPlan:
    files = folder_sources(ws, target.folder)
    # A folder with its own tsconfig (a STAGING template) is checked apart from the orchestrator.
    isolated = (ws.resolve(target.folder) / "tsconfig.json").is_file()
    result = refactor_worker(ws.root, target, files, isolated=isolated)
    migration = re.sub(r"[^a-z0-9]+", "_", Path(target.folder).name.lower()).strip("_")
    orch = orchestrator_batch(
        ws.root, target, result.methods, result.ddl, migration_name=migration, task_id=task_id
    )
    worker = worker_batch(result, task_id=task_id)
    plan = RefactorPlan(
        target=target,
        methods=result.methods,
        ddl=result.ddl,
        dropped=result.dropped,
        decisions=result.decisions,
        work_items=result.work_items,
        orchestrator=orch,
        worker=worker,
    )
    plan.diff = "".join(_diff(ws, batch) for batch in (orch, worker) if batch is not None)
    return plan


def _diff(ws: Workspace, batch: PatchBatch) -> str:
    return "".join(unified_diff(f.path, f.old, f.new) for f in plan_batch(ws, batch).changed)


def _changes(ws: Workspace, batches: list[PatchBatch]) -> dict[str, bytes | None]:
    changes: dict[str, bytes | None] = {}
    for batch in batches:
        for change in plan_batch(ws, batch).changed:
            changes[ws.relative(change.abs_path)] = change.new
    return changes


def apply_refactor(
    ws: Workspace,
    plan: RefactorPlan,
    settings: Settings,
    *,
    validator: BatchValidator | None,
    tasks_path: Path | None = None,
    epic_id: str | None = None,
    skip: dict[Step, str] | None = None,
) -> RefactorOutcome:
    """Both batches as one through the gate: the orchestrator's methods and the worker's
    calls to them land together or not at all, checked by one validator run."""
    batches = [b for b in (plan.orchestrator, plan.worker) if b is not None]
    record_work_items(ws, plan, settings)
    if not batches:
        return RefactorOutcome(plan=plan, status="unchanged")
    combined = _combined(batches)
    try:
        gated = gated_apply(ws, combined, settings, validator=validator, skip=skip)
    except ValidationRejected as exc:
        task = _remediation_task(ws, settings, plan, exc.result.findings, tasks_path, epic_id)
        raise RefactorRejected(
            f"the refactor of {plan.target.folder} does not type-check "
            f"({exc.result.summary}); nothing was applied"
            + (f"; remediation task {task} added" if task else ""),
            exc.result,
        ) from None
    result = gated.batch
    return RefactorOutcome(
        plan=plan,
        status="applied",
        orchestrator=_part(result, plan.orchestrator),
        worker=_part(result, plan.worker),
        validation=result.validation,
    )


def _combined(batches: list[PatchBatch]) -> PatchBatch:
    first = batches[0]
    if len(batches) == 1:
        return first
    pins: dict[str, str] = {}
    for batch in batches:
        pins.update(batch.base_sha256)
    return first.model_copy(
        update={
            "batch_id": "+".join(b.batch_id for b in batches if b.batch_id) or None,
            "reason": "; ".join(b.reason for b in batches if b.reason) or None,
            "patches": [op for b in batches for op in b.patches],
            "base_sha256": pins,
        }
    )


def _part(result: BatchResult, batch: PatchBatch | None) -> BatchResult | None:
    """The share of the one applied batch that came from `batch`, for the report."""
    if batch is None:
        return None
    files = {posixpath.normpath(op.file) for op in batch.patches}
    return result.model_copy(update={"files": [f for f in result.files if f.path in files]})


def record_work_items(
    ws: Workspace,
    plan: RefactorPlan,
    settings: Settings,
    *,
    run_id: str | None = None,
    step: str | None = None,
) -> list[int]:
    """Record every work item, and queue one `needs_model` approval per blocking site (its
    group's other sites ride along: the answer may rewrite the whole file). A work item already
    queued and not rejected is not queued again, so re-running the refactor adds nothing.
    Returns the ids of the items queued now, for the flow run `run_id` at `step` if given."""
    if not plan.work_items:
        return []
    ws.ensure_state_dir()
    added: list[int] = []
    conventions = workspace_conventions(ws.root)
    with Ledger.open(ws.ledger_path) as ledger:
        queued = {
            existing.payload.work_item.id
            for existing in list_items(ledger, kind="needs_model")
            if isinstance(existing.payload, NeedsModelPayload) and existing.state != "rejected"
        }
        for item in plan.work_items:
            ledger.record(
                LedgerEvent(
                    kind="needs_model", subject=item.id, payload=json.loads(item.model_dump_json())
                )
            )
            if item.id in queued or item.reason.startswith(GROUP_REASON_PREFIX):
                continue
            files = work_item_files(item, plan.target)
            prompt = render_work_item(
                item,
                target=plan.target,
                methods=plan.methods,
                conventions=conventions,
                allowed_files=files,
            )
            payload = NeedsModelPayload(work_item=item, prompt=prompt, allowed_files=files)
            request = ApprovalRequest(
                payload=payload,
                title=f"D1-to-RPC: {item.file}:{item.start_line} needs a model ({item.reason})",
                requester="codex-recipes",
                run_id=run_id,
                step=step,
                signature="d1_to_rpc/worker_refactor",
            )
            added.append(submit(ledger, request, settings.approvals).id)
    return added


def _remediation_task(
    ws: Workspace,
    settings: Settings,
    plan: RefactorPlan,
    findings: list[Finding],
    tasks_path: Path | None,
    epic_id: str | None,
) -> str | None:
    """Seed step 7: a failed refactor becomes a remediation subtask under the folder's epic."""
    if tasks_path is None or epic_id is None or not tasks_path.is_file():
        return None
    from engine.plan.change import change_plan
    from engine.plan.ops import add_subtask

    epic = epic_id
    shown = "\n".join(
        f"- {f.file}:{f.line}:{f.column} {f.code or ''} {f.message}" for f in findings[:30]
    )
    change = change_plan(
        ws,
        settings,
        lambda tf: add_subtask(
            tf,
            epic,
            title=f"Remediate the D1-to-RPC refactor of {plan.target.folder}",
            description=f"{len(findings)} new type errors after the recipes' batches; "
            "nothing was applied.",
            details=f"tsc findings on the staging copy:\n{shown}",
        ),
        "vibehq-refactor",
        file=tasks_path,
    ).change
    return change.ids[0] if change.ids else None


class FolderRefactor(BaseModel):
    """What `migrate apply --refactor` did to one migrated folder."""

    folder: str
    share: dict[str, int]
    status: str = Field(description="applied | unchanged | rejected")
    error: str | None = None
    outcome: RefactorOutcome | None = None


def refactor_folders(
    ws: Workspace,
    folders: list[str],
    settings: Settings,
    *,
    rpc: RpcSpec | None,
    validator: BatchValidator | None,
    tasks_path: Path | None = None,
    epic_id: str | None = None,
) -> list[FolderRefactor]:
    """Refactor each folder in turn. A folder whose batches do not type-check is rejected on
    its own (nothing of it applied, a remediation task added); the others go on."""
    done: list[FolderRefactor] = []
    for folder in folders:
        plan = plan_refactor(ws, target_for(folder, rpc), task_id=epic_id)
        try:
            outcome = apply_refactor(
                ws, plan, settings, validator=validator, tasks_path=tasks_path, epic_id=epic_id
            )
        except RefactorRejected as rejected:
            done.append(
                FolderRefactor(
                    folder=folder, share=plan.share(), status="rejected", error=rejected.message
                )
            )
            continue
        done.append(
            FolderRefactor(
                folder=folder, share=plan.share(), status=outcome.status, outcome=outcome
            )
        )
    return done
