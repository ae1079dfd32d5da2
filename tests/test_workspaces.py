"""Migrated folders join the target's workspaces through journaled batches; one install."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from engine.migrate.workspaces import install, join_workspace, lockfile_batch, move_members
from engine.patch.apply import apply_batch, rollback_batch
from engine.settings import load_settings
from engine.workspace import Workspace
from tests.conftest import SHARED, snapshot, write

REAL_STAGING = SHARED / "fixtures" / "real" / "STAGING"


def package(root: Path, folder: str, **fields: object) -> None:
    write(root, f"{folder}/package.json", json.dumps(fields, indent="\t") + "\n")


def npm_target(root: Path) -> Path:
    write(
        root,
        "package.json",
        '{\n  "name": "mono",\n  "private": true,\n  "workspaces": [\n    "orchestrator"\n  ],\n'
        '  "devDependencies": {"typescript": "^5.9.3"}\n}\n',
    )
    package(root, "orchestrator", name="orchestrator", dependencies={"hono": "^4.0.0"})
    return root


def test_npm_members_and_a_duplicate_name_are_one_journaled_batch(tmp_path: Path) -> None:
    root = npm_target(tmp_path / "t")
    package(root, "apps/a", name="worker", dependencies={"hono": "4.7.0"})
    package(root, "apps/b", name="worker", peerDependencies={"react": "^18"})
    package(root, "apps/c", name="orchestrator")
    before = snapshot(root)

    edit = join_workspace(root, ["apps/b", "apps/a", "apps/c"])
    assert edit.layout.manager == "npm" and edit.layout.members == ["orchestrator"]
    assert edit.added == ["apps/a", "apps/b", "apps/c"]
    # Path order decides who keeps the name; the others get one from their path, recorded.
    assert edit.names == {"apps/a": "worker", "apps/b": "apps-b", "apps/c": "apps-c"}
    kinds = [(r.kind, r.folder) for r in edit.resolutions]
    assert ("duplicate-name", "apps/b") in kinds and ("duplicate-name", "apps/c") in kinds
    assert any(r.kind == "dependency-range" and "hono" in r.detail for r in edit.resolutions)
    assert any(r.kind == "peer-dependencies" and r.folder == "apps/b" for r in edit.resolutions)
    assert "--legacy-peer-deps" in edit.install_args
    assert snapshot(root) == before  # nothing written until the batch is applied

    ws, settings = Workspace.open(root), load_settings(root)
    assert edit.batch is not None
    result = apply_batch(ws, edit.batch, settings)
    data = json.loads((root / "package.json").read_text())
    assert data["workspaces"] == ["orchestrator", "apps/a", "apps/b", "apps/c"]
    assert data["devDependencies"] == {"typescript": "^5.9.3"}
    assert json.loads((root / "apps/b/package.json").read_text())["name"] == "apps-b"
    assert (root / "apps/b/package.json").read_text().startswith('{\n\t"name": "apps-b"')

    again = join_workspace(root, ["apps/a", "apps/b", "apps/c"])
    assert again.batch is None and again.already == ["apps/a", "apps/b", "apps/c"]

    rollback_batch(ws, result.batch_id, settings)
    assert snapshot(root, include_state=False) == before


def test_a_glob_member_already_covers_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root, "package.json", '{"name": "m", "workspaces": {"packages": ["apps/*"]}}\n')
    write(root, "yarn.lock", "")
    package(root, "apps/a", name="a")
    package(root, "STAGING/b", name="b")
    edit = join_workspace(root, ["apps/a", "STAGING/b"])
    assert edit.layout.manager == "yarn" and edit.layout.reason == "yarn.lock"
    assert edit.already == ["apps/a"] and edit.added == ["STAGING/b"]
    assert edit.batch is not None
    apply_batch(Workspace.open(root), edit.batch, load_settings(root))
    data = json.loads((root / "package.json").read_text())
    assert data["workspaces"] == {"packages": ["apps/*", "STAGING/b"]}


def test_pnpm_members_are_appended_to_pnpm_workspace_yaml(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root, "package.json", '{"name": "m"}\n')
    write(root, "pnpm-workspace.yaml", "# the monorepo\npackages:\n  - 'apps/*'\n\nonlyBuilt: []\n")
    package(root, "workers/x", name="x")
    edit = join_workspace(root, ["workers/x"])
    assert edit.layout.manager == "pnpm"
    assert edit.batch is not None
    apply_batch(Workspace.open(root), edit.batch, load_settings(root))
    text = (root / "pnpm-workspace.yaml").read_text()
    assert text.startswith("# the monorepo\n")
    assert yaml.safe_load(text) == {"packages": ["apps/*", "workers/x"], "onlyBuilt": []}


def test_applied_members_move_to_their_destination_in_place(tmp_path: Path) -> None:
    root = npm_target(tmp_path / "t")
    package(root, "STAGING/a", name="a")
    package(root, "STAGING/b", name="b")
    edit = join_workspace(root, ["STAGING/a", "STAGING/b"])
    assert edit.batch is not None
    ws, settings = Workspace.open(root), load_settings(root)
    apply_batch(ws, edit.batch, settings)
    before = snapshot(root)

    op = move_members(root, {"STAGING/a": "apps/a", "STAGING/zzz": "apps/zzz"})
    assert op is not None and op.file == "package.json"
    data = json.loads(op.block or "")
    assert data["workspaces"] == ["orchestrator", "apps/a", "STAGING/b"]
    assert data["devDependencies"] == {"typescript": "^5.9.3"}
    assert snapshot(root) == before  # an edit to apply, nothing written
    # A folder no member lists by name needs no edit.
    assert move_members(root, {"STAGING/zzz": "apps/zzz"}) is None


def test_pnpm_members_move_in_place(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root, "package.json", '{"name": "m"}\n')
    write(
        root,
        "pnpm-workspace.yaml",
        "# the monorepo\npackages:\n  - 'apps/*'\n  - STAGING/x\n\nonlyBuilt: []\n",
    )
    op = move_members(root, {"STAGING/x": "workers/x"})
    assert op is not None and op.block is not None
    assert op.block.startswith("# the monorepo\n")
    assert yaml.safe_load(op.block) == {"packages": ["apps/*", "workers/x"], "onlyBuilt": []}


def test_a_folder_without_package_json_cannot_join(tmp_path: Path) -> None:
    from engine.errors import BadInput

    root = npm_target(tmp_path / "t")
    (root / "apps/none").mkdir(parents=True)
    with pytest.raises(BadInput, match=r"apps/none: has no package\.json"):
        join_workspace(root, ["apps/none"])


def test_no_registry_is_needs_install_not_a_failure(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    root = npm_target(tmp_path / "t")
    env = {"PATH": str(Path(shutil.which("npm") or "").parent), "HOME": str(tmp_path)}
    env["npm_config_registry"] = "http://127.0.0.1:9/"
    outcome = install(root, ["orchestrator"], env=env)
    assert outcome.status == "needs-install"
    assert outcome.item is not None and outcome.item.startswith("needs-install: npm install")
    assert outcome.reason is not None and "127.0.0.1" in outcome.reason
    assert not (root / "node_modules").exists()


@pytest.mark.integration
def test_real_workers_install_once_and_the_lockfile_change_is_journaled(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    root = tmp_path / "t"
    write(root, "package.json", '{\n  "name": "mono",\n  "private": true\n}\n')
    for name in ("hello-world-do-template", "worker-publisher-template"):
        if not (REAL_STAGING / name).is_dir():
            pytest.skip(f"{REAL_STAGING / name} is missing")
        shutil.copytree(REAL_STAGING / name, root / "STAGING" / name)
        (root / "STAGING" / name / "package-lock.json").unlink(missing_ok=True)
    folders = ["STAGING/hello-world-do-template", "STAGING/worker-publisher-template"]
    edit = join_workspace(root, folders)
    assert edit.layout.manager == "npm" and edit.batch is not None
    ws, settings = Workspace.open(root), load_settings(root)
    apply_batch(ws, edit.batch, settings)

    outcome = install(root, folders)
    assert outcome.status == "installed", outcome.log_tail
    assert outcome.command == ["npm", "install", "--legacy-peer-deps", "--no-audit", "--no-fund"]
    assert (root / "node_modules" / "typescript" / "package.json").is_file()
    assert outcome.lockfile_before is None and outcome.lockfile_after is not None

    batch = lockfile_batch(root, outcome, None)
    assert batch is not None and not (root / "package-lock.json").exists()
    result = apply_batch(ws, batch, settings)
    assert (root / "package-lock.json").is_file()
    rollback_batch(ws, result.batch_id, settings)
    assert not (root / "package-lock.json").exists()


def test_a_dependency_the_registry_lacks_blocks_only_its_folders(tmp_path: Path) -> None:
    from engine.migrate.workspaces import blocked_folders

    root = npm_target(tmp_path / "t")
    package(root, "apps/r2", name="r2", dependencies={"r2-explorer": "1.1.10"})
    package(root, "apps/ok", name="ok", dependencies={"hono": "^4"})
    log = (
        "npm error code ETARGET\n"
        "npm error notarget No matching version found for r2-explorer@1.1.10.\n"
    )
    assert blocked_folders(root, ["apps/ok", "apps/r2"], log) == {
        "apps/r2": "needs-install: r2-explorer@1.1.10 is not in the registry"
    }
