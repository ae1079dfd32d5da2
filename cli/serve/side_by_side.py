"""A reviewed batch's unified diff as side-by-side rows, highlighted, with findings pinned.

The stored diff is the one the reviewer approves (`PatchBatchPayload.diff`, `git apply`
format), so the page reads that text rather than the workspace, which may have moved on.
Each file becomes hunks of rows: a context line fills both sides, and a run of removed lines
is paired line by line with the run of added lines that follows it, as side-by-side viewers
do. Highlighting is Pygments, server-side, one side of a hunk at a time so that a string or
comment spanning lines keeps its colour.

Quality findings and validator findings (new type errors) name a file and a line of the new
content: they are pinned to the row showing that line, and those outside every hunk are kept
per file, so none is lost.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

CellKind = Literal["context", "del", "add", "empty"]
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")
_FILE = re.compile(r"^diff --git a/(.+) b/(.+)$")


@dataclass(frozen=True)
class Pin:
    """One finding shown beside a line: a quality violation or a validator finding."""

    source: str
    severity: str
    label: str
    message: str
    line: int | None


@dataclass
class Cell:
    kind: CellKind
    number: int | None = None
    text: str = ""
    html: Markup = field(default_factory=Markup)


@dataclass
class Row:
    left: Cell
    right: Cell
    pins: list[Pin] = field(default_factory=list)


@dataclass
class Hunk:
    header: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class FileView:
    path: str
    status: Literal["created", "modified", "deleted"] = "modified"
    hunks: list[Hunk] = field(default_factory=list)
    unpinned: list[Pin] = field(default_factory=list)

    @property
    def pin_count(self) -> int:
        pinned = sum(len(row.pins) for hunk in self.hunks for row in hunk.rows)
        return pinned + len(self.unpinned)


def side_by_side(diff: str, pins: Iterable[tuple[str, Pin]] = ()) -> list[FileView]:
    """The files of `diff`, each with its hunks as rows, and every `(file, pin)` attached to
    its line (or to its file's unpinned list)."""
    files = _parse(diff)
    for view in files:
        _highlight(view)
    by_path = {view.path: view for view in files}
    for path, pin in pins:
        target = by_path.get(normalise(path))
        if target is None:
            continue
        row = _row_of(target, pin.line)
        if row is None:
            target.unpinned.append(pin)
        else:
            row.pins.append(pin)
    return files


def normalise(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).removeprefix("./")


def _parse(diff: str) -> list[FileView]:
    files: list[FileView] = []
    view: FileView | None = None
    hunk: Hunk | None = None
    old_no = new_no = 0
    removed: list[Cell] = []
    added: list[Cell] = []

    def flush() -> None:
        if hunk is None:
            return
        for i in range(max(len(removed), len(added))):
            left = removed[i] if i < len(removed) else Cell("empty")
            right = added[i] if i < len(added) else Cell("empty")
            hunk.rows.append(Row(left, right))
        removed.clear()
        added.clear()

    for line in diff.split("\n"):
        header = _FILE.match(line)
        if header is not None:
            flush()
            view = FileView(path=header.group(2))
            files.append(view)
            hunk = None
            continue
        if view is None:
            continue
        if line.startswith("new file mode"):
            view.status = "created"
        elif line.startswith("deleted file mode"):
            view.status = "deleted"
        elif line.startswith(("--- ", "+++ ")) and hunk is None:
            continue
        elif (match := _HUNK.match(line)) is not None:
            flush()
            old_no, new_no = int(match.group(1)), int(match.group(2))
            hunk = Hunk(header=line)
            view.hunks.append(hunk)
        elif hunk is None or line.startswith("\\"):
            continue
        elif line.startswith("-"):
            removed.append(Cell("del", old_no, line[1:]))
            old_no += 1
        elif line.startswith("+"):
            added.append(Cell("add", new_no, line[1:]))
            new_no += 1
        elif line.startswith(" "):
            flush()
            text = line[1:]
            hunk.rows.append(Row(Cell("context", old_no, text), Cell("context", new_no, text)))
            old_no += 1
            new_no += 1
    flush()
    return files


def _highlight(view: FileView) -> None:
    lexer = lexer_for(view.path)
    for hunk in view.hunks:
        for side in ("left", "right"):
            cells = [getattr(row, side) for row in hunk.rows]
            shown = [cell for cell in cells if cell.kind != "empty"]
            marked = highlight_lines(lexer, [c.text for c in shown])
            for cell, markup in zip(shown, marked, strict=True):
                cell.html = markup


def highlight_lines(lexer: Lexer, lines: Sequence[str]) -> list[Markup]:
    """Each line as HTML spans with Pygments' short class names (`.k`, `.s2`, ...)."""
    if not lines:
        return []
    out: list[list[str]] = [[]]
    for token, value in lexer.get_tokens("\n".join(lines) + "\n"):
        css = _css_class(token)
        for i, part in enumerate(value.split("\n")):
            if i:
                out.append([])
            if part:
                escaped = html.escape(part)
                out[-1].append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    rendered = [Markup("".join(parts)) for parts in out[: len(lines)]]
    return rendered + [Markup("")] * (len(lines) - len(rendered))


def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES and token.parent is not None:
        token = token.parent
    return STANDARD_TYPES.get(token, "")


def lexer_for(path: str) -> Lexer:
    """Pygments' lexer for the file name, plain text when it knows none."""
    try:
        found: Lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        found = TextLexer(stripnl=False, ensurenl=False)
    return found


def _row_of(view: FileView, line: int | None) -> Row | None:
    if line is None:
        return None
    for hunk in view.hunks:
        for row in hunk.rows:
            if row.right.kind != "empty" and row.right.number == line:
                return row
    if view.status == "deleted":
        for hunk in view.hunks:
            for row in hunk.rows:
                if row.left.number == line:
                    return row
    return None
