"""Benchmark: fuzz vibehq's four inputs (batch, manifest, tasks.json, epic spec) through the CLI.

Issue 17's named cases first, then `--cases` mutated ones from a fixed seed, each run in this
process through `main.run()` with a per-case timeout. Prints the cases run, the failures
(a traceback, an exit code other than 0, 1 or 2, or a file written on exit 2), the hangs
over the timeout, and the slowest case. Exits 1 if anything failed.

    uv run python bench/fuzz.py [--cases 3000] [--seed 17] [--timeout 10]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter

from devtools.fuzz import NAMED_CASES, Outcome, mutated_case, run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="mutated cases (default 3000)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a hang")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    cases = [*NAMED_CASES, *(mutated_case(rng) for _ in range(args.cases))]
    codes: Counter[tuple[str, int | None]] = Counter()
    failures: list[Outcome] = []
    slowest: Outcome | None = None
    start = time.monotonic()
    for n, case in enumerate(cases, start=1):
        outcome = run_case(case, timeout_s=args.timeout)
        codes[(case.kind, outcome.code)] += 1
        if outcome.failed:
            failures.append(outcome)
        if slowest is None or outcome.seconds > slowest.seconds:
            slowest = outcome
        if n % 500 == 0:
            print(f"  {n}/{len(cases)} cases, {len(failures)} failures", file=sys.stderr)
    elapsed = time.monotonic() - start

    hangs = [f for f in failures if f.hung]
    tracebacks = [f for f in failures if f.traceback]
    print(f"cases: {len(cases)} ({len(NAMED_CASES)} named, {args.cases} mutated, seed {args.seed})")
    for kind in sorted({k for k, _ in codes}):
        exits = ", ".join(
            f"exit {c}: {n}" for (k, c), n in sorted(codes.items(), key=str) if k == kind
        )
        print(f"  {kind}: {exits}")
    print(
        f"failures: {len(failures)} (tracebacks {len(tracebacks)}, hangs over "
        f"{args.timeout:g} s {len(hangs)}, other {len(failures) - len(tracebacks) - len(hangs)})"
    )
    for outcome in failures[:20]:
        print(f"  - {outcome.describe()}")
    if slowest is not None:
        print(
            f"slowest: {slowest.seconds:.2f} s, {slowest.case.kind} {slowest.case.label} "
            f"(exit {slowest.code})"
        )
    print(f"total: {elapsed:.1f} s, {elapsed / len(cases) * 1000:.0f} ms per case")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
