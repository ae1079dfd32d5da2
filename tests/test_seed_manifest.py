"""The seed's manifest means what it meant in the seed's `migrate_staging.py`: globs under
`<workspace>/STAGING`, files to `@shared/<destination>/<path relative to STAGING>`, and the
import replacements as whole-text `re.sub` passes."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.migrate.seedcopy import glob_matches
from tests.conftest import SEED_MANIFEST, SHARED, snapshot, write

REAL_STAGING = SHARED / "fixtures" / "real" / "STAGING"
REAL_FOLDERS = ("hello-world-do-template", "d1-template", "workflows-starter-template")


def seed_migrate(root: Path, manifest: dict[str, Any]) -> None:
    """The seed's copy and import passes, as `migrate_staging.py` wrote them (cwd = root)."""
    staging, shared = root / "STAGING", root / "@shared"
    copied: list[Path] = []
    for config in manifest["source_paths"]:
        for source in staging.glob(config["path"]):
            if not source.is_file():
                continue
            dest = shared / config["destination"] / source.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
            copied.append(dest)
    for dest in copied:
        if dest.suffix not in (".ts", ".tsx", ".js", ".jsx", ".py"):
            continue
        try:
            with open(dest, encoding="utf-8") as f:
                content = f.read()
        except UnicodeDecodeError:
            continue
        original = content
        for rule in manifest["import_replacements"]:
            if re.search(rule["pattern"], content):
                content = re.sub(rule["pattern"], rule["replacement"], content)
        if content != original:
            with open(dest, "w", encoding="utf-8") as f:
                f.write(content)


def staging_tree(root: Path) -> Path:
    staging = root / "STAGING"
    for name in REAL_FOLDERS:
        if not (REAL_STAGING / name).is_dir():
            pytest.skip(f"real fixture {REAL_STAGING / name} is missing")
        shutil.copytree(REAL_STAGING / name, staging / name)
    write(staging, "types/user.ts", "export interface User { id: string }\n")
    write(staging, "types/api.d.ts", "declare const API: string;\n")
    write(staging, "container/Dockerfile", "FROM node:20\n")
    write(staging, "container/run/start.ts", 'export { User } from "../types/user";\n')
    write(
        staging,
        "tools/agent.ts",
        b'import type { User } from "../types/user";\r\n'
        b"import { boot } from '../container/run/start';\r\n"
        b"// see ../contracts below\r\n"
        b"export * from '../ai-tools/helper';\r\n"
        b"export const who = (u: User) => u.id;\r\n",
    )
    write(staging, "tools/untouched.ts", b"export const crlf = 1;\r\n")
    write(staging, "tools/latin1.ts", b"// caf\xe9 from '../types/user'\n")
    write(staging, "tools/helper.py", "from '../contracts/x' import y\n")
    write(staging, "tools/skip.mjs", "import '../types/user';\n")
    write(staging, ".hidden/seen.ts", "import x from '../types/user';\n")
    return staging


def test_the_seed_manifest_copies_what_migrate_staging_would_byte_for_byte(
    cli: Any, tmp_path: Path
) -> None:
    ws, reference = tmp_path / "ws", tmp_path / "reference"
    staging_tree(ws)
    shutil.copytree(ws, reference)
    seed_migrate(reference, json.loads(SEED_MANIFEST.read_text()))
    expected = {k: v for k, v in snapshot(reference).items() if k.startswith("@shared/")}

    result = cli("migrate", "apply", SEED_MANIFEST, "-w", ws, "--json")
    assert result.code == 0, result.err
    got = {k: v for k, v in snapshot(ws, include_state=False).items() if k.startswith("@shared/")}
    assert got == expected
    # The ways the seed's layout differs from vibehq's own globs, all present in that tree:
    assert "@shared/ai-tools/tools/agent.ts" in got
    assert "@shared/ai-tools/.hidden/seen.ts" in got
    assert "@shared/types/types/user.ts" in got and "@shared/container/container/Dockerfile" in got
    assert "@shared/ai-tools/hello-world-do-template/src/index.ts" in got
    agent = (ws / "@shared/ai-tools/tools/agent.ts").read_bytes()
    assert b"from '@shared/types/user'" in agent and b"\r\n" not in agent
    untouched = (ws / "@shared/ai-tools/tools/untouched.ts").read_bytes()
    assert untouched == b"export const crlf = 1;\r\n"


def test_seed_rewrites_are_recorded_as_specifier_changes(cli: Any, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    staging_tree(ws)
    result = cli("migrate", "plan", SEED_MANIFEST, "-w", ws, "--json")
    assert result.code == 0, result.err
    rewrites = {
        (r["file"], r["old"], r["new"]) for f in result.json()["folders"] for r in f["rewrites"]
    }
    assert ("@shared/ai-tools/tools/agent.ts", "../types/user", "@shared/types/user") in rewrites
    assert (
        "@shared/ai-tools/tools/helper.py",
        "../contracts/x",
        "@shared/contracts/x",
    ) in rewrites


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_seed_glob_matching_nothing_is_exit_2_naming_it(
    cli: Any, tmp_path: Path, command: str
) -> None:
    ws = tmp_path / "ws"
    write(ws, "STAGING/tools/a.ts", "export const a = 1;\n")
    raw = json.loads(SEED_MANIFEST.read_text())
    manifest = write(tmp_path, "seed.json", json.dumps(raw, indent=2))
    before = snapshot(ws)
    result = cli("migrate", command, manifest, "-w", ws)
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1
    assert "source_paths.1.path" in result.err and "'**/*.py' matches no file" in result.err
    assert snapshot(ws) == before


def test_a_seed_manifest_without_staging_is_exit_2(cli: Any, ws: Path) -> None:
    result = cli("migrate", "plan", SEED_MANIFEST, "-w", ws)
    assert result.code == 2 and "STAGING folder" in result.err
    assert snapshot(ws) == {}


def test_a_vibehq_include_matching_nothing_is_exit_2(cli: Any, ws: Path, tmp_path: Path) -> None:
    write(tmp_path, "STAGING/w/a.ts", "export const a = 1;\n")
    manifest = write(
        tmp_path,
        "m.yaml",
        "name: w\nsources:\n  - {from: STAGING/w, to: apps/w, include: ['*.go']}\n",
    )
    result = cli("migrate", "apply", manifest, "-w", ws)
    assert result.code == 2 and "sources[0]" in result.err and "matches no file" in result.err
    assert snapshot(ws) == {}


@pytest.mark.parametrize(
    ("pattern", "rel", "expected"),
    [
        ("**/*.ts", "a.ts", True),
        ("**/*.ts", "x/y/a.ts", True),
        ("**/*.ts", ".h/a.ts", True),
        ("*.ts", "x/a.ts", False),
        ("*.ts", "a.ts", True),
        ("container/**/*", "container/a", True),
        ("container/**/*", "container/x/y", True),
        ("container/**/*", "other/container/a", False),
        ("types/**/*.ts", "types/a.d.ts", True),
        ("container/**", "container/a", False),
        ("./types/*.ts", "types/a.ts", True),
    ],
)
def test_seed_globs_match_as_pathlib_does(
    tmp_path: Path, pattern: str, rel: str, expected: bool
) -> None:
    write(tmp_path, rel, "x")
    # Python 3.13's pathlib yields files for a trailing `**` too; the seed ran on an older
    # Python, and `glob_matches` keeps what its glob did there.
    if not (pattern.endswith("**") and sys.version_info >= (3, 13)):
        assert (tmp_path / rel in [p for p in tmp_path.glob(pattern) if p.is_file()]) is expected
    assert glob_matches(pattern, rel) is expected
