"""An OpenAI-compatible embeddings endpoint as the memory embedder, through langchain-openai.

Used only when `[memory] embeddings_api_base` is set; the local model stays the default. The
request path is `OpenAIEmbeddings` -> openai client -> `POST {api_base}/embeddings`, with token
counting off (`check_embedding_ctx_length=False`): counting would load a tiktoken encoding, a
download, and most non-OpenAI servers take raw text anyway.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.memory.errors import EmbedderUnavailable, EmbeddingFailed
from engine.memory.vectors import Vectors

if TYPE_CHECKING:
    from langchain_openai import OpenAIEmbeddings

    from engine.settings import MemorySettings

# Local servers (vLLM, llama.cpp, Ollama) ignore the key, but the openai client refuses none.
KEYLESS = "no-key"


class RemoteEmbedder:
    """Embeddings from `{api_base}/embeddings`, L2-normalised to float32 rows."""

    def __init__(
        self,
        api_base: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        batch_size: int = 256,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.batch_size = batch_size
        self._client: OpenAIEmbeddings | None = None

    @classmethod
    def from_settings(cls, settings: MemorySettings) -> RemoteEmbedder:
        if not settings.embeddings_api_base or not settings.embeddings_model:
            raise EmbedderUnavailable(
                "memory embeddings: [memory] embeddings_api_base and embeddings_model "
                "must both be set for a remote embedder"
            )
        return cls(
            settings.embeddings_api_base,
            settings.embeddings_model,
            api_key_env=settings.api_key_env,
            timeout_s=settings.embeddings_timeout_s,
            max_retries=settings.embeddings_max_retries,
        )

    @property
    def identity(self) -> str:
        return f"remote:{self.model}@{self.api_base}"

    def _api_key(self) -> str:
        if self.api_key_env is None:
            return KEYLESS
        key = os.environ.get(self.api_key_env)
        if not key:
            raise EmbedderUnavailable(
                f"memory embeddings: ${self.api_key_env} is not set ([memory] api_key_env names it)"
            )
        return key

    def _embeddings(self) -> OpenAIEmbeddings:
        if self._client is None:
            from langchain_openai import OpenAIEmbeddings
            from pydantic import SecretStr

            self._client = OpenAIEmbeddings(
                model=self.model,
                openai_api_base=self.api_base,
                openai_api_key=SecretStr(self._api_key()),
                check_embedding_ctx_length=False,
                tiktoken_enabled=False,
                chunk_size=self.batch_size,
                max_retries=self.max_retries,
                request_timeout=self.timeout_s,
            )
        return self._client

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, 0), dtype=np.float32)
        client = self._embeddings()
        import openai

        try:
            rows = client.embed_documents(list(texts))
        except openai.OpenAIError as exc:
            raise EmbeddingFailed(
                f"memory embeddings endpoint {self.api_base} failed: {_one_line(exc)}"
            ) from exc
        if len(rows) != len(texts) or not rows or not rows[0]:
            raise EmbeddingFailed(
                f"memory embeddings endpoint {self.api_base} returned {len(rows)} vectors "
                f"for {len(texts)} texts"
            )
        try:
            matrix = np.asarray(rows, dtype=np.float32)
        except ValueError as exc:
            raise EmbeddingFailed(
                f"memory embeddings endpoint {self.api_base} returned vectors of mixed lengths"
            ) from exc
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        normalised: Vectors = (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)
        return normalised


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."
