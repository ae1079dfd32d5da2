"""Typed errors of project memory; the CLI prints each as one line (exit 2 or 1)."""

from __future__ import annotations

from engine.errors import BadInput, CheckFailed


class EmbedderUnavailable(BadInput):
    """The embedder cannot be built here: model or tokenizer missing, endpoint key unset."""


class EmbedderMismatch(BadInput):
    """A memory collection was built with another embedder than the one configured now."""


class EmbeddingFailed(CheckFailed):
    """The configured embeddings endpoint refused or failed a request."""


class UnknownMemory(BadInput):
    """A memory id that no collection holds, or a kind that is not one of the collections."""
