from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.errors import ToolchainMissing, UnsafePath
from engine.patch.staging import staging_copy
from engine.patch.validation import BatchValidator
from engine.validate.tsc import TscValidator, parse_tsc_output
from tests.conftest import copy_example

EXAMPLE_WORKSPACE = Path(__file__).resolve().parent.parent / "examples" / "workspace"
PATCH_TS = "orchestrator/worker/entrypoints/patch.ts"

# Captured from `tsc --noEmit --pretty false` 5.9 on the example workspace with errors added.
TSC_OUTPUT = """\
apps/logger/src/index.ts(29,78): error TS2322: Type 'string' is not assignable to type 'number'.
apps/logger/src/index.ts(31,3): error TS2345: Argument of type '(a: string) => void' is not \
assignable to parameter of type '(a: number) => void'.
  Types of parameters 'a' and 'a' are incompatible.
    Type 'number' is not assignable to type 'string'.
orchestrator/worker/types.ts(3,7): error TS2552: Cannot find name 'D1Database'. Did you mean \
'IDBDatabase'?
error TS5058: The specified path does not exist: 'nope.json'.
"""


def _write_fake_tsc(root: Path, script: str) -> Path:
    """An executable stand-in for node_modules/.bin/tsc, for the paths that need no TypeScript."""
    tsc = root / "node_modules" / ".bin" / "tsc"
    tsc.parent.mkdir(parents=True, exist_ok=True)
    tsc.write_text("#!/bin/sh\n" + script)
    tsc.chmod(0o755)
    return tsc


# ---- parse_tsc_output ---------------------------------------------------------------------


def test_parse_located_diagnostics_with_continuations() -> None:
    findings = parse_tsc_output(TSC_OUTPUT)

    assert [(f.file, f.line, f.column, f.code) for f in findings] == [
        ("apps/logger/src/index.ts", 29, 78, "TS2322"),
        ("apps/logger/src/index.ts", 31, 3, "TS2345"),
        ("orchestrator/worker/types.ts", 3, 7, "TS2552"),
        (None, None, None, "TS5058"),
    ]
    assert all(f.tool == "tsc" and f.severity == "error" for f in findings)
    assert findings[0].message == "Type 'string' is not assignable to type 'number'."
    assert findings[1].message.splitlines() == [
        "Argument of type '(a: string) => void' is not assignable to parameter of type "
        "'(a: number) => void'.",
        "Types of parameters 'a' and 'a' are incompatible.",
        "Type 'number' is not assignable to type 'string'.",
    ]
    assert findings[3].message == "The specified path does not exist: 'nope.json'."


def test_parse_handles_crlf_warnings_noise_and_absolute_paths(tmp_path: Path) -> None:
    absolute = tmp_path / "src" / "a.ts"
    text = (
        "Version 5.9.3\r\n"
        f"{absolute}(1,2): error TS2304: Cannot find name 'x'.\r\n"
        "  which is used here\r\n"
        "\r\n"
        "/elsewhere/lib.ts(4,1): warning TS6133: 'y' is declared but never used.\r\n"
        "src/b(1).ts(7,9): message TS6194: Found 0 errors.\r\n"
    )
    findings = parse_tsc_output(text, root=tmp_path)

    assert [(f.file, f.line, f.severity) for f in findings] == [
        ("src/a.ts", 1, "error"),
        ("/elsewhere/lib.ts", 4, "warning"),
        ("src/b(1).ts", 7, "info"),
    ]
    assert findings[0].message == "Cannot find name 'x'.\nwhich is used here"


def test_parse_empty_output_is_no_findings() -> None:
    assert parse_tsc_output("") == []
    assert parse_tsc_output("\n\n") == []


# ---- constructor and failure paths (fake tsc, fast) -------------------------------------------


def test_missing_tsc_raises_toolchain_missing_with_install_hint(tmp_path: Path) -> None:
    (tmp_path / "tsconfig.json").write_text("{}")
    with pytest.raises(ToolchainMissing) as info:
        TscValidator(tmp_path)
    message = info.value.message
    assert "\n" not in message
    assert str(tmp_path / "node_modules" / ".bin" / "tsc") in message
    assert f"run `npm install` in {tmp_path.resolve()}" in message
    assert info.value.exit_code == 2


def test_missing_tsconfig_raises_toolchain_missing(tmp_path: Path) -> None:
    _write_fake_tsc(tmp_path, "exit 0\n")
    with pytest.raises(ToolchainMissing, match=r"tsconfig 'tsconfig\.build\.json' not found"):
        TscValidator(tmp_path, tsconfig="tsconfig.build.json")


def test_tsconfig_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    _write_fake_tsc(tmp_path, "exit 0\n")
    with pytest.raises(UnsafePath):
        TscValidator(tmp_path, tsconfig="../tsconfig.json")


def test_validator_satisfies_the_protocol(tmp_path: Path) -> None:
    _write_fake_tsc(tmp_path, "exit 0\n")
    (tmp_path / "tsconfig.json").write_text("{}")
    validator: BatchValidator = TscValidator(tmp_path)
    result = validator.validate(tmp_path, [])
    assert validator.name == "tsc"
    assert result.validator == "tsc"
    assert result.ok
    assert result.summary == "tsc: no errors"


def test_timeout_kills_tsc_and_reports_not_ok(tmp_path: Path) -> None:
    # The child `sleep` keeps stdout open: unless the whole process group is killed,
    # reading the output would wait the full 30 s.
    _write_fake_tsc(tmp_path, "sleep 30\n")
    (tmp_path / "tsconfig.json").write_text("{}")
    validator = TscValidator(tmp_path, timeout_s=0.5)

    started = time.monotonic()
    result = validator.validate(tmp_path, ["src/a.ts"])

    assert time.monotonic() - started < 10
    assert not result.ok
    assert result.summary == "tsc: timed out after 0.5s"
    assert result.findings[0].message == "tsc did not finish within 0.5s"


def test_nonzero_exit_without_diagnostics_is_not_ok_and_keeps_output(tmp_path: Path) -> None:
    _write_fake_tsc(tmp_path, "echo 'FATAL ERROR: JavaScript heap out of memory'\nexit 134\n")
    (tmp_path / "tsconfig.json").write_text("{}")

    result = TscValidator(tmp_path).validate(tmp_path, [])

    assert not result.ok
    assert len(result.findings) == 1
    assert result.findings[0].message == (
        "tsc exited with 134: FATAL ERROR: JavaScript heap out of memory"
    )
    assert result.summary == "tsc: 1 error"


def test_tsconfig_deleted_by_the_batch_is_not_ok(tmp_path: Path) -> None:
    _write_fake_tsc(tmp_path, "exit 0\n")
    (tmp_path / "tsconfig.json").write_text("{}")
    staging = tmp_path / "staging"
    staging.mkdir()

    result = TscValidator(tmp_path).validate(staging, ["tsconfig.json"])

    assert not result.ok
    assert result.summary == "tsc: tsconfig.json is missing from the staging copy"


def test_runs_tsc_with_the_project_flags_in_the_staging_root(tmp_path: Path) -> None:
    args_file = tmp_path / "args.txt"
    _write_fake_tsc(
        tmp_path,
        f'pwd > "{args_file}"\necho "$@" >> "{args_file}"\n'
        "echo \"src/a.ts(3,1): error TS2322: Type 'string' is not assignable to type 'number'.\"\n"
        "echo \"src/b.ts(1,1): error TS2304: Cannot find name 'x'.\"\n"
        "echo \"src/b.ts(2,1): error TS2304: Cannot find name 'y'.\"\n"
        "exit 2\n",
    )
    (tmp_path / "tsconfig.json").write_text("{}")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "tsconfig.json").write_text("{}")

    result = TscValidator(tmp_path).validate(staging, ["src/a.ts"])

    cwd, args = args_file.read_text().splitlines()
    assert Path(cwd).resolve() == staging.resolve()
    assert args == f"--noEmit --pretty false -p {staging / 'tsconfig.json'}"
    assert not result.ok
    assert result.summary == "tsc: 3 errors in 2 files"
    assert result.duration_s >= 0


# ---- integration: the real tsc on examples/workspace ------------------------------------------


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "workspace")


@pytest.mark.integration
def test_clean_example_workspace_type_checks(example_workspace: Path) -> None:
    validator = TscValidator(example_workspace)
    with staging_copy(example_workspace, {}) as staging:
        result = validator.validate(staging, [])
    assert result.ok, result.findings
    assert result.findings == []
    assert result.summary == "tsc: no errors"
    assert result.duration_s > 0


@pytest.mark.integration
def test_type_error_in_a_changed_file_is_reported(example_workspace: Path) -> None:
    source = (example_workspace / PATCH_TS).read_text()
    broken = source.replace(
        "const MAX_PATCHES_PER_BATCH = 200;", 'const MAX_PATCHES_PER_BATCH: number = "200";'
    )
    assert broken != source
    validator = TscValidator(example_workspace)

    with staging_copy(example_workspace, {PATCH_TS: broken.encode()}) as staging:
        result = validator.validate(staging, [PATCH_TS])

    assert not result.ok
    assert [(f.file, f.line, f.column, f.code) for f in result.findings] == [
        (PATCH_TS, 5, 7, "TS2322")
    ]
    assert result.findings[0].message == "Type 'string' is not assignable to type 'number'."
    assert result.summary == "tsc: 1 error in 1 file"
    assert (example_workspace / PATCH_TS).read_text() == source


@pytest.mark.integration
def test_error_surfacing_in_an_unchanged_dependent_is_reported(example_workspace: Path) -> None:
    contracts = "@shared/contracts/index.ts"
    source = (example_workspace / contracts).read_text()
    narrowed = source.replace("  linesAdded: number;", "  linesAdded: string;")
    assert narrowed != source

    with staging_copy(example_workspace, {contracts: narrowed.encode()}) as staging:
        result = TscValidator(example_workspace).validate(staging, [contracts])

    assert not result.ok
    # patch.ts builds PatchEvents (line 20) with `linesAdded: 0`; only a project-wide check
    # sees that, since the changed file itself is fine.
    assert {(f.file, f.code) for f in result.findings} == {(PATCH_TS, "TS2322")}
    assert [f.line for f in result.findings] == [20]
    assert "linesAdded" in result.findings[0].message
