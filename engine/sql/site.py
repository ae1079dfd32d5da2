"""Where code touches a database directly: the SQL finder's record, read by the recipes, the
work items a model must finish and the approval queue that carries them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.sql.tokens import SqlKind

__all__ = ["SqlDriver", "SqlSite"]

SqlDriver = Literal["bun:sqlite", "durable-object-sql", "d1", "better-sqlite3", "drizzle", "kysely"]


class SqlSite(BaseModel):
    """A place where a worker touches a database directly."""

    model_config = ConfigDict(frozen=True)

    file: str
    start_line: int
    end_line: int
    driver: SqlDriver
    call: str = Field(description="the call shape, e.g. 'db.query().all', 'env.DB.prepare().first'")
    statement: str | None = Field(
        None, description="SQL text when it is a literal or template (templates keep ${...})"
    )
    kind: SqlKind = "unknown"
    tables_read: list[str] = Field(default_factory=list)
    tables_written: list[str] = Field(default_factory=list)
    is_async: bool
    function: str | None = Field(None, description="enclosing function or method name")
    class_name: str | None = Field(None, description="enclosing class name")
