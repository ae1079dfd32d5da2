"""Owning tsconfigs, per-project tsc, and STAGING baselines per folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.patch.apply import apply_batch, rollback_batch
from engine.patch.models import PatchBatch
from engine.patch.validation import Finding
from engine.settings import load_settings
from engine.validate.projects import (
    check_projects,
    exclude_folder_ops,
    folder_tsconfig_op,
    group_by_project,
    read_jsonc,
)
from engine.validate.staging_baseline import new_against, take_staging_baseline
from engine.validate.tsc_server import MODE_ENV
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, SHARED, snapshot, write

REAL_STAGING = SHARED / "fixtures" / "real" / "STAGING"

ROOT_TSCONFIG = """{
  // the monorepo's settings
  "compilerOptions": {
    "strict": true, /* everywhere */
    "noUnusedLocals": true,
  },
  "include": ["**/*.ts", "**/*.tsx",],
  "exclude": [
    "node_modules",
    "**/*.d.ts", // generated
  ],
}
"""


def monorepo(root: Path) -> Path:
    write(root, "tsconfig.json", ROOT_TSCONFIG)
    write(root, "tsconfig.base.json", '{"compilerOptions": {"strict": true}}\n')
    write(root, "orchestrator/worker/index.ts", "export const x = 1;\n")
    # a: extends a base in its parent, its own include and exclude
    write(root, "workers/tsconfig.shared.json", '{"include": ["nothing/**"], "exclude": []}\n')
    write(
        root,
        "workers/a/tsconfig.json",
        '{\n  "extends": "../tsconfig.shared", // no .json\n  "include": ["src", "env.d.ts"],\n'
        '  "exclude": ["src/legacy"],\n}\n',
    )
    write(root, "workers/a/src/index.ts", "export const a = 1;\n")
    write(root, "workers/a/src/legacy/old.ts", "export const old = 1;\n")
    write(root, "workers/a/env.d.ts", "interface Env {}\n")
    write(root, "workers/a/scripts/tool.ts", "export {};\n")
    # b: solution style, the code belongs to the referenced configs
    write(
        root,
        "workers/b/tsconfig.json",
        '{"files": [], "references": [{"path": "./tsconfig.app.json"},'
        ' {"path": "./tsconfig.worker.json"}]}\n',
    )
    write(root, "workers/b/tsconfig.app.json", '{"include": ["src"]}\n')
    write(root, "workers/b/tsconfig.worker.json", '{"include": ["worker"], "files": ["x.ts"]}\n')
    write(root, "workers/b/src/App.tsx", "export const App = 1;\n")
    write(root, "workers/b/worker/index.ts", "export {};\n")
    write(root, "workers/b/x.ts", "export {};\n")
    # c: no tsconfig at all
    write(root, "workers/c/index.ts", "export {};\n")
    return root


def test_each_changed_file_is_grouped_under_the_tsconfig_that_owns_it(tmp_path: Path) -> None:
    root = monorepo(tmp_path / "m")
    groups = group_by_project(
        root,
        [
            "orchestrator/worker/index.ts",
            "workers/a/src/index.ts",
            "workers/a/env.d.ts",
            "workers/a/src/legacy/old.ts",
            "workers/a/scripts/tool.ts",
            "workers/b/src/App.tsx",
            "workers/b/worker/index.ts",
            "workers/b/x.ts",
            "workers/c/index.ts",
            "workers/a/README.md",
        ],
    )
    assert groups == {
        "tsconfig.json": [
            "orchestrator/worker/index.ts",
            "workers/a/scripts/tool.ts",
            "workers/a/src/legacy/old.ts",
            "workers/c/index.ts",
        ],
        "workers/a/tsconfig.json": ["workers/a/env.d.ts", "workers/a/src/index.ts"],
        "workers/b/tsconfig.app.json": ["workers/b/src/App.tsx"],
        "workers/b/tsconfig.worker.json": ["workers/b/worker/index.ts", "workers/b/x.ts"],
        None: ["workers/a/README.md"],
    }


def test_a_folder_gets_its_own_project_and_the_root_lets_it_go(tmp_path: Path) -> None:
    root = monorepo(tmp_path / "m")
    before = snapshot(root)
    create = folder_tsconfig_op(root, "workers/c")
    assert create is not None and folder_tsconfig_op(root, "workers/a") is None
    excludes = exclude_folder_ops(root, "workers/c")
    assert [op.file for op in excludes] == ["tsconfig.json"]
    assert [op.file for op in exclude_folder_ops(root, "workers/a")] == ["tsconfig.json"]
    ws, settings = Workspace.open(root), load_settings(root)
    result = apply_batch(ws, PatchBatch(requester="t", patches=[create, *excludes]), settings)

    config = read_jsonc(root / "workers/c/tsconfig.json")
    assert config["extends"] == "../../tsconfig.base.json"
    root_config = read_jsonc(root / "tsconfig.json")
    assert root_config["exclude"] == ["node_modules", "**/*.d.ts", "workers/c"]
    assert "// generated" in (root / "tsconfig.json").read_text()
    assert group_by_project(root, ["workers/c/index.ts"]) == {
        "workers/c/tsconfig.json": ["workers/c/index.ts"]
    }
    rollback_batch(ws, result.batch_id, settings)
    assert snapshot(root, include_state=False) == before


def test_exclude_is_added_when_the_root_has_none(tmp_path: Path) -> None:
    root = tmp_path / "m"
    write(root, "tsconfig.json", '{\n  "include": ["**/*.ts"]\n}\n')
    write(root, "w/a.ts", "export {};\n")
    (op,) = exclude_folder_ops(root, "w")
    assert op.block is not None
    assert json.loads(op.block) == {"include": ["**/*.ts"], "exclude": ["w"]}


def test_new_against_keeps_only_errors_the_folder_did_not_have(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from engine.validate.baseline import BaselineFinding, fingerprint
    from engine.validate.staging_baseline import FolderBaseline

    old = Finding(
        tool="tsc", file="src/index.ts", line=3, code="TS2304", message="Cannot find 'x'."
    )
    baseline = FolderBaseline(
        folder="STAGING/w",
        tsconfigs=["tsconfig.json"],
        created=datetime.now(UTC),
        seconds=0.1,
        findings=[BaselineFinding(**old.model_dump(), fingerprint=fingerprint(old))],
    )
    after = [
        Finding(
            tool="tsc",
            file="apps/w/src/index.ts",
            line=9,
            code="TS2304",
            message="Cannot find 'x'.",
        ),
        Finding(
            tool="tsc",
            file="apps/w/src/db.ts",
            line=4,
            code="TS2339",
            message="Property 'q' does not exist on type 'import(\"apps/w/src/rpc\").Ops'.",
        ),
        Finding(
            tool="tsc", file="orchestrator/x.ts", line=1, code="TS1005", message="';' expected."
        ),
        Finding(
            tool="tsc",
            file="apps/w/a.ts",
            line=1,
            code="TS6133",
            message="unused",
            severity="warning",
        ),
    ]
    assert new_against(baseline, after, "apps/w") == [
        "apps/w/src/db.ts:4 TS2339 Property 'q' does not exist on type 'import(\"src/rpc\").Ops'.",
        "orchestrator/x.ts:1 TS1005 ';' expected.",
    ]


def _with_tsc(root: Path) -> None:
    modules = EXAMPLES / "workspace" / "node_modules"
    if not (modules / ".bin" / "tsc").exists():
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    (root / "node_modules").symlink_to(modules, target_is_directory=True)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["server", "cli"])
def test_real_workers_baseline_in_staging_and_check_per_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv(MODE_ENV, mode)
    root = tmp_path / "t"
    write(root, "tsconfig.json", ROOT_TSCONFIG)
    for name in ("hello-world-do-template", "worker-publisher-template"):
        if not (REAL_STAGING / name).is_dir():
            pytest.skip(f"{REAL_STAGING / name} is missing")
        shutil.copytree(REAL_STAGING / name, root / "STAGING" / name)
    _with_tsc(root)

    # Its own tsconfig, which sees worker-configuration.d.ts (the root's excludes *.d.ts).
    hello = take_staging_baseline(root, "STAGING/hello-world-do-template")
    assert hello.tsconfigs == ["tsconfig.json"] and not hello.tool_failed
    assert all(f.file and not f.file.startswith(("STAGING", "/")) for f in hello.findings)
    assert not any("Cannot find name 'Env'" in f.message for f in hello.findings)

    # No tsconfig: checked with a temporary one under .vibehq/, nothing written in STAGING.
    before = snapshot(root / "STAGING")
    publisher = take_staging_baseline(root, "STAGING/worker-publisher-template")
    (config,) = publisher.tsconfigs
    assert "/.vibehq/tsc/staging-" in config and config.endswith("/tsconfig.json")
    assert not publisher.tool_failed
    assert snapshot(root / "STAGING") == before

    # After the move, checked per owning project, by a plain tsc run (as the STAGING baseline
    # was taken) or by the server, which keeps the parsed files in memory.
    shutil.copytree(root / "STAGING/hello-world-do-template", root / "apps/hello")
    ops = exclude_folder_ops(root, "apps/hello")
    ws, settings = Workspace.open(root), load_settings(root)
    apply_batch(ws, PatchBatch(requester="t", patches=ops), settings)
    checks, orphans = check_projects(root, ["apps/hello/src/index.ts"], jobs=2)
    assert orphans == [] and [c.tsconfig for c in checks] == ["apps/hello/tsconfig.json"]
    assert not list(root.glob(".vibehq/tsc/*/tsbuildinfo"))
    assert new_against(hello, checks[0].findings, "apps/hello") == []

    write(root, "apps/hello/src/broken.ts", "export const n: number = 'x';\n")
    checks, _ = check_projects(root, ["apps/hello/src/broken.ts"])
    assert new_against(hello, checks[0].findings, "apps/hello") == [
        "apps/hello/src/broken.ts:1 TS2322 Type 'string' is not assignable to type 'number'."
    ]
