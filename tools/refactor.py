"""Refactor tools: the D1/SQLite-to-RPC plan of a migrated folder, its recipes as a proposal,
and the needs-model work items a model answers.

Recipes rewrite what they can prove safe; `refactor_recipes` turns their two batches (the
orchestrator's RPC entrypoint and the worker's rewritten calls) into ONE proposal, since one
without the other does not type-check. The rest are work items: `work_item_show` gives the
rendered prompt and the files an answer may touch.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.approvals.queue import get_item
from engine.errors import BadInput
from engine.patch.models import PatchBatch
from engine.refactor.pipeline import RefactorPlan, plan_refactor, target_for
from tools.base import ToolArgs, VibehqTool, clip, listing
from tools.batch_proposals import propose_batch

WORK_ITEM_CAP = 20
METHOD_CAP = 30
PROMPT_CAP = 16_000


class FolderArgs(ToolArgs):
    folder: str = Field(description="a migrated folder of the workspace, e.g. apps/unsafe-cases")


def _plan(tool: VibehqTool, folder: str) -> RefactorPlan:
    return plan_refactor(tool.ctx.workspace, target_for(folder.strip("/"), None))


def _diff_lines(diff: str) -> int:
    return sum(
        1
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    )


class RefactorPlanTool(VibehqTool):
    name: str = "refactor_plan"
    description: str = (
        "Plan the D1/SQLite-to-RPC refactor of a migrated folder (nothing is written): SQL "
        "sites, how many recipes handle, the RPC methods, and the work items that need a model."
    )
    args_schema: type[ToolArgs] = FolderArgs

    def invoke(self, args: FolderArgs) -> dict[str, Any]:
        plan = _plan(self, args.folder)
        items = [
            {
                "id": w.id,
                "file": w.file,
                "lines": f"{w.start_line}-{w.end_line}",
                "reason": clip(w.reason, 200),
                "methods": w.methods,
            }
            for w in plan.work_items
        ]
        methods = [f"{m.name} ({m.kind}, {m.returns})" for m in plan.methods]
        return {
            "folder": plan.target.folder,
            "entrypoint": plan.target.entrypoint_path,
            "binding": plan.target.binding,
            **plan.share(),
            "diff_lines": _diff_lines(plan.diff),
            **listing("method_names", methods, METHOD_CAP),
            **listing("work_items", items, WORK_ITEM_CAP),
        }


class RefactorRecipesTool(VibehqTool):
    name: str = "refactor_recipes"
    description: str = (
        "Propose the recipes' refactor of a migrated folder as ONE PatchBatch (orchestrator "
        "entrypoint + rewritten worker calls). Returns the proposal id; sites the recipes "
        "cannot prove safe stay for work items."
    )
    args_schema: type[ToolArgs] = FolderArgs
    changes = True

    def invoke(self, args: FolderArgs) -> dict[str, Any]:
        plan = _plan(self, args.folder)
        batches = [b for b in (plan.orchestrator, plan.worker) if b is not None]
        if not batches:
            return {"ok": True, "proposal": None, "note": "the recipes change nothing here"}
        pins: dict[str, str] = {}
        for b in batches:
            pins.update(b.base_sha256)
        merged = PatchBatch(
            order_id=batches[0].order_id,
            reason=f"D1-to-RPC recipes for {plan.target.folder}: "
            f"{plan.share()['recipes']} sites, {len(plan.methods)} RPC methods",
            task_id=batches[0].task_id,
            base_sha256=pins,
            patches=[op for b in batches for op in b.patches],
        )
        out = propose_batch(self.ctx, merged, signature="recipes/d1_to_rpc").model_dump(
            exclude_none=True
        )
        out["needs_model"] = len(plan.work_items)
        return out


class WorkItemArgs(ToolArgs):
    item: int = Field(description="the needs_model approval item id")


class WorkItemShowTool(VibehqTool):
    name: str = "work_item_show"
    description: str = (
        "Show a needs-model work item: its rendered prompt (the exact task, the code, the "
        "rules and the answer format) and the files an answer may change."
    )
    args_schema: type[ToolArgs] = WorkItemArgs

    def invoke(self, args: WorkItemArgs) -> dict[str, Any]:
        with self.ctx.ledger() as ledger:
            item = get_item(ledger, args.item)
        payload = item.payload
        if payload.kind != "needs_model":
            raise BadInput(f"item {item.id} is a {payload.kind} item, not a needs_model one")
        work = payload.work_item
        return {
            "item": item.id,
            "state": item.state,
            "work_item": work.id,
            "file": work.file,
            "lines": f"{work.start_line}-{work.end_line}",
            "reason": work.reason,
            "allowed_files": payload.allowed_files,
            "prompt": clip(payload.prompt or work.context, PROMPT_CAP),
        }


REFACTOR_TOOLS: tuple[type[VibehqTool], ...] = (
    RefactorPlanTool,
    RefactorRecipesTool,
    WorkItemShowTool,
)
