"""The glob matcher under its old name; it lives in `engine/globs.py`, below every pipeline,
because the approval policy matches paths with it too."""

from __future__ import annotations

from engine.globs import GLOB_CHARS, has_magic, matcher

__all__ = ["GLOB_CHARS", "has_magic", "matcher"]
