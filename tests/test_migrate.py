"""`vibehq migrate plan|apply|rollback` on real STAGING folders and real workspaces on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.migrate.manifest import load_manifest
from engine.migrate.planner import plan_migration
from engine.workspace import Workspace
from tests.conftest import EXAMPLES, ROOT, SEED_MANIFEST, snapshot, write

PILOT = ROOT / "manifests" / "pilot-sqlite-demo.yaml"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLES / "workspace", root, ignore=shutil.ignore_patterns("node_modules", ".vibehq")
    )
    return root


def outside_state(root: Path) -> dict[str, str]:
    return snapshot(root, include_state=False)


def test_pilot_plan_rewrites_recomputes_and_finds_sql_without_writing(
    cli: Any, target: Path
) -> None:
    before = outside_state(target)
    result = cli("migrate", "plan", PILOT, "-w", target, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert outside_state(target) == before
    plan_path = Path(data["plan_path"])
    assert plan_path.is_file() and plan_path.parent.parent == target / ".vibehq" / "runs"
    rewrites = {
        (r["file"], r["old"]): (r["new"], r["rule"].split()[0])
        for f in data["folders"]
        for r in f["rewrites"]
    }
    assert rewrites[("apps/sqlite-demo/src/index.ts", "../../shared/contracts/patch")] == (
        "@shared/contracts",
        "imports[0]",
    )
    assert rewrites[("apps/sqlite-demo/src/types.ts", "@repo/shared/contracts")] == (
        "@shared/contracts",
        "imports[1]",
    )
    assert rewrites[("apps/sqlite-demo/src/routes/notes.ts", "../../../shared/contracts")] == (
        "@shared/contracts",
        "imports[2]",
    )
    assert rewrites[("apps/sqlite-demo/src/types.ts", "./contracts/notes")] == (
        "@shared/contracts/sqlite-demo/notes",
        "alias",
    )
    assert rewrites[("apps/sqlite-demo/src/db.ts", "./schema/notes")] == (
        "../../../orchestrator/worker/database/sqlite-demo/notes",
        "relative",
    )
    dests = {f["dest"] for folder in data["folders"] for f in folder["files"]}
    assert "apps/sqlite-demo/src/index.ts" in dests
    assert not any(d.endswith(("bun.lock", "dist/index.js")) for d in dests)
    assert data["totals"]["unresolved"] == 0
    sites = [s for f in data["folders"] for s in f["sql_sites"]]
    assert {s["driver"] for s in sites} == {"bun:sqlite"}
    assert all(s["file"] == "apps/sqlite-demo/src/db.ts" for s in sites)
    sql_file = plan_path.parent / "apps--sqlite-demo" / "sql-sites.json"
    assert json.loads(sql_file.read_text()) == [
        s for f in data["folders"] if f["name"] == "apps/sqlite-demo" for s in f["sql_sites"]
    ]


def test_apply_does_exactly_the_plan_then_nothing_then_rolls_back(cli: Any, target: Path) -> None:
    before = outside_state(target)
    ws = Workspace.open(target)
    planned = plan_migration(ws, load_manifest(PILOT))
    applied = cli("migrate", "apply", PILOT, "--no-validate", "-w", target, "--json")
    assert applied.code == 0, applied.err
    run = applied.json()
    for dest, content in planned.contents.items():
        assert (target / dest).read_bytes() == content
    written = {p for p in outside_state(target) if p not in before and not p.endswith("/")}
    assert written == set(planned.contents)
    assert run["totals"]["files"] == len(planned.contents)

    again = cli("migrate", "apply", PILOT, "--no-validate", "-w", target, "--json")
    assert again.code == 0
    assert sum(f["written"] for f in again.json()["folders"]) == 0
    assert all(f["status"] == "unchanged" for f in again.json()["folders"])
    human = cli("migrate", "apply", PILOT, "--no-validate", "-w", target)
    assert "nothing to write" in human.out

    rolled = cli("migrate", "rollback", run["run_id"], "-w", target)
    assert rolled.code == 0, rolled.err
    assert outside_state(target) == before
    assert cli("migrate", "rollback", "--last", "-w", target).code == 2


def staging_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two STAGING folders moving to different places, with a relative import between them."""
    staging = tmp_path / "STAGING"
    write(
        staging,
        "api/src/index.ts",
        'import { fmt } from "../../lib/src/fmt";\n'
        'import type { Row } from "./types";\n'
        "// import nope from '../../lib/src/fmt'\n"
        "const s = \"import x from '../../lib/src/fmt'\";\n"
        "export const run = (r: Row) => fmt(r.id) + s;\n",
    )
    write(staging, "api/src/types.ts", "export interface Row { id: number }\n")
    write(staging, "lib/src/fmt.ts", "export const fmt = (n: number) => `#${n}`;\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "name: pair\n"
        "sources:\n"
        "  - {from: STAGING/api, to: apps/api}\n"
        "  - {from: STAGING/lib, to: packages/shared/lib}\n"
    )
    return staging, manifest


def test_relative_imports_are_recomputed_after_the_move(cli: Any, ws: Path, tmp_path: Path) -> None:
    _, manifest = staging_pair(tmp_path)
    assert cli("migrate", "apply", manifest, "-w", ws).code == 0
    text = (ws / "apps/api/src/index.ts").read_text()
    assert 'from "../../../packages/shared/lib/src/fmt"' in text
    assert "// import nope from '../../lib/src/fmt'" in text
    assert "import x from '../../lib/src/fmt'" in text
    assert 'from "./types"' in text


def test_unresolved_imports_are_reported(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(
        tmp_path,
        "STAGING/w/src/a.ts",
        'import { x } from "../../elsewhere/x";\nimport { y } from "./missing";\n'
        'import { z } from "@shared/nothing";\n',
    )
    write(tmp_path, "STAGING/elsewhere/x.ts", "export const x = 1;\n")
    write(ws, "tsconfig.json", '{"compilerOptions": {"paths": {"@shared/*": ["@shared/*"]}}}')
    manifest = tmp_path / "m.json"
    manifest.write_text(
        json.dumps({"name": "w", "sources": [{"from": "STAGING/w", "to": "apps/w"}]})
    )
    data = cli("migrate", "plan", manifest, "-w", ws, "--json").json()
    reasons = {u["specifier"]: u["reason"] for f in data["folders"] for u in f["unresolved"]}
    assert "does not move" in reasons["../../elsewhere/x"]
    assert "does not resolve" in reasons["./missing"]
    assert "no file in the workspace" in reasons["@shared/nothing"]


def test_conflict_policy(cli: Any, ws: Path, tmp_path: Path) -> None:
    _, manifest = staging_pair(tmp_path)
    write(ws, "apps/api/src/types.ts", "// a human's file\n")
    before = outside_state(ws)
    failed = cli("migrate", "apply", manifest, "-w", ws)
    assert failed.code == 1 and "apps/api/src/types.ts" in failed.err
    assert outside_state(ws) == before

    skipped = cli("migrate", "apply", manifest, "-w", ws, "--on-conflict", "skip", "--json")
    assert skipped.code == 0
    assert (ws / "apps/api/src/types.ts").read_text() == "// a human's file\n"
    assert (ws / "apps/api/src/index.ts").exists()
    api = next(f for f in skipped.json()["folders"] if f["name"] == "apps/api")
    assert api["skipped_conflicts"] == ["apps/api/src/types.ts"]

    over = cli("migrate", "apply", manifest, "-w", ws, "--on-conflict", "overwrite", "--json")
    assert over.code == 0
    assert (ws / "apps/api/src/types.ts").read_text() == "export interface Row { id: number }\n"
    cli("migrate", "rollback", over.json()["run_id"], "-w", ws)
    assert (ws / "apps/api/src/types.ts").read_text() == "// a human's file\n"
    bad = cli("migrate", "apply", manifest, "-w", ws, "--on-conflict", "maybe")
    assert bad.code == 2


@pytest.mark.parametrize(
    ("to", "fragment"),
    [("../escape", "to"), ("/abs/x", "to"), (".vibehq/x", "to"), ("link/x", "outside")],
)
def test_unsafe_destinations_are_refused(
    cli: Any, ws: Path, tmp_path: Path, to: str, fragment: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / "link").symlink_to(outside)
    write(tmp_path, "STAGING/w/a.ts", "export {};\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f'name: w\nsources:\n  - from: STAGING/w\n    to: "{to}"\n')
    before = outside_state(ws)
    result = cli("migrate", "apply", manifest, "-w", ws)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and fragment in result.err
    assert outside_state(ws) == before
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "suffix", "fragment"),
    [
        ("name: x\nsources: [\n", ".yaml", "malformed YAML"),
        ('{"name": "x", "sources": [}', ".json", "malformed JSON"),
        ("name: x\nsources:\n  - from: a\n    too: b\n", ".yaml", ":3: sources.0.to"),
        ("name: x\nsources: []\n", ".yaml", "sources"),
        ("- just\n- a list\n", ".yaml", "mapping"),
    ],
)
def test_malformed_manifests_exit_2_and_write_nothing(
    cli: Any, ws: Path, tmp_path: Path, text: str, suffix: str, fragment: str
) -> None:
    manifest = tmp_path / f"bad{suffix}"
    manifest.write_text(text)
    for command in ("plan", "apply"):
        result = cli("migrate", command, manifest, "-w", ws)
        assert result.code == 2, result.err
        assert len(result.err.strip().splitlines()) == 1 and fragment in result.err
    assert snapshot(ws) == {}


def test_seed_manifest_plans_from_its_base(cli: Any, ws: Path, tmp_path: Path) -> None:
    base = tmp_path / "seedbase"
    write(base, "types/user.ts", "export interface User { id: string }\n")
    write(
        base,
        "tools/agent.ts",
        'import type { User } from "../types/user";\nexport const who = (u: User) => u.id;\n',
    )
    # Every seed glob must match a file (one that matches nothing is an error).
    write(base, "tools/helper.py", "print('hi')\n")
    write(base, "container/Dockerfile", "FROM node:20\n")
    seed = SEED_MANIFEST
    result = cli("migrate", "plan", seed, "--base", base, "-w", ws, "--json")
    assert result.code == 0, result.err
    rewrites = [r for f in result.json()["folders"] for r in f["rewrites"]]
    assert {(r["old"], r["new"]) for r in rewrites if r["rule"].startswith("imports[")} == {
        ("../types/user", "@shared/types/user")
    }


def test_no_op_shortcut_notices_changed_sources_and_hand_edits(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    staging, manifest = staging_pair(tmp_path)
    assert cli("migrate", "apply", manifest, "-w", ws).code == 0
    assert "nothing to write" in cli("migrate", "apply", manifest, "-w", ws).out

    write(ws, "apps/api/src/types.ts", "// edited by hand after the migration\n")
    edited = cli("migrate", "apply", manifest, "-w", ws)
    assert edited.code == 1 and "apps/api/src/types.ts" in edited.err
    assert cli("migrate", "apply", manifest, "-w", ws, "--on-conflict", "overwrite").code == 0

    write(staging, "lib/src/fmt.ts", "export const fmt = (n: number) => `no.${n}`;\n")
    changed = cli("migrate", "apply", manifest, "-w", ws)
    assert changed.code == 1 and "packages/shared/lib/src/fmt.ts" in changed.err
    assert cli("migrate", "apply", manifest, "-w", ws, "--on-conflict", "overwrite").code == 0
    assert "no.${n}" in (ws / "packages/shared/lib/src/fmt.ts").read_text()


def test_missing_path_aliases_are_added_to_tsconfig_keeping_comments(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    from engine.migrate.tsconfig import read_paths

    original = (
        '{\n  // the monorepo\'s compiler settings\n  "compilerOptions": {\n'
        '    "strict": true,\n    "paths": {\n      "~/*": ["src/*"]\n    }\n  }\n}\n'
    )
    write(ws, "tsconfig.json", original)
    write(tmp_path, "STAGING/w/a.ts", "export const a = 1;\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "name: w\nsources:\n  - {from: STAGING/w, to: apps/w}\n"
        'tsconfig_paths:\n  "@shared/*": ["@shared/*"]\n  "@apps/*": ["apps/*"]\n'
        '  "~/*": ["elsewhere/*"]\n'
    )
    plan = cli("migrate", "plan", manifest, "-w", ws, "--json").json()
    assert set(plan["tsconfig_paths_missing"]) == {"@shared/*", "@apps/*"}
    assert plan["tsconfig_paths_differing"] == {"~/*": ["elsewhere/*"]}
    run = cli("migrate", "apply", manifest, "--no-validate", "-w", ws, "--json").json()
    text = (ws / "tsconfig.json").read_text()
    assert "// the monorepo's compiler settings" in text
    assert read_paths(ws / "tsconfig.json") == {
        "@apps/*": ["apps/*"],
        "@shared/*": ["@shared/*"],
        "~/*": ["src/*"],
    }
    again = cli("migrate", "apply", manifest, "--no-validate", "-w", ws, "--json").json()
    assert all(f["written"] == 0 for f in again["folders"])
    cli("migrate", "rollback", run["run_id"], "-w", ws)
    assert (ws / "tsconfig.json").read_text() == original


def test_paths_object_is_created_when_the_tsconfig_has_none(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    from engine.migrate.tsconfig import read_paths

    write(ws, "tsconfig.json", '{\n  "compilerOptions": {\n    "strict": true\n  }\n}\n')
    write(tmp_path, "STAGING/w/a.ts", "export const a = 1;\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "name: w\nsources:\n  - {from: STAGING/w, to: apps/w}\n"
        'tsconfig_paths:\n  "@shared/*": ["@shared/*"]\n  "@apps/*": ["apps/*"]\n'
    )
    assert cli("migrate", "apply", manifest, "--no-validate", "-w", ws).code == 0
    assert read_paths(ws / "tsconfig.json") == {"@apps/*": ["apps/*"], "@shared/*": ["@shared/*"]}
    assert json.loads((ws / "tsconfig.json").read_text())["compilerOptions"]["strict"] is True
