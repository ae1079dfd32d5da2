"""The tables of the ledger file, each declared by the package that owns it.

The ledger owns the file, the connection and the `events` log. Every other table belongs to an
engine package, which declares it as a `TableSchema` (a name and one script per version) and
registers it here. The ledger records each schema's version in `schema_versions` and brings a
schema up to date the first time a handle uses it, so a command gets every table it touches
whether or not it imported the owner before it opened the ledger; the ledger itself never
imports an owner.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TableSchema", "register", "registered"]


@dataclass(frozen=True)
class TableSchema:
    """The migrations of one owner's tables: script N (1-based) brings them to version N.

    Append a script to change the tables; never edit one that has shipped, since ledgers on
    disk have already run it. Each script runs statement by statement inside one transaction.
    """

    name: str
    migrations: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.migrations:
            raise ValueError("a table schema needs a name and at least one migration")

    @property
    def version(self) -> int:
        return len(self.migrations)


_REGISTRY: dict[str, TableSchema] = {}


def register(schema: TableSchema) -> TableSchema:
    """Declare `schema` so that every ledger opened from now on applies it at open.

    Registering the same schema again is a no-op; two different schemas under one name are a
    programming error, since they would fight over one version row."""
    known = _REGISTRY.get(schema.name)
    if known is not None and known != schema:
        raise ValueError(f"two different ledger table schemas are named {schema.name!r}")
    _REGISTRY[schema.name] = schema
    return schema


def registered() -> tuple[TableSchema, ...]:
    """The schemas registered so far, in registration order."""
    return tuple(_REGISTRY.values())
