"""Follow callers inside a folder to type a database that arrives as an untyped parameter.

The SQL finder binds names within one file, so `constructor(DB) { this.DB = DB }` (plain
JavaScript style, or TypeScript with implicit any) never becomes a database and every
`this.DB.prepare(...)` of the class is missed. Here every `new Service(x)` and `helper(x)` of
the folder is read with the caller's own bindings: when every caller hands the same parameter
a D1 database, that parameter is typed `D1Database` for a second pass of the finder over the
callee's file. One caller handing anything else (or no caller at all) keeps the parameter
untyped, so a false site costs nothing more than before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.migrate.models import SqlSite
from engine.migrate.sqlfinder import constructor_of, database_arguments, find_sql_sites
from engine.syntax.kinds import node_text
from engine.syntax.parse import parse

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["find_folder_sql_sites", "handed_databases"]

_D1 = "D1Database"


def _untyped_params(function: Node) -> list[str | None]:
    """The names of a function's parameters by position; None for a typed or patterned one."""
    params = function.child_by_field_name("parameters")
    names: list[str | None] = []
    for param in params.named_children if params is not None else ():
        if param.type == "comment":
            continue
        pattern = param.child_by_field_name("pattern")
        typed = param.child_by_field_name("type") is not None
        plain = pattern is not None and pattern.type == "identifier" and not typed
        names.append(node_text(pattern) if plain and pattern is not None else None)
    return names


def _callees(root: Node) -> dict[str, list[str | None]]:
    """Classes (by their constructor) and function declarations with an untyped parameter."""
    found: dict[str, list[str | None]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.named_children)
        name = node.child_by_field_name("name")
        if name is None:
            continue
        if node.type in ("class_declaration", "class"):
            constructor = constructor_of(node)
            if constructor is not None:
                found[node_text(name)] = _untyped_params(constructor)
        elif node.type == "function_declaration":
            found[node_text(name)] = _untyped_params(node)
    return {name: params for name, params in found.items() if any(params)}


def handed_databases(files: Mapping[str, bytes]) -> dict[str, dict[str, str]]:
    """For each file, `{"Callee.param": "D1Database"}` for the untyped parameters every caller
    in the folder hands a D1 database."""
    defined: dict[str, list[tuple[str, list[str | None]]]] = defaultdict(list)
    for path, source in files.items():
        if b"constructor" not in source and b"function" not in source:
            continue
        for name, params in _callees(parse(source, path).root_node).items():
            defined[name].append((path, params))
    # A name defined twice in the folder cannot be told apart at its call sites.
    unique = {name: places[0] for name, places in defined.items() if len(places) == 1}
    if not unique:
        return {}
    names = frozenset(unique)
    verdict: dict[tuple[str, int], bool] = {}
    for path, source in files.items():
        if not any(name.encode() in source for name in names):
            continue
        for name, index, is_d1 in database_arguments(source, path, names):
            if unique[name][1][index : index + 1] in ([], [None]):
                continue
            verdict[(name, index)] = verdict.get((name, index), True) and is_d1
    handed: dict[str, dict[str, str]] = defaultdict(dict)
    for (name, index), is_d1 in sorted(verdict.items()):
        path, params = unique[name]
        param = params[index]
        if is_d1 and param is not None:
            handed[path][f"{name}.{param}"] = _D1
    return dict(handed)


def find_folder_sql_sites(files: Mapping[str, bytes]) -> dict[str, list[SqlSite]]:
    """`find_sql_sites` for every file of a folder, with the parameters its callers hand a
    database typed as the callers show."""
    handed = handed_databases(files)
    return {path: find_sql_sites(files[path], path, handed.get(path)) for path in files}
