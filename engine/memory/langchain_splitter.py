"""Language-aware chunks of a source file, each with its 1-based line range.

Splitting is LangChain's `RecursiveCharacterTextSplitter` with its per-language separators
(Markdown headings, Python `class`/`def`, ...), with two repairs. Markdown: LangChain splits at
every fence line, so a closing fence became a chunk of its own; fenced blocks are split at the
blank lines around them instead. TypeScript and JavaScript: LangChain only knows
`\\nfunction `, `\\nclass `, ... at column 0, so `export class`, `export async function` and
`export default` (most declarations in a module) would never be boundaries; one regex separator
for top-level declarations, exported or not and with their doc comment, comes first, then class
members, then LangChain's own list. Headings inside fenced blocks still count as headings to
the splitter (a regex cannot see fences); the `section` of a chunk ignores them.

The splitter strips whitespace and may overlap chunks, so each chunk is located in the source
text (it is an exact substring: the splitter keeps separators and joins pieces with "") and its
line range is counted from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_text_splitters import Language, TextSplitter

_DECLARATION = (
    r"(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
    r"(?:function\b|class\b|interface\b|enum\b|type\s+\w|namespace\b|const\b|let\b|var\b)"
)
# A newline before a top-level declaration or its `/**` doc comment, but not the newline that
# ends the doc comment (`*/`), so the comment stays with what it documents.
TOP_LEVEL_DECLARATION = rf"(?<!\*/)\n(?=/\*\*|{_DECLARATION}|export\s+(?:default|\{{|\*))"
# A newline before a member at the first indent level of a class body.
CLASS_MEMBER = (
    r"(?<!\*/)\n(?=(?:  |\t)(?:/\*\*|(?:(?:public|private|protected|static|readonly|async|"
    r"override|get|set)\s+)*[A-Za-z_$#][\w$]*\s*[(<]))"
)

_SUFFIX_LANGUAGE = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".ts": "ts",
    ".tsx": "ts",
    ".mts": "ts",
    ".cts": "ts",
    ".js": "js",
    ".jsx": "js",
    ".mjs": "js",
    ".cjs": "js",
    ".py": "python",
    ".html": "html",
    ".htm": "html",
}
_HEADING = re.compile(r"#{1,6}[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"(```|~~~)")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    line_start: int
    line_end: int
    section: str | None = None


def language_of(path: str) -> str:
    """`markdown`, `ts`, `js`, `python`, `html`, or `text` for anything else."""
    dot = path.rfind(".")
    return _SUFFIX_LANGUAGE.get(path[dot:].lower(), "text") if dot != -1 else "text"


def splitter_for(language: str, *, chunk_size: int, chunk_overlap: int) -> TextSplitter:
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    if language in ("ts", "js"):
        base = Language.TS if language == "ts" else Language.JS
        return RecursiveCharacterTextSplitter(
            separators=[TOP_LEVEL_DECLARATION, CLASS_MEMBER, *_escaped(base)],
            is_separator_regex=True,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
        )
    if language == "markdown":
        # LangChain's Markdown list splits at every "```\n", which is also how a fenced block
        # ends: a lone "```" becomes a chunk and the code leaves its paragraph. Blocks are split
        # at the blank lines around them instead.
        markdown = RecursiveCharacterTextSplitter.get_separators_for_language(Language.MARKDOWN)
        return RecursiveCharacterTextSplitter(
            separators=[s for s in markdown if s != "```\n"],
            is_separator_regex=True,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
        )
    named: dict[str, Language] = {
        "python": Language.PYTHON,
        "html": Language.HTML,
    }
    if language in named:
        return RecursiveCharacterTextSplitter.from_language(
            named[language], chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def _escaped(language: Language) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return [
        re.escape(s) for s in RecursiveCharacterTextSplitter.get_separators_for_language(language)
    ]


def split_source(
    text: str, path: str, *, chunk_size: int = 800, chunk_overlap: int = 0
) -> list[Chunk]:
    """The file's chunks in order, each with the lines it spans (and, for Markdown, the
    heading it falls under)."""
    language = language_of(path)
    pieces = splitter_for(language, chunk_size=chunk_size, chunk_overlap=chunk_overlap).split_text(
        text
    )
    line_starts = _line_starts(text)
    headings = _headings(text) if language == "markdown" else []
    chunks: list[Chunk] = []
    cursor = 0
    for piece in pieces:
        if not piece.strip():
            continue
        at = _locate(text, piece, cursor)
        if at is None:
            continue
        # The next chunk starts at most `chunk_overlap` characters before this one's end.
        cursor = at + max(1, len(piece) - chunk_overlap)
        start = _line_of(line_starts, at)
        end = _line_of(line_starts, at + len(piece) - 1)
        chunks.append(Chunk(piece, start, end, _section(headings, start)))
    return chunks


def lines_of(text: str, line_start: int, line_end: int) -> str:
    """The text of lines `line_start..line_end` (1-based, inclusive), without the final
    newline: what a chunk that covers whole lines is equal to."""
    return "\n".join(text.split("\n")[line_start - 1 : line_end])


def _locate(text: str, piece: str, cursor: int) -> int | None:
    at = text.find(piece, cursor)
    if at == -1:
        at = text.find(piece)
    return at if at != -1 else None


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _line_of(line_starts: list[int], offset: int) -> int:
    """1-based line number of a character offset (binary search over line starts)."""
    lo, hi = 0, len(line_starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if line_starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1


def _headings(text: str) -> list[tuple[int, str]]:
    """(line, title) of each ATX heading outside fenced code blocks."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip()
        opened = _FENCE.match(stripped)
        if opened:
            marker = opened.group(1)
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is None and line.startswith("#"):
            heading = _HEADING.match(line)
            if heading:
                found.append((number, heading.group(1)))
    return found


def _section(headings: list[tuple[int, str]], line: int) -> str | None:
    title = None
    for number, heading in headings:
        if number > line:
            break
        title = heading
    return title
