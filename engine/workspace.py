"""The workspace: the target monorepo root, its `.vibehq/` state folder, safe path resolution."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import BadInput, UnsafePath

STATE_DIR = ".vibehq"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        root = Path(path if path is not None else os.getcwd())
        if not root.is_dir():
            raise BadInput(f"workspace {str(root)!r} is not a directory")
        return cls(root.resolve())

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def ensure_state_dir(self) -> Path:
        self.state_dir.mkdir(exist_ok=True)
        return self.state_dir

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
