"""Find where a TypeScript worker touches a database directly.

Every direct database access of a specialist worker has to move behind an orchestrator RPC
entrypoint, and an automatic refactor consumes the sites found here, so a false site costs as
much as a missed one. A site is one call that runs or prepares SQL through bun:sqlite,
better-sqlite3, Cloudflare D1, Durable Object SQL storage, or a Drizzle/Kysely query builder.

A receiver counts as a database only through what the file binds it to: a driver constructor,
a driver factory, a type annotation, a D1 binding on `env`, or `storage.sql`. Method names alone
never make a site, so `cache.get()`, `app.all()` or `Promise.all()` are left alone. Bindings are
resolved lexically (blocks, functions, class fields) within one file; nothing crosses files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import cache, lru_cache
from typing import TYPE_CHECKING, NamedTuple

from engine.migrate.models import SqlDriver, SqlSite
from engine.sql.classify import looks_like_sql, sql_kind, sql_tables
from engine.sql.tokens import SqlKind
from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text
from engine.syntax.parse import parse

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Query, Tree

__all__ = ["find_sql_sites", "looks_like_sql", "sites_to_json", "sql_kind", "sql_tables"]


# --------------------------------------------------------------------------- syntax helpers

_BLOCK_TYPES = frozenset(
    {
        "statement_block",
        "program",
        "switch_body",
        "for_statement",
        "for_in_statement",
        "class_static_block",
    }
)
_WRAPPERS = frozenset(
    {"parenthesized_expression", "non_null_expression", "as_expression", "satisfies_expression"}
)
# Nodes a call sits in when it is the whole of a statement: the site spans that statement.
_STATEMENT_PARTS = _WRAPPERS | {
    "await_expression",
    "variable_declarator",
    "lexical_declaration",
    "variable_declaration",
    "assignment_expression",
    "augmented_assignment_expression",
    "expression_statement",
    "return_statement",
    "public_field_definition",
    "export_statement",
}
_TAG = "``"


def _first_named(node: Node) -> Node | None:
    for child in node.named_children:
        if child.type != "comment":
            return child
    return None


def _unwrap(node: Node) -> Node:
    while node.type in _WRAPPERS:
        inner = _first_named(node)
        if inner is None:
            break
        node = inner
    return node


def _path(node: Node) -> list[str] | None:
    """Dotted segments of `a.b.c`, `this.x.y` or `env["DB"]`; None for anything computed."""
    segments: list[str] = []
    while True:
        node = _unwrap(node)
        kind = node.type
        if kind == "identifier":
            segments.append(node_text(node))
            break
        if kind == "this":
            segments.append("this")
            break
        obj = node.child_by_field_name("object")
        if obj is None:
            return None
        if kind == "member_expression":
            prop = node.child_by_field_name("property")
            if prop is None:
                return None
            segments.append(node_text(prop))
        elif kind == "subscript_expression":
            index = node.child_by_field_name("index")
            key = _literal(index) if index is not None and index.type == "string" else None
            if not key:
                return None
            segments.append(key)
        else:
            return None
        node = obj
    segments.reverse()
    return segments


def _literal(node: Node) -> str | None:
    """Text of a string or template literal as written (templates keep `${...}`), or of a
    `+` concatenation of literals; None when any part is computed at run time."""
    parts: list[str] = []
    pending = [node]
    # An explicit stack: generated SQL can concatenate thousands of literals.
    while pending:
        current = _unwrap(pending.pop())
        if current.type in ("string", "template_string"):
            parts.append(node_text(current)[1:-1])
            continue
        if current.type != "binary_expression":
            return None
        operator = current.child_by_field_name("operator")
        left = current.child_by_field_name("left")
        right = current.child_by_field_name("right")
        if operator is None or node_text(operator) != "+" or left is None or right is None:
            return None
        pending += (right, left)
    return "".join(parts)


def _statement_span(node: Node, lineage: Iterable[Node]) -> Node:
    for parent in lineage:
        if parent.type not in _STATEMENT_PARTS:
            break
        node = parent
    return node


def _is_awaited(lineage: Iterable[Node]) -> bool:
    for parent in lineage:
        if parent.type == "await_expression":
            return True
        if parent.type not in _WRAPPERS:
            return False
    return False


def _is_stored(lineage: Iterable[Node]) -> bool:
    """True when the value below `lineage` goes into a variable, field or object property."""
    for parent in lineage:
        if parent.type in ("variable_declarator", "assignment_expression", "pair"):
            return True
        if parent.type == "public_field_definition":
            return True
        if parent.type not in _WRAPPERS and parent.type != "await_expression":
            return False
    return False


def _function_name(node: Node) -> str | None:
    name = node.child_by_field_name("name")
    if name is not None:
        return node_text(name)
    if node.type not in ("arrow_function", "function_expression", "function"):
        return None
    holder = node.parent
    while holder is not None and holder.type in _WRAPPERS:
        holder = holder.parent
    if holder is None:
        return None
    if holder.type in ("variable_declarator", "public_field_definition"):
        target = holder.child_by_field_name("name")
    elif holder.type == "assignment_expression":
        target = holder.child_by_field_name("left")
    elif holder.type == "pair":
        target = holder.child_by_field_name("key")
    else:
        return None
    if target is None:
        return None
    segments = _path(target)
    return segments[-1] if segments else node_text(target).strip("'\"")


def _enclosing(lineage: Iterable[Node]) -> tuple[str | None, str | None]:
    """The nearest named function (anonymous callbacks are looked through) and class."""
    function: str | None = None
    for parent in lineage:
        if function is None and parent.type in FUNCTION_KINDS:
            function = _function_name(parent)
        if parent.type in CLASS_KINDS:
            name = parent.child_by_field_name("name")
            return function, node_text(name) if name is not None else None
    return function, None


# --------------------------------------------------------------------------- call chains


class _Link(NamedTuple):
    """One call in a chain: `.name(args)`, or a tagged template when name is ``."""

    name: str
    call: Node
    args: Node | None

    def arg(self, index: int = 0) -> Node | None:
        if self.args is None:
            return None
        if self.args.type == "template_string":
            return self.args if index == 0 else None
        items = [child for child in self.args.named_children if child.type != "comment"]
        return items[index] if index < len(items) else None


class _Chain(NamedTuple):
    """`root.a(...).b(...)`: the receiver expression and the calls made on it, outermost last."""

    root: Node
    links: tuple[_Link, ...]
    outer: Node
    awaited: bool


def _is_chain_inner(call: Node) -> bool:
    """True when `call` is the receiver of a further call, so an outer chain covers it."""
    node, parent = call, call.parent
    while parent is not None and parent.type in _WRAPPERS:
        node, parent = parent, parent.parent
    if parent is None or parent.type != "member_expression":
        return False
    if parent.child_by_field_name("object") != node:
        return False
    callee, grand = parent, parent.parent
    # `await a.b<T>()` parses with the await inside the callee.
    if grand is not None and grand.type == "await_expression":
        callee, grand = grand, grand.parent
    return (
        grand is not None
        and grand.type == "call_expression"
        and grand.child_by_field_name("function") == callee
    )


def _decompose(outer: Node) -> _Chain | None:
    links: list[_Link] = []
    awaited = False
    node = outer
    while node.type == "call_expression":
        callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is None:
            return None
        if callee.type == "await_expression":
            awaited = True
            inner = _first_named(callee)
            if inner is None:
                return None
            callee = inner
        callee = _unwrap(callee)
        if callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            obj = callee.child_by_field_name("object")
            if prop is None or obj is None:
                return None
            links.append(_Link(node_text(prop), node, args))
            node = _unwrap(obj)
            continue
        if args is not None and args.type == "template_string":
            links.append(_Link(_TAG, node, args))
            node = callee
        break
    if not links:
        return None
    links.reverse()
    return _Chain(node, tuple(links), outer, awaited)


def _shape(root: str, links: Sequence[_Link]) -> str:
    out = root
    for index, link in enumerate(links):
        if link.name == _TAG:
            out += _TAG
        else:
            out += f".{link.name}" + ("" if index == len(links) - 1 else "()")
    return out


def _exec_index(
    links: Sequence[_Link], start: int, modifiers: frozenset[str], terminals: frozenset[str]
) -> int | None:
    """Index of the first call that runs the statement, looking through modifiers only."""
    for index in range(start, len(links)):
        if links[index].name in terminals:
            return index
        if links[index].name not in modifiers:
            return None
    return None


def _function_args(links: Iterable[_Link]) -> Iterator[Node]:
    for link in links:
        if link.args is None or link.args.type != "arguments":
            continue
        for child in link.args.named_children:
            if child.type in ("arrow_function", "function_expression", "function"):
                yield child


def _first_param(function: Node) -> Node | None:
    single = function.child_by_field_name("parameter")
    if single is not None:
        return single
    params = function.child_by_field_name("parameters")
    first = _first_named(params) if params is not None else None
    pattern = first.child_by_field_name("pattern") if first is not None else None
    return pattern if pattern is not None and pattern.type == "identifier" else None


# --------------------------------------------------------------------------- bindings


class _Role(Enum):
    SQLITE_DB = "sqlite-db"
    SQLITE_STMT = "sqlite-statement"
    D1_DB = "d1-db"
    D1_STMT = "d1-statement"
    DO_SQL = "do-sql"
    DO_STORAGE = "do-storage"
    DRIZZLE = "drizzle"
    KYSELY = "kysely"


@dataclass(frozen=True, slots=True)
class _Prepared:
    statement: str | None
    kind: SqlKind
    tables_read: tuple[str, ...] = ()
    tables_written: tuple[str, ...] = ()


_NO_TEXT = _Prepared(None, "unknown")
_TRANSACTION = _Prepared(None, "transaction")


@lru_cache(maxsize=4096)
def _prepared_text(text: str | None, kind: SqlKind | None = None) -> _Prepared:
    if text is None:
        return _Prepared(None, kind or "unknown")
    analysed = f"PRAGMA {text}" if kind == "pragma" else text
    read, written = sql_tables(analysed)
    return _Prepared(text, kind or sql_kind(text), tuple(read), tuple(written))


@dataclass(frozen=True, slots=True)
class _Binding:
    role: _Role
    driver: SqlDriver
    is_async: bool
    prepared: _Prepared | None = None
    weak: bool = False  # a D1 binding known only by its name, so its SQL must look like SQL


def _merge(old: _Binding | None, new: _Binding) -> _Binding:
    if old is None or old == new:
        return new
    if old.role is not new.role:
        return old
    # A type annotation alone leaves the statement unseen (None), so an assignment fills it in;
    # two different statements reaching one variable leave its text unknown.
    if old.prepared is None or new.prepared is None:
        prepared = old.prepared or new.prepared
    else:
        prepared = old.prepared if old.prepared == new.prepared else _NO_TEXT
    return replace(old, prepared=prepared, weak=old.weak and new.weak)


_D1_DB = _Binding(_Role.D1_DB, "d1", True)
_DO_SQL = _Binding(_Role.DO_SQL, "durable-object-sql", False)
_DO_STORAGE = _Binding(_Role.DO_STORAGE, "durable-object-sql", False)
_KYSELY = _Binding(_Role.KYSELY, "kysely", True)
_D1_NAME = re.compile(r"DB|DATABASE|D1")
_D1_TYPES = frozenset({"D1Database", "D1DatabaseSession"})
_SYNC_DRIZZLE = frozenset(
    {"bun-sqlite", "better-sqlite3", "durable-sqlite", "expo-sqlite", "op-sqlite", "sql-js"}
)
_GLOBAL_TYPES: dict[str, _Binding] = {
    "D1Database": _D1_DB,
    "D1DatabaseSession": _D1_DB,
    "D1PreparedStatement": _Binding(_Role.D1_STMT, "d1", True),
    "SqlStorage": _DO_SQL,
    "DrizzleD1Database": _Binding(_Role.DRIZZLE, "drizzle", True),
    "BaseSQLiteDatabase": _Binding(_Role.DRIZZLE, "drizzle", True),
    "BunSQLiteDatabase": _Binding(_Role.DRIZZLE, "drizzle", False),
    "BetterSQLite3Database": _Binding(_Role.DRIZZLE, "drizzle", False),
    "DrizzleSqliteDODatabase": _Binding(_Role.DRIZZLE, "drizzle", False),
}


@dataclass(frozen=True, slots=True)
class _Source:
    """Something a name is bound to: a value, a destructured member of a value, or a type."""

    key: tuple[int, str]
    at: Node
    value: Node | None
    member: str | None = None
    type_text: str | None = None
    roles: frozenset[_Role] | None = None


class _Imports:
    """What the file imports from database packages, by local name."""

    def __init__(self) -> None:
        self.sqlite_ctors: dict[str, SqlDriver] = {}
        self.sqlite_namespaces: dict[str, SqlDriver] = {}
        self.types: dict[str, _Binding] = {}
        self.drizzle: dict[str, bool] = {}
        self.kysely_ctors: set[str] = set()
        self.kysely_sql: set[str] = set()

    def add(self, module: str, imported: str, local: str) -> None:
        if module == "bun:sqlite":
            self._add_sqlite("bun:sqlite", imported, local, namespace_ctor=True)
        elif module == "better-sqlite3":
            self._add_sqlite("better-sqlite3", imported, local, namespace_ctor=False)
        elif module.startswith("drizzle-orm/") and imported == "drizzle":
            self.drizzle[local] = module.removeprefix("drizzle-orm/") not in _SYNC_DRIZZLE
        elif module == "kysely" and imported == "Kysely":
            self.kysely_ctors.add(local)
            self.types[local] = _KYSELY
        elif module == "kysely" and imported == "sql":
            self.kysely_sql.add(local)

    def _add_sqlite(
        self, driver: SqlDriver, imported: str, local: str, namespace_ctor: bool
    ) -> None:
        db = _Binding(_Role.SQLITE_DB, driver, False)
        statement = _Binding(_Role.SQLITE_STMT, driver, False)
        if imported in ("default", "*"):
            # better-sqlite3's default export is the Database class; its types hang off it.
            if imported == "*" and namespace_ctor:
                self.sqlite_namespaces[local] = driver
            else:
                self.sqlite_ctors[local] = driver
            self.types[f"{local}.Database"] = db
            self.types[f"{local}.Statement"] = statement
        elif imported == "Database":
            self.sqlite_ctors[local] = driver
            self.types[local] = db
        elif imported == "Statement":
            self.types[local] = statement


def _collect_import(imports: _Imports, statement: Node) -> None:
    source = statement.child_by_field_name("source")
    module = _literal(source) if source is not None else None
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    if module is None or clause is None:
        return
    for child in clause.named_children:
        if child.type == "identifier":
            imports.add(module, "default", node_text(child))
        elif child.type == "namespace_import":
            name = _first_named(child)
            if name is not None:
                imports.add(module, "*", node_text(name))
        elif child.type == "named_imports":
            for spec in child.named_children:
                imported = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or imported
                if imported is not None and alias is not None:
                    imports.add(module, node_text(imported), node_text(alias))


def _collect_require(imports: _Imports, declarator: Node) -> None:
    name = declarator.child_by_field_name("name")
    value = declarator.child_by_field_name("value")
    if name is None or value is None or value.type != "call_expression":
        return
    callee = value.child_by_field_name("function")
    args = value.child_by_field_name("arguments")
    if callee is None or node_text(callee) != "require" or args is None:
        return
    first = _first_named(args)
    module = _literal(first) if first is not None else None
    if module is not None and name.type == "identifier":
        imports.add(module, "default", node_text(name))


def _type_names(type_text: str) -> Iterator[str]:
    """The named types of a `: T | null`-style annotation, generic arguments dropped."""
    for part in type_text.lstrip(":").split("|"):
        name = part.strip().split("<", 1)[0].strip()
        if name:
            yield name


def _pattern_names(pattern: Node) -> Iterator[tuple[str, str | None]]:
    """(local name, property name) for every identifier a destructuring pattern declares."""
    if pattern.type in ("identifier", "shorthand_property_identifier_pattern"):
        yield node_text(pattern), node_text(pattern) if pattern.type != "identifier" else None
        return
    for child in pattern.named_children:
        if child.type == "pair_pattern":
            key = child.child_by_field_name("key")
            value = child.child_by_field_name("value")
            if value is not None and value.type == "identifier" and key is not None:
                yield node_text(value), node_text(key)
            elif value is not None:
                yield from ((name, None) for name, _ in _pattern_names(value))
        elif child.type in (
            "object_pattern",
            "array_pattern",
            "rest_pattern",
            "assignment_pattern",
        ):
            yield from ((name, None) for name, _ in _pattern_names(child))
        elif child.type in ("identifier", "shorthand_property_identifier_pattern"):
            yield from _pattern_names(child)


# --------------------------------------------------------------------------- per-driver rules

_SQLITE_EXEC = frozenset({"run", "get", "all", "values", "iterate"})
_SQLITE_MODIFIERS = frozenset({"as", "bind", "pluck", "raw", "expand", "safeIntegers"})
_D1_EXEC = frozenset({"first", "all", "run", "raw"})
_D1_MODIFIERS = frozenset({"bind"})
_DO_TERMINALS = frozenset({"toArray", "one", "raw", "next"})
_BUILDER_END = frozenset({"then", "catch", "finally"})
_DRIZZLE_KIND: dict[str, SqlKind] = {
    "select": "select",
    "selectDistinct": "select",
    "selectDistinctOn": "select",
    "$count": "select",
    "insert": "insert",
    "update": "update",
    "delete": "delete",
    "batch": "transaction",
    "transaction": "transaction",
}
_DRIZZLE_RAW = frozenset({"run", "all", "get", "values", "execute"})
_KYSELY_KIND: dict[str, SqlKind] = {
    "selectFrom": "select",
    "selectNoFrom": "select",
    "insertInto": "insert",
    "replaceInto": "insert",
    "updateTable": "update",
    "mergeInto": "update",
    "deleteFrom": "delete",
    "transaction": "transaction",
}
_KYSELY_SCHEMA = frozenset(
    {"createTable", "alterTable", "dropTable", "createIndex", "dropIndex", "createView"}
)
_JOINS = frozenset({"from", "join", "innerJoin", "leftJoin", "rightJoin", "fullJoin", "crossJoin"})


class _When(Enum):
    """When a candidate operation becomes a site; settled once the whole file is classified."""

    ALWAYS = "always"
    # A D1 statement built but not run here: a site unless a batch() call runs it.
    OUTSIDE_BATCH = "outside-batch"
    # A bound D1 statement variable: its executions are the sites; in a batch it only
    # lends its tables to that batch.
    IN_BATCH_ONLY = "in-batch-only"
    # storage.transactionSync also wraps key-value storage; it is SQL only next to storage.sql.
    WITH_DO_SQL = "with-do-sql"


@dataclass(frozen=True, slots=True)
class _Op:
    """How one chain touches the database, before it becomes a SqlSite."""

    driver: SqlDriver
    used: int
    prepared: _Prepared
    is_async: bool
    when: _When = _When.ALWAYS
    batch_args: Node | None = None


def _builder_end(links: Sequence[_Link]) -> int:
    for index, link in enumerate(links):
        if link.name in _BUILDER_END:
            return index
    return len(links)


def _table_arg(node: Node | None) -> list[str]:
    """Drizzle passes table objects (`users`, `schema.users`); Kysely passes names
    (`'users'`, `'users as u'`, `['a', 'b']`)."""
    if node is None:
        return []
    if node.type == "array":
        return [name for child in node.named_children for name in _table_arg(child)]
    text = _literal(node)
    if text is not None:
        words = text.split()
        return [words[0].split(".")[-1]] if words else []
    segments = _path(node)
    return [segments[-1]] if segments else []


def _builder_op(
    driver: SqlDriver, kinds: dict[str, SqlKind], links: Sequence[_Link], is_async: bool
) -> _Op | None:
    start = 1 if links[0].name in ("with", "withRecursive") and len(links) > 1 else 0
    op = links[start]
    kind = kinds.get(op.name)
    if kind is None:
        return None
    read: list[str] = []
    written: list[str] = []
    if kind == "select":
        read = _table_arg(op.arg()) if op.name in ("selectFrom", "$count") else []
        read += [t for link in links[start:] if link.name in _JOINS for t in _table_arg(link.arg())]
    elif kind != "transaction":
        written = _table_arg(op.arg())
        read = [
            t for link in links[start + 1 :] if link.name in _JOINS for t in _table_arg(link.arg())
        ]
    prepared = _Prepared(None, kind, tuple(dict.fromkeys(read)), tuple(dict.fromkeys(written)))
    return _Op(driver, _builder_end(links), prepared, is_async)


def _kysely_schema_op(links: Sequence[_Link]) -> _Op | None:
    first = links[0]
    if first.name not in _KYSELY_SCHEMA:
        return None
    if first.name in ("createTable", "alterTable", "dropTable"):
        written = _table_arg(first.arg())
    else:
        written = [t for link in links[1:] if link.name == "on" for t in _table_arg(link.arg())]
    return _Op("kysely", _builder_end(links), _Prepared(None, "ddl", (), tuple(written)), True)


def _fragment_text(node: Node | None) -> str | None:
    """SQL of a Drizzle/Kysely fragment: sql`...`, sql.raw('...') or a plain literal."""
    if node is None:
        return None
    node = _unwrap(node)
    if node.type == "call_expression":
        args = node.child_by_field_name("arguments")
        if args is not None and args.type == "template_string":
            return _literal(args)
        first = _first_named(args) if args is not None else None
        callee = node.child_by_field_name("function")
        if callee is not None and node_text(callee).endswith(".raw") and first is not None:
            return _literal(first)
        return None
    return _literal(node)


# --------------------------------------------------------------------------- the scan

_QUERY_SOURCE = """
(import_statement) @import
(call_expression) @call
(new_expression) @new
(variable_declarator) @declarator
(assignment_expression) @assign
(public_field_definition) @field
(required_parameter type: (type_annotation)) @param
(optional_parameter type: (type_annotation)) @param
(required_parameter (accessibility_modifier)) @param
(property_signature) @signature
"""
_MAX_BINDING_ROUNDS = 5
_SCOPE_TYPES = FUNCTION_KINDS | _BLOCK_TYPES
_NAMED_DECLARATIONS = frozenset(
    {"function_declaration", "generator_function_declaration"} | CLASS_KINDS
)
# The leading `a.b.c` of a call chain, up to its first call parenthesis or template.
_HEAD_RE = re.compile(rb"[\w$.\s!?]*")
_BINDABLE_VALUES = _WRAPPERS | {
    "call_expression",
    "new_expression",
    "member_expression",
    "subscript_expression",
    "identifier",
    "this",
    "await_expression",
}
# Files without any of these bytes cannot hold a site, so they are not even parsed.
# (`SqlStorage` alone can type a Durable Object's SQL handle; `localStorage` cannot.)
_MARKERS = re.compile(rb"sqlite|storage|SqlStorage|rizzle|ysely|D1|DB|DATABASE")


@cache
def _query(language: Language) -> Query:
    import tree_sitter

    return tree_sitter.Query(language, _QUERY_SOURCE)


def _captures(tree: Tree) -> dict[str, list[Node]]:
    import tree_sitter

    # Capture lists come in no stable order; whatever depends on order sorts its own results.
    return tree_sitter.QueryCursor(_query(tree.language)).captures(tree.root_node)


class _FileScan:
    """One file: what it imports, what its names are bound to, and the calls made on them."""

    def __init__(self, source: bytes, path: str) -> None:
        self.source = source
        self.path = path
        tree = parse(source, path)
        self.root = tree.root_node
        self.captures = _captures(tree)
        self.imports = _Imports()
        self.env_types: dict[str, str] | None = None
        self.bindings: dict[tuple[int, str], _Binding] = {}
        # First segment (`db`, or `this.db`) of every bound path: most names never reach a
        # database, and this set lets their lookups stop before any scope walk.
        self.bound_roots: set[str] = set()
        self.this_declared: set[tuple[int, str]] = set()
        self.this_paths: dict[str, _Binding] = {}
        self.scope_names: dict[int, frozenset[str]] = {}
        self.chain_of: dict[int, _Chain | None] = {}
        self.path_of: dict[int, list[str] | None] = {}
        self.parent_of: dict[int, Node | None] = {}
        self.sources: list[_Source] = []

    def cap(self, name: str) -> list[Node]:
        return self.captures.get(name, [])

    # -- collection

    def collect(self) -> None:
        for statement in self.cap("import"):
            _collect_import(self.imports, statement)
        if b"require" in self.source:
            for declarator in self.cap("declarator"):
                _collect_require(self.imports, declarator)
        for declarator in self.cap("declarator"):
            self._collect_declarator(declarator)
        for param in self.cap("param"):
            self._collect_param(param)
        for field in self.cap("field"):
            self._collect_field(field)
        for assignment in self.cap("assign"):
            self._collect_assignment(assignment)
        self._collect_transaction_params()

    def _path(self, node: Node) -> list[str] | None:
        if node.id not in self.path_of:
            self.path_of[node.id] = _path(node)
        return self.path_of[node.id]

    def _chain(self, call: Node) -> _Chain | None:
        if call.id not in self.chain_of:
            self.chain_of[call.id] = _decompose(call)
        return self.chain_of[call.id]

    def _may_bind(self, value: Node | None, type_text: str | None) -> bool:
        """Cheap pre-check that keeps literals, functions and unrelated types out of the
        binding rounds."""
        if value is not None and value.type in _BINDABLE_VALUES:
            return True
        return type_text is not None and any(
            name in self.imports.types or name in _GLOBAL_TYPES for name in _type_names(type_text)
        )

    def _env_type(self, name: str) -> str | None:
        """The declared type of `name` in the file's Env/Bindings types, read on first use."""
        if self.env_types is None:
            self.env_types = {}
            for signature in self.cap("signature"):
                key = signature.child_by_field_name("name")
                annotation = signature.child_by_field_name("type")
                if key is not None and annotation is not None:
                    declared = next(_type_names(node_text(annotation)), "")
                    # Signatures arrive unordered; a D1 declaration of the name wins.
                    if self.env_types.get(node_text(key)) not in _D1_TYPES:
                        self.env_types[node_text(key)] = declared
        return self.env_types.get(name)

    def _collect_declarator(self, declarator: Node) -> None:
        name = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        annotation = declarator.child_by_field_name("type")
        type_text = node_text(annotation) if annotation is not None else None
        if name is None:
            return
        if name.type == "identifier":
            if self._may_bind(value, type_text) or _is_object(value):
                scope = _declaration_scope(self._lineage(declarator), self.root).id
                self._bind_source((scope, node_text(name)), declarator, value, type_text)
            return
        if not self._may_bind(value, None):
            return
        scope = _declaration_scope(self._lineage(declarator), self.root).id
        for local, member in _pattern_names(name):
            if member is not None:
                self.sources.append(_Source((scope, local), declarator, value, member))

    def _collect_param(self, param: Node) -> None:
        pattern = param.child_by_field_name("pattern")
        formal = param.parent
        function = formal.parent if formal is not None else None
        if pattern is None or pattern.type != "identifier" or function is None:
            return
        annotation = param.child_by_field_name("type")
        type_text = node_text(annotation) if annotation is not None else None
        bindable = self._may_bind(None, type_text)
        if bindable:
            self.sources.append(
                _Source((function.id, node_text(pattern)), param, None, None, type_text)
            )
        if any(child.type in ("accessibility_modifier", "readonly") for child in param.children):
            key = (self._class_id(param), f"this.{node_text(pattern)}")
            self.this_declared.add(key)
            if bindable:
                self.sources.append(_Source(key, param, None, None, type_text))

    def _collect_field(self, field: Node) -> None:
        name = field.child_by_field_name("name")
        if name is None or any(child.type == "static" for child in field.children):
            return
        annotation = field.child_by_field_name("type")
        key = (self._class_id(field), f"this.{node_text(name)}")
        self.this_declared.add(key)
        self._bind_source(
            key,
            field,
            field.child_by_field_name("value"),
            node_text(annotation) if annotation is not None else None,
        )

    def _collect_assignment(self, assignment: Node) -> None:
        left = assignment.child_by_field_name("left")
        right = assignment.child_by_field_name("right")
        segments = self._path(left) if left is not None else None
        if not segments or not (self._may_bind(right, None) or _is_object(right)):
            return
        if segments[0] == "this":
            key = (self._class_id(assignment), ".".join(segments))
            self.this_declared.add(key)
        else:
            key = (self._scope_of(segments[0], assignment), ".".join(segments))
        self._bind_source(key, assignment, right, None)

    def _bind_source(
        self, key: tuple[int, str], at: Node, value: Node | None, type_text: str | None
    ) -> None:
        if self._may_bind(value, type_text):
            self.sources.append(_Source(key, at, value, None, type_text))
        if value is None or not _is_object(value):
            return
        # Statement maps (`const q = { byId: db.query(...) }`) bind each property on its own.
        for pair in _unwrap(value).named_children:
            prop = pair.child_by_field_name("key") if pair.type == "pair" else None
            inner = pair.child_by_field_name("value") if pair.type == "pair" else None
            if prop is not None and inner is not None:
                name = node_text(prop).strip("'\"")
                self._bind_source((key[0], f"{key[1]}.{name}"), at, inner, None)

    def _collect_transaction_params(self) -> None:
        # `db.transaction(async (tx) => ...)` hands the callback a builder of the same kind.
        builders = frozenset({_Role.DRIZZLE, _Role.KYSELY})
        for call in self.cap("call"):
            if self.source.find(b"transaction", call.start_byte, call.end_byte) < 0:
                continue
            chain = self._chain(call) if not _is_chain_inner(call) else None
            if chain is None or not any(link.name == "transaction" for link in chain.links):
                continue
            for function in _function_args(chain.links):
                param = _first_param(function)
                if param is not None:
                    key = (function.id, node_text(param))
                    self.sources.append(_Source(key, chain.root, chain.root, roles=builders))

    # -- name resolution

    def _lineage(self, node: Node) -> Iterator[Node]:
        """The ancestors of `node`, innermost first. Parents are memoised: tree-sitter finds
        a parent by descending from the root, and lookups in a file share ancestor chains."""
        current = node
        while True:
            if current.id in self.parent_of:
                parent = self.parent_of[current.id]
            else:
                parent = self.parent_of[current.id] = current.parent
            if parent is None:
                return
            yield parent
            current = parent

    def _class_id(self, node: Node) -> int:
        for parent in self._lineage(node):
            if parent.type in CLASS_KINDS:
                return parent.id
        return self.root.id

    def _scope_of(self, name: str, at: Node) -> int:
        """The innermost scope around `at` that declares `name` (the file scope when none does),
        so a local `const db = new Map()` hides a module-level database named `db`."""
        for node in self._lineage(at):
            if node.type not in _SCOPE_TYPES:
                continue
            names = self.scope_names.get(node.id)
            if names is None:
                names = self.scope_names[node.id] = _declared_names(node)
            if name in names:
                return node.id
        return self.root.id

    def _may_reach_db(self, call: Node) -> bool:
        """Whether the chain ending in `call` starts from something that can be a database,
        read from the source text before any tree walk: a bound name, an `env.X` binding,
        `storage.sql`, or a driver factory. Calls on anything else are most calls in a file."""
        head_match = _HEAD_RE.match(self.source, call.start_byte)
        head = head_match.group() if head_match else b""
        if b"env" in head or b"storage" in head:
            return True
        first, _, rest = head.partition(b".")
        first = first.strip()
        if not first or first in (b"new", b"await") or not first.isascii():
            return True
        if first == b"this":
            second = rest.partition(b".")[0].strip(b" \t\r\n!?")
            return f"this.{second.decode()}" in self.bound_roots
        root = first.rstrip(b"!?").decode()
        return (
            root in self.bound_roots
            or root in self.imports.drizzle
            or root in self.imports.kysely_sql
        )

    def _at_path(self, segments: list[str], at: Node) -> tuple[_Binding | None, list[str]]:
        bound = self._bound_prefix(segments, at)
        if bound is None:
            return self._by_convention(segments)
        binding, rest = bound
        if binding.role is _Role.DO_STORAGE and rest[:1] == ["sql"]:
            return _DO_SQL, rest[1:]
        return binding, rest

    def _bound_prefix(self, segments: list[str], at: Node) -> tuple[_Binding, list[str]] | None:
        if _binding_root(segments) not in self.bound_roots:
            return None
        if segments[0] == "this":
            scope = self._class_id(at)
            for size in range(len(segments), 1, -1):
                key = (scope, ".".join(segments[:size]))
                binding = self.bindings.get(key)
                if binding is None and key not in self.this_declared:
                    # A subclass in the same file uses a field its base class set up.
                    binding = self.this_paths.get(key[1])
                if binding is not None:
                    return binding, segments[size:]
            return None
        scope = self._scope_of(segments[0], at)
        for size in range(len(segments), 0, -1):
            binding = self.bindings.get((scope, ".".join(segments[:size])))
            if binding is not None:
                return binding, segments[size:]
        return None

    def _by_convention(self, segments: list[str]) -> tuple[_Binding | None, list[str]]:
        for index in range(1, len(segments)):
            if segments[index - 1] == "storage" and segments[index] == "sql":
                return _DO_SQL, segments[index + 1 :]
        for index in range(1, len(segments)):
            if segments[index - 1] == "env":
                return self._env_binding(segments[index]), segments[index + 1 :]
        if len(segments) >= 2 and segments[-1] == "storage" and segments[-2] in ("ctx", "state"):
            return _DO_STORAGE, []
        return None, []

    def _env_binding(self, name: str) -> _Binding | None:
        declared = self._env_type(name)
        if declared is not None:
            return _D1_DB if declared in _D1_TYPES else None
        return replace(_D1_DB, weak=True) if _D1_NAME.search(name) else None

    def _resolve(self, node: Node) -> tuple[_Binding | None, list[str]]:
        segments = self._path(node)
        if segments is not None:
            return self._at_path(segments, node)
        return self._value_binding(node), []

    # -- binding values

    def bind_all(self) -> None:
        """Bind names until nothing changes. A value that resolved once keeps its binding, so
        later rounds only retry the unresolved values whose root name was just bound (a
        statement prepared on a database assigned further down, an alias of an alias)."""
        pending = self.sources
        for _ in range(_MAX_BINDING_ROUNDS):
            unresolved: list[_Source] = []
            newly_bound: set[str] = set()
            for source in pending:
                binding = self._source_binding(source)
                if binding is None:
                    unresolved.append(source)
                elif self._store(source.key, binding):
                    newly_bound.add(_binding_root(source.key[1].split(".")))
            pending = [s for s in unresolved if self._value_root(s) in newly_bound]
            if not pending:
                return

    def _store(self, key: tuple[int, str], binding: _Binding) -> bool:
        merged = _merge(self.bindings.get(key), binding)
        if merged == self.bindings.get(key):
            return False
        self.bindings[key] = merged
        self.bound_roots.add(_binding_root(key[1].split(".")))
        if key[1].startswith("this."):
            self.this_paths[key[1]] = merged
        return True

    def _value_root(self, source: _Source) -> str | None:
        """The bound-name root a source's value depends on, if any."""
        if source.value is None:
            return None
        node = _unwrap(source.value)
        if node.type == "await_expression":
            inner = _first_named(node)
            node = _unwrap(inner) if inner is not None else node
        if node.type == "call_expression":
            chain = self._chain(node)
            node = chain.root if chain is not None else node
        segments = self._path(node)
        return _binding_root(segments) if segments else None

    def _source_binding(self, source: _Source) -> _Binding | None:
        binding: _Binding | None = None
        if source.value is not None and source.member is not None:
            segments = self._path(source.value)
            if segments is not None:
                binding, rest = self._at_path([*segments, source.member], source.at)
                binding = binding if not rest else None
        elif source.value is not None:
            binding = self._value_binding(source.value)
        if binding is None and source.type_text is not None:
            binding = self._typed(source.type_text)
        if binding is not None and source.roles is not None and binding.role not in source.roles:
            return None
        return binding

    def _typed(self, type_text: str) -> _Binding | None:
        for name in _type_names(type_text):
            binding = self.imports.types.get(name) or _GLOBAL_TYPES.get(name)
            if binding is not None:
                return binding
        return None

    def _value_binding(self, node: Node) -> _Binding | None:
        node = _unwrap(node)
        if node.type == "await_expression":
            inner = _first_named(node)
            return self._value_binding(inner) if inner is not None else None
        if node.type == "new_expression":
            return self._constructed(node)
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is not None and callee.type == "identifier":
                is_async = self.imports.drizzle.get(node_text(callee))
                if is_async is not None:
                    return _Binding(_Role.DRIZZLE, "drizzle", is_async)
            chain = self._chain(node) if self._may_reach_db(node) else None
            return self._statement_binding(chain) if chain is not None else None
        segments = self._path(node)
        if segments is None:
            return None
        binding, rest = self._at_path(segments, node)
        return binding if not rest else None

    def _constructed(self, node: Node) -> _Binding | None:
        constructor = node.child_by_field_name("constructor")
        segments = self._path(constructor) if constructor is not None else None
        if not segments:
            return None
        if len(segments) == 1 and segments[0] in self.imports.sqlite_ctors:
            return _Binding(_Role.SQLITE_DB, self.imports.sqlite_ctors[segments[0]], False)
        if len(segments) == 2 and segments[1] == "Database":
            driver = self.imports.sqlite_namespaces.get(segments[0])
            return _Binding(_Role.SQLITE_DB, driver, False) if driver is not None else None
        if len(segments) == 1 and segments[0] in self.imports.kysely_ctors:
            return _KYSELY
        return None

    def _statement_binding(self, chain: _Chain) -> _Binding | None:
        """What `x = <chain>` stores: a prepared statement, a D1 session, or nothing."""
        binding, rest = self._resolve(chain.root)
        if binding is None or rest:
            return None
        first, tail = chain.links[0], chain.links[1:]
        role = binding.role
        if role is _Role.SQLITE_DB and first.name in ("prepare", "query"):
            if all(link.name in _SQLITE_MODIFIERS for link in tail):
                prepared = _prepared_text(_literal_arg(first))
                return _Binding(_Role.SQLITE_STMT, binding.driver, False, prepared)
        elif role is _Role.D1_DB and first.name == "prepare" and self._d1_accepts(binding, first):
            if all(link.name in _D1_MODIFIERS for link in tail):
                return _Binding(_Role.D1_STMT, "d1", True, _prepared_text(_literal_arg(first)))
        elif role is _Role.D1_DB and first.name == "withSession" and not tail:
            return binding
        elif role in (_Role.SQLITE_STMT, _Role.D1_STMT):
            modifiers = _D1_MODIFIERS if role is _Role.D1_STMT else _SQLITE_MODIFIERS
            if all(link.name in modifiers for link in chain.links):
                return binding
        return None

    @staticmethod
    def _d1_accepts(binding: _Binding, link: _Link) -> bool:
        if not binding.weak:
            return True
        arg = link.arg()
        text = _literal(arg) if arg is not None else None
        return text is None or looks_like_sql(text)

    # -- classification

    def _classify(self, chain: _Chain) -> _Op | None:
        if chain.links[0].name == _TAG and len(chain.links) > 1:
            tagged = self._kysely_raw(chain)
            if tagged is not None:
                return tagged
        binding, rest = self._resolve(chain.root)
        if binding is None:
            return None
        role = binding.role
        if role is _Role.DRIZZLE:
            return self._drizzle(binding, rest, chain.links)
        if role is _Role.KYSELY and rest == ["schema"]:
            return _kysely_schema_op(chain.links)
        if rest:
            return None
        if role is _Role.SQLITE_DB:
            return _sqlite_db_op(binding, chain.links)
        if role is _Role.SQLITE_STMT or role is _Role.D1_STMT:
            return _statement_use_op(binding, chain.links)
        if role is _Role.D1_DB:
            return self._d1_op(binding, chain)
        if role is _Role.DO_SQL:
            return _do_sql_op(chain.links)
        if role is _Role.DO_STORAGE and chain.links[0].name == "transactionSync":
            return _Op("durable-object-sql", 1, _TRANSACTION, False, _When.WITH_DO_SQL)
        if role is _Role.KYSELY:
            return _builder_op("kysely", _KYSELY_KIND, chain.links, True)
        return None

    def _kysely_raw(self, chain: _Chain) -> _Op | None:
        root = self._path(chain.root)
        execute = chain.links[1]
        target = execute.arg()
        if not root or root[0] not in self.imports.kysely_sql or execute.name != "execute":
            return None
        binding = self._resolve(target)[0] if target is not None else None
        if binding is None or binding.role is not _Role.KYSELY:
            return None
        return _Op("kysely", 2, _prepared_text(_literal_arg(chain.links[0])), True)

    def _drizzle(self, binding: _Binding, rest: list[str], links: Sequence[_Link]) -> _Op | None:
        if len(rest) == 2 and rest[0] == "query" and links[0].name in ("findMany", "findFirst"):
            prepared = _Prepared(None, "select", (rest[1],))
            return _Op("drizzle", _builder_end(links), prepared, binding.is_async)
        if rest:
            return None
        if links[0].name in _DRIZZLE_RAW:
            prepared = _prepared_text(_fragment_text(links[0].arg()))
            return _Op("drizzle", _builder_end(links), prepared, binding.is_async)
        return _builder_op("drizzle", _DRIZZLE_KIND, links, binding.is_async)

    def _d1_op(self, binding: _Binding, chain: _Chain) -> _Op | None:
        links = chain.links
        start = 1 if links[0].name == "withSession" and len(links) > 1 else 0
        first = links[start]
        if first.name == "batch":
            return _Op("d1", start + 1, _TRANSACTION, True, batch_args=first.args)
        if first.name not in ("prepare", "exec") or not self._d1_accepts(binding, first):
            return None
        prepared = _prepared_text(_literal_arg(first))
        if first.name == "exec":
            return _Op("d1", start + 1, prepared, True)
        run = _exec_index(links, start + 1, _D1_MODIFIERS, _D1_EXEC)
        if run is not None:
            return _Op("d1", run + 1, prepared, True)
        if _is_stored(self._lineage(chain.outer)):
            return None
        return _Op("d1", start + 1, prepared, True, _When.OUTSIDE_BATCH)

    # -- sites

    def sites(self) -> list[SqlSite]:
        found: list[tuple[_Chain | Node, _Op]] = []
        for call in self.cap("call"):
            # The byte-level gate first: it rejects most calls before any tree access.
            if not self._may_reach_db(call) or _is_chain_inner(call):
                continue
            chain = self._chain(call)
            op = self._classify(chain) if chain is not None else None
            if chain is not None and op is not None:
                found.append((chain, op))
        for node in self.cap("new"):
            constructed = self._constructed(node)
            if constructed is not None and constructed.role is _Role.SQLITE_DB:
                found.append((node, _Op(constructed.driver, 0, _NO_TEXT, False)))
        found.sort(key=lambda item: _start_byte(item[0]))
        located = [(self._site(where, op), _start_byte(where)) for where, op in _settle(found)]
        return [site for site, _ in sorted(located, key=lambda item: (item[0].start_line, item[1]))]

    def _site(self, where: _Chain | Node, op: _Op) -> SqlSite:
        if isinstance(where, _Chain):
            outer = where.outer
            call = _shape(self._root_text(where.root), where.links[: op.used])
        else:
            outer = where
            constructor = where.child_by_field_name("constructor")
            call = f"new {node_text(constructor) if constructor is not None else ''}"
        awaited = _is_awaited(self._lineage(outer))
        if isinstance(where, _Chain):
            awaited = awaited or where.awaited
        span = _statement_span(outer, self._lineage(outer))
        function, class_name = _enclosing(self._lineage(outer))
        return SqlSite(
            file=self.path,
            start_line=span.start_point.row + 1,
            end_line=span.end_point.row + 1,
            driver=op.driver,
            call=call,
            statement=op.prepared.statement,
            kind=op.prepared.kind,
            tables_read=list(op.prepared.tables_read),
            tables_written=list(op.prepared.tables_written),
            is_async=op.is_async or awaited,
            function=function,
            class_name=class_name,
        )

    def _root_text(self, root: Node) -> str:
        segments = self._path(root)
        if segments is not None:
            return ".".join(segments)
        callee = root.child_by_field_name("function") if root.type == "call_expression" else None
        return f"{node_text(callee)}()" if callee is not None else node_text(root)


def _is_object(node: Node | None) -> bool:
    return node is not None and _unwrap(node).type == "object"


def _declaration_scope(lineage: Iterable[Node], root: Node) -> Node:
    # `var` is treated as block scoped too: lookups and keys then agree, and hoisting a
    # database handle out of a nested block is not a pattern workers use.
    for parent in lineage:
        if parent.type in _SCOPE_TYPES:
            return parent
    return root


def _declared_names(scope: Node) -> frozenset[str]:
    """Names a scope node declares itself: a function's parameters, a loop's variables, or a
    block's let/const/var, function and class declarations."""
    names: set[str] = set()
    if scope.type in FUNCTION_KINDS:
        single = scope.child_by_field_name("parameter")
        params = scope.child_by_field_name("parameters")
        if single is not None:
            names.add(node_text(single))
        for param in params.named_children if params is not None else ():
            pattern = param.child_by_field_name("pattern")
            if pattern is not None:
                names.update(name for name, _ in _pattern_names(pattern))
        return frozenset(names)
    left = scope.child_by_field_name("left") if scope.type == "for_in_statement" else None
    if left is not None and scope.child_by_field_name("kind") is not None:
        names.update(name for name, _ in _pattern_names(left))
    for child in scope.named_children:
        if child.type == "export_statement":
            child = child.child_by_field_name("declaration") or child
        if child.type in ("lexical_declaration", "variable_declaration"):
            for declarator in child.named_children:
                target = declarator.child_by_field_name("name")
                if target is not None:
                    names.update(name for name, _ in _pattern_names(target))
        elif child.type in _NAMED_DECLARATIONS:
            target = child.child_by_field_name("name")
            if target is not None:
                names.add(node_text(target))
    return frozenset(names)


def _binding_root(segments: list[str]) -> str:
    return ".".join(segments[:2]) if segments[0] == "this" else segments[0]


def _literal_arg(link: _Link) -> str | None:
    arg = link.arg()
    return _literal(arg) if arg is not None else None


def _sqlite_db_op(binding: _Binding, links: Sequence[_Link]) -> _Op | None:
    first = links[0]
    if first.name in ("query", "prepare"):
        run = _exec_index(links, 1, _SQLITE_MODIFIERS, _SQLITE_EXEC)
        used = run + 1 if run is not None else 1
        return _Op(binding.driver, used, _prepared_text(_literal_arg(first)), False)
    if first.name in ("exec", "run"):
        return _Op(binding.driver, 1, _prepared_text(_literal_arg(first)), False)
    if first.name == "pragma":
        return _Op(binding.driver, 1, _prepared_text(_literal_arg(first), "pragma"), False)
    if first.name == "transaction":
        return _Op(binding.driver, 1, _TRANSACTION, False)
    return None


def _statement_use_op(binding: _Binding, links: Sequence[_Link]) -> _Op | None:
    is_d1 = binding.role is _Role.D1_STMT
    modifiers = _D1_MODIFIERS if is_d1 else _SQLITE_MODIFIERS
    run = _exec_index(links, 0, modifiers, _D1_EXEC if is_d1 else _SQLITE_EXEC)
    prepared = binding.prepared or _NO_TEXT
    if run is None:
        # A bound D1 statement handed to batch(): the batch is the site.
        return _Op("d1", len(links), prepared, True, _When.IN_BATCH_ONLY) if is_d1 else None
    return _Op(binding.driver, run + 1, prepared, binding.is_async)


def _do_sql_op(links: Sequence[_Link]) -> _Op | None:
    first = links[0]
    if first.name not in ("exec", _TAG):
        return None
    used = 1
    while used < len(links) and links[used].name in _DO_TERMINALS:
        used += 1
    return _Op("durable-object-sql", used, _prepared_text(_literal_arg(first)), False)


def _start_byte(where: _Chain | Node) -> int:
    return where.outer.start_byte if isinstance(where, _Chain) else where.start_byte


def _settle(found: list[tuple[_Chain | Node, _Op]]) -> list[tuple[_Chain | Node, _Op]]:
    """Apply each candidate's `_When`: D1 statements built inside a batch() argument fold
    their tables into that batch instead of standing alone."""
    batches = [op for _, op in found if op.batch_args is not None]
    folded: dict[int, _Op] = {id(op): op for op in batches}
    uses_do_sql = any(
        op.driver == "durable-object-sql" and op.when is _When.ALWAYS for _, op in found
    )
    kept: list[tuple[_Chain | Node, _Op]] = []
    for where, op in found:
        if op.when in (_When.OUTSIDE_BATCH, _When.IN_BATCH_ONLY):
            batch = next((b for b in batches if _inside(_start_byte(where), b.batch_args)), None)
            if batch is not None:
                folded[id(batch)] = _with_tables(folded[id(batch)], op.prepared)
                continue
            if op.when is _When.IN_BATCH_ONLY:
                continue
        if op.when is _When.WITH_DO_SQL and not uses_do_sql:
            continue
        kept.append((where, op))
    return [(where, folded.get(id(op), op)) for where, op in kept]


def _inside(byte: int, node: Node | None) -> bool:
    return node is not None and node.start_byte <= byte < node.end_byte


def _with_tables(op: _Op, prepared: _Prepared) -> _Op:
    read = tuple(dict.fromkeys((*op.prepared.tables_read, *prepared.tables_read)))
    written = tuple(dict.fromkeys((*op.prepared.tables_written, *prepared.tables_written)))
    return replace(op, prepared=replace(op.prepared, tables_read=read, tables_written=written))


# --------------------------------------------------------------------------- public API


def find_sql_sites(source: bytes, path: str) -> list[SqlSite]:
    """Every direct database operation in one TypeScript/JavaScript file, by start line.

    `path` is the workspace-relative POSIX path recorded in each site's `file`.
    """
    if _MARKERS.search(source) is None:
        return []
    scan = _FileScan(source, path)
    scan.collect()
    scan.bind_all()
    return scan.sites()


def sites_to_json(sites: Iterable[SqlSite]) -> str:
    """The sites as a JSON array, in the form written to sql-sites.json."""
    return json.dumps([site.model_dump(mode="json") for site in sites], indent=2)
