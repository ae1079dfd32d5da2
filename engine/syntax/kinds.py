"""The tree-sitter node kinds (TypeScript and TSX grammars) that scope code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["CLASS_KINDS", "FUNCTION_KINDS", "node_text"]

# Every node that opens a function scope: a generator is a function too, so leaving its two
# kinds out would let a binding inside one leak to the enclosing scope.
FUNCTION_KINDS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)
CLASS_KINDS = frozenset({"class_declaration", "class", "abstract_class_declaration"})


def node_text(node: Node | None) -> str:
    """The node's source text, or "" for no node; bad UTF-8 never raises."""
    return (node.text or b"").decode("utf-8", "replace") if node is not None else ""
