"""A database handed in as a parameter (`function GetSite(db: D1Database, ...)`): the site may
read the orchestrator binding through the module-scope `env` instead, when every caller inside
the folder passes the worker's own binding (`c.env.DB`, `env.DB`, `this.env.DB`) there.

The parameter stays (its callers keep passing it), so no signature changes; only the calls on
it move. A D1 session (`withSession`) is declined: its bookmark orders reads after writes, and
an RPC call does not carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.refactor.asyncflow import callers
from engine.refactor.calls import ancestors, unwrap
from engine.refactor.scan import FolderPlan
from engine.syntax.kinds import FUNCTION_KINDS, node_text

if TYPE_CHECKING:
    from tree_sitter import Node

_SESSION_TYPES = ("D1DatabaseSession",)
_DATABASE_TYPES = ("D1Database",)


def _param_index(function: Node, name: str) -> tuple[int, str] | None:
    params = function.child_by_field_name("parameters")
    for index, param in enumerate(params.named_children if params is not None else []):
        if node_text(param.child_by_field_name("pattern")) == name:
            annotation = param.child_by_field_name("type")
            type_text = node_text(annotation).lstrip(":").strip() if annotation is not None else ""
            return index, type_text
    return None


def _is_binding(arg: Node) -> bool:
    """`env.DB`, `c.env.DB`, `this.env.DB`: a binding read off the worker's Env."""
    arg = unwrap(arg)
    if arg.type != "member_expression":
        return False
    owner = unwrap(arg.child_by_field_name("object") or arg)
    text = "".join(node_text(owner).split())
    return text == "env" or text.endswith(".env")


def handed_in_reason(plan: FolderPlan, path: str, call: Node, name: str) -> str | None:
    """Why a site whose database arrives as parameter `name` cannot read the binding directly,
    or None when every caller in the folder passes the worker's own binding."""
    function = next(
        (a for a in ancestors(call) if a.type in FUNCTION_KINDS and _param_index(a, name)),
        None,
    )
    where = f"the database arrives as parameter `{name}`"
    if function is None:
        return f"{where}, outside any function"
    found = _param_index(function, name)
    if found is None:
        return f"{where} of an enclosing function whose callers cannot be followed"
    index, type_text = found
    if any(t in type_text for t in _SESSION_TYPES):
        return (
            f"{where}, a D1 session (withSession) whose bookmark orders reads after writes; "
            "an RPC call does not carry the bookmark"
        )
    if not any(t in type_text for t in _DATABASE_TYPES):
        return f"{where}, typed `{type_text or 'any'}`, not D1Database"
    calls = callers(plan, path, function)
    if isinstance(calls, str):
        return f"{where}, and {calls}"
    if not calls:
        return f"{where}, and no caller in the folder shows which database it is"
    for caller_path, caller in calls:
        args = caller.child_by_field_name("arguments")
        passed = [a for a in (args.named_children if args else []) if a.type != "comment"]
        if index >= len(passed) or not _is_binding(passed[index]):
            line = caller.start_point.row + 1
            return (
                f"{where}, and the caller at {caller_path}:{line} passes something other "
                "than the worker's own binding"
            )
    return None
