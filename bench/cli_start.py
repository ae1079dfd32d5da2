"""Benchmark: CLI start-up. Median wall time of `vibehq --help` and of
`vibehq patch apply --dry-run` on a one-op batch. Target: under 0.6 s each.

    uv run python bench/cli_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    vibehq = Path(sys.executable).with_name("vibehq")
    if not vibehq.exists():
        sys.exit(f"error: {vibehq} not found; run `uv sync` first")
    work = Path(tempfile.mkdtemp(prefix="vibehq-cli-"))
    try:
        (work / "src").mkdir()
        (work / "src" / "a.ts").write_text("export const a = 1;\n")
        batch = work / "batch.json"
        batch.write_text(
            json.dumps(
                {
                    "patches": [
                        {
                            "op": "replace-block",
                            "file": "src/a.ts",
                            "start": 1,
                            "block": "export const a = 2;",
                        }
                    ]
                }
            )
        )
        python_floor = median_wall([sys.executable, "-c", "pass"], args.runs)
        help_s = median_wall([str(vibehq), "--help"], args.runs)
        dry_s = median_wall(
            [str(vibehq), "patch", "apply", str(batch), "--dry-run", "-w", str(work)], args.runs
        )
        print(f"runs: {args.runs} each (medians)")
        print(f"python -c pass (floor): {python_floor:.3f} s")
        print(f"vibehq --help: {help_s:.3f} s")
        print(f"vibehq patch apply --dry-run (1 op): {dry_s:.3f} s")
        print(f"target < 0.6 s: {'met' if max(help_s, dry_s) < 0.6 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
