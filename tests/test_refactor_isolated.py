"""A folder type-checked on its own (a real template with its own tsconfig) and a target whose
entrypoints differ from the conventions: what the refactor writes for them."""

from __future__ import annotations

from pathlib import Path

from engine.refactor.models import RpcTarget
from engine.refactor.orchestrator_style import entrypoint_style
from engine.refactor.worker import refactor_worker

TARGET = RpcTarget(
    folder="STAGING/notes",
    entrypoint_path="orchestrator/worker/entrypoints/NotesOps.ts",
    class_name="NotesOps",
    binding="ORCHESTRATOR_NOTES",
    wrangler="@shared/base/wrangler.base.jsonc",
)

_GLOBAL_ENV_WORKER = b"""export default {
\tasync fetch(request, env) {
\t\tconst row = await env.DB.prepare("SELECT * FROM notes WHERE id = ?").bind(1).first();
\t\treturn Response.json(row);
\t},
} satisfies ExportedHandler<Env>;
"""


def test_isolated_folder_augments_its_global_env_with_the_rpc_shape() -> None:
    files = {"STAGING/notes/src/index.ts": _GLOBAL_ENV_WORKER}
    result = refactor_worker(Path("/ws"), TARGET, files, isolated=True)
    assert [d.recipe for d in result.decisions] == ["d1-prepare-bind"]
    index = result.rewritten["STAGING/notes/src/index.ts"]
    # The global Env (wrangler's worker-configuration.d.ts) is not shadowed by a local one.
    assert "import type { Env }" not in index
    declaration = result.rewritten["STAGING/notes/src/vibehq-env.d.ts"]
    assert "import" not in declaration and "interface Env {" in declaration
    assert (
        "ORCHESTRATOR_NOTES: { getNoteById(id: string | number | boolean | null): "
        "Promise<Record<string, string | number | boolean | null> | null>; };"
    ) in declaration


def test_folder_in_the_orchestrator_program_keeps_service_of_the_class() -> None:
    files = {"STAGING/notes/src/index.ts": _GLOBAL_ENV_WORKER}
    result = refactor_worker(Path("/ws"), TARGET, files)
    assert "Service<NotesOps>" in result.rewritten["STAGING/notes/src/types.ts"]


def test_held_schema_statement_never_reaches_the_migration() -> None:
    source = b"""export async function reset(db: D1Database, id: string) {
  const row = await db.prepare("SELECT * FROM notes WHERE id = ?").bind(id).all();
  await db.prepare("DROP TABLE IF EXISTS notes").run();
  return row;
}
"""
    result = refactor_worker(Path("/ws"), TARGET, {"STAGING/notes/src/db.ts": source})
    held = [d for d in result.decisions if d.site.kind == "ddl"]
    assert held and held[0].recipe is None
    assert result.ddl == []


def test_entrypoint_style_follows_the_sibling_entrypoints(tmp_path: Path) -> None:
    base = tmp_path / "@shared" / "base"
    base.mkdir(parents=True)
    (base / "workerEntrypoint.ts").write_text(
        "export abstract class BaseWorkerEntrypoint<T> extends WorkerEntrypoint<T> {}\n"
    )
    types = tmp_path / "@shared" / "types"
    types.mkdir()
    (types / "env.ts").write_text("export interface CoreEnv {\n  DB?: D1Database\n}\n")
    entrypoints = tmp_path / "orchestrator" / "worker" / "entrypoints"
    entrypoints.mkdir(parents=True)
    for name in ("A", "B"):
        (entrypoints / f"{name}.ts").write_text(
            "import { BaseWorkerEntrypoint } from '@shared/base/workerEntrypoint';\n"
            "import type { CoreEnv } from '@shared/types/env';\n"
            f"export class {name} extends BaseWorkerEntrypoint<CoreEnv> {{}}\n"
        )
    style = entrypoint_style(tmp_path, TARGET)
    assert (style.base, style.env_type, style.env_import, style.db) == (
        "@shared/base/workerEntrypoint",
        "CoreEnv",
        "@shared/types/env",
        "this.env.DB!",
    )
    assert entrypoint_style(tmp_path / "empty", TARGET).env_type == "Env"
