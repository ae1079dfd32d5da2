"""`vibehq memory ingest PATHS`: docs and code into memory, in language-aware chunks.

Every path is checked against the workspace (symlinks resolved, `..`, the state folder) before
anything is read, and all of them before anything is written: one unsafe path refuses the whole
call. Folders are walked for known text files (dependency and build folders skipped). A file
ingested again replaces its earlier chunks: unchanged chunks keep their ids and dates, chunks
that no longer exist are removed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from engine.errors import BadInput, UnsafePath
from engine.memory.langchain_splitter import language_of, split_source
from engine.memory.models import Kind, NewEntry, Origin
from engine.workspace import resolve_inside

if TYPE_CHECKING:
    from engine.memory.chroma_store import MemoryStore
    from engine.workspace import Workspace

INGEST_SUFFIXES = frozenset(
    {
        ".md",
        ".markdown",
        ".mdx",
        ".txt",
        ".rst",
        ".ts",
        ".tsx",
        ".mts",
        ".cts",
        ".js",
        ".jsx",
        ".mjs",
        ".cjs",
        ".py",
        ".json",
        ".jsonc",
        ".toml",
        ".yaml",
        ".yml",
        ".sql",
        ".html",
    }
)
SKIP_DIRS = frozenset(
    {"node_modules", ".git", ".vibehq", "dist", "build", ".wrangler", "__pycache__", ".venv"}
)
MAX_FILE_BYTES = 2 * 1024 * 1024
_LOCKFILES = frozenset({"package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lockb"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    rel: str
    path: Path
    folder: str | None


class IngestedFile(BaseModel):
    source: str
    language: str
    chunks: int
    added: int
    existing: int
    removed: int


class IngestResult(BaseModel):
    kind: Kind
    files: list[IngestedFile] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="path: reason")

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)


def workspace_relative(ws: Workspace, arg: str) -> str:
    """A path from the command line as a workspace-relative path. Relative paths are taken from
    the workspace root; an absolute path must lie inside it."""
    if "\x00" in arg:
        raise UnsafePath(f"path {arg!r} contains a NUL byte")
    if not os.path.isabs(arg):
        return arg
    rel = os.path.relpath(os.path.normpath(arg), ws.root)
    if rel == ".." or rel.startswith(".." + os.sep):
        raise UnsafePath(f"path {arg!r} is outside the workspace {ws.root}")
    return rel


def collect_files(
    ws: Workspace, args: Sequence[str], *, folder: str | None = None
) -> tuple[list[SourceFile], list[str]]:
    """The files to ingest and the ones skipped (with why). Raises before reading anything if
    any path is unsafe or missing."""
    if not args:
        raise BadInput("memory ingest: give at least one path")
    roots: list[Path] = []
    for arg in args:
        path = resolve_inside(ws.root, workspace_relative(ws, arg), what="path")
        if not path.exists():
            raise BadInput(f"memory ingest: {arg!r} does not exist in the workspace")
        roots.append(path)
    files: dict[str, SourceFile] = {}
    skipped: list[str] = []
    for path in roots:
        if path.is_file():
            rel = ws.relative(path)
            if path.stat().st_size > MAX_FILE_BYTES:
                raise BadInput(f"memory ingest: {rel} is over {MAX_FILE_BYTES // 1024} KiB")
            files.setdefault(rel, SourceFile(rel, path, folder or _parent(rel)))
            continue
        base = ws.relative(path) if path != ws.root else ""
        for found_rel, found in _walk(ws, path, skipped):
            files.setdefault(found_rel, SourceFile(found_rel, found, folder or base or None))
    return [files[k] for k in sorted(files)], skipped


def _parent(rel: str) -> str | None:
    parent = rel.rpartition("/")[0]
    return parent or None


def _walk(ws: Workspace, top: Path, skipped: list[str]) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for current, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            if name in _LOCKFILES or Path(name).suffix.lower() not in INGEST_SUFFIXES:
                continue
            path = Path(current) / name
            rel = ws.relative(path)
            try:
                resolved = resolve_inside(ws.root, rel, what="path")
            except UnsafePath:
                skipped.append(f"{rel}: a symlink out of the workspace")
                continue
            if resolved.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{rel}: over {MAX_FILE_BYTES // 1024} KiB")
                continue
            found.append((rel, resolved))
    return found


def chunk_entries(
    source: SourceFile,
    text: str,
    *,
    kind: Kind,
    task_id: str | None = None,
    chunk_size: int = 800,
    chunk_overlap: int = 0,
    origin: Origin = "ingest",
) -> list[NewEntry]:
    return [
        NewEntry(
            kind=kind,
            text=chunk.text,
            folder=source.folder,
            task_id=task_id,
            source=source.rel,
            line_start=chunk.line_start,
            line_end=chunk.line_end,
            section=chunk.section,
            origin=origin,
        )
        for chunk in split_source(
            text, source.rel, chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
    ]


def ingest(
    store: MemoryStore,
    files: Sequence[SourceFile],
    *,
    kind: Kind = "convention",
    task_id: str | None = None,
    skipped: Sequence[str] = (),
    origin: Origin = "ingest",
) -> IngestResult:
    """Chunk each file and store its chunks under `kind`, replacing the file's earlier ones."""
    settings = store.settings
    result = IngestResult(kind=kind, skipped=list(skipped))
    for source in files:
        try:
            text = source.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            result.skipped.append(f"{source.rel}: not UTF-8 text")
            continue
        entries = chunk_entries(
            source,
            text,
            kind=kind,
            task_id=task_id,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            origin=origin,
        )
        replaced = store.replace(kind, {"source": source.rel, "origin": origin}, entries)
        result.files.append(
            IngestedFile(
                source=source.rel,
                language=language_of(source.rel),
                chunks=len(entries),
                added=len(replaced.added),
                existing=len(replaced.existing),
                removed=len(replaced.removed),
            )
        )
    return result
