"""A folder's proposed change as final file contents, kept on disk between steps and processes.

The epic computes each folder's change in full (migration copy, import rewrites, recipe
refactor) before anything is written, on an overlay: a staging copy of the workspace (or a
hard-linked mirror, for the steps that only read it) with the changes of the run's earlier
folders and this folder's so far written in. The result is
stored as final contents plus the hash of the file each one was computed on; `to_batch` turns
it into one PatchBatch pinned by those hashes, so the batch approved is byte for byte the one
applied, and a file that changed in the meantime is a conflict, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.patch.models import PatchBatch, PatchOperation
from engine.patch.plan import plan_batch
from engine.patch.staging import staging_copy
from engine.workspace import Workspace

__all__ = ["Changeset", "overlay"]

_INDEX = "changes.json"
_BLOBS = "blobs"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Changeset:
    """Final content per workspace-relative path (`None`: deleted) and the hash of the content
    it replaces (`None`: the file did not exist)."""

    new: dict[str, bytes | None] = field(default_factory=dict)
    base: dict[str, str | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.new)

    @property
    def paths(self) -> list[str]:
        return sorted(self.new)

    def record(self, path: str, old: bytes | None, new: bytes | None) -> None:
        """Add one file's change; a path changed twice keeps its first base."""
        if path not in self.base:
            self.base[path] = None if old is None else sha256(old)
        self.new[path] = new
        if self.base[path] == (None if new is None else sha256(new)):
            # Changed back to what it was: no change at all.
            del self.new[path], self.base[path]

    def add_batch(self, ws: Workspace, batch: PatchBatch) -> list[str]:
        """Plan `batch` on `ws` (an overlay holding this changeset) and record what it
        changes; returns the changed paths."""
        changed: list[str] = []
        for change in plan_batch(ws, batch).changed:
            rel = ws.relative(change.abs_path)
            self.record(rel, change.old, change.new)
            changed.append(rel)
        return changed

    def to_batch(
        self, batch_id: str, *, requester: str, reason: str, task_id: str | None = None
    ) -> PatchBatch:
        ops: list[PatchOperation] = []
        for path in self.paths:
            content = self.new[path]
            if content is None:
                ops.append(PatchOperation(op="delete", file=path))
            else:
                ops.append(
                    PatchOperation(
                        op="create",
                        file=path,
                        block=content.decode("utf-8", "surrogateescape"),
                        overwrite=self.base[path] is not None,
                        open_space=True,
                    )
                )
        pins = {p: b for p, b in self.base.items() if b is not None}
        return PatchBatch(
            batch_id=batch_id,
            order_id=batch_id,
            requester=requester,
            reason=reason,
            task_id=task_id,
            patches=ops,
            base_sha256=pins,
        )

    def save(self, folder: Path) -> None:
        blobs = folder / _BLOBS
        blobs.mkdir(parents=True, exist_ok=True)
        index: dict[str, dict[str, str | None]] = {}
        for path in self.paths:
            content = self.new[path]
            digest = None if content is None else sha256(content)
            if content is not None and digest is not None:
                blob = blobs / digest
                if not blob.exists():
                    blob.write_bytes(content)
            index[path] = {"base": self.base[path], "new": digest}
        tmp = folder / f".{_INDEX}.tmp"
        tmp.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(folder / _INDEX)

    @classmethod
    def load(cls, folder: Path) -> Changeset:
        index_path = folder / _INDEX
        if not index_path.is_file():
            return cls()
        index = json.loads(index_path.read_text(encoding="utf-8"))
        loaded = cls()
        for path, entry in index.items():
            digest = entry["new"]
            loaded.base[path] = entry["base"]
            loaded.new[path] = None if digest is None else (folder / _BLOBS / digest).read_bytes()
        return loaded


def merged(layers: Sequence[Changeset]) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for layer in layers:
        out.update(layer.new)
    return out


@contextmanager
def overlay(
    ws: Workspace,
    layers: Sequence[Changeset] | Mapping[str, bytes | None],
    *,
    link: bool = False,
) -> Iterator[Workspace]:
    """A staging copy of the workspace with `layers` written in, in order, as a Workspace.

    `link=True` hard-links the unchanged files instead of copying them (about five times
    faster on a large tree), for an overlay that only in-process code reads and that is
    written only by unlinking a path first (`staging_copy`'s changes, `_write_overlay`).
    Never for one an external tool or a model crew runs in: a tool that rewrites a file in
    place would write through the link into the workspace. The linked tree is made in the
    workspace's own temp folder (`.vibehq/tmp`, which no mirror copies), since hard links
    only work within one filesystem."""
    changes = dict(layers) if isinstance(layers, Mapping) else merged(layers)
    parent = ws.tmp_dir if link else None
    with staging_copy(ws.root, changes, link=link, parent=parent) as root:
        yield Workspace.open(root)
