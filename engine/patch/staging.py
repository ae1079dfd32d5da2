"""A throwaway mirror of the workspace with a batch's changes written in, for validators to check.

Validators (tsc, eslint, tests) must see the tree exactly as it will be after the batch, but
must never be able to touch the real one. So they run on a copy:

- `.git` and `.vibehq` are left out: validators do not read them, and they are the largest
  and the most sensitive folders.
- `node_modules` folders are not copied but symlinked to the workspace's own, so the copy
  resolves the same tools and type packages in milliseconds instead of copying thousands
  of files. Changes are refused if they would be written through such a link.
- Files are copied by default. `link=True` hard-links them instead, which is faster on large
  trees. That is only safe because every changed file is written by unlinking the path
  first and creating a new file, so the real file's inode is never written. A validator
  that rewrites files in place (a formatter or `eslint --fix`) would write through a hard
  link into the real workspace, which is why copying stays the default.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from engine.errors import BadInput
from engine.workspace import STATE_DIR, resolve_inside

__all__ = ["SKIPPED_DIRS", "TreeMirror", "staging_copy"]

SKIPPED_DIRS = frozenset({STATE_DIR, ".git"})
_LINKED_DIR = "node_modules"
_PREFIX = "vibehq-staging-"

# Hard links fail across filesystems and on some mounts; these errors mean "copy instead".
_LINK_UNSUPPORTED = frozenset(
    {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
)


@contextmanager
def staging_copy(
    root: Path,
    changes: Mapping[str, bytes | None],
    *,
    link: bool = False,
    parent: Path | None = None,
) -> Iterator[Path]:
    """Yield a temporary mirror of `root` with `changes` applied; remove it afterwards.

    `changes` maps workspace-relative POSIX paths to new content (`bytes`) or to `None`
    for a deletion. `parent` is the folder the temporary tree is made in (the system temp
    folder by default); put it on the workspace's filesystem for `link=True` to take effect.
    """
    source = root.resolve()
    if not source.is_dir():
        raise BadInput(f"workspace {str(root)!r} is not a directory")
    staging = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent)).resolve()
    try:
        _Mirror(link=link).copy_tree(source, staging)
        for rel, content in changes.items():
            _write_change(staging, rel, content)
        yield staging
    finally:
        _remove_tree(staging)


class TreeMirror:
    """A mirror of `root` kept for many reads, each with its own set of changes: `show(changes)`
    rewrites only the paths where the changes differ from the ones shown last (a path no
    longer changed gets the workspace's file again, or is removed with the folders it left
    empty). The workspace must not be written while the mirror is open; `close()` removes it.

    `link=True` hard-links the unchanged files, for in-process readers only (as
    `staging_copy(link=True)`), and needs `parent` on the workspace's filesystem. `link=False`
    copies them, for a tool that runs on the mirror; it is made in `parent`, the system temp
    folder by default. Either way what a reader adds to the mirror on its own is its to
    remove: the next `show` restores only the paths it wrote."""

    def __init__(self, root: Path, parent: Path | None = None, *, link: bool = True) -> None:
        self._source = root.resolve()
        self._parent = parent
        self._link = link
        self._root: Path | None = None
        self._shown: dict[str, bytes | None] = {}

    def show(self, changes: Mapping[str, bytes | None]) -> Path:
        if self._root is None:
            if self._parent is not None:
                self._parent.mkdir(parents=True, exist_ok=True)
            self._root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=self._parent)).resolve()
            _Mirror(link=self._link).copy_tree(self._source, self._root)
        for rel in sorted(set(self._shown) | set(changes)):
            if rel in changes and rel in self._shown and self._shown[rel] == changes[rel]:
                continue
            if rel in changes:
                _write_change(self._root, rel, changes[rel])
            else:
                self._restore(self._root, rel)
        self._shown = dict(changes)
        return self._root

    def _restore(self, mirror: Path, rel: str) -> None:
        target = resolve_inside(mirror, rel, what="changed file")
        target.unlink(missing_ok=True)
        original = self._source / rel
        if original.is_file():
            _Mirror(link=self._link)._copy_file(str(original), target)
            return
        folder = target.parent
        while folder != mirror and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def close(self) -> None:
        if self._root is not None:
            _remove_tree(self._root)
        self._root, self._shown = None, {}


class _Mirror:
    """Copies a tree, trying hard links first when asked and giving them up on the first refusal."""

    def __init__(self, *, link: bool) -> None:
        self._link = link

    def copy_tree(self, src: Path, dst: Path) -> None:
        with os.scandir(src) as entries:
            for entry in entries:
                self._copy_entry(entry, dst / entry.name)

    def _copy_entry(self, entry: os.DirEntry[str], dst: Path) -> None:
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), dst)
        elif entry.is_dir(follow_symlinks=False):
            if entry.name in SKIPPED_DIRS:
                return
            if entry.name == _LINKED_DIR:
                os.symlink(entry.path, dst, target_is_directory=True)
                return
            dst.mkdir()
            self.copy_tree(Path(entry.path), dst)
        elif entry.is_file(follow_symlinks=False):
            self._copy_file(entry.path, dst)
        # Sockets, FIFOs and devices are skipped: reading a FIFO would block the copy forever.

    def _copy_file(self, src: str, dst: Path) -> None:
        if self._link:
            try:
                os.link(src, dst)
                return
            except OSError as exc:
                if exc.errno not in _LINK_UNSUPPORTED:
                    raise
                self._link = False
        shutil.copy(src, dst, follow_symlinks=False)


def _write_change(staging: Path, rel: str, content: bytes | None) -> None:
    # resolve_inside follows symlinks, so a path through the node_modules link (which points
    # back into the real workspace) is refused instead of being written through.
    target = resolve_inside(staging, rel, what="changed file")
    if target.is_dir():
        raise BadInput(f"changed file {rel!r} is a directory in the workspace")
    if content is None:
        target.unlink(missing_ok=True)
        return
    mode = target.stat().st_mode if target.exists() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unlink before writing so the new content goes to a new inode: a hard-linked original
    # in the real workspace keeps its bytes.
    target.unlink(missing_ok=True)
    target.write_bytes(content)
    if mode is not None:
        os.chmod(target, stat.S_IMODE(mode))


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except OSError:
        # A tool may have left read-only folders behind; open them up and try once more.
        # Errors from that second pass are dropped so they never hide the validation result.
        # Symlinked folders are skipped: chmod would follow them into the real node_modules.
        os.chmod(path, stat.S_IRWXU)
        for dirpath, dirnames, _filenames in os.walk(path):
            for name in dirnames:
                child = os.path.join(dirpath, name)
                if not os.path.islink(child):
                    os.chmod(child, stat.S_IRWXU)
        shutil.rmtree(path, ignore_errors=True)
