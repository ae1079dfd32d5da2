"""Benchmark: one atomic batch of 10,000 mixed ops over 1,000 TypeScript files of ~200 lines.

Prints ops/s, files/s and peak memory, and the ratio against `git apply` of the same change
as a unified diff, on identical copies of the same files in the same run.
Targets: >= 5,000 ops/s and no more than 2x the time of `git apply`.

    uv run python bench/patch_apply.py [--files 1000] [--ops-per-file 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

from engine.patch.apply import apply_batch
from engine.patch.diff import unified_diff
from engine.patch.loader import parse_batch
from engine.settings import Settings
from engine.workspace import Workspace

LINES_PER_FILE = 200


def make_file(index: int) -> str:
    out = [f"// generated module {index}", 'import { Env } from "../types";', ""]
    method = 0
    while len(out) < LINES_PER_FILE - 3:
        out += [
            f"export function handler{index}_{method}(env: Env, input: string): string {{",
            f"  const key = `k{index}-{method}:${{input}}`;",
            "  if (input.length === 0) {",
            "    return key;",
            "  }",
            f"  return key + String({method});",
            "}",
            "",
        ]
        method += 1
    out = out[: LINES_PER_FILE - 3]
    out += [f"// @vibehq:exports-{index}", f"export const id{index} = {index};", ""]
    return "\n".join(out) + "\n"


def make_ops(index: int, per_file: int, rng: random.Random) -> list[dict[str, object]]:
    """Ten kinds of op per file on disjoint regions: line numbers and every anchor kind."""
    name = f"src/m{index:04d}.ts"
    body = "  console.log('patched');"
    kinds = [
        {"op": "replace-block", "start": 7, "end": 7, "block": "    return key.toUpperCase();"},
        {"op": "insert-after", "line": 12, "block": body},
        {"op": "insert-before", "line": 20, "block": "// before 20"},
        {
            "op": "replace-block",
            "match": f"  return key + String({4});",
            "block": "  return key + '!';",
        },
        {
            "op": "insert-after",
            "marker": f"@vibehq:exports-{index}",
            "block": f"export const extra{index} = true;",
        },
        {
            "op": "replace-block",
            "regex": rf"^export function handler{index}_6\(",
            "block": f"export function handler{index}_6renamed(",
        },
        {"op": "replace-block", "start": 70, "end": 72, "block": "  // collapsed"},
        {
            "op": "insert-before",
            "match": f"export function handler{index}_12(env: Env, input: string): string {{",
            "block": "/** documented */",
        },
        {"op": "append", "block": "// appended"},
        {"op": "prepend", "block": "// prepended"},
    ]
    rng.shuffle(kinds)
    return [{"file": name, "taskId": str(index % 40), **k} for k in kinds[:per_file]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--ops-per-file", type=int, default=10, choices=range(1, 11))
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are printed")
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync (not power-safe)")
    args = parser.parse_args()
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="vibehq-bench-"))
    try:
        pristine = work / "pristine"
        (pristine / "src").mkdir(parents=True)
        for i in range(args.files):
            (pristine / "src" / f"m{i:04d}.ts").write_text(make_file(i))
        patches = [op for i in range(args.files) for op in make_ops(i, args.ops_per_file, rng)]
        batch_json = json.dumps({"requester": "bench", "orderId": "bench", "patches": patches})
        settings = Settings()
        settings.patch.fsync = not args.no_fsync
        parse_s, apply_s, git_s, peaks = [], [], [], []
        diff_mib = 0.0
        same = True
        # The last run traces memory; tracemalloc slows allocation, so it is not timed.
        for run in range(args.repeat + 1):
            traced = run == args.repeat
            ours, theirs = work / f"ours{run}", work / f"git{run}"
            shutil.copytree(pristine, ours)
            shutil.copytree(pristine, theirs)
            os.sync()  # settle writeback from the copies so it is not billed to either side
            if traced:
                tracemalloc.start()
            t0 = time.perf_counter()
            batch = parse_batch(batch_json)
            t1 = time.perf_counter()
            result = apply_batch(Workspace.open(ours), batch, settings)
            t2 = time.perf_counter()
            assert result.status == "applied" and len(result.files) == args.files
            if traced:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
                break
            parse_s.append(t1 - t0)
            apply_s.append(t2 - t1)
            names = [f"src/m{i:04d}.ts" for i in range(args.files)]
            diff = "".join(
                unified_diff(n, (pristine / n).read_bytes(), (ours / n).read_bytes()) for n in names
            )
            diff_mib = len(diff) / 2**20
            (work / "change.diff").write_text(diff)
            os.sync()
            g0 = time.perf_counter()
            subprocess.run(
                ["git", "apply", "--whitespace=nowarn", str(work / "change.diff")],
                cwd=theirs,
                check=True,
            )
            if settings.patch.fsync:
                os.sync()  # git apply does not fsync; make the comparison like for like
            git_s.append(time.perf_counter() - g0)
            same = same and all((ours / n).read_bytes() == (theirs / n).read_bytes() for n in names)
            shutil.rmtree(ours)
            shutil.rmtree(theirs)

        total = median([p + a for p, a in zip(parse_s, apply_s, strict=True)])
        n_ops = len(patches)
        print(
            f"files: {args.files}, ops: {n_ops}, lines/file: {LINES_PER_FILE}, "
            f"fsync: {settings.patch.fsync}, runs: {args.repeat} (medians)"
        )
        print(f"parse+validate batch: {median(parse_s):.3f} s")
        print(f"plan+journal+commit+ledger: {median(apply_s):.3f} s")
        print(
            f"total: {total:.3f} s  ->  {n_ops / total:,.0f} ops/s, "
            f"{args.files / total:,.0f} files/s"
        )
        print(
            f"peak memory: {max(peaks) / 2**20:.1f} MiB traced, "
            f"{peak_rss_mb():.0f} MiB max RSS of the whole bench"
        )
        print(
            f"git apply of the same change ({diff_mib:.1f} MiB diff): {median(git_s):.3f} s; "
            f"results identical: {same}"
        )
        print(f"ratio vibehq/git apply: {total / median(git_s):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
