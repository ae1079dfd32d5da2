"""Putting the checks together: on the workspace itself (`validate_workspace`), or as the one
validator the patch engine runs on each batch's staging copy (`make_batch_validator`).

Both judge against the recorded baselines, and both run tsc incrementally with the same
state in `.vibehq/tsc/`, so a batch check after a workspace check only re-checks what the
batch touches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import BadInput
from engine.patch.validation import BatchValidator, Finding, ValidationResult
from engine.settings import Settings, load_settings
from engine.validate.baseline import (
    BaselineValidator,
    baseline_path,
    compare_with_baseline,
    load_baseline,
    record_baseline,
)
from engine.validate.eslint import EslintValidator, eslint_config
from engine.validate.testrun import TestRunner
from engine.validate.tsc import TscValidator
from engine.workspace import Workspace

__all__ = [
    "TOOLS",
    "ToolReport",
    "ValidateReport",
    "ValidatorSuite",
    "make_batch_validator",
    "validate_workspace",
]

TOOLS = ("tsc", "eslint", "tests")

BaselineUse = Literal["recorded", "compared", "none", "skipped"]


class ToolReport(BaseModel):
    tool: str
    ok: bool
    summary: str
    baseline: BaselineUse = Field(
        description="recorded now, compared with, none on file (every finding counts), "
        "or skipped (the tool does not apply to this workspace)"
    )
    findings: int = Field(0, description="everything the tool reported, baselined or not")
    new: list[Finding] = Field(default_factory=list)
    fixed: list[Finding] = Field(default_factory=list)
    unchanged: int = 0
    duration_s: float = 0.0


class ValidateReport(BaseModel):
    root: str
    recorded: bool
    results: list[ToolReport]
    new: list[Finding] = Field(default_factory=list)
    fixed: list[Finding] = Field(default_factory=list)
    ok: bool
    duration_s: float = 0.0


class ValidatorSuite:
    """Several validators as one: every one runs, the batch passes only if all pass."""

    def __init__(self, validators: Sequence[BatchValidator]) -> None:
        if not validators:
            raise BadInput("a validator suite needs at least one validator")
        self.validators = list(validators)
        self.name = "+".join(v.name for v in self.validators)

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        results = [v.validate(staging_root, changed_files) for v in self.validators]
        return ValidationResult(
            validator=self.name,
            ok=all(r.ok for r in results),
            findings=[f for r in results for f in r.findings],
            duration_s=round(sum(r.duration_s for r in results), 3),
            summary="; ".join(r.summary for r in results),
        )


def make_batch_validator(ws: Workspace, settings: Settings | None = None) -> BatchValidator:
    """tsc (incremental), plus eslint when the workspace configures it, each judged against
    its baseline: one type-check per batch, failing only on what the batch introduces."""
    settings = settings if settings is not None else load_settings(ws.root)
    validators: list[BatchValidator] = [BaselineValidator(_tsc(ws, settings), ws)]
    if eslint_config(ws.root) is not None:
        validators.append(BaselineValidator(EslintValidator(ws.root), ws))
    return validators[0] if len(validators) == 1 else ValidatorSuite(validators)


def validate_workspace(
    ws: Workspace,
    *,
    tools: Sequence[str] = ("tsc", "eslint"),
    tests: bool = False,
    record: bool = False,
    settings: Settings | None = None,
) -> ValidateReport:
    """Run the checks on the workspace itself and record the baselines or compare with them.

    With `record=True` the findings become the new baselines (nothing can fail, but a tool
    that does not run cleanly raises ToolFailed). Otherwise each tool is judged against its
    baseline; a tool without one is judged like a plain check, every finding counting.
    ESLint is skipped in a workspace without an ESLint config.
    """
    started = time.monotonic()
    settings = settings if settings is not None else load_settings(ws.root)
    names = _tool_names(tools, tests)
    reports: list[ToolReport] = []
    results: list[ValidationResult] = []
    for name in names:
        validator = _workspace_validator(ws, settings, name)
        if validator is None:
            reports.append(_skipped(name))
            continue
        results.append(validator.validate(ws.root, []))
    if record:
        record_baseline(ws, results)
        reports += [_recorded(ws, result) for result in results]
    else:
        reports += [_compared(ws, result) for result in results]
    reports.sort(key=lambda r: names.index(r.tool))
    return ValidateReport(
        root=str(ws.root),
        recorded=record,
        results=reports,
        new=[f for r in reports for f in r.new],
        fixed=[f for r in reports for f in r.fixed],
        ok=all(r.ok for r in reports),
        duration_s=round(time.monotonic() - started, 3),
    )


def _tool_names(tools: Sequence[str], tests: bool) -> list[str]:
    names: list[str] = []
    for name in [*tools, *(["tests"] if tests else [])]:
        if name not in TOOLS:
            raise BadInput(f"unknown tool {name!r}: choose from {', '.join(TOOLS)}")
        if name not in names:
            names.append(name)
    return names


def _tsc(ws: Workspace, settings: Settings) -> TscValidator:
    return TscValidator(ws.root, tsconfig=settings.patch.tsconfig, incremental=True)


def _workspace_validator(ws: Workspace, settings: Settings, name: str) -> BatchValidator | None:
    if name == "tsc":
        return _tsc(ws, settings)
    if name == "eslint":
        return EslintValidator(ws.root) if eslint_config(ws.root) is not None else None
    return TestRunner(ws.root)


def _skipped(tool: str) -> ToolReport:
    return ToolReport(
        tool=tool,
        ok=True,
        summary=f"{tool}: skipped (the workspace has no {tool} config)",
        baseline="skipped",
    )


def _recorded(ws: Workspace, result: ValidationResult) -> ToolReport:
    count = len(result.findings)
    where = baseline_path(ws, result.validator).relative_to(ws.root).as_posix()
    noun = "finding" if count == 1 else "findings"
    return ToolReport(
        tool=result.validator,
        ok=True,
        summary=f"{result.validator}: baseline recorded, {count:,} {noun} ({where})",
        baseline="recorded",
        findings=count,
        duration_s=result.duration_s,
    )


def _compared(ws: Workspace, result: ValidationResult) -> ToolReport:
    baseline = load_baseline(ws, result.validator)
    if baseline is None:
        return ToolReport(
            tool=result.validator,
            ok=result.ok,
            summary=f"{result.summary} (no baseline recorded: every finding counts)",
            baseline="none",
            findings=len(result.findings),
            new=result.findings,
            duration_s=result.duration_s,
        )
    judged, diff = compare_with_baseline(result, baseline)
    return ToolReport(
        tool=result.validator,
        ok=judged.ok,
        summary=judged.summary,
        baseline="compared",
        findings=len(result.findings),
        new=diff.new,
        fixed=diff.fixed,
        unchanged=diff.unchanged,
        duration_s=result.duration_s,
    )
