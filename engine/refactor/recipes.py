"""The D1/SQLite-to-RPC recipes, declared as data, and the "do no harm" checks.

A recipe names one call shape the worker rewrite knows how to turn into an RPC call. A site
that matches no recipe, or that one of the checks below cannot prove safe, is left exactly as
it is and handed to a model with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.migrate.models import SqlDriver, SqlSite
from engine.refactor.methods import METHOD_KINDS, call_returns
from engine.sql.classify import sql_kind
from engine.sql.tokens import sql_tokens
from engine.syntax.kinds import FUNCTION_KINDS

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = [
    "REASON_ESCAPES",
    "REASON_NO_TEXT",
    "REASON_PREPARED",
    "REASON_TRANSACTION",
    "RECIPES",
    "Recipe",
    "choose_recipe",
    "recipe_named",
    "site_reason",
    "sync_boundary",
]


@dataclass(frozen=True, slots=True)
class Recipe:
    name: str
    driver: SqlDriver
    call_shapes: tuple[str, ...]
    description: str


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "bun-sqlite-prepared-field",
        "bun:sqlite",
        ("this.<stmt> = db.query(SQL)", "<stmt>.run(args)", "<stmt>.all(args)", "<stmt>.get(args)"),
        "A statement prepared once into a field or variable and run later: each run becomes "
        "an RPC call; the preparation goes once every run of it is rewritten.",
    ),
    Recipe(
        "bun-sqlite-inline",
        "bun:sqlite",
        ("db.query(SQL).get(args)", "db.query(SQL).all(args)", "db.query(SQL).run(args)"),
        "A statement prepared and run in one expression becomes one RPC call.",
    ),
    Recipe(
        "do-sql-exec",
        "durable-object-sql",
        ("ctx.storage.sql.exec(SQL, ...args)", ".toArray()", ".one()", "for (... of exec(...))"),
        "Durable Object SQL storage: the cursor's rows (toArray, iteration) or single row "
        "(one) come back from an RPC call as plain objects.",
    ),
    Recipe(
        "d1-prepare-bind",
        "d1",
        ("env.DB.prepare(SQL).bind(args).first()", ".all()", ".run()"),
        "A D1 statement already awaited: the binding changes, `.all()` keeps its "
        "`{ results }` shape.",
    ),
    Recipe(
        "ddl-to-migration",
        "bun:sqlite",
        ("db.exec(DDL)", "ctx.storage.sql.exec(DDL)"),
        "Schema statements move to the orchestrator's migration file and leave the worker.",
    ),
    Recipe(
        "pragma-drop",
        "bun:sqlite",
        ("db.exec(PRAGMA)", "db.pragma(...)"),
        "PRAGMAs configure a local file the worker no longer owns; dropped with a note.",
    ),
)
_BY_NAME = {recipe.name: recipe for recipe in RECIPES}

REASON_NO_TEXT = "the SQL is built at run time, so no fixed RPC method can stand for it"
REASON_TRANSACTION = (
    "a transaction spans several statements; one RPC call per statement would break atomicity"
)
REASON_ESCAPES = "the Database is passed around as a value, so its other users are unknown"
REASON_CATALOG = (
    "the SQL reads SQLite's own catalog, which describes the worker's local file, not the "
    "orchestrator's D1"
)
_CATALOG_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_sequence", "sqlite_stat1"})
_CATALOG = "sqlite_master"

REASON_PREPARED = "the database is opened or the statement prepared here; it goes with its uses"


def _decide(site: SqlSite) -> Recipe | str:
    if site.kind == "transaction" or (
        site.statement is not None and sql_kind(site.statement) == "transaction"
    ):
        return REASON_TRANSACTION
    if site.call.startswith("new ") or site.call.rsplit(".", 1)[-1] in ("query", "prepare"):
        return REASON_PREPARED
    if site.statement is None or "${" in site.statement:
        return REASON_NO_TEXT
    tables = {t.lower() for t in (*site.tables_read, *site.tables_written)}
    # The catalog may sit where no table is read (a PRAGMA argument, a subquery in a string).
    named = {t.text.lower() for t in sql_tokens(site.statement) if t.is_name or t.kind == "string"}
    if tables & _CATALOG_TABLES or any(_CATALOG in n for n in named):
        return REASON_CATALOG
    if site.kind == "ddl":
        return _BY_NAME["ddl-to-migration"]
    if site.kind == "pragma":
        return _BY_NAME["pragma-drop"]
    if site.kind not in METHOD_KINDS or call_returns(site) is None:
        return f"no recipe covers the call shape {site.call} for a {site.kind} statement"
    if site.driver == "durable-object-sql":
        return _BY_NAME["do-sql-exec"]
    if site.driver == "d1":
        return _BY_NAME["d1-prepare-bind"]
    if site.driver in ("bun:sqlite", "better-sqlite3"):
        segments = site.call.split(".")
        if "query()" in segments or "prepare()" in segments:
            return _BY_NAME["bun-sqlite-inline"]
        return _BY_NAME["bun-sqlite-prepared-field"]
    return f"no recipe covers the {site.driver} driver"


def choose_recipe(site: SqlSite) -> Recipe | None:
    """The recipe that rewrites a site, or None (see `site_reason`)."""
    decided = _decide(site)
    return decided if isinstance(decided, Recipe) else None


def site_reason(site: SqlSite) -> str | None:
    """Why no recipe may touch the site on its own, or None when one may."""
    decided = _decide(site)
    return decided if isinstance(decided, str) else None


def recipe_named(name: str) -> Recipe:
    return _BY_NAME[name]


# --------------------------------------------------------------------------- sync boundaries

# Callers that use a callback's return value synchronously: a Promise there is a silent bug.
_SYNC_CALLBACK_CALLEES = frozenset(
    {
        "map", "forEach", "filter", "sort", "find", "findIndex", "some", "every", "reduce",
        "reduceRight", "flatMap", "transaction", "replace", "toSorted",
    }
)  # fmt: skip


def _is_async(function: Node) -> bool:
    return any(child.type == "async" for child in function.children)


def sync_boundary(function: Node) -> str | None:
    """Why `function` cannot become async, or None when it can (or already is)."""
    if _is_async(function):
        return None
    if function.type == "method_definition":
        name = function.child_by_field_name("name")
        if name is not None and name.text == b"constructor":
            return "a constructor cannot be async"
        for child in function.children:
            if child.type == "get":
                return "a getter cannot be async"
            if child.type == "set":
                return "a setter cannot be async"
        return None
    if any(child.type == "*" for child in function.children):
        return "a generator cannot simply become async"
    parent = function.parent
    if parent is not None and parent.type == "arguments":
        call = parent.parent
        callee = call.child_by_field_name("function") if call is not None else None
        if callee is not None and callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            name_text = (prop.text or b"").decode() if prop is not None else ""
        else:
            name_text = (callee.text or b"").decode() if callee is not None else ""
        if name_text in _SYNC_CALLBACK_CALLEES:
            return f"a callback of {name_text}() must return synchronously"
        return f"a callback passed to {name_text or 'a call'}() may be used synchronously"
    if function.type != "function_declaration" and function.type in FUNCTION_KINDS:
        holder = parent
        if holder is None or holder.type not in ("variable_declarator", "public_field_definition"):
            return "a function value whose callers cannot be followed"
    return None
