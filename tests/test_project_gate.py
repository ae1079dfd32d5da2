"""The epic's per-folder type check (`engine/epic/project_gate.py`) with the real tsc: changed
files only the root tsconfig owns are judged in a narrow program of their folders, against
the same program before the change; the root program's other findings (a STAGING folder's)
and errors in files only earlier folders changed never count against this folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.epic.project_gate import check_folder
from engine.patch.staging import staging_copy
from engine.validate.baseline import Baseline, BaselineFinding, fingerprint
from engine.validate.projects import check_project
from tests.conftest import EXAMPLES, write

MODULES = EXAMPLES / "workspace" / "node_modules"
ENTRYPOINTS = "orchestrator/worker/entrypoints"


def target(root: Path) -> Path:
    if not (MODULES / ".bin" / "tsc").exists():
        pytest.skip("examples/workspace/node_modules is missing: run `make setup`")
    write(
        root,
        "tsconfig.json",
        '{"compilerOptions": {"strict": true, "noEmit": true, "types": []},'
        ' "include": ["**/*.ts"], "exclude": ["node_modules"]}\n',
    )
    (root / "node_modules").symlink_to(MODULES.resolve(), target_is_directory=True)
    # Already wrong before the run: in the narrow program's before-picture too.
    write(root, f"{ENTRYPOINTS}/OldOps.ts", 'export const old: number = "x";\n')
    # A STAGING folder's error, in the root program only.
    write(root, "STAGING/w/src/bad.ts", "export const bad: string = 1;\n")
    return root


@pytest.mark.integration
def test_root_owned_files_are_judged_in_a_narrow_program_against_its_before(
    tmp_path: Path,
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    root = target(tmp_path / "t")
    taken: list[str] = []

    def before(tsconfig: str, config: bytes | None) -> Baseline:
        assert config is not None
        write(root, tsconfig, config)
        taken.append(tsconfig)
        check = check_project(root, tsconfig)
        return Baseline(
            tool="tsc",
            created="2026-01-01T00:00:00Z",
            findings=[
                BaselineFinding(**f.model_dump(), fingerprint=fingerprint(f))
                for f in check.findings
                if f.severity == "error"
            ],
        )

    changes: dict[str, bytes | None] = {
        f"{ENTRYPOINTS}/NewOps.ts": (
            b'export const fresh: string = 2;\nexport { old } from "./OldOps";\n'
        ),
        f"{ENTRYPOINTS}/index.ts": b'export * from "./NewOps";\n',
        # An earlier folder of the run wrote this one; its own gate judged it.
        f"{ENTRYPOINTS}/EarlierOps.ts": b"export const early: boolean = 3;\n",
    }
    with staging_copy(root, changes) as overlay:
        check = check_folder(
            overlay,
            [f"{ENTRYPOINTS}/NewOps.ts", f"{ENTRYPOINTS}/index.ts"],
            dest="apps/w",
            baseline=None,
            project_baseline=before,
            earlier={f"{ENTRYPOINTS}/EarlierOps.ts"},
        )
    assert len(taken) == 1 and taken[0].startswith(".vibehq/tsc/narrow-")
    assert check.projects == [f"tsconfig.json (narrow: {ENTRYPOINTS})"]
    # Only this folder's own error: not OldOps' (before too), not STAGING's (outside the
    # narrow program), not EarlierOps' (an earlier folder's).
    assert [(f.file, f.code) for f in check.new] == [(f"{ENTRYPOINTS}/NewOps.ts", "TS2322")]
    assert check.preexisting == 1
    result = check.result()
    assert not result.ok and f"{ENTRYPOINTS}/NewOps.ts:1 TS2322" in result.summary
