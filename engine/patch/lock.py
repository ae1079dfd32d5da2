"""One writer at a time per workspace, across processes (flock on `.vibehq/lock`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.filelock import exclusive_lock
from engine.workspace import Workspace


@contextmanager
def workspace_lock(ws: Workspace, timeout_s: float) -> Iterator[None]:
    with exclusive_lock(ws.ensure_state_dir() / "lock", timeout_s):
        yield
