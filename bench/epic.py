"""Benchmark: the migration epic's deterministic spine on the example STAGING folders.

On a fresh copy of the example monorepo (node_modules linked, so tsc is real), it runs the
epic over every folder of manifests/demo-epic.yaml with no model: plan, migrate, refactor,
gate (one real tsc run per folder on its overlay), approve. It then approves what waits for
a human, resumes (apply, tasks.json) and resumes once more with nothing left to do. It prints
the wall time of each pass, the time per step summed over the folders, and how many sites the
recipes handled. Requires `make setup` (examples/workspace/node_modules).

    uv run python bench/epic.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from engine.approvals.queue import approve, list_items
from engine.epic.models import FOLDER_STEPS, EpicOptions
from engine.epic.runner import EpicRunner, EpicSummary
from engine.epic.spec import load_epic
from engine.ledger.store import Ledger
from engine.settings import load_settings
from engine.validate.run import make_batch_validator, validate_workspace
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "manifests" / "demo-epic.yaml"


def _workspace(tmp: Path) -> Workspace:
    dest = tmp / "ws"
    shutil.copytree(
        ROOT / "examples" / "workspace",
        dest,
        ignore=shutil.ignore_patterns("node_modules", ".vibehq"),
    )
    (dest / "node_modules").symlink_to(ROOT / "examples" / "workspace" / "node_modules")
    return Workspace.open(dest)


def _pass(ws: Workspace, run_id: str) -> tuple[float, EpicSummary]:
    settings = load_settings(ws.root)
    started = time.perf_counter()
    runner = EpicRunner(
        ws,
        settings,
        EpicRunner.load(ws, run_id),
        tasks_path=None,
        validator=make_batch_validator(ws, settings),
    )
    runner.prepare()
    runner.decide()
    runner.apply()
    runner.update_plan()
    summary = runner.finish()
    return time.perf_counter() - started, summary


def one_run(tmp: Path) -> dict[str, float]:
    ws = _workspace(tmp)
    settings = load_settings(ws.root)
    validate_workspace(ws, tools=("tsc",), record=True, settings=settings)
    spec, label = load_epic(str(SPEC), ws, None)
    run = EpicRunner.create(
        ws, settings, spec, source=label, options=EpicOptions(), tasks_path=None
    )
    first, summary = _pass(ws, run.run_id)
    with Ledger.open(ws.ledger_path) as ledger:
        for item in list_items(ledger, state="pending", kind="patch_batch"):
            approve(ledger, item.id, by="bench")
    second, summary = _pass(ws, run.run_id)
    third, _ = _pass(ws, run.run_id)
    steps: dict[str, float] = defaultdict(float)
    recipes = needs = 0
    for record in EpicRunner.load(ws, run.run_id).steps:
        steps[record.step] += (record.duration_ms or 0) / 1000
        if record.step == "refactor":
            recipes += int(record.data.get("recipes", 0))
            needs += int(record.data.get("needs_model", 0))
    applied = sum(1 for w in summary.folders.values() if w == "applied")
    return {
        "first pass (plan..approve, 7 folders)": first,
        "resume after approval (apply)": second,
        "resume with nothing to do": third,
        **{f"step {s} (last pass, all folders)": steps[s] for s in FOLDER_STEPS},
        "folders applied": float(applied),
        "sites by recipes": float(recipes),
        "sites needing a model": float(needs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (ROOT / "examples" / "workspace" / "node_modules" / ".bin" / "tsc").exists():
        raise SystemExit("examples/workspace/node_modules is missing: run `make setup`")
    results: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            for key, value in one_run(Path(tmp)).items():
                results[key].append(value)
    print(f"epic over {SPEC.relative_to(ROOT)} (real tsc, no model), {args.runs} runs")
    for key, values in results.items():
        if key.startswith(("folders", "sites")):
            print(f"  {key:<42} {values[0]:.0f}")
        else:
            print(
                f"  {key:<42} median {statistics.median(values):7.2f} s"
                f"  (min {min(values):.2f}, max {max(values):.2f})"
            )


if __name__ == "__main__":
    main()
