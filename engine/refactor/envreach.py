"""Where a rewritten call reaches the worker's Env: a parameter, `this.env`, an `env` injected
into a constructor, or the module-scope `env` of `cloudflare:workers`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.refactor.calls import ancestors, declares, enclosing_class, param_names, walk
from engine.refactor.scan import FolderPlan, SiteWork, SourceFile
from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


# Base classes that hold the worker's Env as `this.env`: the workers runtime's own, and
# PartyServer's `Server<Env>` (a DurableObject subclass) and the Agents SDK's `Agent<Env>`.
_ENV_BASES = ("DurableObject", "WorkerEntrypoint", "WorkflowEntrypoint", "Server<", "Agent<")


def class_has_env(cls: Node) -> bool:
    heritage = next((c for c in cls.children if c.type == "class_heritage"), None)
    if heritage is not None and any(base in node_text(heritage) for base in _ENV_BASES):
        return True
    body = cls.child_by_field_name("body")
    for member in body.named_children if body is not None else []:
        is_field = member.type == "public_field_definition"
        if is_field and node_text(member.child_by_field_name("name")) == "env":
            return True
        if member.type == "method_definition" and node_text(member.child_by_field_name("name")) == (
            "constructor"
        ):
            params = member.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                has_modifier = any(
                    c.type in ("accessibility_modifier", "readonly") for c in param.children
                )
                if has_modifier and node_text(param.child_by_field_name("pattern")) == "env":
                    return True
    return False


def env_expression(node: Node) -> str | None:
    """The expression that reaches the worker's Env where `node` runs."""
    this_ok = True
    for ancestor in ancestors(node):
        if ancestor.type == "statement_block" and declares(ancestor, "env", node.start_byte):
            return "env"
        if ancestor.type in FUNCTION_KINDS:
            for name, type_text in param_names(ancestor):
                if name == "env":
                    return "env"
                if type_text.startswith("Context") or (name == "c" and not type_text):
                    return "c.env"
            if ancestor.type in ("function_declaration", "function_expression", "function"):
                this_ok = False
        if ancestor.type in CLASS_KINDS:
            return "this.env" if this_ok and class_has_env(ancestor) else None
    return None


# Workers expose the bindings at module scope too (`import { env } from "cloudflare:workers"`),
# typed by the global `Cloudflare.Env`: the seed's own before/after example reads them so.
MODULE_ENV = "env"


def module_env_blocker(file: SourceFile) -> str | None:
    """Why the file cannot read the module-scope `env`, or None when it can."""
    for node in walk(file.root):
        if node.type in ("identifier", "shorthand_property_identifier_pattern") and (
            node_text(node) == MODULE_ENV
        ):
            return f"the name `{MODULE_ENV}` is already used in {file.path}"
    return None


def inject_env(plan: FolderPlan, item: SiteWork, by_file: dict[str, list[ByteEdit]]) -> str:
    """Give the class an `env` constructor parameter when every `new` of it can pass one.
    Returns the env expression, or `!reason`."""
    assert item.node is not None
    cls = enclosing_class(item.node)
    no_env = "no Env is reachable here"
    if cls is None:
        return f"!{no_env}"
    key = (item.file.path, cls.start_byte)
    if key in plan.injected:
        return "this.env"
    class_name = node_text(cls.child_by_field_name("name"))
    news: list[tuple[str, Node, str]] = []
    for path, file in sorted(plan.files.items()):
        for node in walk(file.root):
            if node.type == "class_heritage" and f"extends {class_name}" in node_text(node):
                return f"!{no_env}, and {class_name} is extended, so its constructor cannot change"
            if (
                node.type != "new_expression"
                or node_text(node.child_by_field_name("constructor")) != class_name
            ):
                continue
            env = env_expression(node)
            if env is None:
                where = f"{path}:{node.start_point.row + 1}"
                return f"!{no_env}, and `new {class_name}` at {where} has no Env to pass"
            news.append((path, node, env))
    if not news:
        return f"!{no_env}, and no `new {class_name}` in the worker can pass one"
    body = cls.child_by_field_name("body")
    constructor = next(
        (
            m
            for m in (body.named_children if body is not None else [])
            if m.type == "method_definition"
            and node_text(m.child_by_field_name("name")) == "constructor"
        ),
        None,
    )
    path = item.file.path
    if constructor is None:
        assert body is not None
        by_file[path].append(
            ByteEdit(
                body.start_byte + 1,
                body.start_byte + 1,
                "\n  constructor(private readonly env: Env) {}\n",
            )
        )
    else:
        params = constructor.child_by_field_name("parameters")
        assert params is not None
        separator = ", " if params.named_child_count else ""
        by_file[path].append(
            ByteEdit(
                params.start_byte + 1,
                params.start_byte + 1,
                f"private readonly env: Env{separator}",
            )
        )
    for new_path, node, env in news:
        args = node.child_by_field_name("arguments")
        if args is None:
            by_file[new_path].append(ByteEdit(node.end_byte, node.end_byte, f"({env})"))
        else:
            separator = ", " if args.named_child_count else ""
            by_file[new_path].append(
                ByteEdit(args.start_byte + 1, args.start_byte + 1, f"{env}{separator}")
            )
    plan.injected.add(key)
    return "this.env"
