"""PatchBatch: the seed patch-manager format, extended with anchors, create/delete, base hashes.

Seed format, accepted unchanged:
    {orderId, requester, reason, branch,
     patches: [{op, file, start, end, line, block, blockFile, openSpace, taskId}]}
Extensions per op: `marker` (+ `markerEnd`), `match`, `regex`, `baseSha256`; ops `create`, `delete`.
Per batch: `baseSha256: {file: sha256}` and `batchId`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.inputs import PathText
from engine.ledger.events import PatchEvent

__all__ = ["ANCHORED_OPS", "OP_NAMES", "OpName", "PatchBatch", "PatchEvent", "PatchOperation"]

OpName = Literal[
    "replace-block", "insert-before", "insert-after", "append", "prepend", "create", "delete"
]
OP_NAMES: tuple[str, ...] = (
    "replace-block",
    "insert-before",
    "insert-after",
    "append",
    "prepend",
    "create",
    "delete",
)
ANCHORED_OPS = frozenset({"replace-block", "insert-before", "insert-after"})
_ANCHOR_FIELDS = ("marker", "match", "regex")


class PatchOperation(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", serialize_by_alias=True)

    op: OpName
    file: PathText = Field(min_length=1)
    start: int | None = Field(None, ge=1, description="first line (1-based), replace-block")
    end: int | None = Field(None, ge=1, description="last line (inclusive), replace-block")
    line: int | None = Field(None, ge=1, description="anchor line (1-based), insert-*")
    marker: str | None = Field(None, min_length=1, description="text of a unique marker line")
    marker_end: str | None = Field(
        None, alias="markerEnd", min_length=1, description="closing marker line of a region"
    )
    match: str | None = Field(None, min_length=1, description="exact lines that must be unique")
    regex: str | None = Field(None, min_length=1, description="regex with exactly one match")
    block: str | None = None
    block_file: PathText | None = Field(None, alias="blockFile")
    open_space: bool = Field(False, alias="openSpace", description="insert the block verbatim")
    overwrite: bool = Field(
        False, description="create: replace an existing file's content instead of conflicting"
    )
    task_id: str | int | None = Field(None, alias="taskId")
    base_sha256: str | None = Field(
        None, alias="baseSha256", pattern=r"^[0-9a-fA-F]{64}$", description="expected file hash"
    )

    @model_validator(mode="after")
    def _check_addressing(self) -> PatchOperation:
        anchors = [name for name in _ANCHOR_FIELDS if getattr(self, name) is not None]
        if len(anchors) > 1:
            raise ValueError(f"give one anchor, not {' and '.join(anchors)}")
        if self.marker_end is not None and self.marker is None:
            raise ValueError("markerEnd needs marker")
        has_lines = self.start is not None or self.end is not None or self.line is not None
        if self.block is not None and self.block_file is not None:
            raise ValueError("give block or blockFile, not both")
        if self.op in ANCHORED_OPS:
            if anchors and has_lines:
                raise ValueError(f"{self.op}: give line numbers or an anchor, not both")
            if not anchors:
                self._check_line_form()
        elif anchors or has_lines:
            raise ValueError(f"{self.op} addresses the whole file; it takes no line or anchor")
        if self.overwrite and self.op != "create":
            raise ValueError("overwrite only applies to create")
        if self.op == "delete":
            if self.block is not None or self.block_file is not None:
                raise ValueError("delete takes no block")
        elif self.block is None and self.block_file is None and self.op != "replace-block":
            raise ValueError(f"{self.op} needs block or blockFile")
        if self.op == "replace-block" and self.block is None and self.block_file is None:
            raise ValueError("replace-block needs block or blockFile (an empty block deletes)")
        return self

    def _check_line_form(self) -> None:
        if self.op == "replace-block":
            if self.start is None:
                raise ValueError("replace-block needs start (and end) or an anchor")
            if self.line is not None:
                raise ValueError("replace-block takes start/end, not line")
            if self.end is not None and self.end < self.start:
                raise ValueError(f"end {self.end} is before start {self.start}")
            return
        if self.line is None and self.start is None:
            raise ValueError(f"{self.op} needs line or an anchor")
        if self.line is not None and self.start is not None and self.line != self.start:
            raise ValueError(f"{self.op}: line {self.line} and start {self.start} disagree")
        if self.end is not None and self.end != self.anchor_line:
            raise ValueError(f"{self.op} takes one line, not a range")

    @property
    def anchor_line(self) -> int | None:
        """The line an insert-* op addresses in line form (`line`, or the seed's `start`)."""
        return self.line if self.line is not None else self.start

    @property
    def anchor_kind(self) -> str:
        for name in _ANCHOR_FIELDS:
            if getattr(self, name) is not None:
                return name
        return "lines" if self.op in ANCHORED_OPS else "file"


class PatchBatch(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", serialize_by_alias=True)

    batch_id: str | None = Field(
        None, alias="batchId", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
    )
    order_id: str | None = Field(None, alias="orderId")
    requester: str | None = None
    reason: str | None = None
    branch: str | None = None
    task_id: str | int | None = Field(None, alias="taskId")
    base_sha256: dict[str, str] = Field(default_factory=dict, alias="baseSha256")
    patches: list[PatchOperation] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_hashes(self) -> PatchBatch:
        for name, digest in self.base_sha256.items():
            if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
                raise ValueError(f"baseSha256[{name!r}] is not a sha256 hex digest")
        return self
