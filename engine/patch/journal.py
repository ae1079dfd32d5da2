"""Write-ahead journal in `.vibehq/journal/`: atomic multi-file commits, crash recovery, rollback.

A commit goes through these states, each written atomically to `journal.json`:
  staging    -> old files are saved under old/, new contents are written to temp files in
                `.vibehq/tmp/` (same filesystem, so the final rename is atomic);
  committing -> every temp file is renamed over its target (deletes are unlinks);
  committed  -> every file is new; old/ stays so the batch can be rolled back byte for byte;
  aborted    -> every file is old (staging failed, or recovery put back an interrupted commit).
A `<id>.pending` marker lives beside the journal folder from before the first write until
the caller has recorded the outcome in the ledger (`settle`). So after a kill at any point,
`recover()` (run by the next command, under the workspace lock) finds the batch, brings its
files to all-old (aborted) or leaves them all-new (committed), and returns it for the caller
to bring the ledger in step with the journal before settling it.

Temp names are random and created with O_EXCL|O_NOFOLLOW inside our own folder: a name that
can be guessed beside a target could be planted as a symlink pointing outside the workspace.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from engine.errors import BadInput, PatchConflict, UnknownBatch
from engine.faults import fault_point
from engine.ledger.events import LedgerEvent, PatchRow, utc_now
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
    # What the ledger must hold once the commit stands: written by the caller after the
    # commit, or by recovery when a kill came between the two.
    ledger_rows: list[PatchRow] = Field(default_factory=list)
    ledger_events: list[LedgerEvent] = Field(default_factory=list)

    @property
    def reusable(self) -> bool:
        """Nothing of this batch stands: its id may be committed again."""
        return self.state == "aborted" or (
            self.state == "rolled_back" and self.rolled_back_by is None
        )


class Journal:
    def __init__(self, ws: Workspace, *, fsync: bool = True) -> None:
        self.ws = ws
        self.fsync = fsync
        self.dir = ws.journal_dir

    def folder(self, batch_id: str) -> Path:
        return self.dir / batch_id

    def exists(self, batch_id: str) -> bool:
        return os.path.lexists(self.folder(batch_id))

    def find(self, batch_id: str) -> JournalRecord | None:
        if not (self.folder(batch_id) / RECORD).is_file():
            return None
        return self.load(batch_id)

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
        ledger_rows: Sequence[PatchRow] = (),
        ledger_events: Sequence[LedgerEvent] = (),
    ) -> JournalRecord:
        """Apply `changes` all or nothing. Call under the workspace lock, and `settle` the
        returned record once the ledger holds its rows."""
        if "/" in batch_id or batch_id.startswith("."):
            raise BadInput(f"batch id {batch_id!r} is not a valid journal name")
        self._clear_reusable(batch_id)
        self.ws.state_subdir("journal")
        self._pending(batch_id).touch()
        folder = self.folder(batch_id)
        folder.mkdir()
        (folder / "old").mkdir()
        fault_point(f"{kind}.before-record")
        record = JournalRecord(
            batch_id=batch_id,
            kind=kind,
            rolls_back=rolls_back,
            meta=meta,
            ledger_rows=list(ledger_rows),
            ledger_events=list(ledger_events),
        )
        record.files = [self._entry(i, ch) for i, ch in enumerate(changes)]
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
            for i, (entry, change) in enumerate(zip(record.files, changes, strict=True)):
                if entry.tmp is None:
                    change.abs_path.unlink(missing_ok=True)
                else:
                    os.replace(self.ws.root / entry.tmp, change.abs_path)
                if i == 0:
                    fault_point(f"{kind}.mid-commit")
            if self.fsync:
                os.sync()
        except BaseException:
            self._restore(record)
            self._finish(record, "aborted", "commit failed and its files were restored")
            raise
        self._set_state(record, "committed")
        fault_point(f"{kind}.after-commit")
        return record

    def settle(self, record: JournalRecord) -> None:
        """The ledger now agrees with `record`: recovery need not look at it again."""
        self._pending(record.batch_id).unlink(missing_ok=True)

    def _clear_reusable(self, batch_id: str) -> None:
        """Make room for `batch_id`: drop the folder of an attempt that left nothing standing
        (aborted, or killed before its first record); refuse one that stands."""
        folder = self.folder(batch_id)
        if not os.path.lexists(folder):
            return
        record = self.find(batch_id)
        if record is not None and not record.reusable:
            by = f" by {record.rolled_back_by}" if record.rolled_back_by else ""
            raise BadInput(
                f"batch id {batch_id!r} is already in the journal "
                f"({record.state.replace('_', ' ')}{by}); apply it under a new batch id"
            )
        if record is not None and self._pending(batch_id).exists():
            raise BadInput(f"batch {batch_id!r} is still being recovered; run the command again")
        _remove_folder(folder)

    def mark_rolled_back(self, record: JournalRecord, by: str) -> None:
        record.rolled_back_by = by
        self._set_state(record, "rolled_back")

    def recover(self) -> list[JournalRecord]:
        """Bring every batch a crash interrupted to all-old (aborted) or all-new (committed)
        and return those whose outcome the ledger has not been told yet. Call under the
        workspace lock; `settle` each one once the ledger agrees."""
        if not self.dir.is_dir():
            return []
        unsettled: list[JournalRecord] = []
        for marker in sorted(self.dir.glob("*" + PENDING)):
            batch_id = marker.name[: -len(PENDING)]
            folder = self.folder(batch_id)
            if not (folder / RECORD).is_file():
                # Killed before the first record was written: nothing was staged yet.
                if os.path.lexists(folder):
                    _remove_folder(folder)
                marker.unlink()
                continue
            record = self.load(batch_id)
            if record.state == "staging":
                self._discard_staging(record)
                self._mark(record, "aborted", "interrupted while staging; nothing was applied")
            elif record.state == "committing":
                self._restore(record)
                self._mark(record, "aborted", "interrupted commit; its files were restored")
            unsettled.append(record)
        self._sweep_tmp()
        return unsettled

    def _sweep_tmp(self) -> None:
        # Temp files live only while a commit or a restore runs, under the workspace lock that
        # recovery holds now: any left are from a killed process.
        tmp = self.ws.state_dir / "tmp"
        if tmp.is_dir() and not tmp.is_symlink():
            for leftover in tmp.glob(".vh-*.tmp"):
                leftover.unlink(missing_ok=True)

    def _pending(self, batch_id: str) -> Path:
        return self.dir / (batch_id + PENDING)

    def _entry(self, index: int, change: FileToWrite) -> JournalFile:
        target = change.abs_path
        tmp = None
        if change.new is not None:
            tmp = self.ws.relative(_random_name(self.ws.tmp_dir))
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
                restore = _random_name(self.ws.tmp_dir)
                _write_file(restore, old, entry.mode)
                os.replace(restore, target)
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

    def _mark(self, record: JournalRecord, state: JournalState, note: str | None) -> None:
        if note is not None:
            record.note = f"{note}; {record.note}" if record.note else note
        self._set_state(record, state)

    def _finish(self, record: JournalRecord, state: JournalState, note: str | None = None) -> None:
        self._mark(record, state, note)
        self._pending(record.batch_id).unlink(missing_ok=True)

    def _write(self, record: JournalRecord) -> None:
        folder = self.folder(record.batch_id)
        tmp = _random_name(folder)
        data = record.model_dump_json(indent=1).encode()
        fd = _create(tmp, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, folder / RECORD)


def _save_backup(source: Path, dest: Path, data: bytes) -> None:
    # A hard link costs no copy: the commit replaces the target by rename, so the old
    # inode is never written again and the link keeps the old bytes intact.
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError:
        _write_file(dest, data, None)


def _random_name(folder: Path) -> Path:
    return folder / f".vh-{secrets.token_hex(12)}.tmp"


def _create(path: Path, mode: int) -> int:
    """A new file at `path`: never an existing one, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, mode)


def _write_file(path: Path, data: bytes, mode: int | None) -> None:
    fd = _create(path, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o644 if mode is None else mode)


def _remove_folder(folder: Path) -> None:
    if os.path.islink(folder) or not folder.is_dir():
        os.unlink(folder)
        return
    shutil.rmtree(folder)
