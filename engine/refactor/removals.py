"""Removing what the rewritten sites leave behind: the database and statements they owned,
schema statements moved to a migration, and constructors left empty."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.refactor.calls import ancestors, enclosing_class, enclosing_function, line_span, walk
from engine.refactor.recipes import REASON_ESCAPES
from engine.refactor.scan import FolderPlan, SiteWork, SourceFile
from engine.syntax.kinds import FUNCTION_KINDS, node_text
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


def statement_of(node: Node) -> Node | None:
    for ancestor in ancestors(node):
        if ancestor.type == "public_field_definition":
            return ancestor
        if ancestor.type in ("expression_statement", "lexical_declaration", "variable_declaration"):
            if ancestor.type != "expression_statement" and ancestor.named_child_count != 1:
                return None
            return ancestor
        if ancestor.type in FUNCTION_KINDS or ancestor.type in ("statement_block", "program"):
            return None
    return None


def _assigned_name(statement: Node) -> str | None:
    """`this.x` or `x` that a removable statement binds, if any."""
    if statement.type == "expression_statement":
        expr = statement.named_children[0] if statement.named_child_count else None
        if expr is not None and expr.type == "assignment_expression":
            return "".join(node_text(expr.child_by_field_name("left")).split())
        return None
    if statement.type == "public_field_definition":
        return "this." + node_text(statement.child_by_field_name("name"))
    declarator = statement.named_children[0]
    return node_text(declarator.child_by_field_name("name"))


def _spent_d1_statements(items: list[SiteWork], replaced: list[Node]) -> list[Node]:
    """`const stmt = env.DB.prepare(SQL)` declarations whose every use the recipes rewrote.

    D1 prepares lazily, so leaving one costs no query; but it still reads the worker's D1
    binding, which the move takes away. One left with any other use stays as it was."""
    spans = [(n.start_byte, n.end_byte) for n in replaced]
    found: list[Node] = []
    for item in items:
        if item.node is None or item.recipe is None or item.site.driver != "d1":
            continue
        if item.node not in replaced:
            continue
        name = item.site.call.split(".", 1)[0]
        function = enclosing_function(item.node)
        if not name.isidentifier() or function is None:
            continue
        declaration = _prepare_declaration(function, name)
        if declaration is None or declaration in found:
            continue
        uses = [
            n
            for n in walk(function)
            if n.type == "identifier"
            and node_text(n) == name
            and not (declaration.start_byte <= n.start_byte < declaration.end_byte)
        ]
        if uses and all(any(a <= n.start_byte < b for a, b in spans) for n in uses):
            found.append(declaration)
    return found


def _prepare_declaration(function: Node, name: str) -> Node | None:
    """The one `const name = <db>.prepare(...)` (a lone declarator) in the function body."""
    body = function.child_by_field_name("body")
    matches = []
    for node in walk(body) if body is not None else ():
        if node.type != "lexical_declaration" or node.named_child_count != 1:
            continue
        declarator = node.named_children[0]
        target = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        if target is None or value is None or node_text(target) != name:
            continue
        callee = value.child_by_field_name("function") if value.type == "call_expression" else None
        prop = callee.child_by_field_name("property") if callee is not None else None
        if prop is not None and node_text(prop) in ("prepare", "bind"):
            matches.append(node)
    return matches[0] if len(matches) == 1 else None


def group_removals(plan: FolderPlan, items: list[SiteWork]) -> list[ByteEdit] | str:
    """Edits that remove the group's database, statements and schema calls; or why they cannot
    go (some other use of them is left)."""
    file = items[0].file
    removed: list[Node] = []
    replaced: list[Node] = []
    owned: set[str] = set()
    for item in items:
        if item.node is None:
            return "the site could not be located in the syntax tree"
        if item.recipe is not None and item.recipe.moves_out:
            statement = statement_of(item.node)
            if statement is None or statement.type != "expression_statement":
                return "the schema statement is not a statement of its own"
            removed.append(statement)
        elif item.recipe is None:
            statement = statement_of(item.node)
            name = _assigned_name(statement) if statement is not None else None
            if statement is None or name is None:
                return "the database or statement is created inside an expression"
            if statement.type != "public_field_definition":
                removed.append(statement)
            owned.add(name)
        else:
            replaced.append(item.node)
    cls = enclosing_class(items[0].node) if items[0].node is not None else None
    scope = cls if cls is not None else file.root
    fields: list[Node] = []
    if cls is not None:
        body = cls.child_by_field_name("body")
        for member in body.named_children if body is not None else []:
            if member.type == "public_field_definition":
                name = "this." + node_text(member.child_by_field_name("name"))
                if name in owned:
                    fields.append(member)
    spans = [(n.start_byte, n.end_byte) for n in removed + replaced + fields]
    for node in walk(scope):
        text = (
            "".join(node_text(node).split())
            if node.type in ("member_expression", "identifier")
            else ""
        )
        if text not in owned:
            continue
        holder = node.parent
        if (
            node.type == "identifier"
            and holder is not None
            and holder.type == "member_expression"
            and holder.child_by_field_name("property") == node
        ):
            continue
        if any(start <= node.start_byte and node.end_byte <= end for start, end in spans):
            continue
        if (
            node.type == "identifier"
            and node.parent is not None
            and node.parent.type == "variable_declarator"
        ):
            continue
        parent = node.parent
        if parent is not None and parent.type in (
            "arguments",
            "return_statement",
            "pair",
            "assignment_expression",
            "variable_declarator",
        ):
            return REASON_ESCAPES
        line = node.start_point.row + 1
        return f"{text} is used at line {line} outside the SQL calls the recipes cover"
    removed += _spent_d1_statements(items, replaced)
    edits = [ByteEdit(*line_span(file.source, n.start_byte, n.end_byte), "") for n in removed]
    for member in fields:
        # The field's `;` is a sibling token in the class body, not part of the field node.
        after = member.next_sibling
        end = after.end_byte if after is not None and after.type == ";" else member.end_byte
        start, end = line_span(file.source, member.start_byte, end)
        # Fields that opened the class body take the blank line under them along.
        first = line_span(file.source, fields[0].start_byte, fields[0].end_byte)[0]
        opens_body = file.source[:first].rstrip(b" \t").endswith(b"{\n")
        if member is fields[-1] and file.source[end : end + 1] == b"\n" and opens_body:
            end += 1
        edits.append(ByteEdit(start, end, ""))
    constructor = _emptied_constructor(file, removed)
    if constructor is not None:
        params = constructor.child_by_field_name("parameters")
        body = constructor.child_by_field_name("body")
        injected = cls is not None and (file.path, cls.start_byte) in plan.injected
        if (params is not None and params.named_child_count) or injected:
            if body is not None:
                edits.append(ByteEdit(body.start_byte, body.end_byte, "{}"))
        else:
            span = line_span(file.source, constructor.start_byte, constructor.end_byte)
            edits.append(ByteEdit(*span, ""))
    return edits


def _emptied_constructor(file: SourceFile, removed: list[Node]) -> Node | None:
    """A parameterless constructor whose every statement is being removed."""
    owners = {id(n.parent) for n in removed}
    for statement in removed:
        body = statement.parent
        function = body.parent if body is not None else None
        if function is None or function.type != "method_definition":
            continue
        if node_text(function.child_by_field_name("name")) != "constructor":
            continue
        gone = {n.start_byte for n in removed}
        if id(body) in owners and all(
            c.type == "comment" or c.start_byte in gone
            for c in (body.named_children if body else [])
        ):
            return function
    return None
