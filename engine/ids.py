"""The ids vibehq mints for runs and batches, and the check every run id from input passes."""

from __future__ import annotations

import re
import secrets
import time

from engine.errors import BadInput

__all__ = ["RUN_ID", "check_run_id", "new_batch_id", "new_run_id"]

# A run id names a folder under `.vibehq/runs/`: a plain name, so it can never climb out.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def new_run_id(prefix: str = "m") -> str:
    """`<prefix>-<UTC yyyymmddThhmmss>-<6 hex>`: sorts by time, unique across processes."""
    return f"{prefix}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def new_batch_id() -> str:
    return new_run_id("batch")


def check_run_id(run_id: str) -> str:
    """`run_id` itself, or BadInput when it is not a plain folder name."""
    if not RUN_ID.fullmatch(run_id):
        raise BadInput(f"invalid run id {run_id!r}")
    return run_id
