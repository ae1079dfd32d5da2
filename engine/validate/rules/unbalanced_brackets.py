"""VQ302 unbalanced brackets: a bracket that closes nothing or is never closed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.syntax_error import ts_original_parses
from engine.validate.rules.ts_nodes import row

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_OPENERS = {"{": "}", "(": ")", "[": "]", "${": "}"}
_CLOSERS = frozenset({"}", ")", "]"})


def _first_unbalanced(root: Node) -> tuple[int, str] | None:
    """The first bracket that closes nothing or is never closed, from the tree's own tokens,
    so brackets inside strings, comments, templates and regexes are never counted."""
    stack: list[tuple[str, int]] = []
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None and node.child_count == 0 and not node.is_missing:
            kind = node.type
            if kind in _OPENERS:
                stack.append((kind, row(node)))
            elif kind in _CLOSERS:
                if not stack or _OPENERS[stack[-1][0]] != kind:
                    return row(node), f"unbalanced brackets: `{kind}` closes nothing"
                stack.pop()
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            break
    if stack:
        opener, line = stack[-1]
        return line, f"unbalanced brackets: `{opener}` opened here is never closed"
    return None


def _typescript(src: TsSource, out: Analysis) -> None:
    # A tree with no error has balanced brackets: the walk is only worth it on a broken file.
    if not src.root.has_error:
        return
    found = _first_unbalanced(src.root)
    if found is not None:
        out.add(RULE, found[0], found[1], always=ts_original_parses(src))


def _python(src: PySource, out: Analysis) -> None:
    found = src.tokens.unbalanced
    if found is not None:
        out.add(RULE, found[0], f"unbalanced brackets: {found[1]}", always=src.original_parses)


RULE = Rule(
    code="VQ302",
    name="unbalanced-brackets",
    kind="MALFORMED_SYNTAX",
    summary="a bracket that closes nothing or is never closed",
    doc="""\
Flags the first `(`, `[`, `{` or `${` that is never closed, or the first closer that closes
nothing, counted on the parser's own tokens so that brackets inside strings, comments,
templates and regexes never count.

Why: the parser's error often lands far from the cause; the bracket names the line where the
edit went wrong. Reported once per line together with VQ301.

Example:
    const totals = items.map((item) => {
      return item.price * item.count;
""",
    typescript=_typescript,
    python=_python,
)
