"""A workspace with a real approval queue, for the review page's tests: batches reviewed by the
engine's own gate, one the quality monitor refused, one with a validator's new type error, a
needs_model question, and one already decided."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.approvals.models import ApprovalRequest, NeedsModelPayload, PatchBatchPayload
from engine.approvals.queue import approve, submit
from engine.approvals.review import review_batch
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.patch.validation import Finding, ValidationResult
from engine.settings import ApprovalSettings, Settings
from engine.work_item import WorkItem
from tests.conftest import write

LIB_TS = (
    "export function total(xs: number[]): number {\n"
    "  let sum = 0;\n"
    "  for (const x of xs) sum += x;\n"
    "  return sum;\n"
    "}\n"
)
TYPE_ERROR = "Type 'string' is not assignable to type 'number'."


@dataclass(frozen=True)
class SeededQueue:
    root: Path
    plain: int
    to_reject: int
    to_edit: int
    contested: int
    typed: int
    refused: int
    question: int
    decided: int


def _batch(*patches: dict[str, Any], reason: str) -> PatchBatch:
    return PatchBatch.model_validate(
        {"requester": "codex", "reason": reason, "patches": list(patches)}
    )


def _review(root: Path, *patches: dict[str, Any], reason: str) -> PatchBatchPayload:
    from engine.workspace import Workspace

    return review_batch(Workspace.open(root), _batch(*patches, reason=reason), Settings())


def seed_queue(root: Path) -> SeededQueue:
    """Files under src/ and apps/notes/, and eight approval items about them."""
    from engine.workspace import Workspace

    write(root, "src/lib/total.ts", LIB_TS)
    write(root, "src/x.ts", "export const x = 1;\n")
    write(root, "src/y.ts", "export const y = 1;\n")
    write(root, "apps/notes/src/db.ts", "export const q = 1;\n")
    append = {"op": "append", "file": "src/x.ts", "block": "export const two = 2;"}
    typed = _review(
        root,
        {"op": "append", "file": "src/lib/total.ts", "block": 'export const label: number = "n";'},
        reason="label the total",
    )
    failed = ValidationResult(
        validator="tsc",
        ok=False,
        summary="1 new error",
        findings=[
            Finding(
                tool="tsc",
                file="src/lib/total.ts",
                line=6,
                column=14,
                code="TS2322",
                message=TYPE_ERROR,
            )
        ],
    )
    question = WorkItem.model_validate(
        {
            "id": "apps/notes:apps/notes/src/db.ts:1",
            "folder": "apps/notes",
            "file": "apps/notes/src/db.ts",
            "start_line": 1,
            "end_line": 1,
            "reason": "the SQL text is built at run time",
            "site": {
                "file": "apps/notes/src/db.ts",
                "start_line": 1,
                "end_line": 1,
                "driver": "d1",
                "call": "env.DB.prepare().all",
                "is_async": True,
            },
            "context": "1 | export const q = 1;\n",
        }
    )
    payloads: list[tuple[str, Any]] = [
        ("add two to x", _review(root, append, reason="add two to x")),
        ("rename y", _review(root, _y_edit("export const why = 1;"), reason="rename y")),
        ("widen y", _review(root, _y_edit("export const y = 2;"), reason="widen y")),
        ("contested change", _review(root, append, reason="contested change")),
        ("label the total", typed.model_copy(update={"validation": failed})),
        (
            "stub out total",
            _review(
                root,
                {
                    "op": "replace-block",
                    "file": "src/lib/total.ts",
                    "start": 2,
                    "end": 4,
                    "block": "  // TODO: sum the values\n  return 0;",
                },
                reason="stub out total",
            ),
        ),
        ("answer the notes query", NeedsModelPayload(work_item=question)),
        ("already decided", _review(root, append, reason="already decided")),
    ]
    ids: list[int] = []
    with Ledger.open(Workspace.open(root).ledger_path) as ledger:
        for title, payload in payloads:
            item = submit(
                ledger,
                ApprovalRequest(payload=payload, title=title, requester="codex"),
                ApprovalSettings(),
            )
            assert item.state == "pending", (title, item.verdict)
            ids.append(item.id)
        approve(ledger, ids[-1], by="carol", reason="looked fine")
    return SeededQueue(root, *ids)


def _y_edit(block: str) -> dict[str, Any]:
    return {"op": "replace-block", "file": "src/y.ts", "start": 1, "end": 1, "block": block}
