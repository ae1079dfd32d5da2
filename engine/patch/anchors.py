"""Resolve where an op lands in a file: line numbers, a marker line, exact lines, or a regex.

Everything resolves against the file as it was before the batch, to a half-open span of
0-based line indices. Inserts use one edge of the span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import BadInput, OpFailed
from engine.patch.models import PatchOperation
from engine.patch.textdoc import TextDoc, block_lines, leading_ws

_MAX_LISTED = 10


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def describe(index: int, op: PatchOperation) -> str:
    where = ""
    if op.anchor_kind == "lines":
        if op.op == "replace-block":
            end = op.end if op.end is not None else op.start
            where = f":{op.start}-{end}"
        else:
            where = f":{op.anchor_line}"
    elif op.anchor_kind not in ("file", "lines"):
        where = f" by {op.anchor_kind}"
    return f"op {index + 1} ({op.op} {op.file}{where})"


def _lines_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n + 1) for n in numbers[:_MAX_LISTED])
    more = f" and {len(numbers) - _MAX_LISTED} more" if len(numbers) > _MAX_LISTED else ""
    return shown + more


def locate(index: int, op: PatchOperation, doc: TextDoc) -> Span:
    n = len(doc.lines)
    if op.marker is None and op.match is None and op.regex is None:
        if op.op == "replace-block" and op.start is not None:
            start, end = op.start, op.end if op.end is not None else op.start
        else:
            start = end = op.anchor_line or 0
        if not 1 <= end <= n:
            raise OpFailed(f"{describe(index, op)}: the file has {n} lines")
        return Span(start - 1, end)
    label = describe(index, op)
    if op.marker is not None:
        return _locate_marker(label, op.marker, op.marker_end, doc)
    if op.match is not None:
        return _locate_match(label, op.match, doc)
    assert op.regex is not None
    return _locate_regex(label, op.regex, doc)


def _locate_marker(label: str, marker: str, marker_end: str | None, doc: TextDoc) -> Span:
    lines = doc.lines
    if marker_end is None:
        hits = [i for i, line in enumerate(lines) if marker in line]
        if len(hits) != 1:
            raise OpFailed(_marker_count_error(label, marker, hits))
        return Span(hits[0], hits[0] + 1)
    if marker_end == marker:
        hits = [i for i, line in enumerate(lines) if marker in line]
        if len(hits) != 2:
            raise OpFailed(
                f"{label}: region marker {marker!r} must be on exactly 2 lines, "
                f"found {len(hits)}{_at(hits)}"
            )
        first, last = hits
    else:
        hits = [i for i, line in enumerate(lines) if marker in line and marker_end not in line]
        if len(hits) != 1:
            raise OpFailed(_marker_count_error(label, marker, hits))
        first = hits[0]
        last = next((i for i in range(first + 1, len(lines)) if marker_end in lines[i]), -1)
        if last < 0:
            raise OpFailed(f"{label}: end marker {marker_end!r} not found after line {first + 1}")
    # A region keeps its marker lines, so the same region can be patched again later.
    return Span(first + 1, last)


def _at(hits: list[int]) -> str:
    return f" at lines {_lines_list(hits)}" if hits else ""


def _marker_count_error(label: str, marker: str, hits: list[int]) -> str:
    if not hits:
        return f"{label}: marker {marker!r} not found"
    return f"{label}: marker {marker!r} is on {len(hits)} lines{_at(hits)}; it must be unique"


def _locate_match(label: str, match: str, doc: TextDoc) -> Span:
    needle = block_lines(match)
    if not needle:
        raise BadInput(f"{label}: match text is empty")
    k = len(needle)
    lines = doc.lines
    last_start = len(lines) - k
    exact = [
        i for i in range(last_start + 1) if lines[i] == needle[0] and lines[i : i + k] == needle
    ]
    if len(exact) == 1:
        return Span(exact[0], exact[0] + k)
    if len(exact) > 1:
        raise OpFailed(
            f"{label}: match is ambiguous, {len(exact)} places at lines {_lines_list(exact)}; "
            "add surrounding lines to make it unique"
        )
    shifted = _shifted_matches(needle, lines)
    if len(shifted) == 1:
        return Span(shifted[0], shifted[0] + k)
    if len(shifted) > 1:
        raise OpFailed(
            f"{label}: match (with an indentation offset) is ambiguous, {len(shifted)} places at "
            f"lines {_lines_list(shifted)}; add surrounding lines to make it unique"
        )
    probe = (
        next(line.strip() for line in needle if line.strip())
        if any(line.strip() for line in needle)
        else ""
    )
    similar = [i for i, line in enumerate(lines) if probe and probe in line]
    hint = f"; its first line appears at lines {_lines_list(similar)}" if similar else ""
    raise OpFailed(f"{label}: match not found, exactly or with an indentation offset{hint}")


def _shifted_matches(needle: list[str], lines: list[str]) -> list[int]:
    """Aider's second pass: the same lines with one uniform indentation offset."""
    nonblank = [j for j, line in enumerate(needle) if line.strip()]
    if not nonblank:
        return []
    indents = [leading_ws(needle[j]) for j in nonblank]
    common = indents[0]
    for ind in indents[1:]:
        while not ind.startswith(common):
            common = common[:-1]
    rel = [line[len(common) :] if line.strip() else "" for line in needle]
    j0 = nonblank[0]
    head = rel[j0]
    k = len(needle)
    found: list[int] = []
    for i in range(len(lines) - k + 1):
        candidate = lines[i + j0]
        if not candidate.endswith(head):
            continue
        prefix = candidate[: len(candidate) - len(head)]
        if prefix.strip(" \t"):
            continue
        if all(
            (lines[i + j] == prefix + rel[j]) if needle[j].strip() else not lines[i + j].strip()
            for j in range(k)
        ):
            found.append(i)
    return found


def _locate_regex(label: str, pattern: str, doc: TextDoc) -> Span:
    try:
        rx = re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise BadInput(f"{label}: invalid regex {pattern!r}: {exc}") from exc
    text = doc.text_for_search()
    hits: list[Span] = []
    for m in rx.finditer(text):
        first = text.count("\n", 0, m.start())
        last = first + text.count("\n", m.start(), max(m.end() - 1, m.start()))
        hits.append(Span(first, last + 1))
        if len(hits) > _MAX_LISTED:
            break
    if not hits:
        raise OpFailed(f"{label}: regex {pattern!r} matches nothing")
    if len(hits) > 1:
        at = _lines_list([h.start for h in hits])
        raise OpFailed(f"{label}: regex {pattern!r} matches {len(hits)}+ places at lines {at}")
    return hits[0]


def anchor_indent(op_name: str, span: Span, doc: TextDoc) -> str:
    """Indentation an inserted or replacing block is re-based to."""
    lines = doc.lines
    if op_name == "insert-after":
        scan = range(span.end - 1, -1, -1)
    else:
        scan = range(span.start, len(lines))
    for i in scan:
        if lines[i].strip():
            return leading_ws(lines[i])
    return ""
