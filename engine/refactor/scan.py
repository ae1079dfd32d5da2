"""The per-file scan of a worker folder: its sources, their SQL sites located in the tree, and
the plan of edits being built for the folder."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.migrate.models import SqlSite
from engine.refactor.calls import chain_prefixes, is_chain_inner, walk
from engine.refactor.models import RpcMethod, RpcTarget
from engine.syntax.kinds import node_text
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.refactor.recipes.base import Recipe


@dataclass
class SourceFile:
    path: str
    source: bytes
    root: Node
    sites: list[SqlSite]


@dataclass
class SiteWork:
    site: SqlSite
    file: SourceFile
    node: Node | None
    group: tuple[str, int]
    recipe: Recipe | None = None
    reason: str | None = None
    method: RpcMethod | None = None


@dataclass
class FolderPlan:
    target: RpcTarget
    files: dict[str, SourceFile]
    edits: dict[str, list[ByteEdit]] = field(default_factory=lambda: defaultdict(list))
    injected: set[tuple[str, int]] = field(default_factory=set)
    # Files that reach the binding through `import { env } from "cloudflare:workers"`.
    module_env: set[str] = field(default_factory=set)
    # Whether any site reaches the binding through the worker's own Env (a parameter, this.env).
    worker_env: bool = False


def locate(file: SourceFile) -> list[Node | None]:
    """The call node of each site of the file: the shape matched on the site's lines."""
    by_line: dict[int, list[tuple[str, Node]]] = defaultdict(list)
    for node in walk(file.root):
        if node.type == "new_expression":
            ctor = node.child_by_field_name("constructor")
            by_line[node.start_point.row + 1].append((f"new {node_text(ctor)}", node))
        elif node.type == "call_expression" and not is_chain_inner(node):
            for shape, call in chain_prefixes(node):
                by_line[call.start_point.row + 1].append((shape, call))
                by_line[node.start_point.row + 1].append((shape, call))
    used: set[int] = set()
    located: list[Node | None] = []
    for site in file.sites:
        found: Node | None = None
        for line in range(site.start_line, site.end_line + 1):
            for shape, node in sorted(by_line.get(line, []), key=lambda item: item[1].start_byte):
                if shape == site.call and node.start_byte not in used:
                    found = node
                    break
            if found is not None:
                break
        if found is not None:
            used.add(found.start_byte)
        located.append(found)
    return located
