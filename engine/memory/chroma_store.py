"""Project memory: four chromadb collections under `<workspace>/.vibehq/memory/`.

Collections (one per kind): conventions, decisions, task_history, migration_facts, each in
cosine space. An entry's id is a hash of its text and provenance, so adding it again changes
nothing. Search scores are cosine similarities clipped to [0, 1].

Each collection records the embedder that made its vectors (chromadb's embedding-function
config plus our `embedder` metadata); opening it with another embedder is an
`EmbedderMismatch`, never a silent mix of two vector spaces. Reads that need no vectors (list,
forget) do not build the embedder at all. Writes hold `.vibehq/memory.lock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engine.errors import BadInput
from engine.filelock import exclusive_lock
from engine.ledger.events import utc_now
from engine.memory.embedder import embedder_for
from engine.memory.errors import EmbedderMismatch, UnknownMemory
from engine.memory.models import (
    COLLECTIONS,
    KINDS,
    AddResult,
    Kind,
    MemoryEntry,
    MemoryHit,
    NewEntry,
    kind_of_id,
)
from engine.memory.vectors import Embedder

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Where

    from engine.settings import MemorySettings
    from engine.workspace import Workspace

MEMORY_DIR = "memory"
LOCK_FILE = "memory.lock"
MAX_K = 100
_FIELDS = ("kind", "folder", "task_id", "source", "line_start", "line_end", "section", "origin")


class MemoryStore:
    """The workspace's memory. Nothing is opened or written until a call needs it: the chromadb
    client starts on first use (reads of a store that does not exist yet find nothing and
    create nothing), and the embedder is made on the first call that needs vectors (add,
    search), from the settings unless one was given."""

    def __init__(
        self,
        ws: Workspace,
        settings: MemorySettings,
        *,
        embedder: Embedder | None = None,
        lock_timeout_s: float = 60.0,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.path = ws.state_dir / MEMORY_DIR
        self.lock_timeout_s = lock_timeout_s
        self._embedder = embedder
        self._client: ClientAPI | None = None
        self._function: Any = None
        self._collections: dict[Kind, Collection] = {}

    @classmethod
    def open(
        cls,
        ws: Workspace,
        settings: MemorySettings,
        *,
        embedder: Embedder | None = None,
        lock_timeout_s: float = 60.0,
    ) -> MemoryStore:
        return cls(ws, settings, embedder=embedder, lock_timeout_s=lock_timeout_s)

    @property
    def client(self) -> ClientAPI:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            # Registers vibehq's embedding functions, which stored collections name.
            import engine.memory.chroma_embedding  # noqa: F401

            self.ws.ensure_state_dir()
            self._client = chromadb.PersistentClient(
                path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
            )
        return self._client

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedder_for(self.settings, self.ws.root)
        return self._embedder

    def _embedding_function(self) -> Any:
        if self._function is None:
            from engine.memory.chroma_embedding import embedding_function_for

            self._function = embedding_function_for(self.embedder)
        return self._function

    # -- collections ------------------------------------------------------------------------

    def _collection(self, kind: Kind, *, create: bool) -> Collection | None:
        """The kind's collection, opened with the configured embedder (vector operations)."""
        found = self._collections.get(kind)
        if found is not None:
            return found
        name = COLLECTIONS[kind]
        stored = self._stored(kind)
        if stored is None and not create:
            return None
        identity = self.embedder.identity
        if stored is not None:
            made_by = (stored.metadata or {}).get("embedder")
            if made_by != identity:
                raise EmbedderMismatch(_mismatch(name, str(made_by), identity))
        try:
            collection = self.client.get_or_create_collection(
                name,
                embedding_function=self._embedding_function(),
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": identity},
            )
        except ValueError as exc:
            if "conflict" not in str(exc).lower():
                raise
            raise EmbedderMismatch(_mismatch(name, _stored_embedder(exc), identity)) from None
        self._collections[kind] = collection
        return collection

    def _stored(self, kind: Kind) -> Collection | None:
        """The kind's collection as stored, without building the embedder (reads, deletes)."""
        found = self._collections.get(kind)
        if found is not None:
            return found
        if self._client is None and not self.path.is_dir():
            return None
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(COLLECTIONS[kind])
        except NotFoundError:
            return None

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        self.ws.ensure_state_dir()
        with exclusive_lock(self.ws.state_dir / LOCK_FILE, self.lock_timeout_s):
            yield

    def add(
        self,
        text: str,
        *,
        kind: Kind,
        folder: str | None = None,
        task_id: str | None = None,
        source: str | None = None,
        line_start: int | None = None,
        line_end: int | None = None,
    ) -> AddResult:
        entry = new_entry(
            text=text,
            kind=kind,
            folder=folder,
            task_id=task_id,
            source=source,
            line_start=line_start,
            line_end=line_end,
        )
        return self.add_many([entry])

    def add_many(self, entries: Sequence[NewEntry]) -> AddResult:
        """Store the entries not stored yet; entries already there keep their `created`."""
        if not entries:
            return AddResult()
        with self._writing():
            return self._add(entries)

    def replace(
        self, kind: Kind, match: Mapping[str, str | int], entries: Sequence[NewEntry]
    ) -> AddResult:
        """Make the `kind` entries whose metadata matches `match` exactly `entries`: add the
        new ones, keep the ones stored already, delete the rest (a re-ingested file's old
        chunks, a re-seeded convention that no longer holds)."""
        if not match:
            raise BadInput("memory replace: an empty match would replace the whole collection")
        strays = sorted({e.kind for e in entries} - {kind})
        if strays:
            raise BadInput(f"memory replace: entries of kind {', '.join(strays)} in {kind}")
        with self._writing():
            result = self._add(entries)
            collection = self._stored(kind)
            if collection is not None:
                keep = set(result.ids)
                matched = collection.get(where=_where(match), include=[])["ids"]
                stale = [i for i in matched if i not in keep]
                if stale:
                    collection.delete(ids=stale)
                    result.removed.extend(stale)
            return result

    def _add(self, entries: Sequence[NewEntry]) -> AddResult:
        result = AddResult()
        by_kind: dict[Kind, dict[str, NewEntry]] = {}
        for entry in entries:
            by_kind.setdefault(entry.kind, {}).setdefault(entry.entry_id, entry)
        for kind, fresh in by_kind.items():
            collection = self._collection(kind, create=True)
            assert collection is not None
            ids = list(fresh)
            present = set(collection.get(ids=ids, include=[])["ids"])
            missing = [i for i in ids if i not in present]
            result.existing.extend(i for i in ids if i in present)
            if not missing:
                continue
            texts = [fresh[i].text for i in missing]
            vectors = self.embedder.embed(texts)
            created = utc_now()
            metadatas = [_metadata(fresh[i], created) for i in missing]
            step = self.client.get_max_batch_size()
            for at in range(0, len(missing), step):
                collection.add(
                    ids=missing[at : at + step],
                    documents=texts[at : at + step],
                    embeddings=list(vectors[at : at + step]),
                    metadatas=metadatas[at : at + step],  # type: ignore[arg-type]
                )
            result.added.extend(missing)
        return result

    def forget(
        self,
        ids: Sequence[str] = (),
        *,
        kind: Kind | None = None,
        folder: str | None = None,
        task_id: str | None = None,
    ) -> list[str]:
        """Delete entries by id (each must exist) or by folder/task filter; the ids removed."""
        if ids and (folder or task_id or kind):
            raise BadInput("memory forget: give entry ids or filters (--folder/--task), not both")
        if not ids and not (folder or task_id):
            raise BadInput("memory forget: give entry ids, --folder or --task")
        if self._client is None and not self.path.is_dir():
            if ids:
                raise UnknownMemory(f"no memory entry {ids[0]}: this workspace has no memory yet")
            return []
        with self._writing():
            if ids:
                return self._forget_ids(ids)
            removed: list[str] = []
            where = _where(_filters(folder, task_id))
            for k in _kinds(kind):
                collection = self._stored(k)
                if collection is None:
                    continue
                matched = collection.get(where=where, include=[])["ids"]
                if matched:
                    collection.delete(ids=matched)
                    removed.extend(matched)
            return removed

    def _forget_ids(self, ids: Sequence[str]) -> list[str]:
        wanted: dict[Kind, list[str]] = {}
        unknown: list[str] = []
        for entry_id in dict.fromkeys(ids):
            kind = kind_of_id(entry_id)
            if kind is None:
                unknown.append(entry_id)
            else:
                wanted.setdefault(kind, []).append(entry_id)
        found: dict[Kind, list[str]] = {}
        for kind, kind_ids in wanted.items():
            collection = self._stored(kind)
            present = set(collection.get(ids=kind_ids, include=[])["ids"]) if collection else set()
            unknown.extend(i for i in kind_ids if i not in present)
            found[kind] = [i for i in kind_ids if i in present]
        if unknown:
            raise UnknownMemory(
                f"no memory entry {', '.join(unknown[:5])}"
                + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
                + "; nothing was forgotten"
            )
        removed: list[str] = []
        for kind, kind_ids in found.items():
            collection = self._stored(kind)
            assert collection is not None
            collection.delete(ids=kind_ids)
            removed.extend(kind_ids)
        return removed

    # -- reading ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        kind: Kind | None = None,
        folder: str | None = None,
        task_id: str | None = None,
        k: int = 5,
    ) -> list[MemoryHit]:
        """The `k` entries nearest the query, best first, over one kind or all of them."""
        if not query.strip():
            raise BadInput("memory search: the query is empty")
        if not 1 <= k <= MAX_K:
            raise BadInput(f"memory search: k must be between 1 and {MAX_K}, not {k}")
        collections = [
            c for c in (self._collection(x, create=False) for x in _kinds(kind)) if c is not None
        ]
        sizes = [c.count() for c in collections]
        if not any(sizes):
            return []
        vector = self.embedder.embed([query])
        where = _where(_filters(folder, task_id))
        hits: list[MemoryHit] = []
        for collection, size in zip(collections, sizes, strict=True):
            if not size:
                continue
            found = collection.query(
                query_embeddings=list(vector),
                n_results=min(k, size),
                where=where,
                include=["documents", "metadatas", "distances"],
            )
            documents = (found["documents"] or [[]])[0]
            metadatas = (found["metadatas"] or [[]])[0]
            distances = (found["distances"] or [[]])[0]
            for entry_id, text, meta, distance in zip(
                found["ids"][0], documents, metadatas, distances, strict=True
            ):
                score = min(1.0, max(0.0, 1.0 - float(distance)))
                hits.append(MemoryHit(**_entry_fields(entry_id, text, meta), score=round(score, 4)))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def list(
        self,
        *,
        kind: Kind | None = None,
        folder: str | None = None,
        task_id: str | None = None,
        limit: int | None = 50,
    ) -> list[MemoryEntry]:
        """Entries matching the filters, newest first."""
        if limit is not None and limit < 1:
            raise BadInput(f"memory list: the limit must be at least 1, not {limit}")
        where = _where(_filters(folder, task_id))
        entries: list[MemoryEntry] = []
        for k in _kinds(kind):
            collection = self._stored(k)
            if collection is None:
                continue
            got = collection.get(where=where, include=["documents", "metadatas"])
            documents = got["documents"] or []
            metadatas = got["metadatas"] or []
            for entry_id, text, meta in zip(got["ids"], documents, metadatas, strict=True):
                entries.append(MemoryEntry(**_entry_fields(entry_id, text, meta)))
        entries.sort(key=lambda e: (e.created, e.id), reverse=True)
        return entries if limit is None else entries[:limit]

    def count(self, kind: Kind | None = None) -> int:
        return sum(c.count() for c in (self._stored(k) for k in _kinds(kind)) if c is not None)


def new_entry(**fields: Any) -> NewEntry:
    """A `NewEntry`, or `BadInput` naming the first field that is wrong."""
    try:
        return NewEntry(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise BadInput(f"memory entry: {where + ': ' if where else ''}{message}") from None


def _kinds(kind: Kind | None) -> Iterable[Kind]:
    return (kind,) if kind else KINDS


def _filters(folder: str | None, task_id: str | None) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    if folder:
        found["folder"] = folder.replace("\\", "/").strip("/")
    if task_id:
        found["task_id"] = task_id
    return found


def _where(match: Mapping[str, str | int]) -> Where | None:
    conditions: list[dict[str, Any]] = [{key: value} for key, value in match.items()]
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return {"$and": conditions}


def _metadata(entry: NewEntry, created: str) -> dict[str, str | int]:
    meta: dict[str, str | int] = {"created": created}
    for name in _FIELDS:
        value = getattr(entry, name)
        if value is not None:
            meta[name] = value
    return meta


def _entry_fields(entry_id: str, text: str | None, meta: Any) -> dict[str, Any]:
    meta = dict(meta or {})
    fields: dict[str, Any] = {name: meta.get(name) for name in _FIELDS if name in meta}
    fields.setdefault("kind", kind_of_id(entry_id))
    return {**fields, "id": entry_id, "text": text or "", "created": str(meta.get("created", ""))}


def _stored_embedder(exc: ValueError) -> str:
    text = str(exc)
    marker = "persisted: "
    return text[text.index(marker) + len(marker) :].strip() if marker in text else "another"


def _mismatch(name: str, stored: str, configured: str) -> str:
    return (
        f"memory collection {name!r} holds vectors from embedder {stored}, but the configured "
        f"one is {configured}; restore the [memory] embedder settings, or remove "
        ".vibehq/memory/ and ingest again"
    )
