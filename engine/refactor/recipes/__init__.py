"""The D1/SQLite-to-RPC recipes: one module per recipe, and the registry that chooses one.

Each recipe names the call shape it rewrites, says why its rewrite keeps the meaning, and
either matches a site or declines it with a reason. A site no recipe matches is left exactly as
it is and handed to a model with the reason. The order of `RECIPES` is the order they are
tried in: the schema recipes first (a DDL statement moves out whatever its driver), then by
driver.
"""

from __future__ import annotations

from engine.migrate.models import SqlSite
from engine.refactor.asyncflow import sync_boundary
from engine.refactor.methods import METHOD_KINDS, call_returns
from engine.refactor.recipes.base import Decline, Match, Recipe, RecipeInfo, SiteContext
from engine.refactor.recipes.bun_sqlite_inline import BunSqliteInline
from engine.refactor.recipes.bun_sqlite_prepared_field import BunSqlitePreparedField
from engine.refactor.recipes.d1_batch_schema import D1BatchSchema
from engine.refactor.recipes.d1_prepare_bind import D1PrepareBind
from engine.refactor.recipes.ddl_to_migration import DdlToMigration
from engine.refactor.recipes.do_sql_exec import DoSqlExec
from engine.refactor.recipes.pragma_drop import PragmaDrop
from engine.sql.classify import sql_kind
from engine.sql.tokens import sql_tokens

__all__ = [
    "REASON_CATALOG",
    "REASON_ESCAPES",
    "REASON_NO_TEXT",
    "REASON_PREPARED",
    "REASON_TRANSACTION",
    "RECIPES",
    "Decline",
    "Match",
    "Recipe",
    "RecipeInfo",
    "SiteContext",
    "choose",
    "choose_recipe",
    "list_recipes",
    "preparing_recipe",
    "recipe_named",
    "site_reason",
    "sync_boundary",
]

RECIPES: tuple[Recipe, ...] = (
    D1BatchSchema(),
    DdlToMigration(),
    PragmaDrop(),
    DoSqlExec(),
    D1PrepareBind(),
    BunSqliteInline(),
    BunSqlitePreparedField(),
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
REASON_PREPARED = "the database is opened or the statement prepared here; it goes with its uses"
_CATALOG_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_sequence", "sqlite_stat1"})
_CATALOG = "sqlite_master"


def _precheck(site: SqlSite) -> Decline | None:
    """Declines no recipe can lift, whatever the shape."""
    if site.kind == "transaction" or (
        site.statement is not None and sql_kind(site.statement) == "transaction"
    ):
        return Decline(REASON_TRANSACTION)
    if site.call.startswith("new ") or site.call.rsplit(".", 1)[-1] in ("query", "prepare"):
        return Decline(REASON_PREPARED)
    if site.statement is None or "${" in site.statement:
        return Decline(REASON_NO_TEXT)
    tables = {t.lower() for t in (*site.tables_read, *site.tables_written)}
    # The catalog may sit where no table is read (a PRAGMA argument, a subquery in a string).
    named = {t.text.lower() for t in sql_tokens(site.statement) if t.is_name or t.kind == "string"}
    if tables & _CATALOG_TABLES or any(_CATALOG in n for n in named):
        return Decline(REASON_CATALOG)
    return None


def choose(site: SqlSite, context: SiteContext | None = None) -> Match | Decline:
    """The first recipe that matches the site, or the reason none does."""
    context = context or SiteContext()
    early = _precheck(site)
    if early is not None:
        return early
    schema = site.kind in ("ddl", "pragma")
    if not schema and (site.kind not in METHOD_KINDS or call_returns(site) is None):
        return Decline(f"no recipe covers the call shape {site.call} for a {site.kind} statement")
    claimed = [r for r in RECIPES if r.claims(site)]
    if not claimed:
        return Decline(f"no recipe covers the {site.driver} driver")
    decline: Decline | None = None
    for recipe in claimed:
        found = recipe.matches(site, context)
        if isinstance(found, Match):
            return found
        decline = decline or found
    assert decline is not None
    return decline


def choose_recipe(site: SqlSite) -> Recipe | None:
    """The recipe that rewrites a site, or None (see `site_reason`)."""
    found = choose(site)
    return found.recipe if isinstance(found, Match) else None


def site_reason(site: SqlSite) -> str | None:
    """Why no recipe may touch the site on its own, or None when one may."""
    found = choose(site)
    return found.reason if isinstance(found, Decline) else None


def preparing_recipe(site: SqlSite) -> Recipe:
    """The recipe credited with a preparation site (`db.query(SQL)`, `new Database()`) once
    every use of what it prepared has been rewritten."""
    if site.call.rsplit(".", 1)[-1] in ("query", "prepare"):
        return _BY_NAME["bun-sqlite-prepared-field"]
    return _BY_NAME["bun-sqlite-inline"]


def recipe_named(name: str) -> Recipe:
    return _BY_NAME[name]


def list_recipes() -> list[RecipeInfo]:
    """Every recipe, in the order they are tried, for `vibehq refactor recipes`."""
    return [recipe.info() for recipe in RECIPES]
