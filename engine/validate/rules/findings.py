"""What the rules hand back for one file: findings, each tied to the rule that made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.validate.rules.comments import Comment

if TYPE_CHECKING:
    from engine.validate.rules.rule import Kind, Rule

__all__ = ["Analysis", "Finding"]


@dataclass(frozen=True)
class Finding:
    code: str
    kind: Kind
    line: int
    message: str
    # Last line of the evidence: a finding counts when any line of its span was added.
    last: int = 0
    # Judged whatever was added: the rule already compares with the original.
    always: bool = False


@dataclass
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    # The comments worth reading (see comments.COMMENT_HINT), for the placeholder checks
    # that run after the rules, on the lines a change shrank.
    comments: list[Comment] = field(default_factory=list)

    def add(self, rule: Rule, line: int, message: str, last: int = 0, always: bool = False) -> None:
        self.findings.append(Finding(rule.code, rule.kind, line, message, max(last, line), always))
