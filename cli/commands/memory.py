"""`vibehq memory`: project memory, searched by meaning."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.memory.chroma_store import MemoryStore
    from engine.memory.models import Kind
    from engine.settings import Settings
    from engine.workspace import Workspace

from typing import Annotated

import typer

from cli.context import open_workspace, workspace_relative
from cli.errors import guarded
from cli.options import FolderOpt, JsonOpt, KindOpt, TaskOpt, WorkspaceOpt
from cli.output import emit_json, escape, get_console
from cli.render.memory import snippet, where_from

memory_app = typer.Typer(
    help="Project memory: conventions, decisions, task history and migration facts, "
    "searched by meaning with an offline embedder.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def memory_kind(kind: str | None) -> Kind | None:
    from engine.memory.models import parse_kind

    return None if kind is None else parse_kind(kind)


def memory_store(ws: Workspace, settings: Settings, *, vectors: bool) -> MemoryStore:
    """The workspace's memory store. With `vectors`, the embedder is built first, so a missing
    model fails before anything is written."""
    from engine.memory.chroma_store import MemoryStore
    from engine.memory.embedder import embedder_for

    embedder = embedder_for(settings.memory, ws.root) if vectors else None
    return MemoryStore.open(
        ws, settings.memory, embedder=embedder, lock_timeout_s=settings.patch.lock_timeout_s
    )


@memory_app.command("ingest")
@guarded
def memory_ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders inside the workspace: relative to the current directory, "
            "or absolute."
        ),
    ],
    kind: KindOpt = "convention",
    folder: Annotated[
        str | None,
        typer.Option("--folder", help="Folder to file the chunks under (default: the path's)."),
    ] = None,
    task: TaskOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load docs and code in language-aware chunks (Markdown headings, TS/JS declarations,
    Python defs), each with its source path and line range. A file ingested again replaces
    its earlier chunks."""
    from engine.memory.ingest import collect_files, ingest

    parsed = memory_kind(kind) or "convention"
    ws, settings = open_workspace(workspace)
    files, skipped = collect_files(ws, [workspace_relative(ws, p) for p in paths], folder=folder)
    store = memory_store(ws, settings, vectors=True)
    result = ingest(store, files, kind=parsed, task_id=task, skipped=skipped)
    if as_json:
        emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    from rich.table import Table

    table = Table("source", "language", "chunks", "added", "unchanged", "removed")
    for f in result.files:
        table.add_row(
            f.source, f.language, str(f.chunks), str(f.added), str(f.existing), str(f.removed)
        )
    console = get_console()
    console.print(table if result.files else "no files to ingest")
    for line in result.skipped:
        console.print(f"[yellow]skipped:[/] {escape(line)}")
    console.print(
        f"{len(result.files)} files, {result.chunks} chunks, {result.added} new, into {result.kind}"
    )


@memory_app.command("seed")
@guarded
def memory_seed(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Seed the conventions from the Option 2 standardization rules and the workspace's
    RPC entrypoints (classes, methods, base class, service bindings)."""
    from engine.memory.seed import seed_conventions

    ws, settings = open_workspace(workspace)
    store = memory_store(ws, settings, vectors=True)
    result = seed_conventions(store, ws)
    if as_json:
        emit_json({"ok": True, **result.model_dump(mode="json")})
        return
    chunks = result.entrypoints.chunks if result.entrypoints else 0
    get_console().print(
        f"conventions: {result.rules} standardization rules, {result.workspace} workspace "
        f"conventions, {chunks} entrypoint chunks; {len(result.added)} new, "
        f"{len(result.removed)} stale removed"
    )


@memory_app.command("add")
@guarded
def memory_add(
    text: Annotated[str, typer.Argument(help="What to remember.")],
    kind: Annotated[
        str, typer.Option("--kind", help="convention | decision | task | migration_fact")
    ],
    folder: FolderOpt = None,
    task: TaskOpt = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where it comes from (a path).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember one entry. The same text with the same provenance is stored once."""
    from engine.memory.chroma_store import new_entry

    entry = new_entry(text=text, kind=memory_kind(kind), folder=folder, task_id=task, source=source)
    store = memory_store(*open_workspace(workspace), vectors=True)
    result = store.add_many([entry])
    entry_id = result.ids[0]
    if as_json:
        emit_json({"ok": True, "id": entry_id, "added": bool(result.added)})
        return
    get_console().print(f"{'added' if result.added else 'already stored'}: {entry_id}")


@memory_app.command("search")
@guarded
def memory_search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    k: Annotated[int, typer.Option("-k", "--top", help="How many hits.")] = 5,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The entries nearest in meaning to QUERY, best first, with a relevance score in [0, 1]."""
    parsed = memory_kind(kind)
    store = memory_store(*open_workspace(workspace), vectors=True)
    hits = store.search(query, kind=parsed, folder=folder, task_id=task, k=k)
    if as_json:
        emit_json([h.model_dump(mode="json") for h in hits])
        return
    from rich.table import Table

    table = Table("score", "kind", "id", "from", "text")
    for h in hits:
        table.add_row(f"{h.score:.3f}", h.kind, h.id, where_from(h), escape(snippet(h.text)))
    get_console().print(table if hits else "nothing in memory matches")


@memory_app.command("list")
@guarded
def memory_list(
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Entries in memory, newest first, filtered by kind, folder and task."""
    parsed = memory_kind(kind)
    store = memory_store(*open_workspace(workspace), vectors=False)
    entries = store.list(kind=parsed, folder=folder, task_id=task, limit=limit)
    if as_json:
        emit_json([e.model_dump(mode="json") for e in entries])
        return
    from rich.table import Table

    table = Table("id", "kind", "folder", "task", "from", "created", "text")
    for e in entries:
        table.add_row(
            e.id,
            e.kind,
            e.folder or "",
            e.task_id or "",
            where_from(e),
            e.created[:19],
            escape(snippet(e.text, 80)),
        )
    get_console().print(table if entries else "no memory entries match")


@memory_app.command("forget")
@guarded
def memory_forget(
    ids: Annotated[list[str] | None, typer.Argument(help="Entry ids to forget.")] = None,
    kind: KindOpt = None,
    folder: FolderOpt = None,
    task: TaskOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Forget entries by id (every id must exist, or nothing is forgotten), or every entry
    of a folder or task (optionally of one kind)."""
    parsed = memory_kind(kind)
    store = memory_store(*open_workspace(workspace), vectors=False)
    removed = store.forget(ids or (), kind=parsed, folder=folder, task_id=task)
    if as_json:
        emit_json({"ok": True, "removed": removed})
        return
    get_console().print(f"forgot {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}")
