"""Fault injection for crash tests: `VIBEHQ_FAULT=point[,point]` kills the process at those points.

A test starts a real vibehq process with the variable set; when the process reaches a named
point it sends itself SIGKILL, so nothing is flushed or cleaned up, exactly as after a power
cut or an OOM kill. The next command must then recover. The variable is read once at import:
when it is unset, `fault_point` is a set lookup on an empty set.

Points (`apply` is a batch commit, `rollback` the commit that undoes one):
  <kind>.before-record  the journal folder exists, its first record is not written yet;
  <kind>.mid-commit     the first file is renamed into place, the others are not;
  <kind>.after-commit   the journal says committed, the ledger rows are not written yet.
"""

from __future__ import annotations

import os
import signal

__all__ = ["FAULT_ENV", "POINTS", "fault_point"]

FAULT_ENV = "VIBEHQ_FAULT"
POINTS = tuple(
    f"{kind}.{where}"
    for kind in ("apply", "rollback")
    for where in ("before-record", "mid-commit", "after-commit")
)

_ARMED = frozenset(p.strip() for p in os.environ.get(FAULT_ENV, "").split(",") if p.strip())


def fault_point(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
