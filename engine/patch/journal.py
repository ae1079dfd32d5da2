"""Write-ahead journal in `.vibehq/journal/`: atomic multi-file commits, crash recovery, rollback.

A commit goes through four states, each written atomically to `journal.json`:
  staging    -> old files are saved under old/, new contents are written to temp files
                beside their targets (same filesystem, so the final rename is atomic);
  committing -> every temp file is renamed over its target (deletes are unlinks);
  committed  -> done; old/ stays so the batch can be rolled back byte for byte.
A `<id>.pending` marker lives beside the journal folder from the first write until the
end, so recovery only looks at interrupted commits. A kill at any point leaves each file
old or new; `recover()` (run by the next command, under the workspace lock) puts every
file of an interrupted commit back to its old bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from engine.errors import BadInput, PatchConflict, UnknownBatch
from engine.ledger.events import utc_now
from engine.patch.plan import sha256
from engine.workspace import Workspace

JournalState = Literal["staging", "committing", "committed", "aborted", "rolled_back"]
RECORD = "journal.json"
PENDING = ".pending"


class FileToWrite(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def abs_path(self) -> Path: ...
    @property
    def old(self) -> bytes | None: ...
    @property
    def new(self) -> bytes | None: ...
    @property
    def lines_added(self) -> int: ...
    @property
    def lines_removed(self) -> int: ...
    @property
    def mode(self) -> int | None: ...
    @property
    def old_sha(self) -> str | None: ...
    @property
    def new_sha(self) -> str | None: ...


class JournalFile(BaseModel):
    path: str
    target: str
    old_sha: str | None
    new_sha: str | None
    backup: str | None = None
    tmp: str | None = None
    mode: int | None = None
    lines_added: int = 0
    lines_removed: int = 0


class JournalRecord(BaseModel):
    batch_id: str
    kind: Literal["apply", "rollback"] = "apply"
    state: JournalState = "staging"
    created: str = Field(default_factory=utc_now)
    updated: str = Field(default_factory=utc_now)
    rolls_back: str | None = None
    rolled_back_by: str | None = None
    note: str | None = None
    meta: dict[str, str | None] = Field(default_factory=dict)
    files: list[JournalFile] = Field(default_factory=list)
    created_dirs: list[str] = Field(default_factory=list)


class Journal:
    def __init__(self, ws: Workspace, *, fsync: bool = True) -> None:
        self.ws = ws
        self.fsync = fsync
        self.dir = ws.journal_dir

    def folder(self, batch_id: str) -> Path:
        return self.dir / batch_id

    def exists(self, batch_id: str) -> bool:
        return (self.folder(batch_id) / RECORD).is_file()

    def load(self, batch_id: str) -> JournalRecord:
        path = self.folder(batch_id) / RECORD
        if "/" in batch_id or batch_id.startswith(".") or not path.is_file():
            raise UnknownBatch(f"no batch {batch_id!r} in the journal ({self.dir})")
        try:
            return JournalRecord.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise BadInput(f"journal record {path} is corrupt: {exc.errors()[0]['msg']}") from exc

    def records(self) -> list[JournalRecord]:
        if not self.dir.is_dir():
            return []
        found = [self.load(p.name) for p in self.dir.iterdir() if (p / RECORD).is_file()]
        return sorted(found, key=lambda r: (r.created, r.batch_id))

    def backup_bytes(self, record: JournalRecord, entry: JournalFile) -> bytes | None:
        """The file's bytes before `record`'s commit (None if it did not exist), checked."""
        if entry.backup is None:
            return None
        data = (self.folder(record.batch_id) / entry.backup).read_bytes()
        if sha256(data) != entry.old_sha:
            raise PatchConflict(f"journal backup of {entry.path} in {record.batch_id} is damaged")
        return data

    def commit(
        self,
        batch_id: str,
        changes: Sequence[FileToWrite],
        *,
        meta: dict[str, str | None],
        kind: Literal["apply", "rollback"] = "apply",
        rolls_back: str | None = None,
    ) -> JournalRecord:
        """Apply `changes` all or nothing. Call under the workspace lock."""
        folder = self.folder(batch_id)
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            raise BadInput(f"batch id {batch_id!r} is already in the journal") from None
        (folder / "old").mkdir()
        self._pending(batch_id).touch()
        record = JournalRecord(batch_id=batch_id, kind=kind, rolls_back=rolls_back, meta=meta)
        record.files = [self._entry(i, batch_id, ch) for i, ch in enumerate(changes)]
        record.created_dirs = self._missing_dirs(changes)
        self._write(record)
        try:
            self._stage(record, changes)
        except BaseException:
            self._discard_staging(record)
            self._finish(record, "aborted", "staging failed")
            raise
        self._set_state(record, "committing")
        try:
            for entry, change in zip(record.files, changes, strict=True):
                if entry.tmp is None:
                    change.abs_path.unlink(missing_ok=True)
                else:
                    os.replace(self.ws.root / entry.tmp, change.abs_path)
            if self.fsync:
                os.sync()
        except BaseException:
            self._restore(record)
            self._finish(record, "rolled_back", "commit failed and was rolled back")
            raise
        self._finish(record, "committed")
        return record

    def mark_rolled_back(self, record: JournalRecord, by: str) -> None:
        record.rolled_back_by = by
        self._set_state(record, "rolled_back")

    def recover(self) -> list[JournalRecord]:
        """Roll back every commit that a crash interrupted. Call under the workspace lock."""
        if not self.dir.is_dir():
            return []
        recovered: list[JournalRecord] = []
        for marker in sorted(self.dir.glob("*" + PENDING)):
            batch_id = marker.name[: -len(PENDING)]
            if not (self.folder(batch_id) / RECORD).is_file():
                # Killed before the first record was written: nothing was staged yet.
                marker.unlink()
                continue
            record = self.load(batch_id)
            if record.state == "staging":
                self._discard_staging(record)
                self._finish(record, "aborted", "interrupted while staging; nothing was applied")
                recovered.append(record)
            elif record.state == "committing":
                self._restore(record)
                self._finish(record, "rolled_back", "interrupted commit rolled back on recovery")
                recovered.append(record)
            else:
                marker.unlink()
        return recovered

    def _pending(self, batch_id: str) -> Path:
        return self.dir / (batch_id + PENDING)

    def _entry(self, index: int, batch_id: str, change: FileToWrite) -> JournalFile:
        target = change.abs_path
        tmp = None
        if change.new is not None:
            tmp = self.ws.relative(target.parent / f".{target.name}.vh-{batch_id}.tmp")
        mode = change.mode
        if mode is None and change.old is not None:
            mode = target.stat().st_mode & 0o7777
        return JournalFile(
            path=change.path,
            target=self.ws.relative(target),
            old_sha=change.old_sha,
            new_sha=change.new_sha,
            backup=None if change.old is None else f"old/{index}",
            tmp=tmp,
            mode=mode,
            lines_added=change.lines_added,
            lines_removed=change.lines_removed,
        )

    def _missing_dirs(self, changes: Sequence[FileToWrite]) -> list[str]:
        missing: list[str] = []
        for change in changes:
            parent = change.abs_path.parent
            chain: list[str] = []
            while parent != self.ws.root and not parent.exists():
                chain.append(self.ws.relative(parent))
                parent = parent.parent
            missing.extend(d for d in reversed(chain) if d not in missing)
        return missing

    def _stage(self, record: JournalRecord, changes: Sequence[FileToWrite]) -> None:
        folder = self.folder(record.batch_id)
        for rel in record.created_dirs:
            (self.ws.root / rel).mkdir(exist_ok=True)
        for entry, change in zip(record.files, changes, strict=True):
            if entry.backup is not None and change.old is not None:
                _save_backup(change.abs_path, folder / entry.backup, change.old)
            if entry.tmp is not None and change.new is not None:
                _write_file(self.ws.root / entry.tmp, change.new, entry.mode)
        if self.fsync:
            os.sync()

    def _discard_staging(self, record: JournalRecord) -> None:
        for entry in record.files:
            if entry.tmp is not None:
                (self.ws.root / entry.tmp).unlink(missing_ok=True)
        self.remove_created_dirs(record)

    def _restore(self, record: JournalRecord) -> None:
        """Put every file of `record` back to its old bytes, whatever point the commit reached."""
        conflicts: list[str] = []
        for entry in record.files:
            target = self.ws.root / entry.target
            current = target.read_bytes() if target.is_file() else None
            current_sha = None if current is None else sha256(current)
            if current_sha == entry.old_sha:
                continue
            if current_sha != entry.new_sha:
                conflicts.append(entry.path)
                continue
            old = self.backup_bytes(record, entry)
            if old is None:
                target.unlink()
            else:
                _write_file(target.with_name(f".{target.name}.vh-restore.tmp"), old, entry.mode)
                os.replace(target.with_name(f".{target.name}.vh-restore.tmp"), target)
        self._discard_staging(record)
        if self.fsync:
            os.sync()
        if conflicts:
            record.note = "left alone, changed by someone else meanwhile: " + ", ".join(conflicts)

    def remove_created_dirs(self, record: JournalRecord) -> None:
        for rel in reversed(record.created_dirs):
            try:
                (self.ws.root / rel).rmdir()
            except OSError:
                continue

    def _set_state(self, record: JournalRecord, state: JournalState) -> None:
        record.state = state
        record.updated = utc_now()
        self._write(record)

    def _finish(self, record: JournalRecord, state: JournalState, note: str | None = None) -> None:
        if note is not None:
            record.note = f"{note}; {record.note}" if record.note else note
        self._set_state(record, state)
        self._pending(record.batch_id).unlink(missing_ok=True)

    def _write(self, record: JournalRecord) -> None:
        path = self.folder(record.batch_id) / RECORD
        tmp = path.with_suffix(".tmp")
        data = record.model_dump_json(indent=1).encode()
        with open(tmp, "wb") as fh:
            fh.write(data)
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)


def _save_backup(source: Path, dest: Path, data: bytes) -> None:
    # A hard link costs no copy: the commit replaces the target by rename, so the old
    # inode is never written again and the link keeps the old bytes intact.
    try:
        os.link(source, dest)
    except OSError:
        dest.write_bytes(data)


def _write_file(path: Path, data: bytes, mode: int | None) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
    if mode is not None:
        os.chmod(path, mode)
