"""What every embedder is: texts in, one L2-normalised float32 row per text out.

Its own module so that the local and the remote embedder share the type without importing
each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Embedder", "Vectors"]

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Texts in, one L2-normalised float32 row per text out."""

    @property
    def identity(self) -> str:
        """Names the vector space: vectors from two embedders compare only if these match."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...
