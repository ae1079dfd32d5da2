"""Issue 17's fuzz properties, for the four inputs (batch, manifest, tasks.json, epic spec):
whatever the file holds, the CLI ends with no traceback, an exit code of 0, 1 or 2, and on
exit 2 nothing written (no lock file, no `.vibehq/`). The CLI runs in this process through
`main.run()`; `bench/fuzz.py` runs the same cases by the thousand."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.fuzz import KINDS, NAMED_CASES, Case, mutated_case, run_case
from devtools.fuzz.cases import Kind

# Derandomized and without an example database: the same examples on every machine, and no
# `.hypothesis/` folder written into the checkout.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def judged(case: Case) -> None:
    outcome = run_case(case, timeout_s=10.0)
    assert not outcome.failed, outcome.describe() + "\n" + outcome.stderr[-2000:]


@pytest.mark.parametrize("case", NAMED_CASES, ids=[c.label for c in NAMED_CASES])
def test_the_inputs_issue_17_found_are_one_line_exit_2_and_write_nothing(case: Case) -> None:
    outcome = run_case(case)
    assert outcome.code == 2, outcome.describe() + "\n" + outcome.stderr
    assert outcome.wrote_on_refusal == [] and not outcome.traceback
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_fuzzed_input_exits_0_1_or_2_without_a_traceback(kind: Kind, rng: random.Random) -> None:
    judged(mutated_case(rng, kind))
