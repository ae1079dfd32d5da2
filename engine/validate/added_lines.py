"""Which lines of a file a change added, and which changed regions it shrank to under half."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["Shrink", "line_changes"]

# Kept lines (a brace, a statement) up to this many do not split a rewritten region.
_SHRINK_GAP = 2


@dataclass(frozen=True)
class Shrink:
    """A changed region that lost more than half its lines: `removed` old lines became the
    new lines in `lines` (1-based)."""

    removed: int
    lines: frozenset[int]


def _split(data: bytes | None) -> list[bytes]:
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def line_changes(old: bytes | None, new: bytes) -> tuple[set[int], list[Shrink]]:
    """The 1-based lines of `new` not carried over from `old`, and the shrunk regions."""
    new_lines = _split(new)
    if old is None:
        return set(range(1, len(new_lines) + 1)), []
    matcher = difflib.SequenceMatcher(None, _split(old), new_lines, autojunk=False)
    added: set[int] = set()
    regions: list[list[tuple[int, int, int, int]]] = []
    gap = _SHRINK_GAP + 1
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            gap = i2 - i1
            continue
        added.update(range(j1 + 1, j2 + 1))
        # A kept brace or statement inside a rewrite splits difflib's opcodes; it does not
        # split the region the agent rewrote.
        if regions and gap <= _SHRINK_GAP:
            regions[-1].append((i1, i2, j1, j2))
        else:
            regions.append([(i1, i2, j1, j2)])
        gap = 0
    shrinks: list[Shrink] = []
    for region in regions:
        removed = sum(i2 - i1 for i1, i2, _, _ in region)
        lines = frozenset(n for _, _, j1, j2 in region for n in range(j1 + 1, j2 + 1))
        if lines and removed > 2 * len(lines):
            shrinks.append(Shrink(removed, lines))
    return added, shrinks
