"""Benchmark: the gate's two halves.

1. The quality monitor scanning 2,000 TypeScript files (about 300k lines). Target: <= 2 s.
2. Validating a 20-file batch on the example workspace against an incremental baseline:
   the first (cold) run and a warm run.

    uv run python bench/validate.py [--files 2000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.settings import Settings
from engine.validate.quality import scan_paths
from engine.validate.run import make_batch_validator, validate_workspace
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
LINES = 150


def module(index: int) -> str:
    out = [f'import {{ helper{(index + 1) % 50} }} from "./m{(index + 1) % 50:04d}";', ""]
    n = 0
    while len(out) + 10 <= LINES - 1:
        out += [
            "/** Formats one record for the log. */",
            f"export function format{index}_{n}(id: number, name: string): string {{",
            "  const label = `${id}:${name}`;",
            "  if (label.length > 80) {",
            "    return label.slice(0, 80);",
            "  }",
            "  // keep short labels as they are",
            f"  return [label, ...[{n}]].join('-');",
            "}",
            "",
        ]
        n += 1
    out += [f"export const pad{k} = {k};" for k in range(LINES - 1 - len(out))]
    out.append(f"export const m{index} = {index};")
    return "\n".join(out) + "\n"


def bench_scan(root: Path, files: int) -> None:
    src = root / "scan" / "src"
    src.mkdir(parents=True)
    for i in range(files):
        (src / f"m{i:04d}.ts").write_text(module(i))
    t0 = time.perf_counter()
    report = scan_paths(root / "scan", ["src"])
    elapsed = time.perf_counter() - t0
    lines = files * LINES
    print(
        f"quality scan: {report.files_checked} files, {lines:,} lines in {elapsed:.3f} s "
        f"({lines / elapsed:,.0f} lines/s), {len(report.violations)} violations; "
        f"target <= 2 s: {'met' if elapsed <= 2 else 'MISSED'}"
    )


def twenty_file_batch(tag: str) -> PatchBatch:
    patches = [
        {
            "op": "create",
            "file": f"apps/bench/src/f{i:02d}_{tag}.ts",
            "block": f'import type {{ PatchEvent }} from "@shared/contracts";\n'
            f"export const n{i}: number = {i};\n"
            f"export function kind{i}(e: PatchEvent): string {{ return e.kind; }}\n",
        }
        for i in range(20)
    ]
    return PatchBatch.model_validate({"requester": "bench", "patches": patches})


def bench_validate(root: Path) -> None:
    source = ROOT / "examples" / "workspace"
    if not (source / "node_modules" / ".bin" / "tsc").exists():
        print("validate: skipped, examples/workspace/node_modules is missing (make setup)")
        return
    ws_root = root / "ws"
    shutil.copytree(source, ws_root, ignore=shutil.ignore_patterns("node_modules", ".vibehq"))
    (ws_root / "node_modules").symlink_to(source / "node_modules")
    ws = Workspace.open(ws_root)
    settings = Settings()
    t0 = time.perf_counter()
    validate_workspace(ws, record=True, settings=settings)
    baseline_s = time.perf_counter() - t0
    validator = make_batch_validator(ws, settings)
    times = []
    for tag in ("cold", "warm", "warm2"):
        t0 = time.perf_counter()
        result = apply_batch(
            ws, twenty_file_batch(tag), settings, dry_run=True, validator=validator
        )
        times.append(time.perf_counter() - t0)
        assert result.validation is not None and result.validation.ok
    print(f"baseline recorded (tsc, incremental state written): {baseline_s:.3f} s")
    print(
        f"20-file batch validated on a staging copy: first {times[0]:.3f} s, "
        f"warm {times[1]:.3f} s / {times[2]:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vibehq-validate-"))
    try:
        bench_scan(work, args.files)
        bench_validate(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
