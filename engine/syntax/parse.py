"""One tree-sitter parser per grammar, for TypeScript and JavaScript sources."""

from __future__ import annotations

from functools import cache
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Parser, Tree

TS_SUFFIXES = frozenset({".ts", ".mts", ".cts"})
TSX_SUFFIXES = frozenset({".tsx", ".js", ".jsx", ".mjs", ".cjs"})
SOURCE_SUFFIXES = TS_SUFFIXES | TSX_SUFFIXES


def is_source(path: str | PurePath) -> bool:
    name = str(path)
    return PurePath(name).suffix in SOURCE_SUFFIXES and not name.endswith(".d.ts.map")


@cache
def _parser(grammar: str) -> Parser:
    import tree_sitter
    import tree_sitter_typescript

    # The tsx grammar is a superset that also parses plain JavaScript and JSX.
    language = (
        tree_sitter_typescript.language_typescript()
        if grammar == "typescript"
        else tree_sitter_typescript.language_tsx()
    )
    return tree_sitter.Parser(tree_sitter.Language(language))


def parse(source: bytes, path: str | PurePath) -> Tree:
    grammar = "typescript" if PurePath(str(path)).suffix in TS_SUFFIXES else "tsx"
    return _parser(grammar).parse(source)
