"""VQ301 syntax error: the parser cannot read the file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import row, text

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE", "ts_original_parses"]

# One broken construct makes the parser report several: the first few locate it.
_MAX_REPORTS = 3


def ts_original_parses(src: TsSource) -> bool:
    """A syntax error in a file whose original parsed cleanly is the change's, wherever it is."""
    tree = src.original_tree
    return tree is not None and not tree.root_node.has_error


def _typescript(src: TsSource, out: Analysis) -> None:
    if not src.root.has_error:
        return
    always = ts_original_parses(src)
    reported = 0
    pending: list[Node] = [src.root]
    while pending and reported < _MAX_REPORTS:
        node = pending.pop()
        if node.is_missing:
            message = f"syntax error: missing `{node.type}`"
        elif node.type == "ERROR":
            first = text(node).strip().split("\n", 1)[0][:40]
            message = f"syntax error: cannot parse `{first}`"
        else:
            pending.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
            continue
        out.add(RULE, row(node), message, always=always)
        reported += 1


def _python(src: PySource, out: Analysis) -> None:
    # The parser's message comes first: it wins over a bracket note on the same line.
    for error in (src.error, src.tokens.error):
        if error is not None:
            out.add(
                RULE,
                max(error.lineno or 1, 1),
                f"syntax error: {error.msg}",
                always=src.original_parses,
            )


RULE = Rule(
    code="VQ301",
    name="syntax-error",
    kind="MALFORMED_SYNTAX",
    summary="a parse error: the file no longer parses",
    doc="""\
Flags what the parser cannot read: tree-sitter ERROR and MISSING nodes in TypeScript and
JavaScript (the first three), and Python's SyntaxError or IndentationError.

Why: a half-applied edit or a truncated model answer often leaves a file that no longer
parses. When the original parsed cleanly the error is the change's wherever it lands, since
a deletion adds no lines; errors already in the original are not the agent's.

Example:
    export function area(r: number): number {
      return Math.PI * r * r
    }}
""",
    typescript=_typescript,
    python=_python,
)
