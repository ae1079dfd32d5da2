"""The one way tasks.json is changed: `change_plan(ws, settings, op, actor)`.

Every writer of the plan (the `tasks` commands, the agents' plan proposals, the epic and the
refactor pipeline) goes through here, so each change:

- finds the file the same way (`--file` if given, else `[plan] tasks_file` in the workspace);
- reads the tag asked for, else `[plan] tag`, else task-master's current one;
- waits for `<tasks.json>.lock` no longer than `[patch] lock_timeout_s`;
- reads the file inside the lock, so it never writes back a copy another writer has replaced;
- writes atomically, and only when the operation changed something, so tasks nobody touched
  keep their bytes;
- records each change in the plan history with its actor while still holding the lock, so the
  history (and the `tasks emit-commands` replay built from it) is in the order the file changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from engine.errors import LockTimeout
from engine.filelock import exclusive_lock, write_atomic
from engine.ledger.store import Ledger
from engine.plan.document import PlanError, TasksFile, dump_tasks, load_tasks
from engine.plan.history import record_change
from engine.plan.ops import PlanChange
from engine.settings import Settings
from engine.workspace import Workspace, resolve_inside

__all__ = ["ChangeResult", "PlanEdit", "change_plan", "read_plan", "tasks_path"]

# An operation on the file as read inside the lock: one change, or several made together.
PlanEdit = Callable[[TasksFile], PlanChange | Sequence[PlanChange]]


class ChangeResult(BaseModel):
    """What one call changed: the file, the tag it edited, who did it and each change."""

    path: str
    tag: str | None
    actor: str
    changes: list[PlanChange]
    written: bool

    @property
    def change(self) -> PlanChange:
        """The change of a call that ran one operation."""
        if len(self.changes) != 1:
            raise PlanError(f"expected one plan change, got {len(self.changes)}")
        return self.changes[0]

    @property
    def commands(self) -> list[str]:
        return [line for change in self.changes for line in change.commands]


def tasks_path(ws: Workspace, settings: Settings, file: Path | None = None) -> Path:
    """`file` as the user gave it (relative to the current folder), else `[plan] tasks_file`
    resolved inside the workspace."""
    if file is not None:
        return file if file.is_absolute() else Path.cwd() / file
    return resolve_inside(ws.root, settings.plan.tasks_file, what="[plan] tasks_file")


def read_plan(
    ws: Workspace, settings: Settings, *, file: Path | None = None, tag: str | None = None
) -> TasksFile:
    """The plan as `change_plan` would see it (same file, same tag), read without the lock."""
    return load_tasks(tasks_path(ws, settings, file), tag=tag or settings.plan.tag)


def change_plan(
    ws: Workspace,
    settings: Settings,
    op: PlanEdit,
    actor: str,
    *,
    file: Path | None = None,
    tag: str | None = None,
) -> ChangeResult:
    """Run `op` on tasks.json under its lock, write the result and record it as `actor`'s.

    A typed error from `op` (an unknown id, a cycle) leaves the file and the history as they
    were; so does a lock another process holds past the timeout.
    """
    if not actor.strip():
        raise PlanError("a plan change needs an actor (who makes it)")
    path = tasks_path(ws, settings, file)
    if not path.is_file():
        raise PlanError(f"tasks file not found: {path}")
    with _plan_lock(path, settings.patch.lock_timeout_s):
        tf = load_tasks(path, tag=tag or settings.plan.tag)
        before = dump_tasks(tf)
        made = op(tf)
        changes = [made] if isinstance(made, PlanChange) else list(made)
        after = dump_tasks(tf)
        written = after != before
        if written:
            write_atomic(path, after)
        if changes:
            ws.ensure_state_dir()
            with Ledger.open(ws.ledger_path) as ledger:
                for change in changes:
                    record_change(ledger, change, actor=actor, path=path)
    return ChangeResult(path=str(path), tag=tf.tag, actor=actor, changes=changes, written=written)


@contextmanager
def _plan_lock(path: Path, timeout_s: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    acquired = False
    try:
        with exclusive_lock(lock_path, timeout_s):
            acquired = True
            yield
    except LockTimeout:
        # Only a timeout on this lock gets the plan's wording; one from inside the body is
        # someone else's and passes through as it was.
        if acquired:
            raise
        raise LockTimeout(
            f"{path} is being changed by another process: waited {timeout_s:g}s for "
            f"{lock_path.name} ([patch] lock_timeout_s); nothing was changed"
        ) from None
