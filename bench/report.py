"""Benchmark: the delivery report of a large epic run.

A synthetic run in a temporary ledger: F folders x 7 steps (plus the report step), A approval
items through the queue (needs-model items, most decided by a person, the rest pending), C
model calls over four tiers and five agents, a quality check per folder with a few
quarantines, and one applied batch of 20 ops per folder in patch_events. Then the median
time to build the report from the ledger, to write its three files, and their sizes.

    uv run python bench/report.py [--folders 50] [--approvals 500] [--calls 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.approvals.models import ApprovalRequest, NeedsModelPayload
from engine.approvals.queue import approve, submit
from engine.epic.models import FOLDER_STEPS, REPORT_STEP, RUN_FOLDER, EpicOptions, EpicSpec
from engine.epic.report import build_report, write_report
from engine.epic.store import begin_step, create_run, finish_step, set_run_status
from engine.ledger.events import PatchRow, utc_now
from engine.ledger.store import Ledger
from engine.patch.patch_events import record_patch_rows
from engine.refactor.models import WorkItem
from engine.route.calls import ModelCallRow, record_model_call
from engine.settings import ApprovalSettings
from engine.validate.quarantine import record_check, release
from engine.workspace import Workspace

RUN = "bench-run"
TIERS = ("simple", "standard", "complex", "reasoning")
AGENTS = ("Auto", "Codex", "Migrator", "QualityMonitor", "Codex-2")


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def work_item(folder: str, n: int) -> WorkItem:
    file = f"apps/{folder}/src/db{n % 7}.ts"
    return WorkItem.model_validate(
        {
            "id": f"apps/{folder}:{file}:{n}",
            "folder": f"apps/{folder}",
            "file": file,
            "start_line": 10 + n,
            "end_line": 12 + n,
            "reason": "the SQL text is built at run time",
            "site": {
                "file": file,
                "start_line": 10 + n,
                "end_line": 12 + n,
                "driver": "d1",
                "call": "env.DB.prepare().all",
                "is_async": True,
            },
            "context": "".join(
                f"{10 + n + i} | const q{i} = env.DB.prepare(sql);\n" for i in range(12)
            ),
        }
    )


def build_ledger(ws: Workspace, folders: int, approvals: int, calls: int) -> None:
    names = [f"folder-{i:03d}" for i in range(folders)]
    with Ledger.open(ws.ledger_path) as ledger:
        spec = EpicSpec(name="bench epic", staging="STAGING", template="{folder}.json", epic="38")
        create_run(ledger, RUN, spec=spec, source="bench.yaml", options=EpicOptions())
        ids: dict[str, list[int]] = {name: [] for name in names}
        for n in range(approvals):
            folder = names[n % folders]
            item = submit(
                ledger,
                ApprovalRequest(
                    payload=NeedsModelPayload(work_item=work_item(folder, n), prompt="p" * 2000),
                    title=f"needs a model: {folder} #{n}",
                    requester="Codex",
                    run_id=RUN,
                    step="refactor",
                ),
                ApprovalSettings(),
            )
            ids[folder].append(item.id)
            if n % 5:
                approve(ledger, item.id, by=("alice", "bob", "carol")[n % 3])
        for n in range(calls):
            record_model_call(
                ledger,
                ModelCallRow(
                    run_id=RUN,
                    tier=TIERS[n % 4],
                    model_group=TIERS[n % 4],
                    outcome=("ok", "ok", "ok", "fallback", "error")[n % 5],
                    agent=AGENTS[n % 5],
                    prompt_tokens=800 + n % 400,
                    completion_tokens=100 + n % 200,
                    cost_usd=0.0001 * (1 + n % 4),
                ),
            )
        for i, folder in enumerate(names):
            changed = [f"apps/{folder}/src/f{k}.ts" for k in range(20)]
            data: dict[str, dict[str, Any]] = {
                "plan": {"dest": f"apps/{folder}", "files": 20, "rewrites": 15, "unresolved": 1,
                         "sql_sites": 12},
                "migrate": {"files": 20, "changed": changed},
                "refactor": {"sites": 12, "recipes": 9, "needs_model": 2, "methods": 6,
                             "work_items": [], "model_answers": 1, "model_proposals": []},
                "gate": {"ok": True, "tsc_new_errors": 0, "tsc_summary": "0 new",
                         "violations": i % 3, "critical": int(i % 10 == 0), "quarantined": [],
                         "refused": None},
                "approve": {"items": [{"id": a, "kind": "needs_model", "state": "approved",
                                       "decided_by": "alice", "rule": None} for a in ids[folder]],
                            "pending": 0},
                "apply": {"batches": [f"batch-{folder}"], "files_written": 20},
                "tasks": {"subtask": f"38.{i + 1}", "status": "done", "remediation": []},
            }  # fmt: skip
            for step in FOLDER_STEPS:
                finish_step(ledger, begin_step(ledger, RUN, folder, step), "done", data[step])
            agent = AGENTS[i % 5]
            record_check(
                ledger, agent, f"batch-{folder}", violations=i % 3, critical=int(i % 10 == 0),
                reason="lazy placeholder",
            )  # fmt: skip
            if i % 10 == 0:
                release(ledger, agent, reason="reviewed", actor="alice")
            now = utc_now()
            record_patch_rows(ledger,
                [
                    PatchRow(now, kind, f"batch-{folder}", RUN, f"38.{i + 1}", "Codex", None,
                             None, f"apps/{folder}/src/f{k}.ts", "replace-block", k, 3, 2,
                             "passed", None)
                    for kind in ("requested", "applied")
                    for k in range(20)
                ]
            )  # fmt: skip
        finish_step(ledger, begin_step(ledger, RUN, RUN_FOLDER, REPORT_STEP), "done", {})
        set_run_status(ledger, RUN, "paused")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--approvals", type=int, default=500)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp))
        start = time.perf_counter()
        build_ledger(ws, args.folders, args.approvals, args.calls)
        setup = time.perf_counter() - start
        report = build_report(ws, RUN)
        build = timed(lambda: build_report(ws, RUN), args.runs)
        write = timed(lambda: write_report(ws, report), args.runs)
        both = timed(lambda: write_report(ws, build_report(ws, RUN)), args.runs)
        paths = write_report(ws, report)
        sizes = {p.suffix: p.stat().st_size for p in (paths.markdown, paths.json_path, paths.html)}
        t = report.totals
        print(
            f"run: {t.folders} folders x {len(FOLDER_STEPS)} steps, {t.approvals} approvals "
            f"({t.pending} pending), {t.model_calls} model calls, {len(report.batches)} batches; "
            f"ledger built in {setup:.1f} s"
        )
        print(f"build_report (median of {args.runs}): {build * 1000:.1f} ms")
        print(f"write_report (md + json + html): {write * 1000:.1f} ms")
        print(f"build + write: {both * 1000:.1f} ms")
        print(
            "sizes: "
            + ", ".join(f"{suffix[1:]} {size / 1024:.0f} KiB" for suffix, size in sizes.items())
        )


if __name__ == "__main__":
    main()
