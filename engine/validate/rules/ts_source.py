"""One TypeScript or JavaScript file as the rules see it: its bytes, its tree, its comments.

No tree query runs over a whole file: walking every node costs a third of the parse again.
Each rule finds its few candidate places with a byte search (a keyword, an operator, a name)
and asks the tree what sits there, so text in strings and comments never counts as code.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from engine.syntax.parse import parse
from engine.validate.rules.comments import COMMENT_HINT_BYTES, Comment, comment_body
from engine.validate.rules.ts_nodes import last_row, occurrences, row, text

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

__all__ = ["TsSource"]


class TsSource:
    def __init__(self, source: bytes, text: str, path: str, original: bytes | None) -> None:
        self.source = source
        self.text = text
        self.path = path
        self.original = original
        self.tree: Tree = parse(source, path)
        self.root: Node = self.tree.root_node

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def lowered(self) -> bytes:
        return self.source.lower()

    @cached_property
    def original_tree(self) -> Tree | None:
        return None if self.original is None else parse(self.original, self.path)

    def at(self, start: int, end: int) -> Node | None:
        return self.root.descendant_for_byte_range(start, end)

    def token(self, start: int, word: bytes, kind: str | None = None) -> Node | None:
        """The leaf at `start` if it is exactly `word` (of type `kind`), not text in a string."""
        node = self.at(start, start + len(word))
        if node is None or node.start_byte != start or node.end_byte != start + len(word):
            return None
        if kind is not None and node.type != kind:
            return None
        return node

    @cached_property
    def comments(self) -> list[Comment]:
        """The comments that hold a placeholder or TODO hint, in line order."""
        source = self.source
        found: list[Comment] = []
        for opener in (b"//", b"/*"):
            for start in occurrences(source, opener, whole=False):
                if opener == b"//":
                    end = source.find(b"\n", start)
                else:
                    close = source.find(b"*/", start + 2)
                    end = -1 if close < 0 else close + 2
                end = len(source) if end < 0 else end
                if not COMMENT_HINT_BYTES.search(source, start, end):
                    continue
                node = self.at(start, start + 2)
                if node is None or node.type != "comment" or node.start_byte != start:
                    continue
                body, doc = comment_body(text(node))
                line_start = source.rfind(b"\n", 0, start) + 1
                prefix = source[line_start:start].strip()
                marker = "//" if opener == b"//" and not prefix else ""
                found.append(
                    Comment(row(node), last_row(node), body, prefix not in (b"", b"{"), doc, marker)
                )
        found.sort(key=lambda c: c.line)
        return found
