"""The workspace: the target monorepo root, its `.vibehq/` state folder, safe path resolution."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import BadInput, UnsafePath
from engine.inputs import check_path_text

STATE_DIR = ".vibehq"
# The state folder's children: each must be a real folder (or file), never a symlink, or the
# ledger, journal and backups would be written wherever the link points.
STATE_SUBDIRS = ("journal", "runs", "memory", "logs", "tmp", "locks")
STATE_FILES = ("ledger.sqlite", "lock")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        root = Path(path if path is not None else os.getcwd())
        if not root.is_dir():
            raise BadInput(f"workspace {str(root)!r} is not a directory")
        ws = cls(root.resolve())
        ws.check_state()
        return ws

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def check_state(self) -> None:
        """Refuse a `.vibehq/` (or a child of it) that is a symlink or not a folder, before
        anything is read or written there."""
        if not _lexists(self.state_dir):
            return
        _require_real(self.state_dir, directory=True)
        for name in STATE_SUBDIRS:
            if _lexists(self.state_dir / name):
                _require_real(self.state_dir / name, directory=True)
        for name in STATE_FILES:
            if _lexists(self.state_dir / name):
                _require_real(self.state_dir / name, directory=False)

    def ensure_state_dir(self) -> Path:
        return real_dir(self.state_dir)

    def state_subdir(self, name: str) -> Path:
        """`.vibehq/<name>/`, created if missing; refused if it is a symlink."""
        self.ensure_state_dir()
        return real_dir(self.state_dir / name)

    @property
    def tmp_dir(self) -> Path:
        """Our own folder for temp files, on the workspace's filesystem so renames stay atomic."""
        return self.state_subdir("tmp")

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def journal_dir(self) -> Path:
        return self.state_dir / "journal"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def resolve(self, rel: str) -> Path:
        """Resolve a workspace-relative path from input, refusing anything that leaves the root."""
        return resolve_inside(self.root, rel, what="path")

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def resolve_inside(root: Path, rel: str, *, what: str) -> Path:
    """Resolve `rel` under `root` after following symlinks; raise UnsafePath if it escapes.

    Checked before anything is read: absolute paths, `..` segments, NUL bytes, the state
    folder itself, and symlinks (at any depth) whose target lies outside `root`.
    """
    if not rel or "\x00" in rel:
        raise UnsafePath(f"{what} {rel!r} is empty or contains a NUL byte")
    check_path_text(rel, field=what, error=UnsafePath)
    posix = PurePosixPath(rel.replace("\\", "/"))
    if posix.is_absolute() or Path(rel).is_absolute() or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePath(f"{what} {rel!r} is absolute; give a path relative to the workspace")
    if ".." in posix.parts:
        raise UnsafePath(f"{what} {rel!r} contains '..'")
    if posix.parts and posix.parts[0] == STATE_DIR:
        raise UnsafePath(f"{what} {rel!r} points into vibehq's own state folder")
    # os.path.realpath on a str: same resolution as Path.resolve, a fraction of the overhead.
    root_str = str(root)
    resolved = os.path.realpath(os.path.join(root_str, *posix.parts))
    inside = root_str.rstrip(os.sep) + os.sep
    if resolved != root_str and not resolved.startswith(inside):
        raise UnsafePath(f"{what} {rel!r} resolves outside the workspace (through a symlink)")
    if resolved.startswith(inside + STATE_DIR + os.sep) or resolved == inside + STATE_DIR:
        raise UnsafePath(f"{what} {rel!r} resolves into vibehq's own state folder")
    return Path(resolved)


def real_dir(path: Path) -> Path:
    """Make `path` a folder if it is missing; refuse it if it is a symlink or not a folder."""
    try:
        os.mkdir(path)
    except FileExistsError:
        _require_real(path, directory=True)
    return path


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def _require_real(path: Path, *, directory: bool) -> None:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise UnsafePath(f"{path} is a symlink; vibehq keeps its state only in real folders")
    if directory and not stat.S_ISDIR(mode):
        raise UnsafePath(f"{path} is not a folder")
    if not directory and not stat.S_ISREG(mode):
        raise UnsafePath(f"{path} is not a regular file")
