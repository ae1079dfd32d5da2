"""Benchmark: the quality rules on the real STAGING corpus (Cloudflare's worker templates).

Prints, per rule, how many findings it makes on every judged file of the corpus, and how long
a whole scan takes (`scan_paths`, forked over the cores as `vibehq scan` does) and a serial
pass rule by rule. The corpus is copied to a temporary folder first; the scan writes nothing.
Every finding on this corpus is a false alarm unless a human says otherwise: these are
published templates, so the per-rule counts are the false-alarm budget to watch.

    uv run python bench/quality.py [--corpus ../shared/fixtures/real/STAGING] [--show]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from engine.validate.quality import _collect, findings_in, scan_paths
from engine.validate.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "fixtures" / "real" / "STAGING"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show", action="store_true", help="print every finding")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}")
    with tempfile.TemporaryDirectory(prefix="vh-bench-quality-") as tmp:
        root = Path(tmp) / "corpus"
        shutil.copytree(args.corpus, root, symlinks=True)
        t0 = time.perf_counter()
        report = scan_paths(root, ["."])
        scan_seconds = time.perf_counter() - t0
        files = _collect(root.resolve(), ["."])
        counts: Counter[str] = Counter()
        shown: list[str] = []
        t0 = time.perf_counter()
        for rel in files:
            text = (root / rel).read_bytes().decode("utf-8", "replace")
            for finding in findings_in(text, rel):
                counts[finding.code] += 1
                shown.append(f"  {finding.code} {rel}:{finding.line} {finding.message[:80]}")
        serial_seconds = time.perf_counter() - t0
    print(f"corpus: {args.corpus}")
    print(f"files judged: {report.files_checked}, lines: {report.lines_judged}")
    print(f"scan_paths: {scan_seconds:.2f} s, {len(report.violations)} violations")
    print(f"serial, rule by rule: {serial_seconds:.2f} s")
    print(f"{'code':6} {'rule':24} {'kind':20} findings")
    for rule in RULES:
        print(f"{rule.code:6} {rule.name:24} {rule.kind:20} {counts[rule.code]}")
    if args.show:
        print("\n".join(shown))


if __name__ == "__main__":
    main()
