"""Project memory with the real offline embedder and real chromadb stores in tmp dirs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from engine.errors import BadInput, UnsafePath
from engine.memory.chroma_store import MemoryStore
from engine.memory.embedder import DIMENSION, LocalEmbedder, locate_model
from engine.memory.errors import (
    EmbedderMismatch,
    EmbedderUnavailable,
    EmbeddingFailed,
    UnknownMemory,
)
from engine.memory.ingest import collect_files, ingest
from engine.memory.langchain_splitter import lines_of, split_source
from engine.memory.models import parse_kind
from engine.settings import MemorySettings
from engine.workspace import Workspace
from tests.conftest import copy_example, snapshot, write

D1_RULE = (
    "All database operations live in the orchestrator behind RPC entrypoints: no D1 binding "
    "and no bun:sqlite in specialist workers."
)
UNRELATED = "The dashboard's colour palette uses a dark theme with teal accents."
ROUTE_RULE = "REST APIs follow the /api/[module]/[action] path pattern."


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    """One loaded model for the whole module (the session is cached per process anyway)."""
    local = LocalEmbedder()
    local.load()
    return local


@pytest.fixture
def store(ws: Path, embedder: LocalEmbedder) -> MemoryStore:
    return MemoryStore.open(Workspace.open(ws), MemorySettings(), embedder=embedder)


# -- embedder --------------------------------------------------------------------------------------


def test_embedder_gives_unit_float32_rows_independent_of_the_batch(
    embedder: LocalEmbedder,
) -> None:
    texts = ["short", D1_RULE, "a much longer text about workers " * 40]
    together = embedder.embed(texts)
    assert together.shape == (3, DIMENSION)
    assert together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)
    assert embedder.embed([]).shape == (0, DIMENSION)


def test_embedder_model_path_that_holds_no_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match=r"no model\.onnx at .*model_path"):
        locate_model(tmp_path)


def test_embedder_tokenizer_path_that_holds_no_tokenizer_is_a_clear_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(EmbedderUnavailable, match=r"no tokenizer\.json at"):
        locate_model(None, tmp_path)


def test_embedder_missing_package_names_the_package_and_the_install() -> None:
    from engine.memory import embedder as module

    with pytest.raises(EmbedderUnavailable, match=r"package no-such-pkg .* `uv sync`"):
        module._package_dir("vibehq_no_such_package_xyz", "no-such-pkg", "the model")


def test_chromadb_embedding_function_round_trips_its_config(embedder: LocalEmbedder) -> None:
    from engine.memory.chroma_embedding import LocalEmbeddingFunction

    function = LocalEmbeddingFunction.wrapping(embedder)
    rebuilt = LocalEmbeddingFunction.build_from_config(function.get_config())
    assert rebuilt.name() == function.name() == "vibehq-minilm-l6-v2-int8"
    assert not function.is_legacy()
    assert np.allclose(function(["hello"])[0], rebuilt(["hello"])[0])


# -- store -----------------------------------------------------------------------------------------


def test_round_trip_persists_across_opens(
    store: MemoryStore, ws: Path, embedder: LocalEmbedder
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        added = store.add(D1_RULE, kind="convention", folder="apps/notes")
        store.add("We keep task-master's tasks.json format.", kind="decision", task_id="12")
    assert (ws / ".vibehq" / "memory").is_dir()

    again = MemoryStore.open(Workspace.open(ws), MemorySettings(), embedder=embedder)
    hits = again.search("Where do D1 database operations live?", k=1)
    assert [h.id for h in hits] == added.added
    hit = hits[0]
    assert hit.text == D1_RULE
    assert (hit.kind, hit.folder, hit.origin) == ("convention", "apps/notes", "add")
    assert 0.0 <= hit.score <= 1.0
    assert again.count() == 2


def test_search_and_list_filter_by_kind_folder_and_task(store: MemoryStore) -> None:
    store.add(D1_RULE, kind="convention", folder="apps/notes", task_id="7")
    store.add(D1_RULE, kind="convention", folder="apps/logger", task_id="8")
    store.add("Move the notes worker's D1 queries to NotesOps.", kind="decision", task_id="7")

    in_notes = store.search("D1 database", folder="apps/notes")
    assert {h.folder for h in in_notes} == {"apps/notes"}
    task_7 = store.search("D1 database", task_id="7")
    assert {h.task_id for h in task_7} == {"7"}
    assert {h.kind for h in task_7} == {"convention", "decision"}
    decisions = store.search("D1 database", kind="decision")
    assert [h.kind for h in decisions] == ["decision"]
    both = store.search("D1 database", folder="apps/logger", task_id="8")
    assert [(h.folder, h.task_id) for h in both] == [("apps/logger", "8")]
    assert store.search("D1 database", folder="apps/none") == []

    assert {e.folder for e in store.list(folder="apps/logger")} == {"apps/logger"}
    assert [e.kind for e in store.list(kind="decision")] == ["decision"]
    assert len(store.list()) == 3
    assert len(store.list(limit=2)) == 2


def test_relevance_ranks_the_d1_convention_above_unrelated_ones(store: MemoryStore) -> None:
    for text in (UNRELATED, ROUTE_RULE, D1_RULE):
        store.add(text, kind="convention")
    hits = store.search("Can a worker keep its own D1 database?", k=3)
    assert hits[0].text == D1_RULE
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0].score > next(h.score for h in hits if h.text == UNRELATED)
    assert store.search("websocket path convention /api/[module]", k=1)[0].text == ROUTE_RULE


def test_adding_the_same_entry_again_changes_nothing(store: MemoryStore) -> None:
    first = store.add(D1_RULE, kind="convention", folder="apps/notes")
    created = store.list()[0].created
    second = store.add(D1_RULE, kind="convention", folder="apps/notes")
    assert second.added == [] and second.existing == first.added
    assert store.count() == 1
    assert store.list()[0].created == created
    other_folder = store.add(D1_RULE, kind="convention", folder="apps/logger")
    assert other_folder.added and other_folder.added != first.added


def test_forget_by_id_and_by_folder(store: MemoryStore) -> None:
    keep = store.add(ROUTE_RULE, kind="convention").added[0]
    drop = store.add(D1_RULE, kind="convention", folder="apps/notes").added[0]
    store.add("Notes moved to apps/notes.", kind="migration_fact", folder="apps/notes")

    with pytest.raises(UnknownMemory, match="convention-0000000000000000"):
        store.forget([drop, "convention-0000000000000000"])
    assert store.count() == 3
    with pytest.raises(UnknownMemory, match="no memory entry not-an-id"):
        store.forget(["not-an-id"])

    assert store.forget([drop]) == [drop]
    assert store.forget(folder="apps/notes", kind="convention") == []
    removed = store.forget(folder="apps/notes")
    assert len(removed) == 1 and removed[0].startswith("migration_fact-")
    assert [e.id for e in store.list()] == [keep]
    with pytest.raises(BadInput):
        store.forget()
    with pytest.raises(BadInput):
        store.forget([keep], folder="x")


def test_bad_entries_and_queries_are_bad_input(store: MemoryStore) -> None:
    with pytest.raises(BadInput, match="text"):
        store.add("   ", kind="convention")
    with pytest.raises(BadInput, match="line_end is before line_start"):
        store.add("x", kind="convention", source="a.md", line_start=5, line_end=2)
    with pytest.raises(BadInput, match="empty"):
        store.search(" ")
    with pytest.raises(BadInput, match="k must be"):
        store.search("x", k=0)
    with pytest.raises(UnknownMemory, match="unknown memory kind 'notes'"):
        parse_kind("notes")
    assert parse_kind("migration-facts") == "migration_fact"
    assert parse_kind("task_history") == "task"


# -- ingestion -------------------------------------------------------------------------------------

MARKDOWN = """# Notes worker

The notes worker stores notes.

## Storage

It used bun:sqlite for every note. {filler}

## RPC

After the move, NotesOps on the orchestrator owns the notes table. {filler}

```ts
// # not a heading: inside a fence
const x = 1;
```

### Methods

- listNotes
- addNote {filler}
"""

TYPESCRIPT = """import {{ BaseWorkerEntrypoint }} from "@shared/base/BaseWorkerEntrypoint";

/**
 * Notes RPC entrypoint.
 */
export class NotesOps extends BaseWorkerEntrypoint<Env> {{
  async listNotes(): Promise<Note[]> {{
    // {filler}
    return [];
  }}
}}

export async function handler(request: Request): Promise<Response> {{
  // {filler}
  return new Response("ok");
}}

export const ROUTES = ["/api/notes/list"]; // {filler}

function helper(x: number): number {{
  // {filler}
  return x + 1;
}}
"""


def _check_lines(text: str, chunks: list[Any]) -> None:
    for chunk in chunks:
        assert lines_of(text, chunk.line_start, chunk.line_end).strip() == chunk.text


def test_markdown_chunks_start_at_headings_with_their_line_ranges() -> None:
    text = MARKDOWN.format(filler="word " * 40)
    chunks = split_source(text, "docs/notes.md", chunk_size=500)
    assert [c.text.split("\n")[0] for c in chunks] == ["# Notes worker", "## RPC", "### Methods"]
    _check_lines(text, chunks)
    assert [c.line_start for c in chunks] == [1, 9, 18]
    assert [c.section for c in chunks] == ["Notes worker", "RPC", "Methods"]
    # The fenced block stays whole, inside its section's chunk.
    assert "```ts\n// # not a heading: inside a fence\nconst x = 1;\n```" in chunks[1].text


def test_typescript_chunks_start_at_declarations_with_their_line_ranges() -> None:
    text = TYPESCRIPT.format(filler="x" * 150)
    chunks = split_source(text, "apps/notes/src/index.ts", chunk_size=300)
    firsts = [c.text.split("\n")[0] for c in chunks]
    assert firsts == [
        'import { BaseWorkerEntrypoint } from "@shared/base/BaseWorkerEntrypoint";',
        "/**",
        "async listNotes(): Promise<Note[]> {",
        "export async function handler(request: Request): Promise<Response> {",
        'export const ROUTES = ["/api/notes/list"]; // ' + "x" * 150,
        "function helper(x: number): number {",
    ]
    _check_lines(text, chunks)
    # The doc comment stays with the class it documents; the class too long for one chunk
    # splits at its member.
    assert chunks[1].text.endswith("export class NotesOps extends BaseWorkerEntrypoint<Env> {")
    assert [c.line_start for c in chunks[:3]] == [1, 3, 7]


def test_overlapping_chunks_keep_correct_line_ranges() -> None:
    text = "\n".join(f"line {i} " + "word " * (i % 7) for i in range(1, 200))
    chunks = split_source(text, "notes.txt", chunk_size=200, chunk_overlap=80)
    assert len(chunks) > 10
    for chunk in chunks:
        assert chunk.text in lines_of(text, chunk.line_start, chunk.line_end)
        first_line = text.split("\n")[chunk.line_start - 1]
        assert first_line.endswith(chunk.text.split("\n")[0])


def test_ingest_stores_chunks_with_sources_and_replaces_a_changed_file(
    ws: Path, embedder: LocalEmbedder
) -> None:
    store = MemoryStore.open(Workspace.open(ws), MemorySettings(chunk_size=300), embedder=embedder)
    write(ws, "docs/notes.md", MARKDOWN.format(filler="word " * 10))
    write(ws, "apps/notes/src/index.ts", TYPESCRIPT.format(filler="x" * 150))
    write(ws, "apps/notes/node_modules/dep/index.ts", "export const skipped = 1;\n")
    write(ws, "apps/notes/logo.png", b"\x89PNG")
    workspace = Workspace.open(ws)

    files, skipped = collect_files(workspace, ["docs/notes.md", "apps/notes"])
    assert [f.rel for f in files] == ["apps/notes/src/index.ts", "docs/notes.md"]
    assert [f.folder for f in files] == ["apps/notes", "docs"]
    result = ingest(store, files, skipped=skipped)
    assert result.added == result.chunks > 0

    entries = store.list(limit=None)
    assert {e.source for e in entries} == {"apps/notes/src/index.ts", "docs/notes.md"}
    for entry in entries:
        assert entry.source and entry.line_start and entry.line_end
        source_text = (ws / entry.source).read_text()
        assert lines_of(source_text, entry.line_start, entry.line_end).strip() == entry.text
    hit = store.search("After the move, NotesOps owns the notes table", k=1)[0]
    assert hit.source == "docs/notes.md" and "NotesOps" in hit.text
    assert {e.section for e in entries if e.source == "docs/notes.md"} <= {
        "Notes worker",
        "Storage",
        "RPC",
        "Methods",
    }

    again = ingest(store, files)
    assert again.added == 0 and sum(f.removed for f in again.files) == 0

    before = len(store.list(folder="docs", limit=None))
    assert before >= 2
    write(ws, "docs/notes.md", "# Notes worker\n\nRetired.\n")
    changed = ingest(store, collect_files(workspace, ["docs/notes.md"])[0])
    assert (changed.files[0].chunks, changed.files[0].removed) == (1, before)
    docs = store.list(folder="docs", limit=None)
    assert [e.text for e in docs] == ["# Notes worker\n\nRetired."]


def test_ingest_refuses_unsafe_paths_before_reading(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# secret\n")
    (ws / "link.md").symlink_to(outside)
    write(ws, ".vibehq/ledger.sqlite", b"")
    write(ws, "README.md", "# readme\n")
    workspace = Workspace.open(ws)
    for bad in ("../outside.md", str(outside), "link.md", ".vibehq/ledger.sqlite"):
        with pytest.raises(UnsafePath):
            collect_files(workspace, ["README.md", bad])
    with pytest.raises(BadInput, match="does not exist"):
        collect_files(workspace, ["missing.md"])
    write(ws, "inside.md", "# inside\n")
    files, _ = collect_files(workspace, [str(ws / "inside.md")])
    assert [f.rel for f in files] == ["inside.md"]


# -- seeding ---------------------------------------------------------------------------------------


# -- remote embedder -------------------------------------------------------------------------------


class _EmbeddingsStub(BaseHTTPRequestHandler):
    """`POST /v1/embeddings`: 16-dim vectors hashed from each text's words."""

    seen: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        if self.path != "/v1/embeddings" or type(self).fail:
            self._reply(500, {"error": {"message": "stub failure", "type": "server_error"}})
            return
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(texts):
            vector = np.zeros(16, dtype=np.float32)
            for word in str(text).lower().split():
                vector[hashlib.sha256(word.encode()).digest()[0] % 16] += 1.0
            if body.get("encoding_format") == "base64":
                item: Any = base64.b64encode(vector.astype("<f4").tobytes()).decode()
            else:
                item = vector.tolist()
            data.append({"object": "embedding", "index": i, "embedding": item})
        self._reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def embeddings_server() -> Iterator[str]:
    _EmbeddingsStub.seen = []
    _EmbeddingsStub.fail = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsStub)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_remote_embedder_round_trip_and_no_mixing_with_the_local_one(
    ws: Path,
    embeddings_server: str,
    embedder: LocalEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIBEHQ_TEST_EMBED_KEY", "sk-test-123")
    remote = MemorySettings(
        embeddings_api_base=embeddings_server,
        embeddings_model="stub-embed",
        api_key_env="VIBEHQ_TEST_EMBED_KEY",
        embeddings_max_retries=0,
    )
    workspace = Workspace.open(ws)
    store = MemoryStore.open(workspace, remote)
    store.add(D1_RULE, kind="convention")
    store.add(UNRELATED, kind="convention")
    hits = store.search(D1_RULE, k=2)
    assert hits[0].text == D1_RULE and hits[0].score == pytest.approx(1.0)
    assert {s["path"] for s in _EmbeddingsStub.seen} == {"/v1/embeddings"}
    assert {s["auth"] for s in _EmbeddingsStub.seen} == {"Bearer sk-test-123"}

    local = MemoryStore.open(workspace, MemorySettings(), embedder=embedder)
    with pytest.raises(EmbedderMismatch, match=r"remote:stub-embed@.*local:all-MiniLM"):
        local.search("D1")
    with pytest.raises(EmbedderMismatch):
        local.add("x", kind="convention")
    assert len(local.list()) == 2  # listing needs no vectors

    other_model = MemoryStore.open(workspace, remote.model_copy(update={"embeddings_model": "b"}))
    with pytest.raises(EmbedderMismatch, match="remote:stub-embed"):
        other_model.search("D1")

    _EmbeddingsStub.fail = True
    with pytest.raises(EmbeddingFailed, match="failed"):
        MemoryStore.open(workspace, remote).search("anything else")


def test_local_store_refuses_the_remote_embedder(
    ws: Path, embeddings_server: str, embedder: LocalEmbedder
) -> None:
    workspace = Workspace.open(ws)
    MemoryStore.open(workspace, MemorySettings(), embedder=embedder).add(D1_RULE, kind="decision")
    remote = MemorySettings(embeddings_api_base=embeddings_server, embeddings_model="m")
    with pytest.raises(EmbedderMismatch, match=r"local:all-MiniLM.*remote:m@"):
        MemoryStore.open(workspace, remote).search("D1", kind="decision")
    assert _EmbeddingsStub.seen == []


def test_remote_key_variable_unset_is_a_clear_error(ws: Path, embeddings_server: str) -> None:
    settings = MemorySettings(
        embeddings_api_base=embeddings_server,
        embeddings_model="m",
        api_key_env="VIBEHQ_TEST_UNSET_KEY_VAR",
    )
    with pytest.raises(EmbedderUnavailable, match=r"\$VIBEHQ_TEST_UNSET_KEY_VAR is not set"):
        MemoryStore.open(Workspace.open(ws), settings).add("x", kind="task")


# -- CLI -------------------------------------------------------------------------------------------


def test_cli_add_search_list_forget(cli: Any, ws: Path) -> None:
    added = cli(
        "memory",
        "add",
        D1_RULE,
        "--kind",
        "convention",
        "--folder",
        "apps/notes",
        "-w",
        ws,
        "--json",
    )
    assert added.code == 0, added.err
    entry_id = added.json()["id"]
    assert added.json()["added"] is True
    assert cli(
        "memory",
        "add",
        D1_RULE,
        "--kind",
        "convention",
        "--folder",
        "apps/notes",
        "-w",
        ws,
        "--json",
    ).json() == {"ok": True, "id": entry_id, "added": False}
    cli("memory", "add", UNRELATED, "--kind", "decision", "--task", "4", "-w", ws)

    found = cli("memory", "search", "D1 database in workers", "-k", "2", "-w", ws, "--json")
    assert found.code == 0
    assert found.json()[0]["id"] == entry_id and 0 < found.json()[0]["score"] <= 1
    human = cli("memory", "search", "D1 database", "--kind", "convention", "-w", ws)
    assert human.code == 0 and entry_id in human.out and "score" in human.out

    listed = cli("memory", "list", "--task", "4", "-w", ws, "--json").json()
    assert [e["kind"] for e in listed] == ["decision"]

    unknown = cli("memory", "forget", "convention-ffffffffffffffff", "-w", ws)
    assert unknown.code == 2 and "no memory entry" in unknown.err
    assert len(unknown.err.strip().splitlines()) == 1
    gone = cli("memory", "forget", entry_id, "-w", ws, "--json")
    assert gone.json() == {"ok": True, "removed": [entry_id]}
    assert cli("memory", "forget", "--task", "4", "-w", ws).code == 0
    assert cli("memory", "list", "-w", ws, "--json").json() == []


@pytest.mark.parametrize(
    "args",
    [
        ["add", "text", "--kind", "notes"],
        ["add", " ", "--kind", "decision"],
        ["search", "x", "-k", "0"],
        ["search", "x", "--kind", "bogus"],
        ["forget"],
        ["list", "--limit", "0"],
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli: Any, ws: Path, args: list[str]
) -> None:
    before = snapshot(ws)
    result = cli("memory", *args, "-w", ws)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "error:" in result.err
    assert snapshot(ws) == before


def test_cli_ingest_unsafe_path_exits_2_and_writes_nothing(
    cli: Any, ws: Path, tmp_path: Path
) -> None:
    write(ws, "README.md", "# hi\n")
    (tmp_path / "secret.md").write_text("# secret\n")
    before = snapshot(ws)
    for bad in ("../secret.md", str(tmp_path / "secret.md")):
        result = cli("memory", "ingest", "README.md", bad, "-w", ws)
        assert result.code == 2, result.out
        assert "outside" in result.err or "'..'" in result.err
        assert snapshot(ws) == before


def test_cli_missing_model_is_a_clear_error_and_writes_nothing(
    cli: Any, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    monkeypatch.setenv("VIBEHQ_MEMORY__MODEL_PATH", str(empty))
    write(ws, "README.md", "# hi\n")
    before = snapshot(ws)
    for args in (["add", "x", "--kind", "decision"], ["ingest", "README.md"], ["search", "x"]):
        result = cli("memory", *args, "-w", ws, "--json")
        assert result.code == 2
        payload = result.json()
        assert payload["errorType"] == "EmbedderUnavailable"
        assert (
            "no model.onnx at" in payload["error"]
            and "VIBEHQ_MEMORY__MODEL_PATH" in (payload["error"])
        )
    assert snapshot(ws) == before


def test_cli_seed_and_ingest_on_the_example_workspace(cli: Any, tmp_path: Path) -> None:
    from engine.refactor.prompts import STANDARDIZATION_RULES

    root = copy_example(tmp_path / "ws", require_tsc=False)
    seeded = cli("memory", "seed", "-w", root, "--json")
    assert seeded.code == 0, seeded.err
    result = seeded.json()
    rules = re.findall(r"^\d+\. ", STANDARDIZATION_RULES, re.MULTILINE)
    assert result["rules"] == len(rules) >= 4
    assert result["workspace"] >= 3
    assert {f["source"] for f in result["entrypoints"]["files"]} >= {
        "orchestrator/worker/entrypoints/patch.ts",
        "orchestrator/worker/entrypoints/logging.ts",
    }
    top = cli(
        "memory",
        "search",
        "may a specialist worker bind its own D1 database?",
        "-k",
        "1",
        "-w",
        root,
        "--json",
    ).json()[0]
    assert top["text"].startswith("Standardization rule 3:") and top["origin"] == "seed"
    texts = [
        e["text"]
        for e in cli(
            "memory", "list", "--kind", "convention", "--limit", "500", "-w", root, "--json"
        ).json()
    ]
    assert any("`PatchOps` extends `BaseWorkerEntrypoint" in t for t in texts)
    assert any(t.startswith("Standardization rule 1: REST APIs follow") for t in texts)
    again = cli("memory", "seed", "-w", root, "--json").json()
    assert again["added"] == [] and again["removed"] == []
    assert again["entrypoints"]["files"][0]["added"] == 0

    ingested = cli(
        "memory",
        "ingest",
        "README.md",
        "orchestrator/worker/entrypoints",
        "--kind",
        "migration_fact",
        "-w",
        root,
        "--json",
    )
    assert ingested.code == 0, ingested.err
    sources = {f["source"] for f in ingested.json()["files"]}
    assert "README.md" in sources and "orchestrator/worker/entrypoints/patch.ts" in sources
    hit = cli(
        "memory",
        "search",
        "record patch events in D1",
        "--kind",
        "migration_fact",
        "-k",
        "1",
        "-w",
        root,
        "--json",
    ).json()[0]
    assert hit["source"].endswith(".ts") and hit["line_start"] >= 1
    text = (root / hit["source"]).read_text()
    assert lines_of(text, hit["line_start"], hit["line_end"]).strip() == hit["text"]


def test_settings_remote_endpoint_needs_a_model(cli: Any, ws: Path) -> None:
    write(ws, "vibehq.toml", '[memory]\nembeddings_api_base = "http://127.0.0.1:9/v1"\n')
    result = cli("memory", "list", "-w", ws)
    assert result.code == 2 and "embeddings_model" in result.err
    assert "VIBEHQ_MEMORY__MODEL_PATH" not in os.environ
