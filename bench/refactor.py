"""Benchmark: the D1-to-RPC refactor on every STAGING fixture, and on a generated worker.

Part 0 plans the refactor of every folder of the real corpus (../shared/fixtures/real: the
target monorepo with STAGING placed inside it, copied to a tmp dir first; folders with no SQL
are skipped): hand-labelled sites, sites found, the labelled sites recipes rewrite (the
share), the planning time and the migration file per folder. Part 1 migrates examples/STAGING
into a copy of the example monorepo (no node_modules, no tsc) and plans the refactor of each
folder: SQL sites, the share recipes rewrite, the share left to a model, and the planning
time. Part 2
plans a generated D1 worker of N handlers (one SQL site each) to show how planning scales.

    uv run python bench/refactor.py [--handlers 400] [--runs 3] [--real PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from engine.migrate.batchrun import run_batch
from engine.refactor.pipeline import plan_refactor, target_for
from engine.settings import Settings
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def _workspace(tmp: Path) -> Workspace:
    dest = tmp / "ws"
    shutil.copytree(
        ROOT / "examples" / "workspace",
        dest,
        ignore=shutil.ignore_patterns("node_modules", ".vibehq"),
    )
    return Workspace.open(dest)


def staging_share(tmp: Path) -> None:
    ws = _workspace(tmp)
    run_batch(
        ws,
        Settings(),
        ROOT / "examples" / "STAGING",
        ROOT / "manifests" / "staging-template.yaml",
        progress=False,
    )
    total = {"sites": 0, "recipes": 0, "needs_model": 0}
    print(f"{'folder':<15} {'sites':>5} {'recipes':>7} {'model':>5} {'plan ms':>8}")
    for folder in sorted(p.name for p in (ws.root / "apps").iterdir()):
        if not (ROOT / "examples" / "STAGING" / folder).is_dir():
            continue
        started = time.perf_counter()
        plan = plan_refactor(ws, target_for(f"apps/{folder}", None))
        elapsed = (time.perf_counter() - started) * 1000
        share = plan.share()
        for key in total:
            total[key] += share[key]
        print(
            f"{folder:<15} {share['sites']:>5} {share['recipes']:>7} "
            f"{share['needs_model']:>5} {elapsed:>8.1f}"
        )
    sites = total["sites"] or 1
    print(
        f"{'total':<15} {total['sites']:>5} {total['recipes']:>7} {total['needs_model']:>5}"
        f"   recipes {100 * total['recipes'] / sites:.0f}%, "
        f"needs-model {100 * total['needs_model'] / sites:.0f}%"
    )


def _generated_worker(handlers: int) -> str:
    lines = ["interface Env {", "  DB: D1Database;", "}", ""]
    for i in range(handlers):
        lines += [
            f"export async function handler{i}(env: Env, id: number): Promise<unknown> {{",
            f'  return await env.DB.prepare("SELECT id, v{i % 50} FROM t{i % 20} WHERE id = ?")'
            ".bind(id).first();",
            "}",
            "",
        ]
    return "\n".join(lines)


def generated(tmp: Path, handlers: int, runs: int) -> None:
    ws = _workspace(tmp)
    src = ws.root / "apps" / "generated" / "src"
    src.mkdir(parents=True)
    (src / "index.ts").write_text(_generated_worker(handlers))
    times = []
    plan = None
    for _ in range(runs):
        started = time.perf_counter()
        plan = plan_refactor(ws, target_for("apps/generated", None))
        times.append(time.perf_counter() - started)
    assert plan is not None
    share = plan.share()
    median = statistics.median(times)
    print(
        f"generated worker: {handlers} handlers, {share['sites']} sites, "
        f"{share['recipes']} by recipes, {len(plan.methods)} RPC methods; "
        f"plan median {median:.2f} s ({share['sites'] / median:,.0f} sites/s) over {runs} runs"
    )


_REAL = ROOT.parent / "shared" / "fixtures" / "real"
_LABELS = ROOT / "tests" / "fixtures" / "real_sql_labels.json"
_SKIP = frozenset({"node_modules", ".git", "dist", "build", ".vibehq"})


def _labels() -> dict[str, set[tuple[str, int]]]:
    """The hand-labelled SQL sites, by folder: (file inside the folder, first line)."""
    import json

    labelled: dict[str, set[tuple[str, int]]] = {}
    for site in json.loads(_LABELS.read_text())["sites"]:
        labelled.setdefault(site["folder"], set()).add((site["file"], site["line"]))
    return labelled


def _matched(
    labels: set[tuple[str, int]], found: list[tuple[str, int]], by_recipe: set[tuple[str, int]]
) -> int:
    """How many labels a recipe rewrote. A label names the statement's first line; the finder
    may report the line that runs it (`const stmt = db.prepare(...)` on line 5, `stmt.all()`
    on 6), so each label takes the nearest unclaimed site of its file within 3 lines."""
    free = sorted(found)
    hits = 0
    for file, line in sorted(labels):
        near = [s for s in free if s[0] == file and abs(s[1] - line) <= 3]
        if not near:
            continue
        site = min(near, key=lambda s: (abs(s[1] - line), s[1]))
        free.remove(site)
        hits += site in by_recipe
    return hits


def real_share(real: Path, tmp: Path) -> None:
    """The recipe share per folder of the real corpus: a tmp copy of the target monorepo with
    every STAGING folder placed inside it (as the epic migrates it), then each folder planned.
    `labelled` counts the hand labels, `found` the sites the finder reports, `recipes` the
    labelled sites a recipe rewrites; the share is recipes / labelled."""
    if not (real / "STAGING").is_dir() or not (real / "target").is_dir():
        print(f"real corpus: {real}/STAGING or target not found, skipped")
        return
    root = tmp / "target"
    shutil.copytree(real / "target", root, ignore=shutil.ignore_patterns(*_SKIP))
    shutil.copytree(real / "STAGING", root / "STAGING", ignore=shutil.ignore_patterns(*_SKIP))
    ws = Workspace.open(root)
    labels = _labels()
    begun = time.perf_counter()
    total = {"labelled": 0, "found": 0, "recipes": 0, "left": 0}
    print(
        f"{'real folder':<34} {'labelled':>8} {'found':>5} {'recipes':>7} {'share':>6} "
        f"{'plan ms':>8}  migration"
    )
    for folder in sorted(p.name for p in (root / "STAGING").iterdir() if p.is_dir()):
        started = time.perf_counter()
        plan = plan_refactor(ws, target_for(f"STAGING/{folder}", None))
        elapsed = (time.perf_counter() - started) * 1000
        mine = labels.get(folder, set())
        if not plan.decisions and not mine:
            continue
        prefix = f"STAGING/{folder}/"
        hits = _matched(
            mine,
            [(d.site.file.removeprefix(prefix), d.site.start_line) for d in plan.decisions],
            {
                (d.site.file.removeprefix(prefix), d.site.start_line)
                for d in plan.decisions
                if d.recipe
            },
        )
        migration = next(
            (
                p.file.rsplit("/", 1)[-1]
                for p in (plan.orchestrator.patches if plan.orchestrator else [])
                if p.file.endswith(".sql")
            ),
            "-",
        )
        total["labelled"] += len(mine)
        total["found"] += len(plan.decisions)
        total["recipes"] += hits
        total["left"] += sum(1 for d in plan.decisions if d.recipe is None)
        share = 100 * hits / (len(mine) or 1)
        print(
            f"{folder:<34} {len(mine):>8} {len(plan.decisions):>5} {hits:>7} {share:>5.0f}% "
            f"{elapsed:>8.1f}  {migration}"
        )
    share = 100 * total["recipes"] / (total["labelled"] or 1)
    took = time.perf_counter() - begun
    print(
        f"{'total':<34} {total['labelled']:>8} {total['found']:>5} {total['recipes']:>7} "
        f"{share:>5.0f}%   ({total['left']} found sites left to a model; {took:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handlers", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--real", type=Path, default=_REAL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        real_share(args.real, Path(tmp) / "real")
        staging_share(Path(tmp) / "staging")
        generated(Path(tmp) / "generated", args.handlers, args.runs)


if __name__ == "__main__":
    main()
