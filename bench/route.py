"""Benchmark: the complexity score against the labelled set in tests/data, and its speed.

Prints Spearman's rank correlation with the human grades (overall and per kind of example),
the tier distribution next to the grades' own, how often the chosen tier is cheaper than the
grade's tier (quality risk) or dearer (wasted spend), the same counts for the fixed baselines
("always the cheap tier", "always the strong tier", "length only"), and the scoring time per
call in microseconds (best of several runs, and the median; the budget is under 1,000 µs).

    uv run python bench/route.py [--labelled tests/data/complexity_labelled.jsonl]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.plan.document import load_tasks
from engine.route.calibration import example_unit, load_labelled, spearman
from engine.route.features import WorkUnit
from engine.route.score import score_unit
from engine.route.tiers import TIERS, Thresholds, Tier

ROOT = Path(__file__).resolve().parent.parent
SHARED_TASKS = ROOT.parent / "shared" / "fixtures" / "taskmaster" / "tasks.before-option2.json"
TASKS = (
    SHARED_TASKS
    if SHARED_TASKS.is_file()
    else ROOT / "tests" / "fixtures" / "taskmaster" / "tasks.before-option2.json"
)
THRESHOLDS = Thresholds(3, 6, 8)


def misrouted(chosen: Sequence[Tier], wanted: Sequence[Tier]) -> tuple[int, int, int]:
    """(exact, cheaper than the grade's tier, dearer than it)."""
    exact = cheaper = dearer = 0
    for c, w in zip(chosen, wanted, strict=True):
        diff = TIERS.index(c) - TIERS.index(w)
        exact += diff == 0
        cheaper += diff < 0
        dearer += diff > 0
    return exact, cheaper, dearer


def time_calls(units: Sequence[WorkUnit], repeats: int) -> tuple[float, float, float]:
    """(best mean µs per call, median mean µs per call, worst single-call µs of the best run)."""
    runs: list[float] = []
    worst = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        slowest = 0.0
        for unit in units:
            one = time.perf_counter()
            score_unit(unit)
            slowest = max(slowest, time.perf_counter() - one)
        runs.append((time.perf_counter() - started) / len(units))
        if runs[-1] == min(runs):
            worst = slowest
    return min(runs) * 1e6, statistics.median(runs) * 1e6, worst * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--labelled", type=Path, default=ROOT / "tests" / "data" / "complexity_labelled.jsonl"
    )
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    examples = load_labelled(args.labelled)
    tasks = load_tasks(TASKS)
    units = [example_unit(e, tasks) for e in examples]
    grades = [e.grade for e in examples]
    scores = [score_unit(u).score for u in units]
    print(f"labelled examples: {len(examples)} ({args.labelled.relative_to(ROOT)})")
    print(f"spearman(score, grade): {spearman(scores, grades):.3f}")
    for kind in ("task", "text", "code"):
        picked = [
            (s, g)
            for e, s, g in zip(examples, scores, grades, strict=True)
            if (e.task and kind == "task")
            or (e.code and kind == "code")
            or (e.text and kind == "text")
        ]
        rho = spearman([s for s, _ in picked], [g for _, g in picked])
        print(f"  {kind:5} n={len(picked):3}  spearman {rho:.3f}")
    lengths = [len(u.text.split()) if u.code is None else u.code.lines_changed or 0 for u in units]
    print(f"baseline spearman(length, grade): {spearman(lengths, grades):.3f}")

    wanted = [THRESHOLDS.tier_for(g) for g in grades]
    chosen = [THRESHOLDS.tier_for(s) for s in scores]
    counts, grade_counts = Counter(chosen), Counter(wanted)
    print("tier distribution (score | grade), thresholds simple<=3 standard<=6 complex<=8:")
    for tier in TIERS:
        print(f"  {tier:9} {counts.get(tier, 0):3} | {grade_counts.get(tier, 0):3}")

    length_rank = sorted(range(len(lengths)), key=lambda i: lengths[i])
    by_length: list[Tier] = ["standard"] * len(lengths)
    # The length baseline fills the tiers in the grades' proportions, shortest first.
    position = 0
    for tier in TIERS:
        for i in length_rank[position : position + grade_counts.get(tier, 0)]:
            by_length[i] = tier
        position += grade_counts.get(tier, 0)
    policies: list[tuple[str, Callable[[], list[Tier]]]] = [
        ("complexity score", lambda: chosen),
        ("always simple", lambda: ["simple"] * len(grades)),
        ("always standard", lambda: ["standard"] * len(grades)),
        ("always reasoning", lambda: ["reasoning"] * len(grades)),
        ("length only", lambda: by_length),
    ]
    print("routing vs the grade's tier: exact / cheaper (quality risk) / dearer (spend):")
    for name, policy in policies:
        exact, cheaper, dearer = misrouted(policy(), wanted)
        print(f"  {name:17} {exact:3} / {cheaper:3} / {dearer:3}")

    best, median, worst = time_calls(units, args.repeats)
    longest = max(len(u.text) for u in units)
    print(
        f"scoring time per call: best {best:.0f} µs, median {median:.0f} µs, "
        f"slowest call {worst:.0f} µs (longest text {longest} chars; budget 1000 µs)"
    )


if __name__ == "__main__":
    main()
