"""The memory embedders as chromadb embedding functions (chromadb 1.5's protocol).

Each class is registered under its own `name()`, and its `get_config()` holds what rebuilds it
(never an API key), so a collection persists which embedder made its vectors and chromadb
refuses to open it with another. `build_from_config` runs on every collection access, so it
only records settings: the model loads (or the endpoint is dialled) on the first call.

CrewAI's `Memory(embedder=...)` takes an instance of either class as its embedding callable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from engine.memory.embedder import LocalEmbedder, locate_model
from engine.memory.langchain_embedder import RemoteEmbedder
from engine.memory.vectors import Embedder, Vectors

LOCAL_NAME = "vibehq-minilm-l6-v2-int8"
REMOTE_NAME = "vibehq-openai-compatible"


def _rows(matrix: Vectors) -> Embeddings:
    return list(matrix)


@register_embedding_function
class LocalEmbeddingFunction(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 int8, offline. With no arguments it uses the installed packages."""

    def __init__(
        self,
        model_path: str | None = None,
        tokenizer_path: str | None = None,
        batch_size: int = 32,
        *,
        embedder: LocalEmbedder | None = None,
    ) -> None:
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        self.batch_size = batch_size
        self._embedder = embedder

    @classmethod
    def wrapping(cls, embedder: LocalEmbedder) -> LocalEmbeddingFunction:
        return cls(
            str(embedder.files.model),
            str(embedder.files.tokenizer),
            embedder.batch_size,
            embedder=embedder,
        )

    @property
    def embedder(self) -> LocalEmbedder:
        if self._embedder is None:
            files = locate_model(
                Path(self.model_path) if self.model_path else None,
                Path(self.tokenizer_path) if self.tokenizer_path else None,
            )
            self._embedder = LocalEmbedder(files, batch_size=self.batch_size)
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        return _rows(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return LOCAL_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        # The vectors are unit length: all three spaces rank alike.
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "tokenizer_path": self.tokenizer_path,
            "batch_size": self.batch_size,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LocalEmbeddingFunction:
        return LocalEmbeddingFunction(
            config.get("model_path"), config.get("tokenizer_path"), config.get("batch_size", 32)
        )


@register_embedding_function
class RemoteEmbeddingFunction(EmbeddingFunction[Documents]):
    """An OpenAI-compatible `/embeddings` endpoint through langchain-openai."""

    def __init__(
        self,
        api_base: str,
        model: str,
        api_key_env: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        *,
        embedder: RemoteEmbedder | None = None,
    ) -> None:
        self.embedder = embedder or RemoteEmbedder(
            api_base, model, api_key_env=api_key_env, timeout_s=timeout_s, max_retries=max_retries
        )

    @classmethod
    def wrapping(cls, embedder: RemoteEmbedder) -> RemoteEmbeddingFunction:
        return cls(embedder.api_base, embedder.model, embedder=embedder)

    def __call__(self, input: Documents) -> Embeddings:
        return _rows(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return REMOTE_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        e = self.embedder
        return {
            "api_base": e.api_base,
            "model": e.model,
            "api_key_env": e.api_key_env,
            "timeout_s": e.timeout_s,
            "max_retries": e.max_retries,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> RemoteEmbeddingFunction:
        return RemoteEmbeddingFunction(
            config["api_base"],
            config["model"],
            config.get("api_key_env"),
            config.get("timeout_s", 30.0),
            config.get("max_retries", 2),
        )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        if new_config.get("model", old_config.get("model")) != old_config.get("model"):
            raise ValueError("the embeddings model of a memory collection cannot change")


def embedding_function_for(embedder: Embedder) -> EmbeddingFunction[Documents]:
    if isinstance(embedder, LocalEmbedder):
        return LocalEmbeddingFunction.wrapping(embedder)
    if isinstance(embedder, RemoteEmbedder):
        return RemoteEmbeddingFunction.wrapping(embedder)
    raise TypeError(f"no chromadb embedding function for {type(embedder).__name__}")
