"""The quality rules as declared units: every rule in the registry is documented, has fixtures
in both languages it supports, fires on each `fires` file and stays quiet on each `quiet` one."""

from __future__ import annotations

import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from engine.validate.quality import SEVERITY, findings_in, list_rules, scan_text
from engine.validate.rules import RULES
from engine.validate.rules.rule import Rule
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
SUFFIX_LANGUAGE = {".ts": "typescript", ".tsx": "typescript", ".py": "python"}
KEY_SLOT = re.compile(r"@@KEY:(\w+)@@")


def _random(length: int, seed: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.Random(seed).choices(alphabet, k=length))


def _key(kind: str) -> str:
    # Built at run time from pieces: a committed literal of these shapes would trip scanners.
    upper = string.ascii_uppercase + string.digits
    keys = {
        "stripe": lambda: "sk_" + "live_" + _random(24, 1),
        "aws": lambda: "AK" + "IA" + _random(16, 2, upper),
        "github": lambda: "gh" + "p_" + _random(36, 3),
        "slack": lambda: "xo" + "xb-" + "4" * 11 + "-" + "5" * 13 + "-" + _random(24, 4),
        "pem": lambda: "-----BEGIN " + "RSA PRIVATE KEY-----\\n" + _random(64, 5) + "\\n",
        "random": lambda: _random(32, 6),
    }
    return keys[kind]()


def _fixture_text(path: Path) -> str:
    return KEY_SLOT.sub(lambda m: _key(m.group(1)), path.read_text(encoding="utf-8"))


def _cases(folder: str) -> list[tuple[str, Path]]:
    cases = []
    for rule in RULES:
        for path in sorted((FIXTURES / rule.code / folder).glob("*")):
            if path.suffix in SUFFIX_LANGUAGE:
                cases.append((rule.code, path))
    return cases


def _codes(path: Path) -> set[str]:
    original = path.with_name(path.name + ".orig")
    old = _fixture_text(original) if original.exists() else None
    # Fixtures are judged as if they sat three folders down in a workspace.
    return {
        f.code for f in findings_in(_fixture_text(path), f"apps/api/src/{path.name}", original=old)
    }


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_is_declared_and_has_fixtures_in_each_language(rule: Rule) -> None:
    assert re.fullmatch(r"VQ\d{3}", rule.code)
    assert rule.severity == SEVERITY[rule.kind]
    assert rule.languages, "a rule judges at least one language"
    assert "Example" in rule.doc and "Why" in rule.doc
    for folder in ("fires", "quiet"):
        languages = {
            SUFFIX_LANGUAGE[p.suffix]
            for p in (FIXTURES / rule.code / folder).glob("*")
            if p.suffix in SUFFIX_LANGUAGE
        }
        assert languages == set(rule.languages), f"{rule.code}/{folder}: {languages}"


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize(("code", "path"), _cases("fires"), ids=lambda x: getattr(x, "name", x))
def test_fires(code: str, path: Path) -> None:
    assert code in _codes(path)


@pytest.mark.parametrize(("code", "path"), _cases("quiet"), ids=lambda x: getattr(x, "name", x))
def test_quiet(code: str, path: Path) -> None:
    assert code not in _codes(path)


def test_findings_become_violations_of_the_rules_kind() -> None:
    path = FIXTURES / "VQ401" / "fires" / "stripe.ts"
    violations = scan_text(_fixture_text(path), "src/stripe.ts")
    assert [(v.kind, v.severity, v.line) for v in violations] == [("SECURITY_RISK", "critical", 3)]
    assert "Stripe" in violations[0].message


def test_list_rules_describes_every_rule() -> None:
    listed = list_rules()
    assert [r.code for r in listed] == [r.code for r in RULES]
    secret = next(r for r in listed if r.name == "hard-coded-secret")
    assert secret.kind == "SECURITY_RISK"
    assert secret.languages == ("typescript", "python")
    assert secret.model_dump()["severity"] == "critical"


def test_detect_secrets_is_imported_only_for_a_text_that_may_hold_a_key() -> None:
    # Importing detect-secrets costs ~0.15 s (it loads `requests`): plain code must not pay it.
    probe = (
        "import sys\n"
        "from engine.validate.quality import scan_text\n"
        "scan_text('export const apiKey = process.env.API_KEY;\\n', 'a.ts')\n"
        "print('detect_secrets' in sys.modules)\n"
        "scan_text('const s = new Stripe(\"sk_' + 'live_x\");\\n', 'b.ts')\n"
        "print('detect_secrets' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"], out.stderr
