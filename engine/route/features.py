"""What the complexity score looks at: features of a text, and the structure of code work.

Scoring must stay under a millisecond for a 15,000-character task description, which rules
out a big regex alternation (Python's engine tries every branch at every position: 7 ms).
Instead the text is split into words once and each distinct word is classified once (cached);
two-word phrases are looked up from their first word. Domain evidence is a density, so only
the first `SCAN_CHARS` characters are read for it; the length counts the whole text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DOMAINS",
    "LEAD_CHARS",
    "SCAN_CHARS",
    "SIMPLE_ASKS",
    "CodeWork",
    "Lexicon",
    "TextFeatures",
    "WorkUnit",
    "text_features",
]


@dataclass(frozen=True)
class Lexicon:
    """The words of one domain: exact words, word prefixes (stems) and two-word phrases."""

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: frozenset[str] = frozenset()


def _lex(words: str = "", prefixes: str = "", phrases: tuple[str, ...] = ()) -> Lexicon:
    return Lexicon(frozenset(words.split()), tuple(prefixes.split()), frozenset(phrases))


# Domain signals: work in these areas is harder than its length suggests.
DOMAINS: dict[str, Lexicon] = {
    "sql": _lex(
        "d1 kysely drizzle database databases query queries schema schemas",
        "sql",
        (
            "insert into",
            "delete from",
            "create table",
            "alter table",
            "drop table",
            "create index",
            "index on",
        ),
    ),
    "migration": _lex(
        "monorepo",
        "migrat refactor rewrit deprecat",
        ("breaking change", "breaking changes", "backward compatible", "backwards compatible"),
    ),
    "concurrency": _lex(
        "race transaction transactions thread threads lock locks locking",
        "concurren deadlock mutex atomic parallel hibernat",
        ("durable object", "durable objects", "under load"),
    ),
    "reliability": _lex(
        "rollback rollbacks fallback fallbacks failover retry retries lifecycle eviction",
        "recover idempoten persist reconnect",
        ("roll back", "state management"),
    ),
    "security": _lex(
        "secret secrets token tokens csrf xss injection credential credentials permission "
        "permissions password passwords",
        "secur auth encrypt saniti vulnerab leak",
        ("api key", "api keys", "path traversal"),
    ),
    "architecture": _lex(
        "design designing tradeoff tradeoffs protocol surface propose comprehensive unified",
        "architect strateg scalab abstraction aggregat",
        ("trade off", "trade offs", "state model", "system wide", "cross cutting"),
    ),
    "integration": _lex(
        "rpc websocket websockets container containers entrypoint entrypoints webhook webhooks",
        "integrat proxy",
        ("service binding", "service bindings", "cross service"),
    ),
    "reasoning": _lex(
        "why prove proof invariant invariants correctness evaluate whether",
        "investigat diagnos counterexample algorithm remediat",
        ("root cause", "edge case", "edge cases", "find the"),
    ),
    "performance": _lex(
        "latency throughput p95 p99", "performan benchmark", ("memory leak", "memory leaks")
    ),
    "risk": _lex(
        "failing fails bug bugs broken regression regressions sometimes flaky review risk risks",
        "crash",
    ),
}

# Asks that are small whatever their wording: evidence for a low score. Matched in the lead
# of the text only, where the ask itself is: "docs" or "rename" deep inside a long task
# description is a detail, not what the task is.
LEAD_CHARS = 160
SIMPLE_ASKS: dict[str, str] = {
    "typo": r"\btypos?\b|\bspelling\b",
    "rename": r"\brename\w*",
    "comment": r"\badd (?:a )?comments?\b|\bdocstrings?\b",
    "docs": r"\breadme\b|\bdocumentation\b|\bdocs?\b",
    "bump": r"\bbump\w*|\bset (?:the )?(?:priority|status|version)\b",
    "wiring": r"\bregist(?:er|ers|ering|ration)\b|\bconfig(?:uration)?\b|\bwire (?:up|in)\b"
    r"|\bre-?export\w*",
    "wording": r"\bchange the (?:log )?(?:message|text|label|wording|title|string)\b"
    r"|\blog message\b",
    "question": r"^(?:what|which|where|who|how many|is|are|does|do|can)\b",
    "listing": r"^(?:list|show|print|summari[sz]e|translate)\b",
    "greeting": r"^(?:hi|hello|hey|thanks|thank you)\b",
}
_SIMPLE_SCAN = re.compile(
    "|".join(f"(?P<{name}>{pattern})" for name, pattern in SIMPLE_ASKS.items()), re.MULTILINE
)

SCAN_CHARS = 4000

_SEQUENCE_WORDS = frozenset(["then", "afterwards", "finally", "first", "second", "third"])
_SEQUENCE_PHRASES = frozenset(("after that", "and also"))
_PHRASE_STARTS = frozenset(
    phrase.split()[0]
    for lexicon in DOMAINS.values()
    for phrase in (*lexicon.phrases, *_SEQUENCE_PHRASES)
)
_TOKEN = re.compile(r"[a-z0-9_]+")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,2}[.)]|[a-e][.)])[ \t]+\S", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)
_CODE_EXTENSIONS = (
    ".ts", ".tsx", ".js", ".jsx", ".mjs", ".py", ".json", ".jsonc", ".toml", ".sql", ".md",
    ".yaml", ".yml", ".sh", ".dockerfile",
)  # fmt: skip
_PUNCTUATION = "\"'`,;:!?()[]{}<>*"


@lru_cache(maxsize=8192)
def _domain_of(word: str) -> str | None:
    for name, lexicon in DOMAINS.items():
        if word in lexicon.words or (lexicon.prefixes and word.startswith(lexicon.prefixes)):
            return name
    return None


@lru_cache(maxsize=1024)
def _domain_of_phrase(phrase: str) -> str | None:
    for name, lexicon in DOMAINS.items():
        if phrase in lexicon.phrases:
            return name
    return None


@lru_cache(maxsize=8192)
def _code_kind(token: str) -> tuple[bool, bool]:
    """(is an identifier, is a file path) for one whitespace-separated token."""
    word = token.strip(_PUNCTUATION).rstrip(".")
    if len(word) < 3:
        return False, False
    if word.lower().endswith(_CODE_EXTENSIONS) and any(c.isalpha() for c in word[:-3]):
        return False, True
    if "(" in token or ("_" in word.strip("_") and word.replace("_", "").isalnum()):
        return True, False
    inner = word[1:]
    return (
        word.isalnum() and any(c.isupper() for c in inner) and any(c.islower() for c in inner)
    ), False


@dataclass
class TextFeatures:
    chars: int
    words: int
    scanned_words: int
    code_blocks: int
    identifiers: int
    files: int
    list_items: int
    sequence_words: int
    questions: int
    domains: dict[str, int] = field(default_factory=dict)
    simple_asks: dict[str, int] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """How many separate things the text asks for, as far as its shape shows."""
        return self.list_items + self.sequence_words


def text_features(text: str) -> TextFeatures:
    head = text[:SCAN_CHARS]
    tokens = _TOKEN.findall(head.lower())
    # Counting runs in C; the Python loops below visit each distinct word or pair once.
    counts = Counter(tokens)
    pairs = Counter(pairwise(tokens))
    domains: Counter[str] = Counter()
    sequence = sum(counts[word] for word in _SEQUENCE_WORDS)
    for word, count in counts.items():
        if (name := _domain_of(word)) is not None:
            domains[name] += count
    for (first, second), count in pairs.items():
        if first in _PHRASE_STARTS:
            phrase = f"{first} {second}"
            if phrase in _SEQUENCE_PHRASES:
                sequence += count
            elif (name := _domain_of_phrase(phrase)) is not None:
                domains[name] += count
    if counts["select"] and counts["from"]:
        domains["sql"] += min(counts["select"], counts["from"])
    simple: Counter[str] = Counter(
        match.lastgroup or "" for match in _SIMPLE_SCAN.finditer(text[:LEAD_CHARS].lower())
    )
    identifiers = files = 0
    for token in set(head.split()):
        is_identifier, is_file = _code_kind(token)
        identifiers += is_identifier
        files += is_file
    code_blocks = len(_FENCE.findall(head)) // 2
    inline_code = max(head.count("`") - 6 * code_blocks, 0) // 2
    return TextFeatures(
        chars=len(text),
        words=len(text.split()),
        scanned_words=len(tokens),
        code_blocks=code_blocks,
        identifiers=identifiers + inline_code,
        files=files,
        list_items=len(_LIST_ITEM.findall(head)),
        sequence_words=sequence,
        questions=head.count("?"),
        domains=dict(domains),
        simple_asks=dict(simple),
    )


class CodeWork(BaseModel):
    """The structure of a unit of code work, as the migrate/refactor engines measure it."""

    model_config = ConfigDict(extra="forbid")

    files_touched: int = Field(1, ge=0)
    sql_sites: int = Field(0, ge=0, description="SQL call sites to move behind RPC")
    async_depth: int = Field(
        0, ge=0, description="how many caller levels must become async (await propagation)"
    )
    unresolved_imports: int = Field(0, ge=0)
    tsc_findings: int = Field(0, ge=0, description="tsc errors to fix (new against the baseline)")
    transactions: int = Field(0, ge=0, description="transactions that must stay atomic")
    dynamic_sql: int = Field(0, ge=0, description="statements built at run time")
    lines_changed: int | None = Field(None, ge=0)


class WorkUnit(BaseModel):
    """What gets scored: a text, code structure, or both."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    code: CodeWork | None = None
