"""Run every registered rule over one file's content."""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath

from engine.syntax.parse import SOURCE_SUFFIXES
from engine.validate.rules import RULES
from engine.validate.rules.findings import Analysis
from engine.validate.rules.py_source import PySource
from engine.validate.rules.ts_source import TsSource

__all__ = ["PY_SUFFIXES", "analyse", "analyse_typescript"]

PY_SUFFIXES = frozenset({".py"})


# A gate judges each file a folder's change writes, then the file the migration copied it
# from (`judge.split_preexisting`): for a file moved as it stood, the same text at the same
# path. Enough entries for the largest real folder's files, both ways.
_REMEMBERED = 512


def analyse(text: str, path: str, original: str | None) -> Analysis:
    """The findings of every rule for `text` at `path`; `original` is the file before the
    change, for the rules that compare with it. Files in other languages have none. The
    same arguments are analysed once (the last `_REMEMBERED`); each call gets its own lists."""
    found = _analyse(text, path, original)
    return Analysis(findings=list(found.findings), comments=list(found.comments))


@lru_cache(maxsize=_REMEMBERED)
def _analyse(text: str, path: str, original: str | None) -> Analysis:
    suffix = PurePosixPath(path).suffix
    if suffix in SOURCE_SUFFIXES:
        source = text.encode("utf-8", "surrogateescape")
        old = None if original is None else original.encode("utf-8", "surrogateescape")
        return analyse_typescript(source, text, path, old)
    if suffix in PY_SUFFIXES:
        return _analyse_python(text, path, original)
    return Analysis()


def analyse_typescript(source: bytes, text: str, path: str, original: bytes | None) -> Analysis:
    """As `analyse`, from the bytes as read: the tree is parsed with no round trip through str."""
    src = TsSource(source, text, path, original)
    out = Analysis()
    for rule in RULES:
        if rule.typescript is not None:
            rule.typescript(src, out)
    out.comments = src.comments
    return out


def _analyse_python(text: str, path: str, original: str | None) -> Analysis:
    src = PySource(text, path, original)
    out = Analysis()
    for rule in RULES:
        if rule.python is not None:
            rule.python(src, out)
    out.comments = src.comments
    return out
