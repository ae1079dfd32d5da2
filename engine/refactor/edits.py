"""Byte edits of one file: dropping edits made moot by a wider one, and closing the gaps that
whole-line removals leave."""

from __future__ import annotations

from engine.syntax.splice import ByteEdit, splice


def _moot(edit: ByteEdit, by: ByteEdit) -> bool:
    """Whether `by` replaces every byte `edit` touches, so that `edit` has nothing left to do.

    A removal also takes insertions at its ends with it (they would dangle in the gap it
    leaves); a replacement keeps them, since they touch none of the bytes it replaces.
    """
    if by == edit or by.end == by.start or not by.start <= edit.start <= edit.end <= by.end:
        return False
    if edit.start == edit.end:
        return not by.text or by.start < edit.start < by.end
    return by.start < edit.start or edit.end < by.end


def apply_edits(source: bytes, edits: list[ByteEdit]) -> bytes:
    unique = set(edits)
    kept = [
        edit
        for edit in sorted(unique, key=lambda e: (e.start, e.end != e.start, -e.end, e.text))
        if not any(_moot(edit, by) for by in unique)
    ]
    return splice(source, _close_gaps(source, kept), ordered=True)


def _close_gaps(source: bytes, kept: list[ByteEdit]) -> list[ByteEdit]:
    """Merge touching whole-line removals, and take one blank line with a removal that sits
    between two blank lines, so removed declarations leave no double gap behind."""
    merged: list[ByteEdit] = []
    for edit in kept:
        last = merged[-1] if merged else None
        if last is not None and not last.text and not edit.text and last.end == edit.start:
            merged[-1] = ByteEdit(last.start, edit.end, "")
        else:
            merged.append(edit)
    closed = []
    for edit in merged:
        whole_lines = (
            not edit.text
            and edit.end > edit.start
            and (edit.start == 0 or source[edit.start - 1 : edit.start] == b"\n")
        )
        blank_before = edit.start >= 2 and source[edit.start - 2 : edit.start] == b"\n\n"
        if whole_lines and blank_before and source[edit.end : edit.end + 1] == b"\n":
            edit = ByteEdit(edit.start, edit.end + 1, "")
        closed.append(edit)
    return closed
