"""Quality monitor: finds what AI agents leave behind in a change, deterministically, with no model.

Five kinds of violation, each with a fixed severity:

    PLACEHOLDER_DROPPED  critical  a comment standing in for elided code (`// ... existing code`)
    INCOMPLETE_CODE      high      emptied bodies, "not implemented" throws, TODO/FIXME/XXX, `pass`
    MALFORMED_SYNTAX     high      parse errors, unbalanced brackets
    SECURITY_RISK        critical  secrets, eval, SQL built from variables, TLS off, writes outside
    LOGIC_ERROR          medium    unreachable statements, always-true/false comparisons

A violation quarantines the agent that made it, so every rule leans towards precision: the
syntax tree decides what a piece of text is (a comment, a string, a call), and regexes only read
the texts of the nodes it hands over. Over a whole file there are only substring searches, which
find the few places worth asking the tree about; Python files go through `tokenize` and `ast`.
Whole-file scans of many files fork one worker per core, since parsing holds the GIL.

Each check is a declared rule with a code (VQ101...) in engine/validate/rules/, one module per
rule; `list_rules()` describes them. This module runs them and keeps the public API.

Only the agent's lines are judged. `check_batch` diffs each file against its original and keeps
the violations on added lines: a placeholder that was already in the file is not the agent's
fault. Two rules compare with the original instead, and count wherever they land, because a
deletion adds no lines: a function that had statements and is now empty, and a syntax error in
a file whose original parsed cleanly.

Choices, pinned by tests:
- Placeholders: strong phrases fire alone; weak keywords need two distinct hits, and at least one
  of them must mark elision (unchanged, omitted, same, an ellipsis...) rather than describe data
  (rest, existing, previous), so "keep existing entries; the rest are dropped" passes. Weak
  keywords are read only in stand-alone, non-JSDoc comments of at most 8 words, outside quotes,
  and an ellipsis counts only at a comment's start or end. A note after code on its line, or a
  line in a paragraph of comments that says other things too, is prose: only strong phrases
  count there (and a bare `/* ... */` after code). In a region that a change shrank to less
  than half, one weak hit is enough.
- SQL: only a run-time value spliced into a value position (`= ${id}`, `IN (${ids})`, `'%s'`)
  is a finding. A table or column name, a query builder's WHERE fragment, or a list of `?`
  placeholders is SQL text chosen by the program.
- `x !== x` and `x != x` are not flagged: that is the NaN test. `x === x` is, with a hint.
- Keys that say they are fake (example, test, dummy, fake, sample, placeholder, your, xxxx,
  redacted) or that use at most four distinct characters are not secrets: no real key reads like
  that, and test fixtures need such values. So "sk-test-..." and "AKIA" + "X" * 16 pass.
- Empty TypeScript bodies (`noop() {}`) are only flagged against an original that had code.
  Python bodies of only `pass` or `...` are flagged anywhere, except under @abstractmethod,
  @overload and in Protocol classes, which also may raise NotImplementedError.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import BadInput
from engine.patch.models import PatchBatch
from engine.patch.plan import plan_batch
from engine.syntax.parse import SOURCE_SUFFIXES
from engine.validate.added_lines import Shrink, line_changes
from engine.validate.rules import RuleInfo, list_rules
from engine.validate.rules.findings import Analysis, Finding
from engine.validate.rules.placeholder import RULE as PLACEHOLDER
from engine.validate.rules.placeholder import placeholder_reason
from engine.validate.rules.rule import KINDS, SEVERITY, Kind, Severity
from engine.validate.rules.run import PY_SUFFIXES, analyse, analyse_typescript
from engine.workspace import STATE_DIR, Workspace, resolve_inside

__all__ = [
    "KINDS",
    "SEVERITY",
    "Kind",
    "QualityReport",
    "RuleInfo",
    "Severity",
    "Violation",
    "added_lines_of",
    "check_batch",
    "findings_in",
    "is_judged",
    "list_rules",
    "scan_paths",
    "scan_text",
]

JUDGED_SUFFIXES = SOURCE_SUFFIXES | PY_SUFFIXES
SKIPPED_DIRS = frozenset({"node_modules", ".git", STATE_DIR})
_SNIPPET_MAX = 120
# Below this many files a scan runs in-process: forking costs more than it saves.
_PARALLEL_MIN_FILES = 200
_MAX_WORKERS = 8


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    severity: Severity
    file: str
    line: int = Field(ge=1, description="1-based line in the judged content")
    message: str
    snippet: str = Field(description="the line, stripped, at most 120 characters")


class QualityReport(BaseModel):
    violations: list[Violation] = Field(default_factory=list)
    files_checked: int = 0
    lines_judged: int = 0

    @property
    def critical(self) -> bool:
        return any(v.severity == "critical" for v in self.violations)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(v.kind for v in self.violations)
        return {kind: found[kind] for kind in KINDS}


def is_judged(path: str | os.PathLike[str]) -> bool:
    return PurePosixPath(os.fspath(path)).suffix in JUDGED_SUFFIXES


def findings_in(text: str, path: str, *, original: str | None = None) -> list[Finding]:
    """Every rule's raw findings for one file, each with its rule's code, before the added-line
    filter and the one-report-per-line merge: what the rule fixtures are checked against."""
    return analyse(text, path, original).findings


def _to_violations(
    findings: Sequence[Finding], text: str, path: str, added: set[int] | None
) -> list[Violation]:
    lines = text.split("\n")
    seen: set[tuple[str, int, str]] = set()
    out: list[Violation] = []
    for finding in findings:
        line = finding.line
        if added is not None:
            hits = [n for n in range(finding.line, finding.last + 1) if n in added]
            if hits:
                line = hits[0]
            elif not finding.always:
                continue
        # One syntax report per line: the parser and the bracket count often name the same.
        message = "" if finding.kind == "MALFORMED_SYNTAX" else finding.message
        key = (finding.kind, line, message)
        if key in seen:
            continue
        seen.add(key)
        raw = lines[line - 1] if 0 < line <= len(lines) else ""
        out.append(
            Violation(
                kind=finding.kind,
                severity=SEVERITY[finding.kind],
                file=path,
                line=line,
                message=finding.message,
                snippet=raw.strip()[:_SNIPPET_MAX],
            )
        )
    out.sort(key=lambda v: (v.line, KINDS.index(v.kind), v.message))
    return out


# --------------------------------------------------------------------------- entry points


def scan_text(
    text: str,
    path: str,
    *,
    added_lines: set[int] | None = None,
    original: str | None = None,
) -> list[Violation]:
    """Judge one file's content. With `added_lines` (1-based lines of `text`), only violations
    on those lines count; `original` is the file before the change, for the rules that compare."""
    analysis = analyse(text, path, original)
    return _to_violations(analysis.findings, text, path, added_lines)


def scan_paths(ws_root: Path, paths: Sequence[str]) -> QualityReport:
    """Judge whole files: the given files, and the judged sources under the given folders."""
    root = Path(ws_root).resolve()
    files = _collect(root, paths)
    workers = _worker_count(len(files))
    if workers > 1:
        chunks = [(str(root), files[i :: workers * 4]) for i in range(workers * 4)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_scan_chunk, chunks)
    else:
        parts = [_scan_chunk((str(root), files))]
    report = QualityReport(files_checked=len(files))
    for violations, lines in parts:
        report.violations.extend(violations)
        report.lines_judged += lines
    report.violations.sort(key=lambda v: (v.file, v.line, KINDS.index(v.kind), v.message))
    return report


def _worker_count(files: int) -> int:
    """Processes for a whole-file scan. Parsing holds the GIL, so only processes help; they
    are forked, which is only safe while this process runs a single thread."""
    if files < _PARALLEL_MIN_FILES or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_WORKERS, files // (_PARALLEL_MIN_FILES // 2)))


def _scan_chunk(job: tuple[str, list[str]]) -> tuple[list[Violation], int]:
    root, files = job
    violations: list[Violation] = []
    lines = 0
    for rel in files:
        with open(os.path.join(root, rel), "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8", "replace")
        if os.path.splitext(rel)[1] in SOURCE_SUFFIXES:
            analysis = analyse_typescript(data, text, rel, None)
        else:
            analysis = analyse(text, rel, None)
        violations.extend(_to_violations(analysis.findings, text, rel, None))
        lines += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return violations, lines


def _collect(root: Path, paths: Sequence[str]) -> list[str]:
    """Workspace-relative POSIX paths of the judged files named by or under `paths`."""
    base = str(root)
    found: set[str] = set()
    for rel in paths:
        start = base if rel in ("", ".") else str(resolve_inside(root, rel, what="path"))
        if os.path.isfile(start):
            if is_judged(start):
                found.add(os.path.relpath(start, base).replace(os.sep, "/"))
            continue
        if not os.path.isdir(start):
            raise BadInput(f"path {rel!r} does not exist in the workspace")
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            prefix = os.path.relpath(folder, base).replace(os.sep, "/")
            for name in files:
                if os.path.splitext(name)[1] not in JUDGED_SUFFIXES:
                    continue
                full = os.path.join(folder, name)
                # A symlink may lead out of the workspace; never read through one that does.
                if os.path.islink(full) and not _inside(base, full):
                    continue
                found.add(name if prefix == "." else f"{prefix}/{name}")
    return sorted(found)


def _inside(base: str, path: str) -> bool:
    return os.path.realpath(path).startswith(base.rstrip(os.sep) + os.sep)


def added_lines_of(old: bytes | None, new: bytes) -> set[int]:
    """1-based numbers of the lines of `new` that are not carried over from `old`."""
    added, _ = line_changes(old, new)
    return added


def _shrink_findings(analysis: Analysis, shrinks: list[Shrink]) -> list[Finding]:
    """Placeholder findings, upgraded or added where a change cut a region to under half."""
    findings = list(analysis.findings)
    if not shrinks:
        return findings
    for comment in analysis.comments:
        shrink = next((s for s in shrinks if comment.line in s.lines), None)
        if shrink is None or placeholder_reason(comment, lenient=True) is None:
            continue
        message = (
            f"placeholder comment replaces code: {shrink.removed} lines became "
            f"{len(shrink.lines)}, and this comment stands for the rest"
        )
        existing = [
            i
            for i, f in enumerate(findings)
            if f.kind == "PLACEHOLDER_DROPPED" and f.line == comment.line
        ]
        if existing:
            for i in existing:
                findings[i] = replace(findings[i], message=message)
        else:
            findings.append(
                Finding(PLACEHOLDER.code, PLACEHOLDER.kind, comment.line, message, comment.last)
            )
    return findings


def check_batch(
    ws: Workspace, batch: PatchBatch, *, block_root: Path | None = None
) -> QualityReport:
    """Judge the lines a batch adds, on its planned result (nothing is written)."""
    plan = plan_batch(ws, batch, block_root=block_root)
    report = QualityReport()
    for change in plan.changed:
        if change.new is None or not is_judged(change.path):
            continue
        text = change.new.decode("utf-8", "replace")
        original = None if change.old is None else change.old.decode("utf-8", "replace")
        added, shrinks = line_changes(change.old, change.new)
        analysis = analyse(text, change.path, original)
        findings = _shrink_findings(analysis, shrinks)
        report.violations.extend(_to_violations(findings, text, change.path, added))
        report.files_checked += 1
        report.lines_judged += len(added)
    return report
