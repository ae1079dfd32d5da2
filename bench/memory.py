"""Benchmark: project memory with 10,000 entries on the offline embedder and chromadb.

Prints the embedding throughput on short texts (target: at least 200 texts/s), the time to
insert the entries through `MemoryStore.add_many` (vectors already computed, so this is the
store and chromadb part alone), and the median and p95 latency of `memory search` over 200
queries, each including the query's embedding (target: median at most 50 ms).

    uv run python bench/memory.py [--entries 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.memory.chroma_store import MemoryStore
from engine.memory.embedder import LocalEmbedder
from engine.memory.models import KINDS, NewEntry
from engine.memory.vectors import Vectors
from engine.settings import MemorySettings
from engine.workspace import Workspace

WORKERS = ["notes", "logger", "task-queue", "bun-inline", "d1-notes", "monitor", "factory"]
ENTRYPOINTS = ["NotesOps", "LoggingOps", "TaskOps", "PatchOps", "MonitoringOps", "FactoryOps"]
TOPICS = [
    "keeps its data in D1 through the orchestrator's {ep}",
    "exposes REST routes under /api/{w}/[action]",
    "streams events on the WebSocket /ws/{w}",
    "calls {ep}.{m} over its service binding",
    "moved from STAGING/{w} to apps/{w}",
    "awaits every RPC call; its callers became async",
    "runs its SQL in one transaction per RPC method",
    "had a bun:sqlite database, now removed",
]
METHODS = ["list", "add", "remove", "write", "applyPatches", "enqueue", "status"]
QUERIES = [
    "which worker writes logs through RPC?",
    "where do D1 queries go after the migration?",
    "WebSocket route of the monitor",
    "what moved out of STAGING?",
    "transaction boundaries of RPC methods",
    "bun sqlite removal",
    "REST path pattern for task queue",
    "async callers after the refactor",
]


class Precomputed(LocalEmbedder):
    """The local embedder, answering from vectors computed earlier for texts it has seen."""

    def __init__(self, inner: LocalEmbedder, vectors: dict[str, np.ndarray]) -> None:
        super().__init__(inner.files, batch_size=inner.batch_size)
        self.vectors = vectors

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, super().embed(missing), strict=True))
        return np.vstack([self.vectors[t] for t in texts]) if texts else super().embed([])


def short_texts(count: int, rng: random.Random) -> list[str]:
    texts = []
    for i in range(count):
        worker = rng.choice(WORKERS)
        topic = rng.choice(TOPICS).format(
            w=worker, ep=rng.choice(ENTRYPOINTS), m=rng.choice(METHODS)
        )
        texts.append(f"{worker} worker (#{i}) {topic}.")
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    texts = short_texts(args.entries, rng)

    embedder = LocalEmbedder()
    started = time.perf_counter()
    embedder.load()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - started
    rate = len(texts) / embed_s
    mean_words = statistics.mean(len(t.split()) for t in texts)
    print(f"model load: {load_s * 1000:.0f} ms")
    print(
        f"embedding: {len(texts):,} short texts (mean {mean_words:.0f} words) in {embed_s:.1f} s "
        f"= {rate:,.0f} texts/s  (target >= 200/s: {'ok' if rate >= 200 else 'MISSED'})"
    )

    work = Path(tempfile.mkdtemp(prefix="vibehq-bench-memory-"))
    try:
        ws = Workspace.open(work)
        fast = Precomputed(embedder, dict(zip(texts, vectors, strict=True)))
        store = MemoryStore.open(ws, MemorySettings(), embedder=fast)
        entries = [
            NewEntry(
                kind=KINDS[i % len(KINDS)] if i % 5 == 0 else "convention",
                text=text,
                folder=f"apps/{text.split(' ', 1)[0]}",
                task_id=str(i % 40),
            )
            for i, text in enumerate(texts)
        ]
        started = time.perf_counter()
        added = store.add_many(entries)
        insert_s = time.perf_counter() - started
        print(
            f"insert: {len(added.added):,} entries into 4 collections in {insert_s:.1f} s "
            f"({len(added.added) / insert_s:,.0f}/s, vectors precomputed)"
        )
        started = time.perf_counter()
        again = store.add_many(entries)
        print(
            f"re-add (idempotent): {len(again.existing):,} unchanged in "
            f"{time.perf_counter() - started:.1f} s"
        )

        # Fresh store object and real embedder: each query is embedded, as in `memory search`.
        store = MemoryStore.open(ws, MemorySettings(), embedder=embedder)
        store.search("warm up", kind="convention")
        for label, kind, folder in (
            ("one kind", "convention", None),
            ("one kind + folder filter", "convention", "apps/logger"),
            ("all four kinds", None, None),
        ):
            latencies = []
            for q in range(args.queries):
                query = QUERIES[q % len(QUERIES)] + f" {q}"
                started = time.perf_counter()
                hits = store.search(query, kind=kind, folder=folder, k=5)  # type: ignore[arg-type]
                latencies.append((time.perf_counter() - started) * 1000)
                assert hits, query
            median = statistics.median(latencies)
            p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
            verdict = "ok" if median <= 50 else "MISSED"
            print(
                f"search ({label}, k=5, {args.queries} queries): median {median:.1f} ms, "
                f"p95 {p95:.1f} ms  (target median <= 50 ms: {verdict})"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
