"""One writer at a time per workspace, across processes (flock on `.vibehq/lock`)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import LockTimeout
from engine.workspace import Workspace

_POLL_S = 0.02


@contextmanager
def workspace_lock(ws: Workspace, timeout_s: float) -> Iterator[None]:
    path = ws.ensure_state_dir() / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another vibehq process held {path} for over {timeout_s:g}s"
                    ) from None
                time.sleep(_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
