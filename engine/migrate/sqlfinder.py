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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING

from engine.migrate.models import SqlSite
from engine.migrate.sqlbinding import (
    D1_DB_KEY,
    D1_EXEC,
    D1_MODIFIERS,
    D1_NAME,
    D1_TYPES,
    DO_SQL_KEY,
    DO_STORAGE_KEY,
    DRIZZLE_KIND,
    DRIZZLE_RAW,
    GLOBAL_TYPES,
    KYSELY_KEY,
    KYSELY_KIND,
    NO_TEXT,
    SCOPE_TYPES,
    SQLITE_MODIFIERS,
    TRANSACTION,
    Binding,
    Imports,
    Op,
    OpWhen,
    Prepared,
    Role,
    Source,
    builder_end,
    builder_op,
    collect_import,
    collect_require,
    declaration_scope,
    declared_names,
    do_sql_op,
    kysely_schema_op,
    merge,
    pattern_names,
    prepared_text,
    settle,
    sqlite_db_op,
    statement_use_op,
    type_names,
    where_start,
)
from engine.migrate.sqlchain import (
    TAG,
    WRAPPERS,
    Chain,
    Link,
    binding_root,
    decompose,
    enclosing,
    exec_index,
    first_named,
    first_param,
    fragment_text,
    function_args,
    is_awaited,
    is_chain_inner,
    is_object,
    is_stored,
    literal_arg,
    literal_text,
    member_segments,
    shape,
    statement_span,
    unwrap,
)
from engine.sql.classify import looks_like_sql, sql_kind, sql_tables
from engine.syntax.kinds import CLASS_KINDS, node_text
from engine.syntax.parse import parse

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Query, Tree

__all__ = [
    "constructor_of",
    "database_arguments",
    "find_sql_sites",
    "looks_like_sql",
    "sites_to_json",
    "sql_kind",
    "sql_tables",
]


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


# The leading `a.b.c` of a call chain, up to its first call parenthesis or template.
_HEAD_RE = re.compile(rb"[\w$.\s!?]*")


_BINDABLE_VALUES = WRAPPERS | {
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

    def __init__(self, source: bytes, path: str, handed: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.path = path
        # `Callee.param` -> the type its callers in the folder show (see sqlcallers).
        self.handed = dict(handed or {})
        tree = parse(source, path)
        self.root = tree.root_node
        self.captures = _captures(tree)
        self.imports = Imports()
        self.env_types: dict[str, str] | None = None
        self.bindings: dict[tuple[int, str], Binding] = {}
        # First segment (`db`, or `this.db`) of every bound path: most names never reach a
        # database, and this set lets their lookups stop before any scope walk.
        self.bound_roots: set[str] = set()
        self.this_declared: set[tuple[int, str]] = set()
        self.this_paths: dict[str, Binding] = {}
        self.scope_names: dict[int, frozenset[str]] = {}
        self.chain_of: dict[int, Chain | None] = {}
        self.path_of: dict[int, list[str] | None] = {}
        self.parent_of: dict[int, Node | None] = {}
        self.sources: list[Source] = []

    def cap(self, name: str) -> list[Node]:
        return self.captures.get(name, [])

    # -- collection

    def collect(self) -> None:
        for statement in self.cap("import"):
            collect_import(self.imports, statement)
        if b"require" in self.source:
            for declarator in self.cap("declarator"):
                collect_require(self.imports, declarator)
        for declarator in self.cap("declarator"):
            self._collect_declarator(declarator)
        for param in self.cap("param"):
            self._collect_param(param)
        if self.handed:
            self._collect_handed()
        for field in self.cap("field"):
            self._collect_field(field)
        for assignment in self.cap("assign"):
            self._collect_assignment(assignment)
        self._collect_transaction_params()

    def _path(self, node: Node) -> list[str] | None:
        if node.id not in self.path_of:
            self.path_of[node.id] = member_segments(node)
        return self.path_of[node.id]

    def _chain(self, call: Node) -> Chain | None:
        if call.id not in self.chain_of:
            self.chain_of[call.id] = decompose(call)
        return self.chain_of[call.id]

    def _may_bind(self, value: Node | None, type_text: str | None) -> bool:
        """Cheap pre-check that keeps literals, functions and unrelated types out of the
        binding rounds."""
        if value is not None and value.type in _BINDABLE_VALUES:
            return True
        return type_text is not None and any(
            name in self.imports.types or name in GLOBAL_TYPES for name in type_names(type_text)
        )

    def _env_type(self, name: str) -> str | None:
        """The declared type of `name` in the file's Env/Bindings types, read on first use."""
        if self.env_types is None:
            self.env_types = {}
            for signature in self.cap("signature"):
                key = signature.child_by_field_name("name")
                annotation = signature.child_by_field_name("type")
                if key is not None and annotation is not None:
                    declared = next(type_names(node_text(annotation)), "")
                    # Signatures arrive unordered; a D1 declaration of the name wins.
                    if self.env_types.get(node_text(key)) not in D1_TYPES:
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
            if self._may_bind(value, type_text) or is_object(value):
                scope = declaration_scope(self._lineage(declarator), self.root).id
                self._bind_source((scope, node_text(name)), declarator, value, type_text)
            return
        if not self._may_bind(value, None):
            return
        scope = declaration_scope(self._lineage(declarator), self.root).id
        for local, member in pattern_names(name):
            if member is not None:
                self.sources.append(Source((scope, local), declarator, value, member))

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
                Source((function.id, node_text(pattern)), param, None, None, type_text)
            )
        if any(child.type in ("accessibility_modifier", "readonly") for child in param.children):
            key = (self._class_id(param), f"this.{node_text(pattern)}")
            self.this_declared.add(key)
            if bindable:
                self.sources.append(Source(key, param, None, None, type_text))

    def _collect_handed(self) -> None:
        """Untyped parameters typed by what every caller in the folder hands them."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            stack.extend(node.named_children)
            if node.type not in ("class_declaration", "class", "function_declaration"):
                continue
            name = node.child_by_field_name("name")
            if name is None:
                continue
            function = node if node.type == "function_declaration" else constructor_of(node)
            params = function.child_by_field_name("parameters") if function else None
            for param in params.named_children if params is not None else ():
                pattern = param.child_by_field_name("pattern")
                if pattern is None or param.child_by_field_name("type") is not None:
                    continue
                type_text = self.handed.get(f"{node_text(name)}.{node_text(pattern)}")
                if type_text is not None and function is not None:
                    key = (function.id, node_text(pattern))
                    self.sources.append(Source(key, param, None, None, type_text))

    def database_at(self, node: Node) -> Binding | None:
        """What an expression of this file is bound to, once `collect` and `bind_all` ran."""
        binding, rest = self._resolve(node)
        return binding if not rest else None

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
        if not segments or not (self._may_bind(right, None) or is_object(right)):
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
            self.sources.append(Source(key, at, value, None, type_text))
        if value is None or not is_object(value):
            return
        # Statement maps (`const q = { byId: db.query(...) }`) bind each property on its own.
        for pair in unwrap(value).named_children:
            prop = pair.child_by_field_name("key") if pair.type == "pair" else None
            inner = pair.child_by_field_name("value") if pair.type == "pair" else None
            if prop is not None and inner is not None:
                name = node_text(prop).strip("'\"")
                self._bind_source((key[0], f"{key[1]}.{name}"), at, inner, None)

    def _collect_transaction_params(self) -> None:
        # `db.transaction(async (tx) => ...)` hands the callback a builder of the same kind.
        builders = frozenset({Role.DRIZZLE, Role.KYSELY})
        for call in self.cap("call"):
            if self.source.find(b"transaction", call.start_byte, call.end_byte) < 0:
                continue
            chain = self._chain(call) if not is_chain_inner(call) else None
            if chain is None or not any(link.name == "transaction" for link in chain.links):
                continue
            for function in function_args(chain.links):
                param = first_param(function)
                if param is not None:
                    key = (function.id, node_text(param))
                    self.sources.append(Source(key, chain.root, chain.root, roles=builders))

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
            if node.type not in SCOPE_TYPES:
                continue
            names = self.scope_names.get(node.id)
            if names is None:
                names = self.scope_names[node.id] = declared_names(node)
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
        # `await db.prepare(...).first<T>()` parses as `(await db.prepare(...).first)<T>()`,
        # so the call's own text starts with the await.
        head = re.sub(rb"^\s*await\s+", b"", head)
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

    def _at_path(self, segments: list[str], at: Node) -> tuple[Binding | None, list[str]]:
        bound = self._bound_prefix(segments, at)
        if bound is None:
            return self._by_convention(segments)
        binding, rest = bound
        if binding.role is Role.DO_STORAGE and rest[:1] == ["sql"]:
            return DO_SQL_KEY, rest[1:]
        return binding, rest

    def _bound_prefix(self, segments: list[str], at: Node) -> tuple[Binding, list[str]] | None:
        if binding_root(segments) not in self.bound_roots:
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

    def _by_convention(self, segments: list[str]) -> tuple[Binding | None, list[str]]:
        for index in range(1, len(segments)):
            if segments[index - 1] == "storage" and segments[index] == "sql":
                return DO_SQL_KEY, segments[index + 1 :]
        for index in range(1, len(segments)):
            if segments[index - 1] == "env":
                return self._env_binding(segments[index]), segments[index + 1 :]
        if len(segments) >= 2 and segments[-1] == "storage" and segments[-2] in ("ctx", "state"):
            return DO_STORAGE_KEY, []
        return None, []

    def _env_binding(self, name: str) -> Binding | None:
        declared = self._env_type(name)
        if declared is not None:
            return D1_DB_KEY if declared in D1_TYPES else None
        return replace(D1_DB_KEY, weak=True) if D1_NAME.search(name) else None

    def _resolve(self, node: Node) -> tuple[Binding | None, list[str]]:
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
            unresolved: list[Source] = []
            newly_bound: set[str] = set()
            for source in pending:
                binding = self._source_binding(source)
                if binding is None:
                    unresolved.append(source)
                elif self._store(source.key, binding):
                    newly_bound.add(binding_root(source.key[1].split(".")))
            pending = [s for s in unresolved if self._value_root(s) in newly_bound]
            if not pending:
                return

    def _store(self, key: tuple[int, str], binding: Binding) -> bool:
        merged = merge(self.bindings.get(key), binding)
        if merged == self.bindings.get(key):
            return False
        self.bindings[key] = merged
        self.bound_roots.add(binding_root(key[1].split(".")))
        if key[1].startswith("this."):
            self.this_paths[key[1]] = merged
        return True

    def _value_root(self, source: Source) -> str | None:
        """The bound-name root a source's value depends on, if any."""
        if source.value is None:
            return None
        node = unwrap(source.value)
        if node.type == "await_expression":
            inner = first_named(node)
            node = unwrap(inner) if inner is not None else node
        if node.type == "call_expression":
            chain = self._chain(node)
            node = chain.root if chain is not None else node
        segments = self._path(node)
        return binding_root(segments) if segments else None

    def _source_binding(self, source: Source) -> Binding | None:
        binding: Binding | None = None
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

    def _typed(self, type_text: str) -> Binding | None:
        for name in type_names(type_text):
            binding = self.imports.types.get(name) or GLOBAL_TYPES.get(name)
            if binding is not None:
                return binding
        return None

    def _value_binding(self, node: Node) -> Binding | None:
        node = unwrap(node)
        if node.type == "await_expression":
            inner = first_named(node)
            return self._value_binding(inner) if inner is not None else None
        if node.type == "new_expression":
            return self._constructed(node)
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is not None and callee.type == "identifier":
                is_async = self.imports.drizzle.get(node_text(callee))
                if is_async is not None:
                    return Binding(Role.DRIZZLE, "drizzle", is_async)
            chain = self._chain(node) if self._may_reach_db(node) else None
            return self._statement_binding(chain) if chain is not None else None
        segments = self._path(node)
        if segments is None:
            return None
        binding, rest = self._at_path(segments, node)
        return binding if not rest else None

    def _constructed(self, node: Node) -> Binding | None:
        constructor = node.child_by_field_name("constructor")
        segments = self._path(constructor) if constructor is not None else None
        if not segments:
            return None
        if len(segments) == 1 and segments[0] in self.imports.sqlite_ctors:
            return Binding(Role.SQLITE_DB, self.imports.sqlite_ctors[segments[0]], False)
        if len(segments) == 2 and segments[1] == "Database":
            driver = self.imports.sqlite_namespaces.get(segments[0])
            return Binding(Role.SQLITE_DB, driver, False) if driver is not None else None
        if len(segments) == 1 and segments[0] in self.imports.kysely_ctors:
            return KYSELY_KEY
        return None

    def _statement_binding(self, chain: Chain) -> Binding | None:
        """What `x = <chain>` stores: a prepared statement, a D1 session, or nothing."""
        binding, rest = self._resolve(chain.root)
        if binding is None or rest:
            return None
        first, tail = chain.links[0], chain.links[1:]
        role = binding.role
        if role is Role.SQLITE_DB and first.name in ("prepare", "query"):
            if all(link.name in SQLITE_MODIFIERS for link in tail):
                prepared = prepared_text(literal_arg(first))
                return Binding(Role.SQLITE_STMT, binding.driver, False, prepared)
        elif role is Role.D1_DB and first.name == "prepare" and self._d1_accepts(binding, first):
            if all(link.name in D1_MODIFIERS for link in tail):
                return Binding(Role.D1_STMT, "d1", True, prepared_text(literal_arg(first)))
        elif role is Role.D1_DB and first.name == "withSession" and not tail:
            return binding
        elif role in (Role.SQLITE_STMT, Role.D1_STMT):
            modifiers = D1_MODIFIERS if role is Role.D1_STMT else SQLITE_MODIFIERS
            if all(link.name in modifiers for link in chain.links):
                return binding
        return None

    @staticmethod
    def _d1_accepts(binding: Binding, link: Link) -> bool:
        if not binding.weak:
            return True
        arg = link.arg()
        text = literal_text(arg) if arg is not None else None
        return text is None or looks_like_sql(text)

    # -- classification

    def _classify(self, chain: Chain) -> Op | None:
        if chain.links[0].name == TAG and len(chain.links) > 1:
            tagged = self._kysely_raw(chain)
            if tagged is not None:
                return tagged
        binding, rest = self._resolve(chain.root)
        if binding is None:
            return None
        role = binding.role
        if role is Role.DRIZZLE:
            return self._drizzle(binding, rest, chain.links)
        if role is Role.KYSELY and rest == ["schema"]:
            return kysely_schema_op(chain.links)
        if rest:
            return None
        if role is Role.SQLITE_DB:
            return sqlite_db_op(binding, chain.links)
        if role is Role.SQLITE_STMT or role is Role.D1_STMT:
            return statement_use_op(binding, chain.links)
        if role is Role.D1_DB:
            return self._d1_op(binding, chain)
        if role is Role.DO_SQL:
            return do_sql_op(chain.links)
        if role is Role.DO_STORAGE and chain.links[0].name == "transactionSync":
            return Op("durable-object-sql", 1, TRANSACTION, False, OpWhen.WITH_DO_SQL)
        if role is Role.KYSELY:
            return builder_op("kysely", KYSELY_KIND, chain.links, True)
        return None

    def _kysely_raw(self, chain: Chain) -> Op | None:
        root = self._path(chain.root)
        execute = chain.links[1]
        target = execute.arg()
        if not root or root[0] not in self.imports.kysely_sql or execute.name != "execute":
            return None
        binding = self._resolve(target)[0] if target is not None else None
        if binding is None or binding.role is not Role.KYSELY:
            return None
        return Op("kysely", 2, prepared_text(literal_arg(chain.links[0])), True)

    def _drizzle(self, binding: Binding, rest: list[str], links: Sequence[Link]) -> Op | None:
        if len(rest) == 2 and rest[0] == "query" and links[0].name in ("findMany", "findFirst"):
            prepared = Prepared(None, "select", (rest[1],))
            return Op("drizzle", builder_end(links), prepared, binding.is_async)
        if rest:
            return None
        if links[0].name in DRIZZLE_RAW:
            prepared = prepared_text(fragment_text(links[0].arg()))
            return Op("drizzle", builder_end(links), prepared, binding.is_async)
        return builder_op("drizzle", DRIZZLE_KIND, links, binding.is_async)

    def _d1_op(self, binding: Binding, chain: Chain) -> Op | None:
        links = chain.links
        start = 1 if links[0].name == "withSession" and len(links) > 1 else 0
        first = links[start]
        if first.name == "batch":
            return Op("d1", start + 1, TRANSACTION, True, batch_args=first.args)
        if first.name not in ("prepare", "exec") or not self._d1_accepts(binding, first):
            return None
        prepared = prepared_text(literal_arg(first))
        if first.name == "exec":
            return Op("d1", start + 1, prepared, True)
        run = exec_index(links, start + 1, D1_MODIFIERS, D1_EXEC)
        if run is not None:
            return Op("d1", run + 1, prepared, True)
        if is_stored(self._lineage(chain.outer)):
            return None
        return Op("d1", start + 1, prepared, True, OpWhen.OUTSIDE_BATCH)

    # -- sites

    def sites(self) -> list[SqlSite]:
        found: list[tuple[Chain | Node, Op]] = []
        for call in self.cap("call"):
            # The byte-level gate first: it rejects most calls before any tree access.
            if not self._may_reach_db(call) or is_chain_inner(call):
                continue
            chain = self._chain(call)
            op = self._classify(chain) if chain is not None else None
            if chain is not None and op is not None:
                found.append((chain, op))
        for node in self.cap("new"):
            constructed = self._constructed(node)
            if constructed is not None and constructed.role is Role.SQLITE_DB:
                found.append((node, Op(constructed.driver, 0, NO_TEXT, False)))
        found.sort(key=lambda item: where_start(item[0]))
        located = [(self._site(where, op), where_start(where)) for where, op in settle(found)]
        return [site for site, _ in sorted(located, key=lambda item: (item[0].start_line, item[1]))]

    def _site(self, where: Chain | Node, op: Op) -> SqlSite:
        if isinstance(where, Chain):
            outer = where.outer
            call = shape(self._root_text(where.root), where.links[: op.used])
        else:
            outer = where
            constructor = where.child_by_field_name("constructor")
            call = f"new {node_text(constructor) if constructor is not None else ''}"
        awaited = is_awaited(self._lineage(outer))
        if isinstance(where, Chain):
            awaited = awaited or where.awaited
        span = statement_span(outer, self._lineage(outer))
        function, class_name = enclosing(self._lineage(outer))
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


def constructor_of(cls: Node) -> Node | None:
    """The `constructor` method of a class node, if it declares one."""
    body = cls.child_by_field_name("body")
    for member in body.named_children if body is not None else ():
        key = member.child_by_field_name("name")
        if (
            member.type == "method_definition"
            and key is not None
            and node_text(key) == "constructor"
        ):
            return member
    return None


def database_arguments(
    source: bytes, path: str, callees: frozenset[str]
) -> list[tuple[str, int, bool]]:
    """For each `new C(...)` / `f(...)` of a name in `callees`: (name, argument index, whether
    that argument is a D1 database by this file's own bindings)."""
    scan = _FileScan(source, path)
    scan.collect()
    scan.bind_all()
    found: list[tuple[str, int, bool]] = []
    for node in (*scan.cap("new"), *scan.cap("call")):
        field = "constructor" if node.type == "new_expression" else "function"
        callee = node.child_by_field_name(field)
        args = node.child_by_field_name("arguments")
        if callee is None or callee.type != "identifier" or node_text(callee) not in callees:
            continue
        values = [a for a in (args.named_children if args else ()) if a.type != "comment"]
        for index, value in enumerate(values):
            binding = scan.database_at(value)
            found.append(
                (node_text(callee), index, binding is not None and binding.role is Role.D1_DB)
            )
    return found


def find_sql_sites(
    source: bytes, path: str, handed: Mapping[str, str] | None = None
) -> list[SqlSite]:
    """Every direct database operation in one TypeScript/JavaScript file, by start line.

    `path` is the workspace-relative POSIX path recorded in each site's `file`. `handed` types
    untyped parameters (`Class.param` or `function.param` -> type) from their callers.
    """
    if _MARKERS.search(source) is None:
        return []
    scan = _FileScan(source, path, handed)
    scan.collect()
    scan.bind_all()
    return scan.sites()


def sites_to_json(sites: Iterable[SqlSite]) -> str:
    """The sites as a JSON array, in the form written to sql-sites.json."""
    return json.dumps([site.model_dump(mode="json") for site in sites], indent=2)
