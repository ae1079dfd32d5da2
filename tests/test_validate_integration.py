"""The baseline gate with the real tsc (examples/workspace's TypeScript 5.9) on a copy of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.patch.staging import staging_copy
from engine.validate.baseline import load_baseline
from engine.validate.run import make_batch_validator, validate_workspace
from engine.workspace import Workspace
from tests.conftest import copy_example

pytestmark = pytest.mark.integration

EXAMPLE_WORKSPACE = Path(__file__).resolve().parent.parent / "examples" / "workspace"
LOGGER = "apps/logger/src/index.ts"
PATCH_TS = "orchestrator/worker/entrypoints/patch.ts"
OLD_TYPE_ERROR = 'export const legacyPort: number = "8080";\n'
OLD_NAME_ERROR = "export const legacyHost = LEGACY_HOST_NAME;\n"
BUILDINFO = Path(".vibehq") / "tsc" / "tsconfig.tsbuildinfo"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A copy of examples/workspace whose logger app already has two type errors."""
    root = copy_example(tmp_path / "workspace")
    logger = root / LOGGER
    logger.write_text(logger.read_text() + OLD_TYPE_ERROR + OLD_NAME_ERROR)
    return Workspace.open(root)


def _edit(ws: Workspace, rel: str, old: str, new: str) -> str:
    text = (ws.root / rel).read_text()
    assert old in text
    return text.replace(old, new, 1)


def _add_new_error(ws: Workspace) -> str:
    return _edit(
        ws,
        PATCH_TS,
        "const MAX_PATCHES_PER_BATCH = 200;",
        'const MAX_PATCHES_PER_BATCH: number = "200";',
    )


def test_only_errors_a_change_introduced_are_reported(ws: Workspace) -> None:
    recorded = validate_workspace(ws, tools=["tsc"], record=True)

    assert recorded.ok
    baseline = load_baseline(ws, "tsc")
    assert baseline is not None
    assert sorted((f.file, f.code) for f in baseline.findings) == [
        (LOGGER, "TS2304"),
        (LOGGER, "TS2322"),
    ]
    assert (ws.root / BUILDINFO).is_file()

    # The old errors move down three lines; a new one appears in another file.
    logger = ws.root / LOGGER
    logger.write_text("\n\n\n" + logger.read_text())
    (ws.root / PATCH_TS).write_text(_add_new_error(ws))

    report = validate_workspace(ws, tools=["tsc"])

    assert not report.ok
    assert [(f.file, f.line, f.code) for f in report.new] == [(PATCH_TS, 5, "TS2322")]
    assert report.fixed == []
    [tsc] = report.results
    assert (tsc.baseline, tsc.findings, tsc.unchanged) == ("compared", 3, 2)
    assert tsc.summary == "tsc: 1 new error (2 already in the baseline)"

    logger.write_text(_edit(ws, LOGGER, OLD_NAME_ERROR, ""))

    fixed = validate_workspace(ws, tools=["tsc"])

    assert [(f.file, f.code) for f in fixed.new] == [(PATCH_TS, "TS2322")]
    assert [(f.file, f.code) for f in fixed.fixed] == [(LOGGER, "TS2304")]
    assert fixed.results[0].summary == "tsc: 1 new error (1 already in the baseline), 1 fixed"


def test_batch_validator_on_a_staging_copy_judges_against_the_baseline(ws: Workspace) -> None:
    validate_workspace(ws, tools=["tsc"], record=True)
    validator = make_batch_validator(ws)

    shifted = {LOGGER: ("\n\n\n" + (ws.root / LOGGER).read_text()).encode()}
    with staging_copy(ws.root, shifted) as staging:
        result = validator.validate(staging, sorted(shifted))

    assert result.ok, result.findings
    assert result.findings == []
    assert result.summary == "tsc: no new errors (2 already in the baseline)"

    broken = {PATCH_TS: _add_new_error(ws).encode()}
    with staging_copy(ws.root, broken) as staging:
        result = validator.validate(staging, sorted(broken))

    assert not result.ok
    assert [(f.file, f.line, f.code) for f in result.findings] == [(PATCH_TS, 5, "TS2322")]
    assert result.summary == "tsc: 1 new error (2 already in the baseline)"
    assert "MAX_PATCHES_PER_BATCH: number" not in (ws.root / PATCH_TS).read_text()


def test_tsc_state_stays_in_the_workspace_and_names_its_files(ws: Workspace) -> None:
    buildinfo = ws.root / BUILDINFO
    assert not buildinfo.exists()

    with staging_copy(ws.root, {PATCH_TS: _add_new_error(ws).encode()}) as staging:
        result = make_batch_validator(ws).validate(staging, [PATCH_TS])
        assert not (staging / ".vibehq").exists()

    assert not result.ok
    assert buildinfo.is_file()
    assert sorted(p.name for p in buildinfo.parent.iterdir()) == [buildinfo.name]
    # The state a staging run leaves names the workspace's files, not the deleted copy's,
    # so the next run (on the workspace or on another copy) starts warm.
    names = json.loads(buildinfo.read_text())["fileNames"]
    resolved = {os.path.normpath(buildinfo.parent / name) for name in names}
    assert str(ws.root / LOGGER) in resolved
    assert str(ws.root / PATCH_TS) in resolved
    assert all(not name.startswith(str(staging)) for name in resolved)

    # Warm run on the workspace itself: the staged error is not in the real tree.
    report = validate_workspace(ws, tools=["tsc"])
    assert [(f.file, f.code) for f in report.new] == [(LOGGER, "TS2322"), (LOGGER, "TS2304")]


def test_a_warm_staging_run_rechecks_unchanged_dependents(ws: Workspace) -> None:
    validate_workspace(ws, tools=["tsc"], record=True)
    contracts = "@shared/contracts/index.ts"
    narrowed = _edit(ws, contracts, "  linesAdded: number;", "  linesAdded: string;")

    # The state says patch.ts was fine; the batch changes a type patch.ts uses, and tsc
    # must check patch.ts again even though the file itself is the same.
    with staging_copy(ws.root, {contracts: narrowed.encode()}) as staging:
        result = make_batch_validator(ws).validate(staging, [contracts])

    assert not result.ok
    assert [(f.file, f.line, f.code) for f in result.findings] == [(PATCH_TS, 20, "TS2322")]
