"""The refactor on every STAGING fixture, migrated into a copy of the example monorepo and
checked by the real tsc: the share of sites recipes rewrite, and no new type errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.validate.baseline import baseline_path
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, copy_example

# Sites per folder: (all, by recipes). Everything else is a needs-model work item, on purpose:
# see examples/STAGING/README.md for why each one is left to a model.
EXPECTED_SHARE = {
    "bun-inline": (7, 0),
    "d1-notes": (5, 5),
    "logger": (6, 6),
    "sqlite-demo": (12, 0),
    "task-queue": (7, 7),
    "terminal-demo": (4, 4),
    "unsafe-cases": (12, 0),
}
REWRITTEN = sorted(name for name, (_, by_recipe) in EXPECTED_SHARE.items() if by_recipe)


def _tsc_errors_by_folder(root: Path) -> dict[str, int]:
    tsc = root / "node_modules" / ".bin" / "tsc"
    run = subprocess.run(
        [str(tsc), "--noEmit", "-p", "tsconfig.json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    counts: dict[str, int] = {}
    for line in run.stdout.splitlines():
        if line.startswith("apps/") and ": error TS" in line:
            folder = line.split("/")[1]
            counts[folder] = counts.get(folder, 0) + 1
    return counts


@pytest.mark.integration
def test_every_staging_folder_refactors_with_no_new_tsc_errors(cli: Any, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ws")
    migrated = cli(
        "batch",
        EXAMPLES / "STAGING",
        "--manifest",
        EXAMPLES.parent / "manifests" / "staging-template.yaml",
        "-w",
        root,
        "--json",
    )
    assert migrated.code == 0, migrated.out + migrated.err
    before = _tsc_errors_by_folder(root)
    # The staged code does not type-check yet where it still opens bun:sqlite.
    assert before.get("logger", 0) > 0
    assert cli("validate", "--baseline", "-w", root).code == 0

    for name, (sites, by_recipe) in EXPECTED_SHARE.items():
        applied = cli("refactor", "apply", f"apps/{name}", "-w", root, "--json")
        assert applied.code == 0, f"{name}: {applied.out}{applied.err}"
        data = applied.json()
        assert data["share"] == {
            "sites": sites,
            "recipes": by_recipe,
            "needs_model": sites - by_recipe,
        }, name
        # The orchestrator half lands even where the worker half waits for a model: the work
        # items name those methods, so a model's worker batch has something to call.
        assert data["status"] == "applied", name
        assert data["validation"]["ok"] is True, name

    after = _tsc_errors_by_folder(root)
    assert {name: after.get(name, 0) for name in REWRITTEN} == dict.fromkeys(REWRITTEN, 0)
    for name in EXPECTED_SHARE:
        assert after.get(name, 0) <= before.get(name, 0), name
    wrangler = (root / "@shared/base/wrangler.base.jsonc").read_text()
    for binding in ("ORCHESTRATOR_D1_NOTES", "ORCHESTRATOR_LOGGER", "ORCHESTRATOR_TASK_QUEUE"):
        assert f'"binding": "{binding}"' in wrangler
    for name in REWRITTEN:
        again = cli("refactor", "plan", f"apps/{name}", "-w", root, "--json").json()
        assert again["orchestrator"] is None and again["worker"] is None, name


@pytest.mark.integration
def test_migrate_apply_with_refactor_moves_the_sql_behind_rpc(cli: Any, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ws")
    manifest = tmp_path / "logger.yaml"
    manifest.write_text(
        "name: logger\n"
        "sources:\n"
        f"  - from: {EXAMPLES / 'STAGING' / 'logger'}\n"
        "    to: apps/logger\n"
    )
    result = cli("migrate", "apply", manifest, "--refactor", "-w", root, "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    [folder] = data["refactor"]
    assert folder["folder"] == "apps/logger" and folder["status"] == "applied"
    assert folder["share"] == {"sites": 6, "recipes": 6, "needs_model": 0}
    assert folder["outcome"]["validation"]["ok"] is True
    storage = (root / "apps/logger/src/storage.ts").read_text()
    assert 'import { env } from "cloudflare:workers";' in storage
    assert "bun:sqlite" not in storage
    assert (root / "orchestrator/worker/entrypoints/LoggerOps.ts").is_file()
    # The baseline the "no new errors" rule needs was recorded before the refactor.
    assert baseline_path(Workspace.open(root), "tsc").is_file()
