"""The complexity score against the labelled set, and the properties it must keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.plan.document import load_tasks
from engine.route.calibration import (
    Calibration,
    average_ranks,
    calibrate,
    example_unit,
    load_labelled,
    spearman,
)
from engine.route.features import CodeWork, WorkUnit, text_features
from engine.route.score import NEUTRAL, score_code, score_text, score_unit
from engine.route.tiers import Thresholds
from tests.conftest import ROOT, TASKS_FIXTURE

LABELLED = ROOT / "tests" / "data" / "complexity_labelled.jsonl"
DEFAULT = Thresholds(3, 6, 8)

# Measured 0.65 on the 93 examples. A length-only scorer gets 0.39 on the same set (see
# test_the_score_beats_length_alone), so 0.55 fails any regression that drops most of the
# non-length evidence, while leaving room for a reasonable reweighting.
SPEARMAN_FLOOR = 0.55


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return calibrate(load_labelled(LABELLED), DEFAULT, load_tasks(TASKS_FIXTURE))


def test_labelled_set_is_large_and_spans_the_scale() -> None:
    examples = load_labelled(LABELLED)
    assert len(examples) >= 60
    assert {e.grade for e in examples} == set(range(1, 11))
    kinds = {("task" if e.task else "code" if e.code else "text") for e in examples}
    assert kinds == {"task", "code", "text"}


def test_spearman_against_human_grades_is_above_the_floor(calibration: Calibration) -> None:
    assert calibration.spearman >= SPEARMAN_FLOOR


def test_the_score_beats_length_alone() -> None:
    examples = load_labelled(LABELLED)
    tasks = load_tasks(TASKS_FIXTURE)
    units = [example_unit(e, tasks) for e in examples]
    grades = [e.grade for e in examples]
    lengths = [len(u.text.split()) if u.code is None else u.code.lines_changed or 0 for u in units]
    scores = [score_unit(u).score for u in units]
    assert spearman(scores, grades) > spearman(lengths, grades) + 0.15


def test_every_tier_is_used_on_the_labelled_set(calibration: Calibration) -> None:
    tiers = calibration.tiers
    assert all(count > 0 for count in tiers.values())
    # The cheapest tier must not be where unknowns go: it holds under a quarter of the set.
    assert tiers["simple"] < calibration.n / 4


def test_text_matching_no_keyword_lands_in_the_middle_not_the_cheapest_tier() -> None:
    text = (
        "Please go over the handler for the nightly job and make it behave the way the "
        "team described in last week's notes, keeping the output the same for the other "
        "callers and leaving the rest of the module as it is today."
    )
    features = text_features(text)
    assert features.domains == {} and features.simple_asks == {}
    scored = score_text(text)
    assert DEFAULT.tier_for(scored.score) == "standard"
    assert abs(scored.raw - NEUTRAL) < 1.0
    assert DEFAULT.tier_for(score_text("").score) == "standard"


def test_evidence_moves_the_score_both_ways() -> None:
    trivial = score_text("Fix the typo in the README.")
    hard = score_text(
        "Why does claim() hand the same job to two workers under load? Find the race "
        "condition in the Durable Object transaction and prove the fix keeps it atomic."
    )
    assert trivial.score <= 3 < 8 <= hard.score
    assert any(e.name.startswith("simple ask") and e.delta < 0 for e in trivial.evidence)
    assert {e.name for e in hard.evidence} >= {"domain:concurrency", "domain:reasoning"}


def test_a_keyword_deep_in_a_long_spec_weighs_less_than_in_a_short_ask() -> None:
    short = score_text("Review the token handling for leaks.")
    filler = " ".join(["The handler returns the rows it reads from the table."] * 60)
    long = score_text(filler + " Review the token handling for leaks.")
    short_security = next(e.delta for e in short.evidence if e.name == "domain:security")
    long_security = next(e.delta for e in long.evidence if e.name == "domain:security")
    assert long_security < short_security / 3


def test_simple_asks_count_only_in_the_lead() -> None:
    lead = text_features("Rename the variable in the handler.")
    buried = text_features("x " * 200 + "rename the variable")
    assert "rename" in lead.simple_asks and buried.simple_asks == {}


def test_code_structure_scores_rise_with_what_recipes_cannot_prove() -> None:
    import_only = score_code(CodeWork(files_touched=1, lines_changed=2))
    recipe = score_code(CodeWork(files_touched=2, sql_sites=5, lines_changed=40))
    transaction = score_code(CodeWork(files_touched=2, sql_sites=5, transactions=1))
    propagation = score_code(CodeWork(files_touched=4, sql_sites=2, async_depth=3))
    assert import_only.score < recipe.score < transaction.score
    assert recipe.score < propagation.score
    assert DEFAULT.tier_for(import_only.score) == "simple"


def test_a_work_unit_with_text_and_code_counts_the_text_at_half_weight() -> None:
    code = CodeWork(files_touched=3, sql_sites=4, async_depth=1)
    text = "Move the SQL behind RPC and make the callers await it."
    both = score_unit(WorkUnit(text=text, code=code))
    text_deltas = {e.name: e.delta for e in score_text(text).evidence}
    halved = {e.name: e.delta for e in both.evidence if e.source == "text"}
    assert halved == {
        name: pytest.approx(delta / 2, abs=1e-3) for name, delta in text_deltas.items()
    }
    assert {e.name for e in both.evidence if e.source == "code"} >= {"sql sites", "async depth"}


def test_scores_are_integers_from_1_to_10_and_deterministic() -> None:
    texts = ["", "x", "hello", "a " * 50_000, "SQL " * 5000 + "race " * 5000]
    for text in texts:
        first, second = score_text(text), score_text(text)
        assert 1 <= first.score <= 10 and first == second


def test_spearman_matches_known_values_with_ties() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ranks (1, 2.5, 2.5, 4, 5) and (2, 1, 3.5, 3.5, 5): covariance 7.25, variances 9.5.
    assert spearman([1, 2, 2, 3, 5], [2, 1, 4, 4, 5]) == pytest.approx(7.25 / 9.5)
    assert average_ranks([3, 1, 3, 2]) == [3.5, 1.0, 3.5, 2.0]
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1], [1, 2, 3])


def test_a_malformed_labelled_set_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "grade": 4, "text": "a", "code": {"files_touched": 1}}\n')
    with pytest.raises(BadInput, match=r"bad.jsonl:1: .*exactly one of text, task or code"):
        load_labelled(bad)
