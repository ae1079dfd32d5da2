"""The rule "baseline, then change": a check that reports only new errors needs a before.

Anything that changes code and then type-checks it (the migrate-then-refactor path, the
epic) records the tree as it is now as the tsc baseline when there is none yet, so errors
that were already there never count against the change."""

from __future__ import annotations

from engine.settings import Settings
from engine.validate.baseline import load_baseline
from engine.validate.run import validate_workspace
from engine.workspace import Workspace


def ensure_tsc_baseline(ws: Workspace, settings: Settings) -> bool:
    """Record the tsc baseline if there is none; True when it was recorded now."""
    if load_baseline(ws, "tsc") is not None:
        return False
    validate_workspace(ws, tools=("tsc",), record=True, settings=settings)
    return True
