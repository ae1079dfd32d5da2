"""What a recipe is: a declared unit that names the call shape it rewrites, says why the rewrite
keeps the meaning, and either matches a site or declines it with a reason.

A recipe is looked at twice. `matches(site, context)` first sees only the SQL site (context
without a call node) to choose the recipe; then, with the call node and the RPC method in the
context, it checks the arguments and the uses of the result. `rewrite` gives the one byte edit
that replaces the call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, Field

from engine.migrate.models import SqlDriver, SqlSite
from engine.refactor.calls import chain_prefixes
from engine.refactor.models import RpcMethod
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


@dataclass(frozen=True, slots=True)
class Match:
    """The recipe rewrites the site; `args` are the nodes the RPC method takes (when known)."""

    recipe: Recipe
    args: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Decline:
    """The recipe leaves the site alone, and says why in one sentence naming the shape."""

    reason: str


@dataclass(frozen=True, slots=True)
class SiteContext:
    """What a recipe may look at beyond the site: its call node and its RPC method, once known."""

    call: Node | None = None
    method: RpcMethod | None = None


class RecipeInfo(BaseModel):
    """A recipe as `vibehq refactor recipes` lists it."""

    name: str
    driver: SqlDriver
    call_shapes: list[str]
    rewrites: str = Field(description="what it rewrites")
    safety: str = Field(description="why the rewrite keeps the meaning")
    example: str = Field(description="before -> after")


class Recipe(ABC):
    """One rewrite. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    driver: ClassVar[SqlDriver]
    call_shapes: ClassVar[tuple[str, ...]]
    rewrites: ClassVar[str]
    safety: ClassVar[str]
    example: ClassVar[str]
    # The statement leaves the worker (DDL to a migration, a PRAGMA dropped) instead of
    # becoming an RPC call.
    moves_out: ClassVar[bool] = False
    # The old call was synchronous, so its callers must become async and await it.
    was_sync: ClassVar[bool] = True

    @abstractmethod
    def claims(self, site: SqlSite) -> bool:
        """Whether the site has this recipe's driver and call shape (before any proof)."""

    def matches(self, site: SqlSite, context: SiteContext) -> Match | Decline:
        if not self.claims(site):
            return Decline(f"{self.name} does not cover the call shape {site.call}")
        if context.call is None:
            return Match(self)
        args = self.arguments(context.call)
        if isinstance(args, str):
            return Decline(args)
        if any(n.type in ("object", "spread_element", "array") for n in args):
            return Decline(
                "the values are bound as an object, array or spread, "
                "not one argument per placeholder"
            )
        method = context.method
        if method is not None and len(args) != len(method.params):
            return Decline(
                f"the call binds {len(args)} value(s) but the SQL has "
                f"{len(method.params)} placeholder(s)"
            )
        if method is not None:
            usage = self.usage(context.call, method.returns)
            if usage is not None:
                return Decline(usage)
        return Match(self, tuple(args))

    def arguments(self, call: Node) -> list[Node] | str:
        """The argument nodes the RPC method takes, or why they cannot be used as they are."""
        args = call.child_by_field_name("arguments")
        return [a for a in (args.named_children if args else []) if a.type != "comment"]

    def usage(self, call: Node, returns: str) -> str | None:
        """Why a use of the old result has no counterpart in the RPC result, or None."""
        del call, returns
        return None

    def rewrite(self, call: Node, method: RpcMethod, invocation: str) -> ByteEdit:
        """The edit that puts `await <invocation>` where the call was."""
        from engine.refactor.recipes.render import awaited_call

        return awaited_call(call, method, invocation)

    def info(self) -> RecipeInfo:
        return RecipeInfo(
            name=self.name,
            driver=self.driver,
            call_shapes=list(self.call_shapes),
            rewrites=self.rewrites,
            safety=self.safety,
            example=self.example,
        )


def last_shape(call: Node) -> str:
    """The whole call shape of a chain, as the SQL finder writes it (`a.b().c`)."""
    prefixes = chain_prefixes(call)
    return prefixes[-1][0] if prefixes else ""
