"""Benchmark: migrate a generated STAGING corpus of 50 folders and ~2,000 TypeScript files,
with realistic imports and ~200 SQL sites.

Prints plan time, apply time, the time of a second (no-op) apply, files/s and peak memory.
Targets: plan <= 3 s, apply <= 5 s, second apply <= 1 s with 0 writes.

    uv run python bench/migrate.py [--folders 50] [--files-per-folder 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from engine.migrate.manifest import load_manifest
from engine.migrate.planner import plan_migration
from engine.migrate.runner import apply_migration
from engine.settings import Settings
from engine.workspace import Workspace


def module(folder: int, index: int, files: int) -> str:
    sibling = (index + 1) % files
    lines = [
        'import { Hono } from "hono";',
        'import { formatDate, slugify } from "../../shared/utils";',
        f'import type {{ Item{folder} }} from "../types";',
        f'import {{ helper{sibling} }} from "./mod{sibling:02d}";',
        'export * from "../../shared/contracts";',
        "",
        f"export function helper{index}(input: string): string {{",
        "  // import x from 'not-an-import' stays as it is",
        '  const note = "import y from \\"also-not\\"";',
        "  return slugify(input) + formatDate(new Date()) + note;",
        "}",
        "",
    ]
    for n in range(8):
        lines += [
            f"export async function handler{index}_{n}(req: Request): Promise<Response> {{",
            "  const url = new URL(req.url);",
            f"  const value = helper{sibling}(url.pathname);",
            "  if (!value) {",
            '    return new Response("missing", { status: 404 });',
            "  }",
            "  return Response.json({ value, n: " + str(n) + " });",
            "}",
            "",
        ]
    lines.append("export const app = new Hono();")
    return "\n".join(lines) + "\n"


DB_FILE = """import { Database } from "bun:sqlite";
import type { Item } from "../types";

export class Store {
  private db = new Database("store.sqlite");
  private insertItem = this.db.query("INSERT INTO items (name, price) VALUES (?, ?)");

  list(): Item[] {
    return this.db.query("SELECT id, name, price FROM items ORDER BY id").all() as Item[];
  }

  add(name: string, price: number): void {
    this.insertItem.run(name, price);
  }
}
"""


def build(root: Path, folders: int, files: int) -> tuple[Path, Path]:
    staging, ws = root / "STAGING", root / "ws"
    for f in range(folders):
        src = staging / f"worker{f:02d}" / "src"
        (src / "lib").mkdir(parents=True)
        for i in range(files - 3):
            (src / "lib" / f"mod{i:02d}.ts").write_text(module(f, i, files - 3))
        (src / "types.ts").write_text(
            f"export interface Item{f} {{ id: number }}\n"
            "export interface Item { id: number; name: string }\n"
        )
        (src / "lib" / "db.ts").write_text(DB_FILE)
        (src / "index.ts").write_text('export * from "./lib/mod00";\n')
    (ws / "@shared" / "utils").mkdir(parents=True)
    (ws / "@shared" / "contracts").mkdir(parents=True)
    (ws / "@shared" / "utils" / "index.ts").write_text("export const slugify = (s: string) => s;\n")
    (ws / "@shared" / "contracts" / "index.ts").write_text("export type Id = number;\n")
    (ws / "tsconfig.json").write_text(
        json.dumps({"compilerOptions": {"baseUrl": ".", "paths": {"@shared/*": ["@shared/*"]}}})
    )
    manifest = root / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "name": "bench",
                "sources": [
                    {"from": f"STAGING/worker{f:02d}", "to": f"apps/worker{f:02d}"}
                    for f in range(folders)
                ],
                "imports": [{"prefix": "../../shared/", "to": "@shared/"}],
            }
        )
    )
    return ws, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--files-per-folder", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vibehq-migrate-"))
    try:
        ws_root, manifest_path = build(work, args.folders, args.files_per_folder)
        ws = Workspace.open(ws_root)
        loaded = load_manifest(manifest_path)
        settings = Settings()
        os.sync()
        t0 = time.perf_counter()
        plan = plan_migration(ws, loaded).plan
        t1 = time.perf_counter()
        record, _ = apply_migration(ws, loaded, settings)
        t2 = time.perf_counter()
        again, _ = apply_migration(ws, loaded, settings)
        t3 = time.perf_counter()
        totals = plan.totals()
        files = totals["files"]
        print(
            f"folders: {args.folders}, files: {files}, import rewrites: {totals['rewrites']}, "
            f"unresolved: {totals['unresolved']}, SQL sites: {totals['sql_sites']}"
        )
        print(f"plan: {t1 - t0:.3f} s ({files / (t1 - t0):,.0f} files/s)")
        print(
            f"apply: {t2 - t1:.3f} s ({files / (t2 - t1):,.0f} files/s), "
            f"{record.written} files written"
        )
        print(f"second apply: {t3 - t2:.3f} s, {again.written} files written")
        print(
            f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
            "MiB max RSS"
        )
        ok = t1 - t0 <= 3 and t2 - t1 <= 5 and t3 - t2 <= 1 and again.written == 0
        print(
            f"targets (plan <= 3 s, apply <= 5 s, no-op <= 1 s, 0 writes): "
            f"{'met' if ok else 'MISSED'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
