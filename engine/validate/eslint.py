"""The ESLint validator: the workspace's own `eslint --format json` on the files a batch changes.

It runs only in workspaces that configure ESLint; a workspace without a config has no
lint rules to break, so the check passes with a summary that says it was skipped.
Unlike tsc, a lint rule judges one file at a time, so linting the changed files is
enough (`file_scoped`, which tells a baseline diff not to count unlinted files as fixed).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from engine.patch.validation import Finding, Severity, ValidationResult
from engine.validate.toolchain import output_tail, relative_posix, require_tool, run_tool

__all__ = [
    "ESLINT_CONFIGS",
    "FLAT_CONFIGS",
    "LEGACY_CONFIGS",
    "LINTED_SUFFIXES",
    "EslintValidator",
    "eslint_config",
    "parse_eslint_json",
]

TOOL = "eslint"
FLAT_CONFIGS = tuple(f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts"))
LEGACY_CONFIGS = tuple(f".eslintrc{ext}" for ext in ("", ".js", ".cjs", ".yaml", ".yml", ".json"))
ESLINT_CONFIGS = FLAT_CONFIGS + LEGACY_CONFIGS
LINTED_SUFFIXES = frozenset({".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts"})

# ESLint reports files it was asked to lint but ignores (an ignore pattern, no matching
# config block) as a warning without a rule; they say nothing about the code.
_IGNORED_NOTICE = "File ignored "
_SEVERITY: dict[int, Severity] = {2: "error", 1: "warning"}


def eslint_config(root: Path) -> str | None:
    """The name of the workspace's ESLint config file, flat config first; None if it has none."""
    for name in ESLINT_CONFIGS:
        if (root / name).is_file():
            return name
    return None


def parse_eslint_json(text: str, root: Path) -> list[Finding]:
    """Turn `eslint --format json` output into findings, one per reported message.

    File paths (absolute in ESLint's output) are made relative to `root`. A message without
    a rule is a parsing error, reported with code None; "file ignored" notices are dropped.
    Raises ValueError if `text` is not ESLint's JSON report.
    """
    report = json.loads(text)
    if not isinstance(report, list):
        raise ValueError("an ESLint JSON report is a list of file results")
    findings: list[Finding] = []
    for result in report:
        file = relative_posix(str(result["filePath"]), root)
        for message in result.get("messages", []):
            finding = _finding(file, message)
            if finding is not None:
                findings.append(finding)
    return findings


def _finding(file: str, message: dict[str, Any]) -> Finding | None:
    text = str(message.get("message", "")).strip()
    rule = message.get("ruleId")
    if rule is None and text.startswith(_IGNORED_NOTICE):
        return None
    return Finding(
        tool=TOOL,
        file=file,
        line=_int_or_none(message.get("line")),
        column=_int_or_none(message.get("column")),
        code=None if rule is None else str(rule),
        message=text,
        severity=_SEVERITY.get(int(message.get("severity", 2)), "error"),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


class EslintValidator:
    """Runs the workspace's `eslint --format json` on the changed files of a staging copy.

    `paths` is what gets linted when a call names no changed files: the whole workspace
    (`.`) by default, which is what a baseline is recorded from.
    """

    name = TOOL
    file_scoped = True

    def __init__(
        self,
        workspace_root: Path,
        *,
        paths: Sequence[str] = (".",),
        timeout_s: float = 300,
    ) -> None:
        self.workspace_root = workspace_root.resolve()
        self.paths = tuple(paths)
        self.timeout_s = timeout_s
        self.config = eslint_config(self.workspace_root)
        self.eslint_path = None if self.config is None else require_tool(self.workspace_root, TOOL)

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        started = time.monotonic()
        if self.eslint_path is None:
            return _result(
                started, ok=True, summary="eslint: skipped (the workspace has no config)"
            )
        targets = self._targets(staging_root, changed_files)
        if not targets:
            return _result(started, ok=True, summary="eslint: no lintable files changed")
        command = [str(self.eslint_path), "--format", "json", "--", *targets]
        # ESLint 9 reads only flat config unless told otherwise; ESLint 8 ignores the flag.
        env = {"ESLINT_USE_FLAT_CONFIG": "false"} if self.config in LEGACY_CONFIGS else None
        try:
            run = run_tool(command, cwd=staging_root, timeout_s=self.timeout_s, env=env)
        except subprocess.TimeoutExpired:
            message = f"eslint did not finish within {self.timeout_s:g}s"
            return _result(
                started,
                ok=False,
                findings=[Finding(tool=TOOL, message=message)],
                summary=f"eslint: timed out after {self.timeout_s:g}s",
            )
        try:
            findings = parse_eslint_json(run.stdout, staging_root.resolve())
        except (ValueError, KeyError, TypeError):
            # Exit 2 (a broken config, a crashing plugin) prints no report, only a stack.
            message = f"eslint exited with {run.returncode}: {output_tail(run.stderr + run.stdout)}"
            return _result(
                started,
                ok=False,
                findings=[Finding(tool=TOOL, message=message)],
                summary=f"eslint: failed to run (exit {run.returncode})",
            )
        errors = sum(f.severity == "error" for f in findings)
        return _result(
            started, ok=errors == 0, findings=findings, summary=_summary(findings, len(targets))
        )

    def _targets(self, staging_root: Path, changed_files: Sequence[str]) -> list[str]:
        if not changed_files:
            return list(self.paths)
        # Deleted files have nothing to lint, and ESLint errors out on a missing path.
        return [
            rel
            for rel in changed_files
            if PurePath(rel).suffix in LINTED_SUFFIXES and (staging_root / rel).is_file()
        ]


def _result(
    started: float, *, ok: bool, summary: str, findings: list[Finding] | None = None
) -> ValidationResult:
    return ValidationResult(
        validator=TOOL,
        ok=ok,
        findings=findings or [],
        duration_s=round(time.monotonic() - started, 3),
        summary=summary,
    )


def _summary(findings: list[Finding], targets: int) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    if not errors and not warnings:
        return f"eslint: no problems in {_plural(targets, 'path')}"
    parts = []
    if errors:
        parts.append(_plural(errors, "error"))
    if warnings:
        parts.append(_plural(warnings, "warning"))
    return "eslint: " + ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
