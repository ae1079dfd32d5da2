"""Seed the `conventions` collection from what vibehq already knows as rules and facts.

Two sources, neither copied here: the Option 2 standardization rules as the refactor prompts
render them (`STANDARDIZATION_RULES`), and the workspace's own conventions as
`workspace_conventions` reads them (entrypoint classes and their RPC methods, the base class,
service bindings, patch markers). The entrypoint files themselves are ingested in chunks too.
Seeding again replaces what an earlier seed stored, so a convention that no longer holds goes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from engine.memory.ingest import IngestResult, collect_files, ingest
from engine.memory.models import NewEntry
from engine.refactor.prompts import STANDARDIZATION_RULES, workspace_conventions

if TYPE_CHECKING:
    from engine.memory.chroma_store import MemoryStore
    from engine.workspace import Workspace

ENTRYPOINTS_DIR = "orchestrator/worker/entrypoints"
RULES_SECTION = "Option 2 standardization rules"
WORKSPACE_SECTION = "workspace conventions"
_RULE = re.compile(r"^(\d+)\.\s+", re.MULTILINE)
_BULLET_SOURCE = re.compile(r" in `([^`]+)`")


class SeedResult(BaseModel):
    rules: int
    workspace: int
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    entrypoints: IngestResult | None = None


def rule_entries() -> list[NewEntry]:
    """One entry per numbered standardization rule, its lines joined."""
    marks = list(_RULE.finditer(STANDARDIZATION_RULES))
    entries = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(STANDARDIZATION_RULES)
        body = " ".join(STANDARDIZATION_RULES[mark.end() : end].split())
        entries.append(
            NewEntry(
                kind="convention",
                text=f"Standardization rule {mark.group(1)}: {body}",
                section=RULES_SECTION,
                origin="seed",
            )
        )
    return entries


def workspace_entries(ws: Workspace) -> list[NewEntry]:
    """The workspace's conventions: each entrypoint class on its own, each other section
    (base class, service bindings, markers) whole."""
    entries = []
    for section in workspace_conventions(ws.root).split("\n\n"):
        title, _, body = section.partition("\n")
        if title == "Entrypoint classes:":
            for bullet in body.splitlines():
                text = bullet.removeprefix("- ").strip()
                if not text:
                    continue
                source = _BULLET_SOURCE.search(text)
                entries.append(
                    NewEntry(
                        kind="convention",
                        text=f"RPC entrypoint: {text}",
                        source=source.group(1) if source else None,
                        section=WORKSPACE_SECTION,
                        origin="seed",
                    )
                )
        elif section.strip():
            entries.append(
                NewEntry(
                    kind="convention",
                    text=section.strip(),
                    section=WORKSPACE_SECTION,
                    origin="seed",
                )
            )
    return entries


def seed_conventions(store: MemoryStore, ws: Workspace) -> SeedResult:
    rules = rule_entries()
    found = workspace_entries(ws)
    replaced = store.replace("convention", {"origin": "seed"}, [*rules, *found])
    result = SeedResult(
        rules=len(rules), workspace=len(found), added=replaced.added, removed=replaced.removed
    )
    if (ws.root / ENTRYPOINTS_DIR).is_dir():
        files, skipped = collect_files(ws, [ENTRYPOINTS_DIR])
        result.entrypoints = ingest(store, files, kind="convention", skipped=skipped)
    return result
