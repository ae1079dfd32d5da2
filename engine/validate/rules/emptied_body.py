"""VQ203 emptied body: a function that had statements in the original and now has none."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import last_row, row, text

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Query, Tree

    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_SCOPE_OWNERS = frozenset(
    {
        "class_declaration",
        "abstract_class_declaration",
        "class",
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
    }
)
_FUNCTION_VALUE = (
    "[(arrow_function body: (statement_block) @body)"
    " (function_expression body: (statement_block) @body)]"
)
# Run only on a file that has an original to compare with: check_batch's changed files.
_BODY_QUERY = f"""
(function_declaration name: (_) @name body: (statement_block) @body)
(generator_function_declaration name: (_) @name body: (statement_block) @body)
(method_definition name: (_) @name body: (statement_block) @body)
(variable_declarator name: (identifier) @name value: {_FUNCTION_VALUE})
(public_field_definition name: (_) @name value: {_FUNCTION_VALUE})
(pair key: (_) @name value: {_FUNCTION_VALUE})
(assignment_expression left: (_) @name right: {_FUNCTION_VALUE})
"""


@cache
def _query(language: Language, source: str) -> Query:
    import tree_sitter

    return tree_sitter.Query(language, source)


def _is_empty(body: Node) -> bool:
    return all(child.type == "comment" for child in body.named_children)


def _qualified_name(name: Node) -> str:
    parts = [text(name)]
    node = name.parent
    while node is not None:
        if node.type in _SCOPE_OWNERS:
            owner = node.child_by_field_name("name")
            # The name node's own declaration is its first owner: skip it.
            if owner is not None and owner != name:
                parts.append(text(owner))
        node = node.parent
    return ".".join(reversed(parts))


def _bodies(tree: Tree) -> Iterator[tuple[str, Node]]:
    import tree_sitter

    cursor = tree_sitter.QueryCursor(_query(tree.language, _BODY_QUERY))
    for _, caps in cursor.matches(tree.root_node):
        names, bodies = caps.get("name"), caps.get("body")
        if names and bodies:
            yield _qualified_name(names[0]), bodies[0]


def _typescript(src: TsSource, out: Analysis) -> None:
    if src.original is None:
        return
    empty: list[tuple[str, Node]] = []
    kept: Counter[str] = Counter()
    for name, body in _bodies(src.tree):
        if _is_empty(body):
            empty.append((name, body))
        else:
            kept[name] += 1
    if not empty or src.original_tree is None:
        return
    before: Counter[str] = Counter()
    for name, body in _bodies(src.original_tree):
        if not _is_empty(body):
            before[name] += 1
    for name, body in empty:
        if before[name] > kept[name]:
            out.add(
                RULE,
                row(body),
                f"`{name}` had statements in the original and now has an empty body",
                last_row(body),
                always=True,
            )


def _python(src: PySource, out: Analysis) -> None:
    emptied = src.emptied
    for node in src.nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and id(node) in emptied:
            first = node.body[0]
            out.add(
                RULE,
                first.lineno,
                f"`{emptied[id(node)]}` had statements in the original and now has none",
                node.body[-1].end_lineno or first.lineno,
                always=True,
            )


RULE = Rule(
    code="VQ203",
    name="emptied-body",
    kind="INCOMPLETE_CODE",
    summary="a function that had statements in the original and now has an empty body",
    doc="""\
Flags a function, method or arrow function whose body had statements before the change and
is empty (or only `pass`/`...`) after it. Judged against the original, so it counts even when
the change only deleted lines.

Why: emptying a body keeps every caller compiling while the behaviour silently disappears.
An empty body that was empty before (`noop() {}`) is not flagged.

Example (before -> after):
    save(item: Item) { this.db.put(item); }   ->   save(item: Item) {}
""",
    typescript=_typescript,
    python=_python,
)
