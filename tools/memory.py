"""Memory tools: search project memory by meaning, and add what an agent learned.

Memory holds conventions, decisions, task history and migration facts. An entry an agent adds
is marked with its source `agent:<name>`; adding the same text again changes nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.memory.chroma_store import MemoryStore
from tools.base import ToolArgs, VibehqTool, clip

MemoryKind = Literal["convention", "decision", "task", "migration_fact"]
HIT_CHARS = 500


class SearchArgs(ToolArgs):
    query: str = Field(min_length=1)
    kind: MemoryKind | None = Field(None, description="one kind of memory; default all")
    folder: str | None = Field(None, description="only entries about this folder")
    k: int = Field(5, ge=1, le=20)


class MemorySearchTool(VibehqTool):
    name: str = "memory_search"
    description: str = (
        "Search project memory (conventions, decisions, task history, migration facts) by "
        "meaning. Returns the best entries with their score and where they came from."
    )
    args_schema: type[ToolArgs] = SearchArgs

    def invoke(self, args: SearchArgs) -> dict[str, Any]:
        store = MemoryStore.open(self.ctx.home, self.ctx.settings.memory)
        hits = store.search(args.query, kind=args.kind, folder=args.folder, k=args.k)
        return {
            "hits": [
                {
                    "id": h.id,
                    "kind": h.kind,
                    "score": h.score,
                    "text": clip(h.text, HIT_CHARS),
                    **({"folder": h.folder} if h.folder else {}),
                    **({"task_id": h.task_id} if h.task_id else {}),
                    **({"source": h.source} if h.source else {}),
                }
                for h in hits
            ]
        }


class AddArgs(ToolArgs):
    text: str = Field(min_length=1, description="one fact, decision or convention")
    kind: MemoryKind
    folder: str | None = None
    task_id: str | None = None


class MemoryAddTool(VibehqTool):
    name: str = "memory_add"
    description: str = "Remember one convention, decision, task note or migration fact."
    args_schema: type[ToolArgs] = AddArgs

    def invoke(self, args: AddArgs) -> dict[str, Any]:
        store = MemoryStore.open(self.ctx.home, self.ctx.settings.memory)
        result = store.add(
            args.text,
            kind=args.kind,
            folder=args.folder,
            task_id=args.task_id,
            source=f"agent:{self.ctx.agent}",
        )
        return {"added": result.added, "existing": result.existing}


MEMORY_TOOLS: tuple[type[VibehqTool], ...] = (MemorySearchTool, MemoryAddTool)
