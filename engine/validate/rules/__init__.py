"""The quality monitor's rules, one module each, and the registry that lists them.

Each rule is a declared unit (see rule.Rule): a code, the violation kind it reports (whose
severity it takes), a doc block with an example, and a check per language it supports. The
order here is the order rules run in; it matters only for MALFORMED_SYNTAX, where one report
per line is kept and the parser's message (VQ301) wins over the bracket note (VQ302).

Every rule has fixtures under tests/fixtures/quality/<code>/{fires,quiet}/, and one test walks
this registry to check them all.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from engine.validate.rules import (
    code_from_string,
    constant_comparison,
    constant_condition,
    emptied_body,
    hard_coded_secret,
    not_implemented,
    placeholder,
    sql_injection,
    stub_body,
    syntax_error,
    tls_off,
    todo_comment,
    unbalanced_brackets,
    unreachable,
    write_outside,
)
from engine.validate.rules.rule import Kind, Language, Rule, Severity

__all__ = ["RULES", "RuleInfo", "list_rules", "rule_by_code"]

RULES: tuple[Rule, ...] = (
    placeholder.RULE,
    todo_comment.RULE,
    not_implemented.RULE,
    emptied_body.RULE,
    stub_body.RULE,
    syntax_error.RULE,
    unbalanced_brackets.RULE,
    hard_coded_secret.RULE,
    code_from_string.RULE,
    sql_injection.RULE,
    tls_off.RULE,
    write_outside.RULE,
    unreachable.RULE,
    constant_comparison.RULE,
    constant_condition.RULE,
)


class RuleInfo(BaseModel):
    """A rule as `vibehq scan --rules` shows it."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    kind: Kind
    severity: Severity
    languages: tuple[Language, ...]
    summary: str
    doc: str


def list_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            code=r.code,
            name=r.name,
            kind=r.kind,
            severity=r.severity,
            languages=r.languages,
            summary=r.summary,
            doc=r.doc,
        )
        for r in RULES
    ]


def rule_by_code(code: str) -> Rule:
    for rule in RULES:
        if rule.code == code:
            return rule
    raise KeyError(code)
