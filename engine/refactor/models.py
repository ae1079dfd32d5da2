"""Records shared by the method planner, the orchestrator and worker rewrites, and prompts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from engine.sql.tokens import SqlKind
from engine.work_item import WorkItem as WorkItem

# What the RPC method hands back, mirroring the call it replaces:
#   rows   -> D1 `.all()`   -> Promise<Row[]>
#   row    -> D1 `.first()` -> Promise<Row | null>
#   result -> D1 `.run()`   -> Promise<{ changes: number; lastInsertRowid: number }>
RpcReturns = Literal["rows", "row", "result"]


class RpcParam(BaseModel):
    name: str = Field(description="camelCase, from the SQL column the placeholder binds")
    ts_type: str = Field("SqlValue", description="TypeScript type of the argument")


class RpcMethod(BaseModel):
    """One orchestrator RPC method: one distinct SQL operation of the worker."""

    name: str = Field(description="deterministic camelCase name, e.g. selectNotesById")
    sql: str
    kind: SqlKind
    params: list[RpcParam] = Field(default_factory=list)
    returns: RpcReturns
    tables_read: list[str] = Field(default_factory=list)
    tables_written: list[str] = Field(default_factory=list)
    sites: list[str] = Field(default_factory=list, description="file:line of every call site")


class RpcTarget(BaseModel):
    """Where the extracted SQL goes (from the manifest's `rpc` section)."""

    folder: str = Field(description="the worker's folder in the workspace, e.g. apps/sqlite-demo")
    entrypoint_path: str = Field(
        description="e.g. orchestrator/worker/entrypoints/SqliteDemoOps.ts"
    )
    class_name: str = Field(description="e.g. SqliteDemoOps")
    binding: str = Field(description="service binding name, e.g. ORCHESTRATOR_SQLITE_DEMO")
    wrangler: str = Field(description="wrangler config that lists the service bindings")
    migrations_dir: str = "orchestrator/migrations"
    entrypoints_index: str = "orchestrator/worker/entrypoints/index.ts"
    service: str = Field("vibehq-orchestrator", description="the orchestrator worker's name")
