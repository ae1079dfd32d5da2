"""Files shared between processes: an exclusive lock (flock) with a timeout and a clear
error, and an atomic replace (temp file in the same folder, fsync, rename)."""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from engine.errors import BadInput, LockTimeout

_POLL_S = 0.01


def _open_lock(path: Path) -> tuple[int, bool]:
    """The lock file's descriptor, and whether this call created the file."""
    # O_NOFOLLOW: a lock file planted as a symlink would otherwise create its target,
    # wherever that points.
    flags = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            pass
        except OSError as exc:
            raise _lock_error(path, exc) from None
        try:
            return os.open(path, flags), False
        except FileNotFoundError:
            # Removed between the two opens by a holder that created it and failed: again.
            continue
        except OSError as exc:
            raise _lock_error(path, exc) from None


def _lock_error(path: Path, exc: OSError) -> BadInput:
    if os.path.islink(path):
        return BadInput(f"lock file {path} is a symlink; refusing to follow it")
    return BadInput(f"cannot create the lock file {path}: {exc.strerror or exc}")


def _still_at(fd: int, path: Path) -> bool:
    """Whether the locked file is still the one at `path`: a holder that created the lock file
    removes it when its command fails on bad input, and a waiter that locked the removed file
    must lock the new one instead."""
    try:
        here = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (here.st_dev, here.st_ino)


def _forget(path: Path, created: bool) -> None:
    # Called while the lock is held: a failed command leaves no lock file it made behind.
    if created:
        with suppress(FileNotFoundError):
            os.unlink(path)


@contextmanager
def claim(path: Path, holder: str) -> Iterator[str | None]:
    """Try once to take `path` without waiting. Yields None when taken (and `holder` is
    written into the file for whoever comes next), or the name of the one who holds it.
    The kernel drops the lock when its holder dies, so a killed holder never blocks."""
    while True:
        fd, created = _open_lock(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                yield _holder(fd)
            finally:
                os.close(fd)
            return
        if _still_at(fd, path):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode("utf-8", "replace"), 0)
        try:
            yield None
        except BadInput:
            _forget(path, created)
            raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    # The holder writes its name just after taking the lock; give it a moment to appear.
    for _ in range(50):
        name = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        if name:
            return name
        time.sleep(_POLL_S)
    return "another process"


@contextmanager
def exclusive_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold `path` exclusively, waiting at most `timeout_s`. A lock file this call created is
    removed again when the body fails on bad input, so a refused command writes nothing."""
    deadline = time.monotonic() + timeout_s
    while True:
        fd, created = _open_lock(path)
        try:
            _wait_for(fd, path, deadline, timeout_s)
        except BaseException:
            os.close(fd)
            raise
        if _still_at(fd, path):
            break
        os.close(fd)
    try:
        try:
            yield
        except BadInput:
            _forget(path, created)
            raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for(fd: int, path: Path, deadline: float, timeout_s: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another process held {path} for over {timeout_s:g}s") from None
            time.sleep(_POLL_S)


def write_atomic(path: Path, payload: bytes | str) -> None:
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; the file keeps the permissions it had.
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the folder entry is; some filesystems refuse the fsync.
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        return
    finally:
        os.close(dir_fd)
