"""Turn a PatchBatch into the exact new bytes of every file it touches, in memory.

Nothing here writes. Every path is checked before anything is read, every op is
resolved against the file as it was before the batch, and overlapping edits are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from engine.errors import BadInput, OpFailed, PatchConflict, UnsafePath
from engine.patch.anchors import Span, anchor_indent, describe, locate
from engine.patch.models import PatchBatch, PatchOperation
from engine.patch.textdoc import TextDoc, block_lines, rebase_indent
from engine.workspace import Workspace, resolve_inside


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class OpOutcome:
    index: int
    op: PatchOperation
    lines_added: int = 0
    lines_removed: int = 0


@dataclass
class FileChange:
    path: str
    abs_path: Path
    old: bytes | None
    new: bytes | None
    ops: list[OpOutcome] = field(default_factory=list)
    mode: int | None = None

    # Cached: the journal, the events and the result all ask. Contents are final by then.
    @cached_property
    def old_sha(self) -> str | None:
        return None if self.old is None else sha256(self.old)

    @cached_property
    def new_sha(self) -> str | None:
        return None if self.new is None else sha256(self.new)

    @property
    def action(self) -> str:
        if self.old == self.new:
            return "unchanged"
        if self.old is None:
            return "created"
        if self.new is None:
            return "deleted"
        return "modified"

    @property
    def lines_added(self) -> int:
        return sum(o.lines_added for o in self.ops)

    @property
    def lines_removed(self) -> int:
        return sum(o.lines_removed for o in self.ops)


@dataclass
class BatchPlan:
    batch: PatchBatch
    files: list[FileChange]

    @property
    def changed(self) -> list[FileChange]:
        return [f for f in self.files if f.action != "unchanged"]


@dataclass
class _Edit:
    start: int
    end: int
    lines: list[str]
    outcome: OpOutcome

    @property
    def is_insert(self) -> bool:
        return self.start == self.end


def plan_batch(ws: Workspace, batch: PatchBatch, *, block_root: Path | None = None) -> BatchPlan:
    """Compute a batch's effect. `block_root` is where relative `blockFile`s live (the batch's
    folder); without it they resolve in the workspace."""
    groups: dict[Path, list[tuple[int, PatchOperation]]] = {}
    display: dict[Path, str] = {}
    resolved: dict[str, Path] = {}
    for index, op in enumerate(batch.patches):
        target = resolved.get(op.file)
        if target is None:
            # Resolving follows symlinks component by component: once per distinct path.
            target = resolved[op.file] = ws.resolve(op.file)
        groups.setdefault(target, []).append((index, op))
        display.setdefault(target, _normalise(op.file))
    blocks = {i: _block_text(ws, op, i, block_root) for i, op in enumerate(batch.patches)}
    bases = _base_hashes(ws, batch, display, resolved)
    files: list[FileChange] = []
    for target, ops in groups.items():
        files.append(_plan_file(display[target], target, ops, blocks, bases.get(target)))
    return BatchPlan(batch, files)


def inline_blocks(
    ws: Workspace, batch: PatchBatch, *, block_root: Path | None = None
) -> PatchBatch:
    """The batch with each `blockFile` read into `block`: self-contained, so it can be stored
    and applied later from anywhere. Reads exactly as `plan_batch` does."""
    if all(op.block_file is None for op in batch.patches):
        return batch
    patches = [
        op
        if op.block_file is None
        else op.model_copy(
            update={"block": _block_text(ws, op, index, block_root), "block_file": None}
        )
        for index, op in enumerate(batch.patches)
    ]
    return batch.model_copy(update={"patches": patches})


def _normalise(rel: str) -> str:
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _block_text(ws: Workspace, op: PatchOperation, index: int, block_root: Path | None) -> str:
    if op.block is not None:
        return op.block
    if op.block_file is None:
        return ""
    root = block_root if block_root is not None else ws.root
    try:
        path = resolve_inside(root, op.block_file, what=f"{describe(index, op)}: blockFile")
    except UnsafePath as exc:
        raise UnsafePath(f"{exc.message} (it must stay inside {root})") from exc
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{describe(index, op)}: blockFile {op.block_file!r} not found") from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise BadInput(f"{describe(index, op)}: blockFile {op.block_file!r}: {exc}") from exc


def _base_hashes(
    ws: Workspace, batch: PatchBatch, display: dict[Path, str], resolved: dict[str, Path]
) -> dict[Path, str]:
    bases: dict[Path, str] = {}
    for name, digest in batch.base_sha256.items():
        target = ws.resolve(name)
        if target not in display:
            raise BadInput(f"baseSha256 names {name!r}, which no op in the batch touches")
        bases[target] = digest.lower()
    for index, op in enumerate(batch.patches):
        if op.base_sha256 is None:
            continue
        target = resolved[op.file]
        digest = op.base_sha256.lower()
        if bases.setdefault(target, digest) != digest:
            raise BadInput(
                f"{describe(index, op)}: baseSha256 disagrees with another for this file"
            )
    return bases


def _plan_file(
    rel: str,
    target: Path,
    ops: list[tuple[int, PatchOperation]],
    blocks: dict[int, str],
    base: str | None,
) -> FileChange:
    whole = [(i, op) for i, op in ops if op.op in ("create", "delete")]
    if whole and len(ops) > 1:
        i, op = whole[0]
        raise BadInput(f"{describe(i, op)}: {op.op} must be the only op on {rel} in a batch")
    if target.is_dir():
        raise BadInput(f"{rel} is a directory")
    try:
        old: bytes | None = target.read_bytes()
    except FileNotFoundError:
        old = None
    if base is not None and (old is None or sha256(old) != base):
        found = "missing" if old is None else f"sha256 {sha256(old)[:12]}"
        raise PatchConflict(
            f"{rel}: conflict, expected base sha256 {base[:12]} but file is {found}"
        )
    change = FileChange(rel, target, old, old)
    if whole:
        index, op = whole[0]
        _plan_whole_file(change, index, op, blocks[index])
        return change
    if old is None:
        index, op = ops[0]
        raise OpFailed(f"{describe(index, op)}: file not found")
    doc = TextDoc.parse(old)
    edits = [_edit_for(index, op, doc, blocks[index]) for index, op in ops]
    change.ops = [e.outcome for e in edits]
    change.new = _splice(doc, _ordered(edits)).render()
    return change


def _plan_whole_file(change: FileChange, index: int, op: PatchOperation, block: str) -> None:
    outcome = OpOutcome(index, op)
    change.ops = [outcome]
    if op.op == "delete":
        if change.old is None:
            raise OpFailed(f"{describe(index, op)}: file not found")
        change.new = None
        outcome.lines_removed = len(TextDoc.parse(change.old).lines)
        return
    # surrogateescape: a block decoded the same way carries non-UTF-8 bytes through intact.
    data = block.encode("utf-8", "surrogateescape")
    if change.old is not None and change.old != data and not op.overwrite:
        raise PatchConflict(f"{describe(index, op)}: file already exists with other content")
    # Creating a file that already has exactly this content is a no-op, so re-runs are safe.
    change.new = data
    if change.old != data:
        outcome.lines_added = len(block_lines(block))
        if change.old is not None:
            outcome.lines_removed = len(TextDoc.parse(change.old).lines)


def _edit_for(index: int, op: PatchOperation, doc: TextDoc, block: str) -> _Edit:
    lines = block_lines(block)
    outcome = OpOutcome(index, op, lines_added=len(lines))
    n = len(doc.lines)
    if op.op == "append":
        return _Edit(n, n, lines, outcome)
    if op.op == "prepend":
        return _Edit(0, 0, lines, outcome)
    span = locate(index, op, doc)
    if not op.open_space:
        lines = rebase_indent(lines, anchor_indent(op.op, span, doc))
    if op.op == "insert-before":
        return _Edit(span.start, span.start, lines, outcome)
    if op.op == "insert-after":
        return _Edit(span.end, span.end, lines, outcome)
    outcome.lines_removed = span.end - span.start
    return _Edit(span.start, span.end, lines, outcome)


def _ordered(edits: list[_Edit]) -> list[_Edit]:
    # At one position, inserts go before a replace that starts there; batch order breaks ties.
    ordered = sorted(edits, key=lambda e: (e.start, not e.is_insert, e.outcome.index))
    covered: _Edit | None = None
    for edit in ordered:
        if covered is not None and edit.start < covered.end:
            a, b = covered.outcome, edit.outcome
            raise BadInput(
                f"{describe(a.index, a.op)} and {describe(b.index, b.op)} overlap "
                f"(lines {_human(Span(covered.start, covered.end))} and "
                f"{_human(Span(edit.start, edit.end))} of the original file)"
            )
        if not edit.is_insert and (covered is None or edit.end >= covered.end):
            covered = edit
    return ordered


def _human(span: Span) -> str:
    if span.start == span.end:
        return f"before {span.start + 1}"
    return f"{span.start + 1}-{span.end}"


def _splice(doc: TextDoc, edits: list[_Edit]) -> TextDoc:
    eol = doc.eol
    lines: list[str] = []
    endings: list[str] = []
    cursor = 0
    for edit in edits:
        lines.extend(doc.lines[cursor : edit.start])
        endings.extend(doc.endings[cursor : edit.start])
        lines.extend(edit.lines)
        endings.extend([eol] * len(edit.lines))
        cursor = max(cursor, edit.end)
    lines.extend(doc.lines[cursor:])
    endings.extend(doc.endings[cursor:])
    if endings:
        # Only the last line may lack an ending, and only if the original's last line did.
        for i in range(len(endings) - 1):
            if not endings[i]:
                endings[i] = eol
        if doc.final_newline:
            endings[-1] = endings[-1] or eol
        else:
            endings[-1] = ""
    return TextDoc(lines, endings, eol)
