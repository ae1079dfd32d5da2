"""What the seed's `migrate_staging.py` did with its manifest, reproduced exactly.

- Files: `Path(STAGING).glob(path)`, files only. pathlib globs differ from vibehq's include
  globs: a pattern without `/` (such as `*.ts`) matches only at the top of STAGING, and a
  trailing `**` matches folders, hence no file (as on the seed's Python; since 3.13 pathlib
  yields files for it too, so this module, not pathlib, says what the seed did).
- Import replacements: for a copied file whose suffix is .ts, .tsx, .js, .jsx or .py, the text
  is read as UTF-8 in Python's text mode (so CRLF and CR become LF), each rule is applied in
  order with `re.sub` over the whole text, and the file is written back only when the text
  changed. A file that is not UTF-8 keeps its bytes, as the seed's failed read left it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from engine.migrate.models import ImportRule

REWRITTEN_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".py")


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def glob_matches(pattern: str, rel: str) -> bool:
    """Would `Path(root).glob(pattern)` yield the file at `rel` (POSIX, relative to root)?"""
    segments = [s for s in PurePosixPath(pattern).parts if s != "."]
    return _match(tuple(segments), tuple(rel.split("/")))


def _match(segments: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not segments:
        return not parts
    head, rest = segments[0], segments[1:]
    if head == "**":
        # A trailing `**` selects folders only; the seed then skipped them as non-files.
        if not rest:
            return False
        return any(_match(rest, parts[i:]) for i in range(len(parts)))
    if not parts:
        return False
    return bool(_segment(head).fullmatch(parts[0])) and _match(rest, parts[1:])


@dataclass(frozen=True)
class SeedReplacement:
    """One text substitution the seed's import pass made."""

    rule: int
    line: int
    column: int
    old: str
    new: str


def rewrites_file(path: str) -> bool:
    return PurePosixPath(path).suffix in REWRITTEN_SUFFIXES


def apply_replacements(
    data: bytes, rules: Sequence[ImportRule]
) -> tuple[bytes, list[SeedReplacement]]:
    """The file's bytes after the seed's import pass, and each substitution it made (its line
    and column are in the text as the previous rules left it)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data, []
    original = text = text.replace("\r\n", "\n").replace("\r", "\n")
    made: list[SeedReplacement] = []
    for index, rule in enumerate(rules):
        compiled = re.compile(rule.pattern)
        for match in compiled.finditer(text):
            before = text[: match.start()]
            made.append(
                SeedReplacement(
                    rule=index,
                    line=before.count("\n") + 1,
                    column=match.start() - (before.rfind("\n") + 1) + 1,
                    old=match.group(0),
                    new=match.expand(rule.replacement),
                )
            )
        text = compiled.sub(rule.replacement, text)
    if text == original:
        return data, []
    return text.encode("utf-8"), made
