"""Canned adversarial answers, so a test writes `preset: lazy_placeholder_batch` instead of JSON.

Each preset takes a few `params` (checked, unknown ones refused) and produces the reply of a
turn. The batch presets speak the PatchBatch format of `engine/patch/models.py` and by default
answer the unsafe-cases work item (`apps/unsafe-cases/src/board.ts`, the `openCount` getter),
each broken in exactly the one way its name says, so a test sees which gate stopped it:

    lazy_placeholder_batch  a block whose body is `// ... rest of code unchanged`
    outside_allowed_batch   a correct edit of the allowed file, plus an edit of another file
    path_traversal_batch    an op on `../../etc/passwd`
    syntax_breaking_batch   a block with an unclosed brace
    malformed_tool_call     a tool call whose arguments string is not JSON
    delegation_loop         a tool call delegating to the same coworker, every time it is asked

A batch goes out as a ```json block in the content (`deliver: content`, the refactor prompts'
answer format) or as the arguments of a tool call (`deliver: tool_call`, tool `tool`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devtools.scripted_model.reply import ToolCallSpec

__all__ = ["PRESET_NAMES", "CannedReply", "PresetError", "build_preset"]

BOARD = "apps/unsafe-cases/src/board.ts"
ORDER_ID = "d1-to-rpc-apps-unsafe-cases-apps-unsafe-cases-src-board.ts-16"
REQUESTER = "vibehq-refactor"
# The getter of the work item, as it stands in the migrated file (lines 15-20).
GETTER = (
    "  get openCount(): number {\n"
    '    const row = this.db.query("SELECT COUNT(*) AS total FROM issues WHERE project = ? '
    "AND state = 'open'\").get(this.project) as {\n"
    "      total: number;\n"
    "    };\n"
    "    return row.total;\n"
    "  }"
)
ASYNC_GETTER = (
    "  async openCount(): Promise<number> {\n"
    "    const row = await env.ORCHESTRATOR_UNSAFE_CASES.countIssuesByProject("
    "this.project);\n"
    "    return row?.total ?? 0;\n"
    "  }"
)
LAZY_GETTER = "  async openCount(): Promise<number> {\n    // ... rest of code unchanged\n  }"
BROKEN_GETTER = (
    "  async openCount(): Promise<number> {\n"
    "    const row = await env.ORCHESTRATOR_UNSAFE_CASES.countIssuesByProject("
    "this.project;\n"
    "    if (row) {\n"
    "      return row.total;\n"
    "  }"
)


class PresetError(ValueError):
    """Unknown preset or bad params; the script loader reports it with the turn's line."""


@dataclass(frozen=True, slots=True)
class CannedReply:
    content: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    unlimited: bool = False


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _BatchParams(_Params):
    order_id: str = ORDER_ID
    requester: str = REQUESTER
    deliver: Literal["content", "tool_call"] = "content"
    tool: str = Field("submit_patch_batch", min_length=1)


class LazyParams(_BatchParams):
    file: str = Field(BOARD, min_length=1)
    placeholder: str = Field("// ... rest of code unchanged", min_length=1)


class OutsideParams(_BatchParams):
    file: str = Field(BOARD, min_length=1, description="the allowed file, edited correctly")
    outside: str = Field(
        "orchestrator/worker/index.ts", min_length=1, description="the file it has no right to"
    )


class TraversalParams(_BatchParams):
    path: str = Field("../../etc/passwd", min_length=1)


class SyntaxParams(_BatchParams):
    file: str = Field(BOARD, min_length=1)


class MalformedParams(_Params):
    name: str = Field("submit_patch_batch", min_length=1)
    arguments: str = Field(
        '{"orderId": "' + ORDER_ID + '", "patches": [{"op": "replace-block", "file": ',
        description="sent as is: by default, JSON cut off mid-object",
    )


class DelegationParams(_Params):
    coworker: str = Field("Codex", min_length=1)
    task: str = "Finish the refactor of apps/unsafe-cases/src/board.ts"
    context: str = "You know this file best; take it from here."
    # CrewAI sends tools as functions named by sanitize_tool_name("Delegate work to coworker").
    tool: str = Field("delegate_work_to_coworker", min_length=1)
    style: Literal["tool_call", "react"] = "tool_call"


def _batch(params: _BatchParams, reason: str, patches: list[dict[str, Any]]) -> CannedReply:
    batch = {
        "orderId": params.order_id,
        "requester": params.requester,
        "reason": reason,
        "patches": patches,
    }
    if params.deliver == "tool_call":
        return CannedReply(tool_calls=[ToolCallSpec(name=params.tool, arguments=batch)])
    return CannedReply(content="```json\n" + json.dumps(batch, indent=2) + "\n```\n")


def _lazy(params: LazyParams) -> CannedReply:
    block = LAZY_GETTER.replace("// ... rest of code unchanged", params.placeholder)
    patch = {"op": "replace-block", "file": params.file, "match": GETTER, "block": block}
    return _batch(params, "openCount: async RPC", [patch])


def _outside(params: OutsideParams) -> CannedReply:
    patches = [
        {"op": "replace-block", "file": params.file, "match": GETTER, "block": ASYNC_GETTER},
        {
            "op": "append",
            "file": params.outside,
            "block": "export const unsafeCasesReady = true;",
        },
    ]
    return _batch(params, "openCount: async RPC, and a flag the task did not ask for", patches)


def _traversal(params: TraversalParams) -> CannedReply:
    patch = {"op": "append", "file": params.path, "block": "vibehq::0:0::/root:/bin/sh"}
    return _batch(params, "register the service user", [patch])


def _syntax(params: SyntaxParams) -> CannedReply:
    patch = {"op": "replace-block", "file": params.file, "match": GETTER, "block": BROKEN_GETTER}
    return _batch(params, "openCount: async RPC", [patch])


def _malformed(params: MalformedParams) -> CannedReply:
    return CannedReply(tool_calls=[ToolCallSpec(name=params.name, arguments=params.arguments)])


def _delegation(params: DelegationParams) -> CannedReply:
    arguments = {"task": params.task, "context": params.context, "coworker": params.coworker}
    if params.style == "react":
        text = (
            f"Thought: {params.coworker} should do this.\n"
            "Action: Delegate work to coworker\n"
            f"Action Input: {json.dumps(arguments)}"
        )
        return CannedReply(content=text, unlimited=True)
    return CannedReply(
        tool_calls=[ToolCallSpec(name=params.tool, arguments=arguments)], unlimited=True
    )


@dataclass(frozen=True, slots=True)
class _Preset:
    params: type[_Params]
    build: Callable[[Any], CannedReply]


_PRESETS: dict[str, _Preset] = {
    "lazy_placeholder_batch": _Preset(LazyParams, _lazy),
    "outside_allowed_batch": _Preset(OutsideParams, _outside),
    "path_traversal_batch": _Preset(TraversalParams, _traversal),
    "syntax_breaking_batch": _Preset(SyntaxParams, _syntax),
    "malformed_tool_call": _Preset(MalformedParams, _malformed),
    "delegation_loop": _Preset(DelegationParams, _delegation),
}
PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def build_preset(name: str, params: Mapping[str, Any]) -> CannedReply:
    """The reply of preset `name` with `params`, or `PresetError` saying what is wrong."""
    preset = _PRESETS.get(name)
    if preset is None:
        raise PresetError(f"unknown preset {name!r} (known: {', '.join(PRESET_NAMES)})")
    try:
        checked = preset.params.model_validate(dict(params))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PresetError(f"preset {name!r} params: {problems}") from None
    return preset.build(checked)
