"""What a quality rule is: a code, the violation kind it reports, its languages and its doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["KINDS", "SEVERITY", "Kind", "Language", "Rule", "Severity"]

Kind = Literal[
    "PLACEHOLDER_DROPPED", "INCOMPLETE_CODE", "MALFORMED_SYNTAX", "SECURITY_RISK", "LOGIC_ERROR"
]
Severity = Literal["critical", "high", "medium", "low"]
Language = Literal["typescript", "python"]
KINDS: tuple[Kind, ...] = (
    "PLACEHOLDER_DROPPED",
    "INCOMPLETE_CODE",
    "MALFORMED_SYNTAX",
    "SECURITY_RISK",
    "LOGIC_ERROR",
)
# A violation's severity follows its kind, so reports read the same whatever rule found it.
SEVERITY: dict[Kind, Severity] = {
    "PLACEHOLDER_DROPPED": "critical",
    "INCOMPLETE_CODE": "high",
    "MALFORMED_SYNTAX": "high",
    "SECURITY_RISK": "critical",
    "LOGIC_ERROR": "medium",
}


@dataclass(frozen=True)
class Rule:
    """One declared check. `doc` says what it flags, why, and shows an example; `typescript`
    and `python` judge one parsed file each and add their findings to the analysis."""

    code: str
    name: str
    kind: Kind
    summary: str
    doc: str
    typescript: Callable[[TsSource, Analysis], None] | None = None
    python: Callable[[PySource, Analysis], None] | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]

    @property
    def languages(self) -> tuple[Language, ...]:
        found: list[Language] = []
        if self.typescript is not None:
            found.append("typescript")
        if self.python is not None:
            found.append("python")
        return tuple(found)
