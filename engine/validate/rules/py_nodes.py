"""Reading Python ast nodes: dotted names, string literals, constants, function bodies."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

__all__ = [
    "concat_operands",
    "format_parts",
    "functions",
    "is_constant",
    "is_filler",
    "literal",
    "name_of",
    "real_statements",
]

_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FORMAT_SLOT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]|\{[^{}]*\}")


def name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{name_of(node.value)}.{node.attr}"
    return ""


def literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def is_constant(node: ast.expr) -> bool:
    """A literal, an UPPER_CASE name, or placeholders built from literals
    (`", ".join("?" for _ in cols)`, `",".join(["?"] * n)`, `"?, " * n`)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return all(is_constant(e) for e in node.elts)
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        return is_constant(node.elt)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return is_constant(node.left) or is_constant(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "join" and isinstance(node.func.value, ast.Constant):
            return all(is_constant(a) for a in node.args)
        return False
    name = name_of(node)
    return bool(name) and _CONSTANT_NAME.match(name.rsplit(".", 1)[-1]) is not None


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def is_filler(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def real_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    start = 1 if body and _is_docstring(body[0]) else 0
    return [s for s in body[start:] if not is_filler(s)]


def functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with its qualified name (`Class.method`, `outer.inner`)."""
    pending: list[tuple[str, ast.AST]] = [("", tree)]
    while pending:
        prefix, node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                yield name, child
                pending.append((f"{name}.", child))
            elif isinstance(child, ast.ClassDef):
                pending.append((f"{prefix}{child.name}.", child))
            else:
                pending.append((prefix, child))


def format_parts(template: str) -> list[str | None]:
    """A %- or {}-template's text, with None for each slot a value is formatted into."""
    parts: list[str | None] = []
    cursor = 0
    for match in _FORMAT_SLOT.finditer(template):
        parts += [template[cursor : match.start()], None]
        cursor = match.end()
    parts.append(template[cursor:])
    return parts


def concat_operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return concat_operands(node.left) + concat_operands(node.right)
    return [node]
