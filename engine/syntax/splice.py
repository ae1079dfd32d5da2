"""Replace byte ranges of a source in one pass, refusing edits whose order would be a guess."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.errors import VibehqError

__all__ = ["ByteEdit", "EditOutOfRange", "OverlappingEdits", "splice"]


@dataclass(frozen=True, slots=True, order=True)
class ByteEdit:
    """Replace `source[start:end]` with UTF-8 `text`; start == end inserts."""

    start: int
    end: int
    text: str


class OverlappingEdits(VibehqError, ValueError):
    """Two edits touch the same bytes: applying both would drop one of them."""


class EditOutOfRange(VibehqError, ValueError):
    """An edit names bytes the source does not have."""


def splice(
    source: bytes, edits: Iterable[ByteEdit | tuple[int, int, str]], *, ordered: bool = False
) -> bytes:
    """`source` with each edit applied; bytes outside the edits are copied untouched.

    Unordered (the default), edits are sorted by position and two edits that start at the same
    offset are refused, since which goes first would be a guess. With `ordered`, the caller has
    put them in application order: an insertion may then precede another edit at its offset.
    Overlapping ranges are always refused.
    """
    items = [edit if isinstance(edit, ByteEdit) else ByteEdit(*edit) for edit in edits]
    if not ordered:
        items.sort(key=lambda edit: (edit.start, edit.end))
    pieces: list[bytes] = []
    position = 0
    previous: ByteEdit | None = None
    for edit in items:
        if not 0 <= edit.start <= edit.end <= len(source):
            raise EditOutOfRange(
                f"edit {edit.start}..{edit.end} is outside the source (0..{len(source)})"
            )
        shares_start = previous is not None and edit.start == previous.start
        after_insertion = ordered and previous is not None and previous.start == previous.end
        if edit.start < position or (shares_start and not after_insertion):
            raise OverlappingEdits(
                f"edit {edit.start}..{edit.end} overlaps an edit ending at {position}"
            )
        pieces.append(source[position : edit.start])
        pieces.append(edit.text.encode("utf-8"))
        position = edit.end
        previous = edit
    pieces.append(source[position:])
    return b"".join(pieces)
