"""The test runner: the workspace's own test suite, run when asked (never on every batch).

With vitest installed (`node_modules/.bin/vitest`) it runs `vitest run --reporter=json`
and turns each failed test into a finding that names the test file and, from the stack,
the line. Otherwise it runs the package's `test` script with `npm test --silent`, which
says only pass or fail: one finding for the exit code. That finding has a stable message
and a code, so a suite that already fails can be baselined, at the price that a batch
breaking one more test goes unnoticed there; install vitest for a per-test verdict.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.errors import ToolchainMissing
from engine.patch.validation import Finding, ValidationResult
from engine.validate.toolchain import find_tool, output_tail, relative_posix, run_tool

__all__ = ["TestRunner", "parse_vitest_json"]

NAME = "tests"
_NPM_TEST_CODE = "npm-test"
# Colour codes would end up in findings and summaries.
_PLAIN_OUTPUT = {"NO_COLOR": "1", "FORCE_COLOR": "0"}


def parse_vitest_json(text: str, root: Path) -> list[Finding]:
    """Turn vitest's JSON report (jest-compatible) into findings, one per failed test.

    A test file that fails as a whole (a syntax error, a missing import) has no test results
    and becomes one finding with the file's error. Lines come from the test's `location`
    when vitest was configured to include it, else from the first stack frame in the file.
    Raises ValueError if `text` is not a vitest JSON report.
    """
    report = json.loads(text)
    if not isinstance(report, dict) or not isinstance(report.get("testResults"), list):
        raise ValueError("a vitest JSON report is an object with a testResults list")
    prefix = str(root).rstrip(os.sep) + os.sep
    findings: list[Finding] = []
    for suite in report["testResults"]:
        name = str(suite.get("name", ""))
        file = relative_posix(name, root)
        failed = [a for a in suite.get("assertionResults", []) if a.get("status") == "failed"]
        for assertion in failed:
            findings.append(_failed_test(assertion, name, file, prefix))
        if suite.get("status") == "failed" and not failed:
            message = _first_line(str(suite.get("message") or "the test file failed"), prefix)
            findings.append(Finding(tool="vitest", file=file, message=message))
    return findings


def _failed_test(assertion: dict[str, Any], path: str, file: str, prefix: str) -> Finding:
    messages = [str(m) for m in assertion.get("failureMessages") or []]
    reason = _first_line(messages[0], prefix) if messages else "failed"
    title = str(assertion.get("fullName") or assertion.get("title") or "a test")
    line, column = _location(assertion, path, messages)
    return Finding(tool="vitest", file=file, line=line, column=column, message=f"{title}: {reason}")


def _location(
    assertion: dict[str, Any], path: str, messages: list[str]
) -> tuple[int | None, int | None]:
    location = assertion.get("location")
    if isinstance(location, dict) and isinstance(location.get("line"), int):
        column = location.get("column")
        return location["line"], column if isinstance(column, int) else None
    frame = re.compile(rf"(?:file://)?{re.escape(path)}:(\d+):(\d+)")
    for message in messages:
        match = frame.search(message)
        if match is not None:
            return int(match[1]), int(match[2])
    return None, None


def _first_line(message: str, prefix: str) -> str:
    lines = message.strip().splitlines()
    return (lines[0] if lines else message).replace(prefix, "").strip()


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    findings: list[Finding]
    summary: str


class TestRunner:
    """Runs the workspace's tests; a `BatchValidator`, so it can be baselined like the others."""

    # Its name starts with "Test"; this tells pytest it is not a test class.
    __test__ = False
    name = NAME

    def __init__(self, workspace_root: Path, *, timeout_s: float = 900) -> None:
        self.workspace_root = workspace_root.resolve()
        self.timeout_s = timeout_s
        vitest = find_tool(self.workspace_root, "vitest")
        self.runner: Literal["vitest", "npm"] = "vitest" if vitest is not None else "npm"
        if vitest is not None:
            self.executable = str(vitest)
            return
        if not _has_test_script(self.workspace_root):
            raise ToolchainMissing(
                f"no test runner in {self.workspace_root}: install vitest "
                '(`npm install --save-dev vitest`) or add a "test" script to package.json'
            )
        npm = shutil.which("npm")
        if npm is None:
            raise ToolchainMissing(
                "npm not found on PATH: install Node.js (it ships npm) to run the test script"
            )
        self.executable = npm

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        # The whole suite runs: a change breaks tests anywhere, not only next to it.
        started = time.monotonic()
        try:
            if self.runner == "vitest":
                outcome = self._vitest(staging_root)
            else:
                outcome = self._npm_test(staging_root)
        except subprocess.TimeoutExpired:
            message = f"the tests did not finish within {self.timeout_s:g}s"
            summary = f"tests: timed out after {self.timeout_s:g}s"
            outcome = _Outcome(False, [Finding(tool=NAME, message=message)], summary)
        return ValidationResult(
            validator=NAME,
            ok=outcome.ok,
            findings=outcome.findings,
            duration_s=round(time.monotonic() - started, 3),
            summary=outcome.summary,
        )

    def _vitest(self, root: Path) -> _Outcome:
        # The report goes to a file, not stdout, where the tests' own console output would
        # get mixed into the JSON; and outside the tree, where a watcher could see it.
        with tempfile.TemporaryDirectory(prefix="vibehq-vitest-") as folder:
            report = Path(folder) / "report.json"
            command = [self.executable, "run", "--reporter=json", f"--outputFile={report}"]
            command.append("--passWithNoTests")
            run = run_tool(command, cwd=root, timeout_s=self.timeout_s, env=_PLAIN_OUTPUT)
            text = report.read_text(encoding="utf-8") if report.is_file() else ""
        try:
            findings = parse_vitest_json(text, root.resolve())
        except (ValueError, TypeError, AttributeError):
            findings = []
        if run.returncode != 0 and not findings:
            tail = output_tail(run.stderr + run.stdout)
            message = f"vitest exited with {run.returncode}: {tail}"
            summary = f"tests: vitest failed to run (exit {run.returncode})"
            return _Outcome(False, [Finding(tool="vitest", message=message)], summary)
        if not findings:
            return _Outcome(True, [], "tests: all passed (vitest)")
        return _Outcome(False, findings, f"tests: {_plural(len(findings), 'failure')} (vitest)")

    def _npm_test(self, root: Path) -> _Outcome:
        command = [self.executable, "test", "--silent"]
        run = run_tool(command, cwd=root, timeout_s=self.timeout_s, env=_PLAIN_OUTPUT)
        if run.returncode == 0:
            return _Outcome(True, [], "tests: npm test passed")
        last = output_tail(run.stdout + run.stderr).splitlines()[-1]
        message = f"npm test failed with exit code {run.returncode}"
        finding = Finding(tool="npm", code=_NPM_TEST_CODE, message=message)
        return _Outcome(False, [finding], f"tests: {message}: {last}")


def _has_test_script(root: Path) -> bool:
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    scripts = package.get("scripts") if isinstance(package, dict) else None
    return isinstance(scripts, dict) and isinstance(scripts.get("test"), str)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
