"""The tool an implementer answers with: propose one PatchBatch through the gate and the queue.

It never applies anything itself. The batch is checked (paths, scope, quarantine, quality
monitor, validator) and queued as a patch_batch approval item; the answer names the proposal
and whether the policy passed it or a human must decide.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from engine.patch.models import OP_NAMES
from tools.base import ToolArgs, VibehqTool
from tools.batch_proposals import batch_json_schema_hint, propose_batch


class ProposeArgs(ToolArgs):
    # A model may send the batch's own fields (orderId, reason, patches) instead of a string.
    model_config = ConfigDict(extra="allow")

    batch_json: str | None = Field(
        None, description="the whole PatchBatch as one JSON string (or give its fields instead)"
    )
    batch: dict[str, Any] | None = Field(None, description="or the PatchBatch as an object")
    reason: str | None = Field(None, description="why: one line")
    patches: list[dict[str, Any]] | None = Field(
        None, description=f"the ops; op is one of {', '.join(OP_NAMES)}"
    )
    signature: str | None = Field(None, description="the recurring case, e.g. codex/d1_to_rpc")


class ProposePatchBatchTool(VibehqTool):
    name: str = "propose_patch_batch"
    description: str = (
        "Propose ONE PatchBatch (your answer to the task). It is checked and queued for "
        "approval, never applied by you. Anchor edits with 'match' (exact unique lines) rather "
        f"than line numbers. Shape: {batch_json_schema_hint()}. If the answer says ok=false, "
        "read 'error' or 'refused' and send a corrected batch."
    )
    args_schema: type[ToolArgs] = ProposeArgs
    changes = True

    def invoke(self, args: ProposeArgs) -> dict[str, Any]:
        data: str | dict[str, Any]
        if args.batch_json is not None:
            data = args.batch_json
        elif args.batch is not None:
            data = args.batch
        else:
            data = {k: v for k, v in (args.model_extra or {}).items()}
            if args.reason is not None:
                data["reason"] = args.reason
            if args.patches is not None:
                data["patches"] = args.patches
        result = propose_batch(self.ctx, data, signature=args.signature)
        return result.model_dump(exclude_none=True, exclude_defaults=False)


PATCH_TOOLS: tuple[type[VibehqTool], ...] = (ProposePatchBatchTool,)
