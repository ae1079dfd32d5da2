"""The refactor on five real Cloudflare templates placed inside a copy of the real target monorepo,
checked by the real tsc: each folder with its own tsconfig, and the orchestrator's
entrypoints under the target's root tsconfig, both against their baselines before the refactor.

Dependencies: no npm install runs here. The repo's `examples/workspace/node_modules`
(typescript and @cloudflare/workers-types) is linked into the copy; a template's other
packages (hono, fflate, kysely on the orchestrator side...) stay missing, so their errors
are in the baseline and the after run alike, and only errors the refactor adds count.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.patch.apply import apply_batch
from engine.refactor.pipeline import plan_refactor, target_for
from engine.settings import Settings
from engine.validate.staging_baseline import take_staging_baseline
from engine.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "fixtures" / "real"
NODE_MODULES = REPO / "examples" / "workspace" / "node_modules"
# folder -> (sites, by recipes)
FOLDERS = {
    "d1-template": (1, 1),
    "hello-world-do-template": (1, 1),
    "internal-sites-template": (9, 7),
    "openauth-template": (1, 1),
    # Astro: its tsconfig extends astro/tsconfigs/strict, which is not installed, so tsc
    # checks it with the options it can read (TS6053 is in the baseline too).
    "saas-admin-template": (18, 18),
}
_TSC_LINE = re.compile(r"^(.*?)\(\d+,\d+\): error (TS\d+): (.*)$")


def _orchestrator_errors(root: Path) -> set[tuple[str, str, str]]:
    run = subprocess.run(
        [str(root / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.rpc.json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    found = {m.groups() for m in map(_TSC_LINE.match, run.stdout.splitlines()) if m}
    return {(file, code, message) for file, code, message in found}


@pytest.mark.integration
@pytest.mark.skipif(not REAL.is_dir(), reason="the real corpus is not beside the repo")
def test_real_templates_refactor_with_no_new_tsc_errors(tmp_path: Path) -> None:
    root = tmp_path / "target"
    skip = shutil.ignore_patterns("node_modules", ".git", "dist", ".vibehq")
    shutil.copytree(REAL / "target", root, ignore=skip)
    for folder in FOLDERS:
        shutil.copytree(REAL / "STAGING" / folder, root / "STAGING" / folder, ignore=skip)
    (root / "node_modules").symlink_to(NODE_MODULES.resolve(), target_is_directory=True)
    # The orchestrator's entrypoints (and whatever they import) under the target's own
    # compiler options: the whole root include is ~3,700 known errors and minutes of tsc.
    (root / "tsconfig.rpc.json").write_text(
        json.dumps({"extends": "./tsconfig.json", "include": ["orchestrator/worker/entrypoints"]})
    )
    before = {f: take_staging_baseline(root, f"STAGING/{f}") for f in FOLDERS}
    orchestrator_before = _orchestrator_errors(root)

    ws, settings = Workspace.open(root), Settings()
    migrations = {p.name for p in (root / "orchestrator" / "migrations").iterdir()}
    for folder, (sites, by_recipe) in FOLDERS.items():
        plan = plan_refactor(ws, target_for(f"STAGING/{folder}", None))
        assert plan.share() == {
            "sites": sites,
            "recipes": by_recipe,
            "needs_model": sites - by_recipe,
        }, folder
        assert all(item.reason for item in plan.work_items), folder
        for batch in (plan.orchestrator, plan.worker):
            if batch is not None:
                apply_batch(ws, batch, settings)

    for folder in FOLDERS:
        after = take_staging_baseline(root, f"STAGING/{folder}")
        known = {f.fingerprint for f in before[folder].findings}
        new = [
            f"{f.file}:{f.line} {f.code} {f.message}"
            for f in after.findings
            if f.severity == "error" and f.fingerprint not in known
        ]
        assert new == [], folder
    new_orchestrator = _orchestrator_errors(root) - orchestrator_before
    assert sorted(new_orchestrator) == []
    entrypoint = (root / "orchestrator/worker/entrypoints/InternalSitesTemplateOps.ts").read_text()
    assert 'from "@shared/base/workerEntrypoint"' in entrypoint
    # The hand-written migrations are numbered 002..012 after drizzle-kit's 0000..0003.
    added = {p.name for p in (root / "orchestrator" / "migrations").iterdir()} - migrations
    assert added == {"013_internal_sites_template.sql"}
    schema = (root / "orchestrator/migrations/013_internal_sites_template.sql").read_text()
    assert schema.count("CREATE TABLE IF NOT EXISTS") == 3
