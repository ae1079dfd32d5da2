"""Baselines, the ESLint/vitest parsers, the toolchain lookup: fast tests, no Node needed."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import BadInput, ToolchainMissing
from engine.patch.validation import BatchValidator, Finding, ValidationResult
from engine.validate.baseline import (
    Baseline,
    BaselineFinding,
    BaselineUnreadable,
    BaselineValidator,
    ToolFailed,
    diff_findings,
    fingerprint,
    load_baseline,
    record_baseline,
)
from engine.validate.eslint import EslintValidator, parse_eslint_json
from engine.validate.run import ValidatorSuite, make_batch_validator, validate_workspace
from engine.validate.testrun import TestRunner, parse_vitest_json
from engine.validate.toolchain import require_tool
from engine.validate.tsc import TscBuildInfo, parse_tsc_output
from engine.workspace import Workspace


def _tsc(file: str | None, line: int | None, code: str | None, message: str) -> Finding:
    return Finding(tool="tsc", file=file, line=line, column=1, code=code, message=message)


NOT_NUMBER = "Type 'string' is not assignable to type 'number'."
NO_NAME = "Cannot find name 'D1Database'."


def _baseline(*findings: Finding, tool: str = "tsc") -> Baseline:
    return Baseline(
        tool=tool,
        created=datetime.now(UTC),
        findings=[
            BaselineFinding.model_validate({**f.model_dump(), "fingerprint": fingerprint(f)})
            for f in findings
        ],
    )


class FakeValidator:
    """A validator that returns what it is told to, and remembers what it was asked."""

    def __init__(self, name: str, findings: list[Finding], *, ok: bool | None = None) -> None:
        self.name = name
        self.findings = findings
        self.ok = ok
        self.calls: list[tuple[Path, list[str]]] = []

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        self.calls.append((staging_root, list(changed_files)))
        errors = [f for f in self.findings if f.severity == "error"]
        ok = self.ok if self.ok is not None else not errors
        return ValidationResult(
            validator=self.name,
            ok=ok,
            findings=list(self.findings),
            duration_s=0.25,
            summary=f"{self.name}: {len(errors)} errors",
        )


class FileScopedFake(FakeValidator):
    file_scoped = True


# ---- fingerprints and the multiset diff ---------------------------------------------------


def test_fingerprint_ignores_line_and_column_and_whitespace() -> None:
    before = _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)
    shifted = before.model_copy(update={"line": 6, "column": 9})
    rewrapped_message = "Type 'string'  is not\n  assignable to type 'number'."
    rewrapped = before.model_copy(update={"message": rewrapped_message})

    assert fingerprint(before) == fingerprint(shifted) == fingerprint(rewrapped)
    assert len(fingerprint(before)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"file": "src/b.ts"},
        {"code": "TS2345"},
        {"message": "Type 'boolean' is not assignable to type 'number'."},
        {"tool": "eslint"},
    ],
)
def test_fingerprint_changes_with_file_code_message_and_tool(change: dict[str, str]) -> None:
    finding = _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)
    assert fingerprint(finding) != fingerprint(finding.model_copy(update=change))


def test_shifted_findings_are_unchanged_not_new() -> None:
    baseline = _baseline(
        _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER), _tsc("src/a.ts", 9, "TS2304", NO_NAME)
    )
    current = [_tsc("src/a.ts", 6, "TS2322", NOT_NUMBER), _tsc("src/a.ts", 12, "TS2304", NO_NAME)]

    diff = diff_findings(baseline, current)

    assert diff.new == []
    assert diff.fixed == []
    assert diff.unchanged == 2


def test_identical_findings_are_counted_as_a_multiset() -> None:
    baseline = _baseline(
        _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER), _tsc("src/a.ts", 8, "TS2322", NOT_NUMBER)
    )
    current = [
        _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER),
        _tsc("src/a.ts", 5, "TS2322", NOT_NUMBER),
        _tsc("src/a.ts", 8, "TS2322", NOT_NUMBER),
    ]

    diff = diff_findings(baseline, current)

    # The one reported as new is the one that is not on a line an old one was on.
    assert [f.line for f in diff.new] == [5]
    assert diff.unchanged == 2
    assert diff.fixed == []

    fewer = diff_findings(baseline, current[:1])
    assert fewer.new == []
    assert [f.line for f in fewer.fixed] == [8]
    assert fewer.unchanged == 1


def test_new_fixed_and_unchanged_together() -> None:
    kept = _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)
    gone = _tsc("src/b.ts", 1, "TS2304", NO_NAME)
    added = _tsc("src/c.ts", 4, "TS2304", "Cannot find name 'x'.")
    baseline = _baseline(kept, gone)

    diff = diff_findings(baseline, [added, kept.model_copy(update={"line": 30})])

    assert diff.new == [added]
    assert [(f.file, f.code) for f in diff.fixed] == [("src/b.ts", "TS2304")]
    assert type(diff.fixed[0]) is Finding
    assert diff.unchanged == 1


def test_scope_limits_what_counts_as_fixed() -> None:
    baseline = _baseline(
        _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER), _tsc("src/b.ts", 1, "TS2304", NO_NAME)
    )

    diff = diff_findings(baseline, [], scope={"src/a.ts"})

    assert [f.file for f in diff.fixed] == ["src/a.ts"]
    assert diff.unchanged == 0


# ---- recording and loading ---------------------------------------------------------------


def test_record_and_load_round_trip(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    tsc = ValidationResult(
        validator="tsc",
        ok=False,
        findings=[
            _tsc("src/b.ts", 9, "TS2304", NO_NAME),
            _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER),
        ],
    )
    eslint = ValidationResult(validator="eslint", ok=True, findings=[])

    folder = record_baseline(ws, [tsc, eslint])

    assert folder == tmp_path.resolve() / ".vibehq" / "baseline"
    assert sorted(p.name for p in folder.iterdir()) == ["eslint.json", "tsc.json"]
    loaded = load_baseline(ws, "tsc")
    assert loaded is not None
    assert loaded.tool == "tsc"
    # Sorted by file and line, so re-recording an unchanged tree gives the same file.
    assert [(f.file, f.line) for f in loaded.findings] == [("src/a.ts", 3), ("src/b.ts", 9)]
    assert [f.fingerprint for f in loaded.findings] == [
        fingerprint(tsc.findings[1]),
        fingerprint(tsc.findings[0]),
    ]
    empty = load_baseline(ws, "eslint")
    assert empty is not None and empty.findings == []
    assert load_baseline(ws, "tests") is None


def test_results_of_one_tool_share_a_baseline(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    first = ValidationResult(validator="tsc", ok=False, findings=[_tsc("a.ts", 1, "TS1", "x")])
    second = ValidationResult(validator="tsc", ok=False, findings=[_tsc("b.ts", 1, "TS1", "x")])

    record_baseline(ws, [first, second])

    loaded = load_baseline(ws, "tsc")
    assert loaded is not None
    assert [f.file for f in loaded.findings] == ["a.ts", "b.ts"]


def test_a_tool_failure_is_never_recorded(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    timeout = ValidationResult(
        validator="tsc", ok=False, findings=[Finding(tool="tsc", message="tsc did not finish")]
    )

    with pytest.raises(ToolFailed, match=r"tsc did not run cleanly.*tsc did not finish"):
        record_baseline(ws, [timeout])
    assert not (tmp_path / ".vibehq" / "baseline").exists()


def test_a_damaged_baseline_is_one_clear_error(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    path = tmp_path / ".vibehq" / "baseline" / "tsc.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"tool": "tsc", "findings": [')

    with pytest.raises(BaselineUnreadable, match=r"not a valid baseline.*record it again") as info:
        load_baseline(ws, "tsc")
    assert "\n" not in info.value.message
    with pytest.raises(BadInput, match="cannot name a baseline"):
        load_baseline(ws, "../tsc")


# ---- BaselineValidator ----------------------------------------------------------------------


def _record(ws: Workspace, tool: str, findings: list[Finding]) -> None:
    record_baseline(ws, [ValidationResult(validator=tool, ok=not findings, findings=findings)])


def test_only_new_errors_fail_and_the_summary_counts_the_rest(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    old = [_tsc(f"src/m{i}.ts", 1, "TS2322", NOT_NUMBER) for i in range(1390)]
    _record(ws, "tsc", old)
    new = [_tsc("src/new.ts", 2, "TS2304", NO_NAME), _tsc("src/new.ts", 7, "TS2322", NOT_NUMBER)]
    inner = FakeValidator("tsc", [*old[1:], *new])
    validator: BatchValidator = BaselineValidator(inner, ws)

    result = validator.validate(tmp_path / "staging", ["src/new.ts"])

    assert validator.name == "tsc"
    assert not result.ok
    assert result.findings == new
    assert result.summary == "tsc: 2 new errors (1,389 already in the baseline), 1 fixed"
    assert result.duration_s == 0.25
    assert inner.calls == [(tmp_path / "staging", ["src/new.ts"])]


def test_baselined_errors_and_new_warnings_pass(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    old = _tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)
    _record(ws, "tsc", [old])
    warning = Finding(
        tool="tsc", file="src/a.ts", line=1, code="TS6133", message="unused", severity="warning"
    )
    inner = FakeValidator("tsc", [old.model_copy(update={"line": 6}), warning])

    result = BaselineValidator(inner, ws).validate(tmp_path, ["src/a.ts"])

    assert result.ok
    assert result.findings == [warning]
    assert result.summary == "tsc: no new errors, 1 new warning (1 already in the baseline)"


def test_without_a_baseline_it_is_the_inner_validator(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    inner = FakeValidator("tsc", [_tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)])

    result = BaselineValidator(inner, ws).validate(tmp_path, [])

    assert result == inner.validate(tmp_path, [])
    assert not result.ok


def test_a_failure_without_findings_stays_a_failure(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    _record(ws, "tsc", [_tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)])
    inner = FakeValidator("tsc", [], ok=False)

    result = BaselineValidator(inner, ws).validate(tmp_path, [])

    assert not result.ok
    assert result.summary == "tsc: 0 errors"


def test_a_tool_failure_is_always_new(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    _record(ws, "tsc", [_tsc("src/a.ts", 3, "TS2322", NOT_NUMBER)])
    crash = Finding(tool="tsc", message="tsc exited with 134: heap out of memory")
    inner = FakeValidator("tsc", [_tsc("src/a.ts", 3, "TS2322", NOT_NUMBER), crash])

    result = BaselineValidator(inner, ws).validate(tmp_path, [])

    assert not result.ok
    assert result.findings == [crash]


def test_a_file_scoped_validator_is_compared_on_its_files_only(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    lint = [
        Finding(tool="eslint", file="src/a.ts", line=1, code="eqeqeq", message="Use ==="),
        Finding(tool="eslint", file="src/b.ts", line=1, code="eqeqeq", message="Use ==="),
    ]
    _record(ws, "eslint", lint)
    inner = FileScopedFake("eslint", [])

    result = BaselineValidator(inner, ws).validate(tmp_path, ["src/a.ts"])

    # src/b.ts was not linted: its finding is neither fixed nor unchanged.
    assert result.ok
    assert result.summary == "eslint: no new errors, 1 fixed"


def test_suite_runs_every_validator_and_needs_all_to_pass(tmp_path: Path) -> None:
    tsc = FakeValidator("tsc", [])
    eslint = FakeValidator("eslint", [Finding(tool="eslint", file="a.ts", message="x")])
    suite: BatchValidator = ValidatorSuite([tsc, eslint])

    result = suite.validate(tmp_path, ["a.ts"])

    assert suite.name == "tsc+eslint"
    assert not result.ok
    assert result.validator == "tsc+eslint"
    assert [f.tool for f in result.findings] == ["eslint"]
    assert result.summary == "tsc: 0 errors; eslint: 1 errors"
    assert len(tsc.calls) == len(eslint.calls) == 1


# ---- parsers ---------------------------------------------------------------------------------

# `eslint --format json` 9.39 with typescript-eslint (fix and suggestion details trimmed).
ESLINT_JSON = """[
 {"filePath": "ROOT/ignored/c.ts",
  "messages": [{"ruleId": null, "fatal": false, "severity": 1, "message": "File ignored because \
of a matching ignore pattern. Use \\"--no-ignore\\" to disable file ignore settings or use \
\\"--no-warn-ignored\\" to suppress this warning.", "nodeType": null}],
  "suppressedMessages": [], "errorCount": 0, "warningCount": 1, "fatalErrorCount": 0,
  "fixableErrorCount": 0, "fixableWarningCount": 0, "usedDeprecatedRules": []},
 {"filePath": "ROOT/src/a.ts",
  "messages": [
   {"ruleId": "prefer-const", "severity": 1, "message": "'count' is never reassigned. Use \
'const' instead.", "line": 1, "column": 5, "nodeType": "Identifier", "messageId": "useConst",
    "endLine": 1, "endColumn": 10, "fix": {"range": [0, 14], "text": "const count = 1;"}},
   {"ruleId": "@typescript-eslint/no-unused-vars", "severity": 2, "message": "'unused' is \
assigned a value but never used.", "line": 2, "column": 7, "nodeType": "Identifier",
    "messageId": "unusedVar", "endLine": 2, "endColumn": 13},
   {"ruleId": "eqeqeq", "severity": 2, "message": "Expected '===' and instead saw '=='.",
    "line": 4, "column": 9, "nodeType": "BinaryExpression", "messageId": "unexpected",
    "endLine": 4, "endColumn": 11, "suggestions": [{"messageId": "replaceOperator",
    "fix": {"range": [69, 71], "text": "==="}, "desc": "Use '===' instead of '=='."}]}],
  "suppressedMessages": [], "errorCount": 2, "fatalErrorCount": 0, "warningCount": 1,
  "fixableErrorCount": 0, "fixableWarningCount": 1,
  "source": "let count = 1;\\nconst unused = 2;\\n", "usedDeprecatedRules": []},
 {"filePath": "ROOT/src/broken.ts",
  "messages": [{"ruleId": null, "nodeType": null, "fatal": true, "severity": 2,
   "message": "Parsing error: Expression expected.", "line": 1, "column": 18}],
  "suppressedMessages": [], "errorCount": 1, "fatalErrorCount": 1, "warningCount": 0,
  "fixableErrorCount": 0, "fixableWarningCount": 0, "usedDeprecatedRules": []},
 {"filePath": "ROOT/src/ok.ts", "messages": [], "suppressedMessages": [], "errorCount": 0,
  "fatalErrorCount": 0, "warningCount": 0, "fixableErrorCount": 0, "fixableWarningCount": 0,
  "usedDeprecatedRules": []}
]"""


def test_parse_eslint_json(tmp_path: Path) -> None:
    findings = parse_eslint_json(ESLINT_JSON.replace("ROOT", str(tmp_path)), tmp_path)

    assert [(f.file, f.line, f.column, f.code, f.severity) for f in findings] == [
        ("src/a.ts", 1, 5, "prefer-const", "warning"),
        ("src/a.ts", 2, 7, "@typescript-eslint/no-unused-vars", "error"),
        ("src/a.ts", 4, 9, "eqeqeq", "error"),
        ("src/broken.ts", 1, 18, None, "error"),
    ]
    assert all(f.tool == "eslint" for f in findings)
    assert findings[2].message == "Expected '===' and instead saw '=='."
    assert findings[3].message == "Parsing error: Expression expected."


def test_parse_eslint_json_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        parse_eslint_json("Oops! Something went wrong! :(", tmp_path)
    with pytest.raises(ValueError):
        parse_eslint_json('{"errorCount": 1}', tmp_path)


# `vitest run --reporter=json` 3.2 (stack frames and snapshot counters trimmed).
VITEST_JSON = """{
 "numTotalTestSuites": 4, "numFailedTestSuites": 4, "numTotalTests": 3, "numPassedTests": 1,
 "numFailedTests": 2, "success": false, "startTime": 1795283837383,
 "testResults": [
  {"assertionResults": [], "startTime": 1795283837383, "endTime": 1795283837383,
   "status": "failed", "message": "Cannot find module './does-not-exist' imported from \
'ROOT/tests/broken.test.ts'", "name": "ROOT/tests/broken.test.ts"},
  {"assertionResults": [
    {"ancestorTitles": ["math"], "fullName": "math adds", "status": "passed", "title": "adds",
     "duration": 0.98, "failureMessages": [], "meta": {}},
    {"ancestorTitles": ["math"], "fullName": "math multiplies", "status": "failed",
     "title": "multiplies", "duration": 5.17, "failureMessages": ["AssertionError: expected 6 \
to be 7 // Object.is equality\\n    at ROOT/tests/math.test.ts:9:19\\n    at \
file:///ROOT/node_modules/@vitest/runner/dist/chunk-hooks.js:155:11"], "meta": {}},
    {"ancestorTitles": ["math", "nested"], "fullName": "math nested compares objects",
     "status": "failed", "title": "compares objects", "duration": 2.15,
     "location": {"line": 13, "column": 5},
     "failureMessages": ["AssertionError: expected { a: 1 } to deeply equal { a: 2 }\\n    at \
ROOT/tests/math.test.ts:14:35"], "meta": {}}],
   "startTime": 1795283837648, "endTime": 1795283837657.1582, "status": "failed",
   "message": "", "name": "ROOT/tests/math.test.ts"}
 ]
}"""


def test_parse_vitest_json(tmp_path: Path) -> None:
    findings = parse_vitest_json(VITEST_JSON.replace("ROOT", str(tmp_path)), tmp_path)

    assert [(f.tool, f.file, f.line, f.column) for f in findings] == [
        ("vitest", "tests/broken.test.ts", None, None),
        ("vitest", "tests/math.test.ts", 9, 19),
        ("vitest", "tests/math.test.ts", 13, 5),
    ]
    assert [f.message for f in findings] == [
        "Cannot find module './does-not-exist' imported from 'tests/broken.test.ts'",
        "math multiplies: AssertionError: expected 6 to be 7 // Object.is equality",
        "math nested compares objects: AssertionError: expected { a: 1 } to deeply equal { a: 2 }",
    ]
    assert all(f.severity == "error" for f in findings)


def test_parse_tsc_output_makes_paths_in_messages_relative(tmp_path: Path) -> None:
    text = (
        f"{tmp_path}/src/a.ts(3,7): error TS2322: Type 'import(\"{tmp_path}/src/types\").Env' "
        "is not assignable to type 'number'.\n"
    )
    [finding] = parse_tsc_output(text, root=tmp_path)
    assert finding.file == "src/a.ts"
    assert finding.message == "Type 'import(\"src/types\").Env' is not assignable to type 'number'."


# ---- toolchain ---------------------------------------------------------------------------------


def _fake_tool(root: Path, name: str, script: str) -> Path:
    tool = root / "node_modules" / ".bin" / name
    tool.parent.mkdir(parents=True, exist_ok=True)
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)
    return tool


def test_missing_tool_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(ToolchainMissing) as info:
        require_tool(tmp_path, "eslint")
    message = info.value.message
    assert "\n" not in message
    assert str(tmp_path / "node_modules" / ".bin" / "eslint") in message
    assert "`npm install --save-dev eslint`" in message
    assert info.value.exit_code == 2

    with pytest.raises(ToolchainMissing, match=r"npm install --save-dev typescript"):
        require_tool(tmp_path, "tsc")


def test_a_global_tool_on_path_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "global"
    _fake_tool(elsewhere, "eslint", "exit 0\n")
    monkeypatch.setenv(
        "PATH", f"{elsewhere / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
    )
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with pytest.raises(ToolchainMissing):
        require_tool(workspace, "eslint")


def test_eslint_configured_but_not_installed(tmp_path: Path) -> None:
    (tmp_path / "eslint.config.mjs").write_text("export default [];\n")
    with pytest.raises(ToolchainMissing, match=r"`npm install --save-dev eslint`"):
        EslintValidator(tmp_path)


def test_no_test_runner_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "scripts": {"build": "tsc"}}')
    with pytest.raises(ToolchainMissing, match=r"`npm install --save-dev vitest`"):
        TestRunner(tmp_path)


# ---- the ESLint validator with a stand-in eslint -------------------------------------------------


def test_eslint_is_skipped_without_a_config(tmp_path: Path) -> None:
    result = EslintValidator(tmp_path).validate(tmp_path, ["src/a.ts"])
    assert result.ok
    assert result.summary == "eslint: skipped (the workspace has no config)"


def test_eslint_lints_only_existing_changed_sources(tmp_path: Path) -> None:
    args = tmp_path / "args.txt"
    message = {"ruleId": "eqeqeq", "severity": 2, "message": "Use ===", "line": 3, "column": 2}
    report = json.dumps([{"filePath": f"{tmp_path}/src/a.ts", "messages": [message]}])
    _fake_tool(
        tmp_path,
        "eslint",
        f'echo "$ESLINT_USE_FLAT_CONFIG $@" > "{args}"\ncat <<\'EOF\'\n{report}\nEOF\nexit 1\n',
    )
    (tmp_path / ".eslintrc.json").write_text("{}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.ts").write_text("x")
    (tmp_path / "README.md").write_text("x")

    result = EslintValidator(tmp_path).validate(
        tmp_path, ["src/a.ts", "README.md", "src/deleted.ts"]
    )

    # A legacy .eslintrc needs eslint 9 told to read it.
    assert args.read_text().split() == ["false", "--format", "json", "--", "src/a.ts"]
    assert not result.ok
    assert [(f.file, f.line, f.code) for f in result.findings] == [("src/a.ts", 3, "eqeqeq")]
    assert result.summary == "eslint: 1 error"


def test_an_eslint_crash_is_a_failure_with_its_output(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "eslint", "echo 'TypeError: Could not find \"x\"' >&2\nexit 2\n")
    (tmp_path / "eslint.config.js").write_text("export default [];\n")

    result = EslintValidator(tmp_path).validate(tmp_path, [])

    assert not result.ok
    assert result.summary == "eslint: failed to run (exit 2)"
    assert result.findings[0].message == 'eslint exited with 2: TypeError: Could not find "x"'


# ---- tsc incremental state: where it lives and how a staging copy reuses it ------------


def test_buildinfo_is_rebased_between_the_workspace_and_a_staging_copy(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    staging = tmp_path / "tmp" / "vibehq-staging-x"
    outside = tmp_path / "elsewhere" / "node_modules" / "typescript" / "lib" / "lib.d.ts"
    info = TscBuildInfo(workspace, "packages/api/tsconfig.build.json")
    assert info.path == workspace / ".vibehq" / "tsc" / "packages__api__tsconfig.build.tsbuildinfo"
    info.path.parent.mkdir(parents=True)
    names = [
        "../../src/a.ts",
        "../../node_modules/@types/node/index.d.ts",
        os.path.relpath(outside, info.path.parent),
    ]
    info.path.write_text(json.dumps({"fileNames": names, "version": "5.9.3"}))

    with info.scratch(staging) as (scratch, seeded):
        assert seeded
        assert scratch.parent == staging / ".vibehq" / "tsc"
        seed = json.loads(scratch.read_text())["fileNames"]
        resolved = [os.path.normpath(scratch.parent / n) for n in seed]
        # Files of the tree move with it; node_modules (linked) and outside files do not.
        assert resolved == [
            str(staging / "src" / "a.ts"),
            str(workspace / "node_modules" / "@types" / "node" / "index.d.ts"),
            str(outside),
        ]
        scratch.write_text(json.dumps({"fileNames": [*seed, "../../src/b.ts"], "version": "5.9.3"}))
        info.publish(staging, scratch)

    published = json.loads(info.path.read_text())["fileNames"]
    assert published == [*names, "../../src/b.ts"]
    # The scratch file and the folders made for it are gone.
    assert not (staging / ".vibehq").exists()
    assert [p.name for p in info.path.parent.iterdir()] == [info.path.name]


def test_unusable_buildinfo_means_a_cold_start(tmp_path: Path) -> None:
    info = TscBuildInfo(tmp_path / "ws", "tsconfig.json")
    info.path.parent.mkdir(parents=True)
    info.path.write_text('{"fileNames": [1, 2], "version": "5.9.3"}')
    with info.scratch(tmp_path / "staging") as (scratch, seeded):
        assert not seeded
        assert not scratch.exists()


# ---- composing and running with a stand-in tsc ------------------------------------------------


TSC_SCRIPT = """\
case "$*" in *--incremental*) ;; *) echo "not incremental"; exit 9;; esac
cat src/errors.txt 2>/dev/null
test -s src/errors.txt && exit 2
exit 0
"""


def _fake_workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    _fake_tool(root, "tsc", TSC_SCRIPT)
    (root / "tsconfig.json").write_text("{}")
    (root / "src").mkdir()
    return Workspace.open(root)


def test_validate_workspace_records_then_compares(tmp_path: Path) -> None:
    ws = _fake_workspace(tmp_path)
    errors = ws.root / "src" / "errors.txt"
    old = "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n"
    errors.write_text(old)

    recorded = validate_workspace(ws, record=True)

    assert recorded.ok and recorded.recorded
    assert [(r.tool, r.baseline) for r in recorded.results] == [
        ("tsc", "recorded"),
        ("eslint", "skipped"),
    ]
    assert recorded.results[0].summary == (
        "tsc: baseline recorded, 1 finding (.vibehq/baseline/tsc.json)"
    )

    errors.write_text("\n\n" + old.replace("(3,7)", "(6,7)") + old.replace("a.ts", "b.ts"))
    report = validate_workspace(ws, tools=["tsc"])

    assert not report.ok
    assert [(f.file, f.line) for f in report.new] == [("src/b.ts", 3)]
    assert report.fixed == []
    [tsc] = report.results
    assert (tsc.baseline, tsc.findings, tsc.unchanged) == ("compared", 2, 1)
    assert tsc.summary == "tsc: 1 new error (1 already in the baseline)"


def test_validate_workspace_without_a_baseline_counts_everything(tmp_path: Path) -> None:
    ws = _fake_workspace(tmp_path)
    (ws.root / "src" / "errors.txt").write_text("src/a.ts(3,7): error TS2304: Cannot find 'x'.\n")

    report = validate_workspace(ws, tools=["tsc"])

    assert not report.ok
    assert report.results[0].baseline == "none"
    assert report.results[0].summary.endswith("(no baseline recorded: every finding counts)")
    with pytest.raises(BadInput, match="unknown tool 'jest'"):
        validate_workspace(ws, tools=["jest"])


def test_batch_validator_is_baselined_incremental_tsc_plus_eslint_when_configured(
    tmp_path: Path,
) -> None:
    ws = _fake_workspace(tmp_path)
    only_tsc = make_batch_validator(ws)
    assert isinstance(only_tsc, BaselineValidator)
    assert only_tsc.name == "tsc"
    assert only_tsc.validate(ws.root, ["src/a.ts"]).ok

    (ws.root / "eslint.config.mjs").write_text("export default [];\n")
    _fake_tool(ws.root, "eslint", "echo '[]'\n")
    both = make_batch_validator(ws)
    assert both.name == "tsc+eslint"
    assert isinstance(both, ValidatorSuite)
    assert all(isinstance(v, BaselineValidator) for v in both.validators)
