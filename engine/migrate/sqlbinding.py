"""What the SQL finder binds a receiver to (a driver database, a D1 binding, a statement, a
query builder), the imports that make a name a driver, and the operation each chain runs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING

from engine.migrate.models import SqlDriver
from engine.sql.classify import sql_kind, sql_tables
from engine.sql.tokens import SqlKind
from engine.syntax.kinds import CLASS_KINDS, FUNCTION_KINDS, node_text

if TYPE_CHECKING:
    from tree_sitter import Node

from engine.migrate.sqlchain import (
    BLOCK_TYPES,
    TAG,
    Chain,
    Link,
    exec_index,
    first_named,
    literal_arg,
    literal_text,
    member_segments,
)


class Role(Enum):
    SQLITE_DB = "sqlite-db"
    SQLITE_STMT = "sqlite-statement"
    D1_DB = "d1-db"
    D1_STMT = "d1-statement"
    DO_SQL = "do-sql"
    DO_STORAGE = "do-storage"
    DRIZZLE = "drizzle"
    KYSELY = "kysely"


@dataclass(frozen=True, slots=True)
class Prepared:
    statement: str | None
    kind: SqlKind
    tables_read: tuple[str, ...] = ()
    tables_written: tuple[str, ...] = ()


NO_TEXT = Prepared(None, "unknown")


TRANSACTION = Prepared(None, "transaction")


@lru_cache(maxsize=4096)
def prepared_text(text: str | None, kind: SqlKind | None = None) -> Prepared:
    if text is None:
        return Prepared(None, kind or "unknown")
    analysed = f"PRAGMA {text}" if kind == "pragma" else text
    read, written = sql_tables(analysed)
    return Prepared(text, kind or sql_kind(text), tuple(read), tuple(written))


@dataclass(frozen=True, slots=True)
class Binding:
    role: Role
    driver: SqlDriver
    is_async: bool
    prepared: Prepared | None = None
    weak: bool = False  # a D1 binding known only by its name, so its SQL must look like SQL


def merge(old: Binding | None, new: Binding) -> Binding:
    if old is None or old == new:
        return new
    if old.role is not new.role:
        return old
    # A type annotation alone leaves the statement unseen (None), so an assignment fills it in;
    # two different statements reaching one variable leave its text unknown.
    if old.prepared is None or new.prepared is None:
        prepared = old.prepared or new.prepared
    else:
        prepared = old.prepared if old.prepared == new.prepared else NO_TEXT
    return replace(old, prepared=prepared, weak=old.weak and new.weak)


D1_DB_KEY = Binding(Role.D1_DB, "d1", True)


DO_SQL_KEY = Binding(Role.DO_SQL, "durable-object-sql", False)


DO_STORAGE_KEY = Binding(Role.DO_STORAGE, "durable-object-sql", False)


KYSELY_KEY = Binding(Role.KYSELY, "kysely", True)


D1_NAME = re.compile(r"DB|DATABASE|D1")


D1_TYPES = frozenset({"D1Database", "D1DatabaseSession"})


SYNC_DRIZZLE = frozenset(
    {"bun-sqlite", "better-sqlite3", "durable-sqlite", "expo-sqlite", "op-sqlite", "sql-js"}
)


GLOBAL_TYPES: dict[str, Binding] = {
    "D1Database": D1_DB_KEY,
    "D1DatabaseSession": D1_DB_KEY,
    "D1PreparedStatement": Binding(Role.D1_STMT, "d1", True),
    "SqlStorage": DO_SQL_KEY,
    "DrizzleD1Database": Binding(Role.DRIZZLE, "drizzle", True),
    "BaseSQLiteDatabase": Binding(Role.DRIZZLE, "drizzle", True),
    "BunSQLiteDatabase": Binding(Role.DRIZZLE, "drizzle", False),
    "BetterSQLite3Database": Binding(Role.DRIZZLE, "drizzle", False),
    "DrizzleSqliteDODatabase": Binding(Role.DRIZZLE, "drizzle", False),
}


@dataclass(frozen=True, slots=True)
class Source:
    """Something a name is bound to: a value, a destructured member of a value, or a type."""

    key: tuple[int, str]
    at: Node
    value: Node | None
    member: str | None = None
    type_text: str | None = None
    roles: frozenset[Role] | None = None


class Imports:
    """What the file imports from database packages, by local name."""

    def __init__(self) -> None:
        self.sqlite_ctors: dict[str, SqlDriver] = {}
        self.sqlite_namespaces: dict[str, SqlDriver] = {}
        self.types: dict[str, Binding] = {}
        self.drizzle: dict[str, bool] = {}
        self.kysely_ctors: set[str] = set()
        self.kysely_sql: set[str] = set()

    def add(self, module: str, imported: str, local: str) -> None:
        if module == "bun:sqlite":
            self._add_sqlite("bun:sqlite", imported, local, namespace_ctor=True)
        elif module == "better-sqlite3":
            self._add_sqlite("better-sqlite3", imported, local, namespace_ctor=False)
        elif module.startswith("drizzle-orm/") and imported == "drizzle":
            self.drizzle[local] = module.removeprefix("drizzle-orm/") not in SYNC_DRIZZLE
        elif module == "kysely" and imported == "Kysely":
            self.kysely_ctors.add(local)
            self.types[local] = KYSELY_KEY
        elif module == "kysely" and imported == "sql":
            self.kysely_sql.add(local)

    def _add_sqlite(
        self, driver: SqlDriver, imported: str, local: str, namespace_ctor: bool
    ) -> None:
        db = Binding(Role.SQLITE_DB, driver, False)
        statement = Binding(Role.SQLITE_STMT, driver, False)
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


def collect_import(imports: Imports, statement: Node) -> None:
    source = statement.child_by_field_name("source")
    module = literal_text(source) if source is not None else None
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    if module is None or clause is None:
        return
    for child in clause.named_children:
        if child.type == "identifier":
            imports.add(module, "default", node_text(child))
        elif child.type == "namespace_import":
            name = first_named(child)
            if name is not None:
                imports.add(module, "*", node_text(name))
        elif child.type == "named_imports":
            for spec in child.named_children:
                imported = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or imported
                if imported is not None and alias is not None:
                    imports.add(module, node_text(imported), node_text(alias))


def collect_require(imports: Imports, declarator: Node) -> None:
    name = declarator.child_by_field_name("name")
    value = declarator.child_by_field_name("value")
    if name is None or value is None or value.type != "call_expression":
        return
    callee = value.child_by_field_name("function")
    args = value.child_by_field_name("arguments")
    if callee is None or node_text(callee) != "require" or args is None:
        return
    first = first_named(args)
    module = literal_text(first) if first is not None else None
    if module is not None and name.type == "identifier":
        imports.add(module, "default", node_text(name))


def type_names(type_text: str) -> Iterator[str]:
    """The named types of a `: T | null`-style annotation, generic arguments dropped."""
    for part in type_text.lstrip(":").split("|"):
        name = part.strip().split("<", 1)[0].strip()
        if name:
            yield name


def pattern_names(pattern: Node) -> Iterator[tuple[str, str | None]]:
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
                yield from ((name, None) for name, _ in pattern_names(value))
        elif child.type in (
            "object_pattern",
            "array_pattern",
            "rest_pattern",
            "assignment_pattern",
        ):
            yield from ((name, None) for name, _ in pattern_names(child))
        elif child.type in ("identifier", "shorthand_property_identifier_pattern"):
            yield from pattern_names(child)


SQLITE_EXEC = frozenset({"run", "get", "all", "values", "iterate"})


SQLITE_MODIFIERS = frozenset({"as", "bind", "pluck", "raw", "expand", "safeIntegers"})


D1_EXEC = frozenset({"first", "all", "run", "raw"})


D1_MODIFIERS = frozenset({"bind"})


DO_TERMINALS = frozenset({"toArray", "one", "raw", "next"})


BUILDER_END = frozenset({"then", "catch", "finally"})


DRIZZLE_KIND: dict[str, SqlKind] = {
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


DRIZZLE_RAW = frozenset({"run", "all", "get", "values", "execute"})


KYSELY_KIND: dict[str, SqlKind] = {
    "selectFrom": "select",
    "selectNoFrom": "select",
    "insertInto": "insert",
    "replaceInto": "insert",
    "updateTable": "update",
    "mergeInto": "update",
    "deleteFrom": "delete",
    "transaction": "transaction",
}


KYSELY_SCHEMA = frozenset(
    {"createTable", "alterTable", "dropTable", "createIndex", "dropIndex", "createView"}
)


JOINS = frozenset({"from", "join", "innerJoin", "leftJoin", "rightJoin", "fullJoin", "crossJoin"})


class OpWhen(Enum):
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
class Op:
    """How one chain touches the database, before it becomes a SqlSite."""

    driver: SqlDriver
    used: int
    prepared: Prepared
    is_async: bool
    when: OpWhen = OpWhen.ALWAYS
    batch_args: Node | None = None


def builder_end(links: Sequence[Link]) -> int:
    for index, link in enumerate(links):
        if link.name in BUILDER_END:
            return index
    return len(links)


def table_arg(node: Node | None) -> list[str]:
    """Drizzle passes table objects (`users`, `schema.users`); Kysely passes names
    (`'users'`, `'users as u'`, `['a', 'b']`)."""
    if node is None:
        return []
    if node.type == "array":
        return [name for child in node.named_children for name in table_arg(child)]
    text = literal_text(node)
    if text is not None:
        words = text.split()
        return [words[0].split(".")[-1]] if words else []
    segments = member_segments(node)
    return [segments[-1]] if segments else []


def builder_op(
    driver: SqlDriver, kinds: dict[str, SqlKind], links: Sequence[Link], is_async: bool
) -> Op | None:
    start = 1 if links[0].name in ("with", "withRecursive") and len(links) > 1 else 0
    op = links[start]
    kind = kinds.get(op.name)
    if kind is None:
        return None
    read: list[str] = []
    written: list[str] = []
    if kind == "select":
        read = table_arg(op.arg()) if op.name in ("selectFrom", "$count") else []
        read += [t for link in links[start:] if link.name in JOINS for t in table_arg(link.arg())]
    elif kind != "transaction":
        written = table_arg(op.arg())
        read = [
            t for link in links[start + 1 :] if link.name in JOINS for t in table_arg(link.arg())
        ]
    prepared = Prepared(None, kind, tuple(dict.fromkeys(read)), tuple(dict.fromkeys(written)))
    return Op(driver, builder_end(links), prepared, is_async)


def kysely_schema_op(links: Sequence[Link]) -> Op | None:
    first = links[0]
    if first.name not in KYSELY_SCHEMA:
        return None
    if first.name in ("createTable", "alterTable", "dropTable"):
        written = table_arg(first.arg())
    else:
        written = [t for link in links[1:] if link.name == "on" for t in table_arg(link.arg())]
    return Op("kysely", builder_end(links), Prepared(None, "ddl", (), tuple(written)), True)


def sqlite_db_op(binding: Binding, links: Sequence[Link]) -> Op | None:
    first = links[0]
    if first.name in ("query", "prepare"):
        run = exec_index(links, 1, SQLITE_MODIFIERS, SQLITE_EXEC)
        used = run + 1 if run is not None else 1
        return Op(binding.driver, used, prepared_text(literal_arg(first)), False)
    if first.name in ("exec", "run"):
        return Op(binding.driver, 1, prepared_text(literal_arg(first)), False)
    if first.name == "pragma":
        return Op(binding.driver, 1, prepared_text(literal_arg(first), "pragma"), False)
    if first.name == "transaction":
        return Op(binding.driver, 1, TRANSACTION, False)
    return None


def statement_use_op(binding: Binding, links: Sequence[Link]) -> Op | None:
    is_d1 = binding.role is Role.D1_STMT
    modifiers = D1_MODIFIERS if is_d1 else SQLITE_MODIFIERS
    run = exec_index(links, 0, modifiers, D1_EXEC if is_d1 else SQLITE_EXEC)
    prepared = binding.prepared or NO_TEXT
    if run is None:
        # A bound D1 statement handed to batch(): the batch is the site.
        return Op("d1", len(links), prepared, True, OpWhen.IN_BATCH_ONLY) if is_d1 else None
    return Op(binding.driver, run + 1, prepared, binding.is_async)


def do_sql_op(links: Sequence[Link]) -> Op | None:
    first = links[0]
    if first.name not in ("exec", TAG):
        return None
    used = 1
    while used < len(links) and links[used].name in DO_TERMINALS:
        used += 1
    return Op("durable-object-sql", used, prepared_text(literal_arg(first)), False)


def where_start(where: Chain | Node) -> int:
    return where.outer.start_byte if isinstance(where, Chain) else where.start_byte


def settle(found: list[tuple[Chain | Node, Op]]) -> list[tuple[Chain | Node, Op]]:
    """Apply each candidate's `OpWhen`: D1 statements built inside a batch() argument fold
    their tables into that batch instead of standing alone."""
    batches = [op for _, op in found if op.batch_args is not None]
    folded: dict[int, Op] = {id(op): op for op in batches}
    uses_do_sql = any(
        op.driver == "durable-object-sql" and op.when is OpWhen.ALWAYS for _, op in found
    )
    members: dict[int, list[Prepared]] = {id(op): [] for op in batches}
    kept: list[tuple[Chain | Node, Op]] = []
    for where, op in found:
        if op.when in (OpWhen.OUTSIDE_BATCH, OpWhen.IN_BATCH_ONLY):
            batch = next((b for b in batches if is_inside(where_start(where), b.batch_args)), None)
            if batch is not None:
                folded[id(batch)] = with_tables(folded[id(batch)], op.prepared)
                members[id(batch)].append(op.prepared)
                continue
            if op.when is OpWhen.IN_BATCH_ONLY:
                continue
        if op.when is OpWhen.WITH_DO_SQL and not uses_do_sql:
            continue
        kept.append((where, op))
    for batch in batches:
        folded[id(batch)] = schema_batch(folded[id(batch)], members[id(batch)])
    return [(where, folded.get(id(op), op)) for where, op in kept]


def schema_batch(batch: Op, members: list[Prepared]) -> Op:
    """A batch whose every element is a fixed DDL statement is schema, not a transaction of
    data: it becomes one DDL site holding the statements in order (`;`-separated)."""
    args = [n for n in batch.batch_args.named_children] if batch.batch_args else []
    array = args[0] if len(args) == 1 and args[0].type == "array" else None
    elements = [n for n in array.named_children if n.type != "comment"] if array else []
    if (
        array is None
        or not members
        or len(members) != len(elements)
        or any(m.kind != "ddl" or m.statement is None for m in members)
    ):
        return batch
    text = ";\n".join(m.statement.strip().rstrip(";") for m in members if m.statement)
    prepared = Prepared(text, "ddl", batch.prepared.tables_read, batch.prepared.tables_written)
    return replace(batch, prepared=prepared)


def is_inside(byte: int, node: Node | None) -> bool:
    return node is not None and node.start_byte <= byte < node.end_byte


def with_tables(op: Op, prepared: Prepared) -> Op:
    read = tuple(dict.fromkeys((*op.prepared.tables_read, *prepared.tables_read)))
    written = tuple(dict.fromkeys((*op.prepared.tables_written, *prepared.tables_written)))
    return replace(op, prepared=replace(op.prepared, tables_read=read, tables_written=written))


SCOPE_TYPES = FUNCTION_KINDS | BLOCK_TYPES


NAMED_DECLARATIONS = frozenset(
    {"function_declaration", "generator_function_declaration"} | CLASS_KINDS
)


def declaration_scope(lineage: Iterable[Node], root: Node) -> Node:
    # `var` is treated as block scoped too: lookups and keys then agree, and hoisting a
    # database handle out of a nested block is not a pattern workers use.
    for parent in lineage:
        if parent.type in SCOPE_TYPES:
            return parent
    return root


def declared_names(scope: Node) -> frozenset[str]:
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
                names.update(name for name, _ in pattern_names(pattern))
        return frozenset(names)
    left = scope.child_by_field_name("left") if scope.type == "for_in_statement" else None
    if left is not None and scope.child_by_field_name("kind") is not None:
        names.update(name for name, _ in pattern_names(left))
    for child in scope.named_children:
        if child.type == "export_statement":
            child = child.child_by_field_name("declaration") or child
        if child.type in ("lexical_declaration", "variable_declaration"):
            for declarator in child.named_children:
                target = declarator.child_by_field_name("name")
                if target is not None:
                    names.update(name for name, _ in pattern_names(target))
        elif child.type in NAMED_DECLARATIONS:
            target = child.child_by_field_name("name")
            if target is not None:
                names.add(node_text(target))
    return frozenset(names)
