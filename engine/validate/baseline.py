"""Baselines: what the checks already report, so a change is judged only on what it adds.

Real target repositories carry many errors before any migration starts (the seed repo had
1,389 tsc errors), so "tsc passes" is no usable gate. A baseline records every finding of
a tool once; later checks are diffed against it and fail only on new errors.

A finding is identified by its fingerprint: a hash of the tool, the file, the code and the
message with whitespace normalised. The line and column are left out on purpose, so an
edit that shifts an old error down by three lines does not make it new. Identical
fingerprints are counted, not merged (a multiset): with two identical findings in a file
in the baseline and three now, one is new.

Baselines live in `<workspace>/.vibehq/baseline/<tool>.json`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from engine.errors import BadInput, CheckFailed
from engine.filelock import write_atomic
from engine.patch.validation import BatchValidator, Finding, ValidationResult
from engine.workspace import STATE_DIR, Workspace

__all__ = [
    "BASELINE_DIR",
    "FORMAT_VERSION",
    "Baseline",
    "BaselineDiff",
    "BaselineFinding",
    "BaselineUnreadable",
    "BaselineValidator",
    "ToolFailed",
    "baseline_path",
    "compare_with_baseline",
    "diff_findings",
    "fingerprint",
    "is_tool_failure",
    "load_baseline",
    "normalise_message",
    "record_baseline",
]

BASELINE_DIR = (STATE_DIR, "baseline")
FORMAT_VERSION = 1
_TOOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class BaselineUnreadable(BadInput):
    """A baseline file exists but is not a baseline (hand-edited, truncated, other version)."""


class ToolFailed(CheckFailed):
    """A tool did not run cleanly (timeout, crash), so its output cannot become a baseline."""


class BaselineFinding(Finding):
    fingerprint: str


class Baseline(BaseModel):
    version: int = FORMAT_VERSION
    tool: str
    created: datetime
    findings: list[BaselineFinding]


@dataclass(frozen=True)
class BaselineDiff:
    new: list[Finding]
    fixed: list[Finding]
    unchanged: int


def normalise_message(message: str) -> str:
    """The message as the fingerprint sees it: whitespace runs (and line breaks) as one space."""
    return " ".join(message.split())


def fingerprint(finding: Finding) -> str:
    """A stable id for a finding that ignores where in the file it is (line, column)."""
    key = "\x1f".join(
        (finding.tool, finding.file or "", finding.code or "", normalise_message(finding.message))
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_tool_failure(finding: Finding) -> bool:
    """A finding about the tool itself (a timeout, a crash), not about the code.

    Every diagnostic a tool reports about code names a file or a code (rule, TS number);
    a failure of the tool has neither. These are never baselined, so they always count as new.
    """
    return finding.file is None and finding.code is None


def baseline_path(ws: Workspace, tool: str) -> Path:
    if not _TOOL_NAME.match(tool):
        raise BadInput(f"tool name {tool!r} cannot name a baseline file")
    return ws.root.joinpath(*BASELINE_DIR, f"{tool}.json")


def record_baseline(ws: Workspace, results: Sequence[ValidationResult]) -> Path:
    """Write one baseline per tool in `results` and return the baseline folder.

    Results of the same tool (tsc over two tsconfigs, say) go into one baseline.
    Raises ToolFailed, writing nothing, if a tool did not run cleanly: a baseline of
    "tsc timed out" would let every later timeout pass.
    """
    by_tool: dict[str, list[Finding]] = defaultdict(list)
    for result in results:
        failures = [f for f in result.findings if is_tool_failure(f)]
        if failures:
            raise ToolFailed(
                f"{result.validator} did not run cleanly, so no baseline was recorded: "
                f"{failures[0].message.splitlines()[0]}"
            )
        by_tool[result.validator].extend(result.findings)
    folder = ws.root.joinpath(*BASELINE_DIR)
    created = datetime.now(UTC)
    paths = {tool: baseline_path(ws, tool) for tool in by_tool}
    folder.mkdir(parents=True, exist_ok=True)
    for tool, findings in by_tool.items():
        ordered = sorted(findings, key=_position)
        baseline = Baseline(
            tool=tool,
            created=created,
            findings=[
                BaselineFinding.model_validate({**f.model_dump(), "fingerprint": fingerprint(f)})
                for f in ordered
            ],
        )
        write_atomic(paths[tool], baseline.model_dump_json(indent=1) + "\n")
    return folder


def load_baseline(ws: Workspace, tool: str) -> Baseline | None:
    """The recorded baseline of `tool`, or None if none was recorded."""
    path = baseline_path(ws, tool)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineUnreadable(f"baseline {path} cannot be read: {exc}") from exc
    try:
        baseline = Baseline.model_validate_json(text)
    except ValidationError as exc:
        raise BaselineUnreadable(
            f"baseline {path} is not a valid baseline ({exc.error_count()} problems): "
            "record it again"
        ) from exc
    if baseline.version != FORMAT_VERSION:
        raise BaselineUnreadable(
            f"baseline {path} has format {baseline.version}, this vibehq reads "
            f"{FORMAT_VERSION}: record it again"
        )
    return baseline


def diff_findings(
    baseline: Baseline, current: Sequence[Finding], *, scope: Collection[str] | None = None
) -> BaselineDiff:
    """Split `current` into new findings and ones already in `baseline`; list the fixed ones.

    `scope`, when given, is the set of files the check looked at (a linter run on the
    changed files only): baseline findings elsewhere were not checked, so they are neither
    fixed nor unchanged. Within one fingerprint, findings on the same line pair up first,
    so the finding reported as new is the one that is not where an old one was.
    """
    wanted = None if scope is None else set(scope)
    old: dict[str, list[Finding]] = defaultdict(list)
    for recorded in baseline.findings:
        if wanted is None or recorded.file in wanted:
            old[fingerprint(recorded)].append(recorded)
    now: dict[str, list[Finding]] = defaultdict(list)
    for finding in current:
        now[fingerprint(finding)].append(finding)

    new_ids: set[int] = set()
    fixed: list[Finding] = []
    unchanged = 0
    for key in old.keys() | now.keys():
        before, after = old.get(key, []), now.get(key, [])
        unmatched_before, unmatched_after = _pair(before, after)
        unchanged += len(after) - len(unmatched_after)
        new_ids.update(id(f) for f in unmatched_after)
        fixed.extend(unmatched_before)
    # Report in the tools' own order, not in hash order.
    new = [f for f in current if id(f) in new_ids]
    fixed_order = {id(f): i for i, f in enumerate(baseline.findings)}
    fixed.sort(key=lambda f: fixed_order[id(f)])
    # Plain findings, like `new`: the fingerprint is the baseline file's business.
    fixed_plain = [Finding.model_validate(f.model_dump(exclude={"fingerprint"})) for f in fixed]
    return BaselineDiff(new=new, fixed=fixed_plain, unchanged=unchanged)


def _pair(before: list[Finding], after: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """Match findings of one fingerprint, same line first; return the unmatched of each side."""
    left = list(before)
    rest: list[Finding] = []
    for finding in after:
        same_line = next((b for b in left if b.line == finding.line), None)
        if same_line is not None:
            left.remove(same_line)
        else:
            rest.append(finding)
    matched = min(len(left), len(rest))
    return left[matched:], rest[matched:]


def compare_with_baseline(
    result: ValidationResult, baseline: Baseline, *, scope: Collection[str] | None = None
) -> tuple[ValidationResult, BaselineDiff]:
    """Judge a tool's result against its baseline: ok unless it has new errors.

    The returned result lists only the new findings. New warnings are reported but never
    fail. A result that failed without any finding (nothing to compare) stays failed.
    """
    diff = diff_findings(baseline, result.findings, scope=scope)
    new_errors = sum(f.severity == "error" for f in diff.new)
    ok = new_errors == 0 and (result.ok or bool(result.findings))
    summary = _summary(result.validator, diff) if ok or result.findings else result.summary
    judged = ValidationResult(
        validator=result.validator,
        ok=ok,
        findings=diff.new,
        duration_s=result.duration_s,
        summary=summary,
    )
    return judged, diff


class BaselineValidator:
    """Wraps any BatchValidator so that it fails only on findings its baseline does not have.

    Without a baseline file for the tool it behaves exactly like the inner validator (every
    finding counts), so a workspace starts strict until someone records a baseline. The
    baseline is read on every call, so a baseline recorded meanwhile takes effect at once.
    An inner validator with a true `file_scoped` attribute (a linter that checks only the
    changed files) is compared on those files only.
    """

    def __init__(self, inner: BatchValidator, ws: Workspace) -> None:
        self.inner = inner
        self.ws = ws
        self.name = inner.name

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        result = self.inner.validate(staging_root, changed_files)
        baseline = load_baseline(self.ws, self.name)
        if baseline is None:
            return result
        file_scoped = bool(getattr(self.inner, "file_scoped", False))
        scope = changed_files if file_scoped and changed_files else None
        judged, _diff = compare_with_baseline(result, baseline, scope=scope)
        return judged


def _summary(tool: str, diff: BaselineDiff) -> str:
    errors = sum(f.severity == "error" for f in diff.new)
    warnings = sum(f.severity == "warning" for f in diff.new)
    text = f"{tool}: " + (_count(errors, "new error") if errors else "no new errors")
    if warnings:
        text += ", " + _count(warnings, "new warning")
    if diff.unchanged:
        text += f" ({diff.unchanged:,} already in the baseline)"
    if diff.fixed:
        text += f", {len(diff.fixed):,} fixed"
    return text


def _count(n: int, words: str) -> str:
    return f"{n:,} {words}" if n == 1 else f"{n:,} {words}s"


def _position(finding: Finding) -> tuple[str, int, int, str, str]:
    return (
        finding.file or "",
        finding.line or 0,
        finding.column or 0,
        finding.code or "",
        finding.message,
    )
