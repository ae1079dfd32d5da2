"""Deterministic embeddings for `POST /v1/embeddings`: hashed bags of words, L2-normalised.

Texts that share words get close vectors, so a remote-embedder test can search and find; the
same text always gets the same vector. Token-id inputs (what OpenAI clients send after their
own tokenizer) hash the ids instead of words.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_DIMENSIONS", "EmbeddingInputError", "embedding_body"]

DEFAULT_DIMENSIONS = 64
_MAX_DIMENSIONS = 4096
_WORD = re.compile(r"\w+")


class EmbeddingInputError(ValueError):
    """The request's `input` or `dimensions` is not something OpenAI would accept either."""


def _features(item: str | Sequence[int]) -> list[str]:
    if isinstance(item, str):
        return [w.casefold() for w in _WORD.findall(item)] or [item]
    return [f"#{token}" for token in item]


def embed(item: str | Sequence[int], dimensions: int) -> list[float]:
    vector = [0.0] * dimensions
    for feature in _features(item):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def _inputs(raw: Any) -> list[str | list[int]]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        return [list(raw)]
    if isinstance(raw, list) and raw:
        items: list[str | list[int]] = []
        for entry in raw:
            if isinstance(entry, str):
                items.append(entry)
            elif isinstance(entry, list) and all(isinstance(t, int) for t in entry):
                items.append(list(entry))
            else:
                raise EmbeddingInputError("input items must be strings or lists of token ids")
        return items
    raise EmbeddingInputError("input must be a string, a list of strings, or token ids")


def embedding_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The response to one embeddings request, in the float or base64 encoding it asks for."""
    items = _inputs(body.get("input"))
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or not 1 <= dimensions <= _MAX_DIMENSIONS:
        raise EmbeddingInputError(f"dimensions must be an integer from 1 to {_MAX_DIMENSIONS}")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(items):
        vector = embed(item, dimensions)
        tokens += len(_features(item))
        encoded: list[float] | str = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
            if as_base64
            else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model") or "scripted-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
