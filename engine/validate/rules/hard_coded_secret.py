"""VQ401 hard-coded secret: a key of a known shape, or a high-entropy literal held by a name
that says it is a secret."""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from engine.validate.rules.detect_secrets_plugins import find_keys, looks_generated
from engine.validate.rules.py_nodes import literal, name_of
from engine.validate.rules.rule import Rule
from engine.validate.rules.ts_nodes import holder, literal_text, occurrences, row, text

if TYPE_CHECKING:
    from engine.validate.rules.findings import Analysis
    from engine.validate.rules.py_source import PySource
    from engine.validate.rules.ts_source import TsSource

__all__ = ["RULE"]

_SECRET_NAME = re.compile(
    r"secret|token|api[_-]?key|password|passwd|credential|private[_-]?key", re.IGNORECASE
)
# Lower-cased spellings of the names above, searched for in the lower-cased source.
_SECRET_NAME_BYTES = (
    b"secret",
    b"token",
    b"apikey",
    b"api_key",
    b"api-key",
    b"password",
    b"passwd",
    b"credential",
    b"privatekey",
    b"private_key",
    b"private-key",
)
# Model-provider keys that detect-secrets has no plugin for: its OpenAI plugin only knows the
# legacy `T3BlbkFJ` keys, not `sk-proj-...`, and it has no Anthropic plugin.
_PROVIDER_KEYS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("sk-ant-", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"), "an Anthropic API key"),
    ("sk-", re.compile(r"sk-(?!ant-)[A-Za-z0-9_-]{20,}"), "an OpenAI-style API key"),
)
# A private key is only a secret with its body: PEM-handling code names the header alone.
_KEY_BODY = re.compile(r"[A-Z0-9 ]*-----(?:\\[rn]|\s|[\"'`+])*[A-Za-z0-9+/=]{40,}")
_FAKE_MARKERS = (
    "example",
    "fake",
    "dummy",
    "test",
    "sample",
    "placeholder",
    "redacted",
    "your",
    "xxxx",
    "changeme",
    "change-me",
    "change_me",
    "<",
    "${",
    "{{",
)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_SECRET_RUN = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
_ENTROPY_MIN = 4.0
_ADVICE = "read it from the environment"


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _looks_fake(value: str) -> bool:
    """A key that says it is fake, or uses at most four distinct characters in its longest
    run (AKIA + X * 16), is test data: no real key reads like that, and fixtures need them."""
    lowered = value.lower()
    if any(marker in lowered for marker in _FAKE_MARKERS):
        return True
    longest = max(_ALNUM_RUN.findall(value), key=len, default="")
    return len(set(longest)) <= 4


def _known_keys(source_text: str, out: Analysis) -> None:
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for prefix, pattern, what in _PROVIDER_KEYS:
        if prefix not in source_text:
            continue
        for match in pattern.finditer(source_text):
            if any(s <= match.start() < e for s, e in taken):
                continue
            taken.append((match.start(), match.end()))
            if _real_key(source_text, match.start(), match.group(0)):
                found.append((match.start(), what))
    for key in find_keys(source_text):
        if any(s < key.end and key.start < e for s, e in taken):
            continue
        taken.append((key.start, key.end))
        if key.plugin == "PrivateKeyDetector":
            if _KEY_BODY.match(source_text, key.end) is not None:
                found.append((key.start, key.what))
        elif _real_key(source_text, key.start, key.key):
            found.append((key.start, key.what))
    for start, what in sorted(found):
        out.add(
            RULE,
            source_text.count("\n", 0, start) + 1,
            f"hard-coded secret: {what}; {_ADVICE}",
        )


def _real_key(source_text: str, start: int, key: str) -> bool:
    before = source_text[start - 1] if start > 0 else ""
    # Inside a longer word it is part of a name or an encoded blob, not a key.
    if before.isalnum() or before == "-":
        return False
    return not _looks_fake(key) and not looks_generated(key)


def _secret_value(name: str, value: str) -> bool:
    """A high-entropy literal held by a name that says it is a secret."""
    if not _SECRET_NAME.search(name) or _looks_fake(value):
        return False
    runs = [r for r in _SECRET_RUN.findall(value) if _entropy(r) > _ENTROPY_MIN and len(set(r)) > 4]
    return any(not looks_generated(r) for r in runs)


def _named_finding(name: str, line: int, out: Analysis) -> None:
    out.add(
        RULE,
        line,
        f"hard-coded secret in `{name[:40]}`: a high-entropy literal; {_ADVICE}",
    )


def _typescript(src: TsSource, out: Analysis) -> None:
    _known_keys(src.text, out)
    for word in _SECRET_NAME_BYTES:
        for start in occurrences(src.lowered, word, whole=False):
            node = src.at(start, start + len(word))
            if node is None or node.type == "comment":
                continue
            held = holder(node)
            if held is None or held[2] is None:
                continue
            _, name, value = held
            found = literal_text(value) if value is not None else None
            name_text = text(name).strip("\"'`")
            if found is not None and _secret_value(name_text, found):
                _named_finding(name_text, row(value) if value is not None else row(name), out)


def _python(src: PySource, out: Analysis) -> None:
    for node in src.nodes:
        pairs: list[tuple[str, ast.expr, int]] = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value, node.lineno) for k in node.keywords if k.arg is not None]
        elif isinstance(node, ast.Assign):
            pairs = [(name_of(t), node.value, node.lineno) for t in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(name_of(node.target), node.value, node.lineno)]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                name = literal(key) if key is not None else None
                if name is not None:
                    pairs.append((name, value, value.lineno))
        for name, value, line in pairs:
            found = literal(value)
            if name and found is not None and _secret_value(name, found):
                _named_finding(name, line, out)
    _known_keys(src.text, out)


RULE = Rule(
    code="VQ401",
    name="hard-coded-secret",
    kind="SECURITY_RISK",
    summary="a hard-coded key (Stripe, AWS, GitHub, Slack, private key...) or secret literal",
    doc="""\
Flags a key of a known shape anywhere in the file, found by detect-secrets' maintained plugins
(AWS, Azure storage, GitHub, GitLab, Mailchimp, npm, legacy OpenAI, PyPI, SendGrid, Slack,
Square, Stripe live keys, private key blocks with their body) plus the OpenAI `sk-proj-` and
Anthropic `sk-ant-` shapes it lacks; and a high-entropy string literal assigned to a name that
says secret, token, api key, password or credential.

Why: a committed key is leaked to everyone who can read the repository, and rotating it
costs more than reading it from the environment. Values that say they are fake (example,
test, dummy, your, xxxx...), use four characters or fewer, or that detect-secrets judges
generated (UUIDs, sequential runs, templates) are test data and pass; so do the env reads.

Example:
    const stripe = new Stripe("sk_live_...");        // the real key, 24+ characters
    export const apiKey = "q8W3...";                 // high entropy, secret-ish name
""",
    typescript=_typescript,
    python=_python,
)
