"""`migrate apply --refactor`: the D1-to-RPC refactor of every folder a migration just wrote
that has SQL sites, judged against the baseline of the tree before the refactor."""

from __future__ import annotations

from pathlib import Path

from engine.migrate.manifest import LoadedManifest
from engine.migrate.planner import MigrationPlan
from engine.refactor.pipeline import FolderRefactor, refactor_folders
from engine.settings import Settings
from engine.validate.baseline_first import ensure_tsc_baseline
from engine.validate.run import make_batch_validator
from engine.workspace import Workspace


def refactor_migrated(
    ws: Workspace,
    settings: Settings,
    loaded: LoadedManifest,
    plan: MigrationPlan,
    *,
    tasks_path: Path | None,
) -> list[FolderRefactor]:
    """Refactor each migrated folder with SQL sites, one tsc check per folder."""
    folders = [f.dest_root for f in plan.folders if f.sql_sites]
    if not folders:
        return []
    # "No new errors" needs a before: the migrated tree, as it is now, is that before.
    ensure_tsc_baseline(ws, settings)
    owner = loaded.manifest.owner
    return refactor_folders(
        ws,
        folders,
        settings,
        rpc=loaded.manifest.rpc,
        validator=make_batch_validator(ws, settings),
        tasks_path=tasks_path,
        epic_id=None if owner is None else str(owner),
    )
