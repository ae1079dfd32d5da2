"""Benchmark: the D1-to-RPC refactor on every STAGING fixture, and on a generated worker.

Part 0 plans the refactor of every folder of the real corpus (../shared/fixtures/real/STAGING,
copied to a tmp dir first; folders with no SQL are skipped): SQL sites, the share rewritten by
recipes, and the planning time per folder. Part 1 migrates examples/STAGING into a copy of
the example monorepo (no node_modules, no tsc) and plans the refactor of each folder: SQL
sites, the share recipes rewrite, the share left to a model, and the planning time. Part 2
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


_REAL = ROOT.parent / "shared" / "fixtures" / "real" / "STAGING"
_SKIP = frozenset({"node_modules", ".git", "dist", "build", ".vibehq"})


def real_share(real: Path, tmp: Path) -> None:
    """The recipe share per folder of the real corpus, planned on a tmp copy."""
    from engine.refactor.worker import refactor_worker
    from engine.syntax.parse import is_source

    if not real.is_dir():
        print(f"real corpus: {real} not found, skipped")
        return
    copy = tmp / "STAGING"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns(*_SKIP))
    total = {"sites": 0, "recipes": 0}
    print(f"{'real folder':<36} {'sites':>5} {'recipes':>7} {'share':>6} {'plan ms':>8}")
    for folder in sorted(p for p in copy.iterdir() if p.is_dir()):
        files = {
            path.relative_to(copy).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and is_source(path.name) and not path.name.endswith(".d.ts")
        }
        started = time.perf_counter()
        result = refactor_worker(copy, target_for(folder.name, None), files)
        elapsed = (time.perf_counter() - started) * 1000
        sites = len(result.decisions)
        if not sites:
            continue
        by_recipe = sum(1 for d in result.decisions if d.recipe is not None)
        total["sites"] += sites
        total["recipes"] += by_recipe
        print(
            f"{folder.name:<36} {sites:>5} {by_recipe:>7} {100 * by_recipe / sites:>5.0f}% "
            f"{elapsed:>8.1f}"
        )
    share = 100 * total["recipes"] / (total["sites"] or 1)
    print(f"{'total':<36} {total['sites']:>5} {total['recipes']:>7} {share:>5.0f}%")


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
