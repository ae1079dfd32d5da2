"""Benchmark: the approval queue on the ledger.

1. Reviewing an import-only batch (plan, import-only facts, quality monitor; no validator).
2. The policy on a stored payload (pure function).
3. Submitting N items (half auto-approved by import_only, half pending), listing them,
   `approve --all-safe` over them, and deciding one pending item.

    uv run python bench/approvals.py [--items 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.approvals.models import ApprovalRequest
from engine.approvals.policy import evaluate
from engine.approvals.queue import approve, approve_all_safe, list_items, submit
from engine.approvals.review import review_batch
from engine.ledger.store import Ledger
from engine.patch.models import PatchBatch
from engine.settings import ApprovalSettings, Settings
from engine.workspace import Workspace

SOURCE = 'import { a } from "./a";\nimport { c } from "./c";\n\nexport const b = a + c;\n'


def batch(file: str, block: str, line: int) -> PatchBatch:
    return PatchBatch.model_validate(
        {
            "requester": "bench",
            "patches": [
                {"op": "replace-block", "file": file, "start": line, "end": line, "block": block}
            ],
        }
    )


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src/b.ts").write_text(SOURCE)
        ws = Workspace.open(root)
        settings = Settings()
        imports = batch("src/b.ts", 'import { a } from "@shared/a";', 1)
        code = batch("src/b.ts", "export const b = a * c;", 4)

        review_s = timed(lambda: review_batch(ws, imports, settings), 50)
        payload = review_batch(ws, imports, settings)
        code_payload = review_batch(ws, code, settings)
        policy_s = timed(lambda: evaluate(payload, settings.approvals), 2000)
        print(f"review (import-only batch, no validator): {review_s * 1000:.2f} ms median")
        print(f"policy evaluate: {policy_s * 1e6:.1f} us median")

        held = ApprovalSettings(auto_pass_import_only_max_lines=0)
        with Ledger.open(ws.ledger_path) as ledger:
            start = time.perf_counter()
            for n in range(args.items):
                chosen = payload if n % 2 == 0 else code_payload
                submit(ledger, ApprovalRequest(payload=chosen, title=f"item {n}"), held)
            submit_s = time.perf_counter() - start
            print(
                f"submit: {args.items} items in {submit_s:.2f} s "
                f"({args.items / submit_s:.0f} items/s)"
            )
            list_s = timed(lambda: list_items(ledger, state="pending"), 5)
            print(f"list --state pending over {args.items} items: {list_s * 1000:.0f} ms median")
            start = time.perf_counter()
            result = approve_all_safe(ledger, ApprovalSettings(), by="bench")
            all_safe_s = time.perf_counter() - start
            print(
                f"approve --all-safe: {len(result.approved)} approved, {len(result.left)} left, "
                f"in {all_safe_s:.2f} s"
            )
            pending = next(iter(result.left))
            start = time.perf_counter()
            approve(ledger, pending, by="bench")
            print(f"approve one item: {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
