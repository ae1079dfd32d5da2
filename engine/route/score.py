"""The complexity score: 1 (trivial) to 10 (needs the strongest reasoning), from evidence only.

The score starts from a neutral prior in the middle of the scale and each piece of evidence
moves it, so a text that matches no keyword lands on `standard`, not on the cheapest tier
(LiteLLM's keyword router sent half of a graded benchmark to SIMPLE at score 0 for lack of a
match). The evidence is summed and squashed with tanh, so several strong signals approach 10
without one signal alone reaching it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from engine.route.features import CodeWork, TextFeatures, WorkUnit, text_features

__all__ = [
    "NEUTRAL",
    "ComplexityScore",
    "Evidence",
    "score_code",
    "score_text",
    "score_unit",
]

NEUTRAL = 5.0
_SPREAD = 5.0
_SCALE = 5.0

# How far one domain moves the score, before repeated mentions (which add up to 75% more).
_DOMAIN_WEIGHT: dict[str, float] = {
    # Everyday work in a migration monorepo: present in most tasks, so they separate little.
    "sql": 0.4,
    "migration": 0.4,
    "integration": 0.25,
    "performance": 0.5,
    "risk": 0.6,
    "reliability": 0.7,
    # What makes work hard whatever its size.
    "concurrency": 1.1,
    "security": 0.9,
    "architecture": 1.1,
    "reasoning": 1.2,
}
_SIMPLE_WEIGHT = 1.3
_SIZE_CAP = 1.0
_SIMPLE_CAP = 3.0

Source = Literal["text", "code"]


@dataclass(frozen=True)
class Evidence:
    source: Source
    name: str
    value: float
    delta: float


@dataclass(frozen=True)
class ComplexityScore:
    score: int
    raw: float
    evidence: tuple[Evidence, ...] = field(default=())
    features: dict[str, object] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(e.delta for e in self.evidence)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _squash(evidence: float) -> tuple[int, float]:
    raw = _clamp(NEUTRAL + _SPREAD * math.tanh(evidence / _SCALE), 1.0, 10.0)
    return int(_clamp(math.floor(raw + 0.5), 1, 10)), raw


def text_evidence(f: TextFeatures) -> list[Evidence]:
    out: list[Evidence] = []

    def add(name: str, value: float, delta: float) -> None:
        if delta:
            out.append(Evidence("text", name, value, round(delta, 3)))

    # Length, code and listed steps all measure size, and a long spec mostly says the work is
    # well described, not that it is hard: together they move the score by at most 1.5.
    size: list[Evidence] = []
    if f.words:
        # A 60-word ask is neutral; a doubling adds about one point, a halving takes off less.
        size.append(
            Evidence("text", "length", f.words, _clamp(0.8 * math.log2(f.words / 60), -1.0, 1.0))
        )
    code = min(0.4 * f.code_blocks + 0.08 * f.identifiers + 0.2 * f.files, 0.8)
    size.append(Evidence("text", "code", f.code_blocks + f.identifiers + f.files, code))
    if f.steps >= 3:
        steps = _clamp(0.3 * math.log2(f.steps / 1.5), 0.0, 0.6)
        size.append(Evidence("text", "steps", f.steps, steps))
    total = sum(e.delta for e in size)
    shrink = _SIZE_CAP / total if total > _SIZE_CAP else 1.0
    for e in size:
        add(e.name, e.value, e.delta * shrink)
    for domain, hits in f.domains.items():
        # A domain mentioned once in a 1,000-word spec is a detail; in a 20-word ask it is the
        # point. Full weight needs a mention per 100 words.
        density = min(1.0, hits * 100 / max(f.scanned_words, 1))
        repeat = min(1 + 0.25 * (hits - 1), 1.75)
        add(f"domain:{domain}", hits, _DOMAIN_WEIGHT[domain] * repeat * density)
    simple = sum(1 for hits in f.simple_asks.values() if hits)
    if simple:
        names = "+".join(sorted(f.simple_asks))
        add(f"simple ask:{names}", simple, -min(_SIMPLE_WEIGHT * simple, _SIMPLE_CAP))
    return out


def code_evidence(c: CodeWork) -> list[Evidence]:
    out: list[Evidence] = []

    def add(name: str, value: float, delta: float) -> None:
        if delta:
            out.append(Evidence("code", name, value, round(delta, 3)))

    files = max(c.files_touched, 1)
    add("files touched", c.files_touched, _clamp(1.0 * math.log2(files) - 0.5, -0.5, 2.5))
    # Literal SQL at an awaited call site is recipe work: many sites add little on their own.
    add("sql sites", c.sql_sites, min(0.5 * math.log2(1 + c.sql_sites), 2.0))
    add("async depth", c.async_depth, min(1.0 * c.async_depth, 3.0))
    add("unresolved imports", c.unresolved_imports, min(0.4 * c.unresolved_imports, 2.0))
    add("tsc findings", c.tsc_findings, min(0.5 * math.log2(1 + c.tsc_findings), 2.5))
    # What no recipe can prove safe: atomicity to keep, statements that only exist at run time.
    add("transactions", c.transactions, min(2.0 * c.transactions, 3.0))
    add("dynamic sql", c.dynamic_sql, min(2.5 * c.dynamic_sql, 3.5))
    if c.lines_changed is not None:
        lines = max(c.lines_changed, 1)
        add("lines changed", c.lines_changed, _clamp(0.6 * math.log2(lines / 100), -2.0, 1.5))
    return out


def _features_dict(f: TextFeatures) -> dict[str, object]:
    return {
        "chars": f.chars,
        "words": f.words,
        "scanned_words": f.scanned_words,
        "code_blocks": f.code_blocks,
        "identifiers": f.identifiers,
        "files": f.files,
        "steps": f.steps,
        "questions": f.questions,
        "domains": dict(f.domains),
        "simple_asks": dict(f.simple_asks),
    }


def score_text(text: str) -> ComplexityScore:
    f = text_features(text)
    evidence = text_evidence(f)
    score, raw = _squash(sum(e.delta for e in evidence))
    return ComplexityScore(score, raw, tuple(evidence), _features_dict(f))


def score_code(code: CodeWork) -> ComplexityScore:
    evidence = code_evidence(code)
    score, raw = _squash(sum(e.delta for e in evidence))
    return ComplexityScore(score, raw, tuple(evidence), code.model_dump())


def score_unit(unit: WorkUnit) -> ComplexityScore:
    """Score a work unit. With both a text and code structure, the structure (measured) counts
    fully and the text (a description of it) at half weight, so one fact is not counted twice."""
    if unit.code is None:
        return score_text(unit.text)
    code = code_evidence(unit.code)
    if not unit.text.strip():
        score, raw = _squash(sum(e.delta for e in code))
        return ComplexityScore(score, raw, tuple(code), unit.code.model_dump())
    f = text_features(unit.text)
    text = [Evidence(e.source, e.name, e.value, round(e.delta / 2, 3)) for e in text_evidence(f)]
    evidence = (*code, *text)
    score, raw = _squash(sum(e.delta for e in evidence))
    return ComplexityScore(
        score, raw, evidence, {"code": unit.code.model_dump(), "text": _features_dict(f)}
    )
