"""The orchestrator side of the D1-to-RPC refactor, applied to copies of examples/workspace."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.migrate.tsconfig import strip_jsonc
from engine.patch.apply import apply_batch
from engine.patch.models import PatchBatch
from engine.refactor.models import RpcMethod, RpcParam, RpcTarget
from engine.refactor.orchestrator import orchestrator_batch, render_entrypoint, render_method
from engine.settings import Settings
from engine.workspace import Workspace

EXAMPLE_WORKSPACE = Path(__file__).resolve().parent.parent / "examples" / "workspace"
WRANGLER = "@shared/base/wrangler.base.jsonc"
INDEX = "orchestrator/worker/entrypoints/index.ts"
PATCH_TS = "orchestrator/worker/entrypoints/patch.ts"
ENTRYPOINT = "orchestrator/worker/entrypoints/SqliteDemoOps.ts"
DDL = [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT)",
    "CREATE INDEX notes_title ON notes (title);",
]

TARGET = RpcTarget(
    folder="apps/sqlite-demo",
    entrypoint_path=ENTRYPOINT,
    class_name="SqliteDemoOps",
    binding="ORCHESTRATOR_SQLITE_DEMO",
    wrangler=WRANGLER,
)

LIST_NOTES = RpcMethod(
    name="selectNotesByTitle",
    sql="SELECT id, title FROM notes WHERE title = ? ORDER BY id",
    kind="select",
    params=[RpcParam(name="title", ts_type="string")],
    returns="rows",
    tables_read=["notes"],
    sites=["apps/sqlite-demo/src/notes.ts:40", "apps/sqlite-demo/src/index.ts:12"],
)
GET_NOTE = RpcMethod(
    name="selectNotesById",
    sql="SELECT * FROM notes WHERE id = ?",
    kind="select",
    params=[RpcParam(name="id")],
    returns="row",
    tables_read=["notes"],
    sites=["apps/sqlite-demo/src/index.ts:30"],
)
ADD_NOTE = RpcMethod(
    name="insertNotes",
    sql="INSERT INTO notes (title, body) VALUES (?, ?)",
    kind="insert",
    params=[RpcParam(name="title", ts_type="string"), RpcParam(name="body")],
    returns="result",
    tables_written=["notes"],
    sites=["apps/sqlite-demo/src/index.ts:9", "apps/sqlite-demo/src/index.ts:10"],
)
COUNT_NOTES = RpcMethod(
    name="countNotes",
    sql="SELECT COUNT(*) AS n FROM notes",
    kind="select",
    returns="row",
)
METHODS = [LIST_NOTES, GET_NOTE, ADD_NOTE]


def copy_workspace(tmp_path: Path, *, link_modules: bool = False) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLE_WORKSPACE, root, ignore=shutil.ignore_patterns("node_modules"), symlinks=True
    )
    if link_modules:
        (root / "node_modules").symlink_to(
            EXAMPLE_WORKSPACE / "node_modules", target_is_directory=True
        )
    return root


def build(
    root: Path,
    methods: Sequence[RpcMethod] = METHODS,
    ddl: Sequence[str] = DDL,
    target: RpcTarget = TARGET,
) -> PatchBatch | None:
    return orchestrator_batch(
        root, target, methods, ddl, migration_name="sqlite_demo", task_id="21.3"
    )


def apply(root: Path, batch: PatchBatch | None) -> None:
    assert batch is not None
    apply_batch(Workspace.open(root), batch, Settings())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_workspace(tmp_path)


# --- rendering ---------------------------------------------------------------------------


def test_render_rows_method() -> None:
    assert render_method(LIST_NOTES) == (
        "  /** Replaces the select SQL at apps/sqlite-demo/src/index.ts:12, "
        "apps/sqlite-demo/src/notes.ts:40. */\n"
        "  async selectNotesByTitle(title: string): Promise<Row[]> {\n"
        "    const { results } = await this.env.DB.prepare("
        '"SELECT id, title FROM notes WHERE title = ? ORDER BY id").bind(title).all<Row>();\n'
        "    return results;\n"
        "  }\n"
    )


def test_render_row_method() -> None:
    assert render_method(GET_NOTE) == (
        "  /** Replaces the select SQL at apps/sqlite-demo/src/index.ts:30. */\n"
        "  async selectNotesById(id: SqlValue): Promise<Row | null> {\n"
        '    return await this.env.DB.prepare("SELECT * FROM notes WHERE id = ?")'
        ".bind(id).first<Row>();\n"
        "  }\n"
    )


def test_render_result_method_orders_sites_by_line_number() -> None:
    assert render_method(ADD_NOTE) == (
        "  /** Replaces the insert SQL at apps/sqlite-demo/src/index.ts:9, "
        "apps/sqlite-demo/src/index.ts:10. */\n"
        "  async insertNotes(title: string, body: SqlValue): "
        "Promise<WriteResult> {\n"
        "    const { meta } = await this.env.DB.prepare("
        '"INSERT INTO notes (title, body) VALUES (?, ?)").bind(title, body).run();\n'
        "    const { changes, last_row_id, rows_written } = meta;\n"
        "    return {\n"
        "      changes,\n"
        "      lastInsertRowid: last_row_id,\n"
        "      rowsWritten: rows_written,\n"
        "      meta: { changes, last_row_id, rows_written },\n"
        "    };\n"
        "  }\n"
    )


def test_render_method_without_params_or_sites() -> None:
    assert render_method(COUNT_NOTES) == (
        "  /** Runs select SQL moved to the orchestrator. */\n"
        "  async countNotes(): Promise<Row | null> {\n"
        '    return await this.env.DB.prepare("SELECT COUNT(*) AS n FROM notes").first<Row>();\n'
        "  }\n"
    )


def test_sql_with_quotes_backslashes_and_newlines_is_one_safe_string_literal() -> None:
    sql = "SELECT 'it''s' AS a, \"col\" AS b, 'C:\\dir\\' AS c, `x` AS d, '${x}'\nFROM t"
    method = RpcMethod(name="selectOdd", sql=sql, kind="select", returns="rows")
    text = render_method(method)
    literal = re.search(r"prepare\((\".*\")\)\.all", text)
    assert literal is not None
    # JSON string syntax is a subset of JS string literal syntax, so this is what JS reads.
    assert json.loads(literal.group(1)) == sql
    raw = literal.group(1)
    # Double quotes and backslashes escaped, the newline as \n; single quotes, backticks and
    # ${} need nothing inside a double-quoted literal.
    assert '\\"col\\"' in raw and "C:\\\\dir\\\\" in raw and "'${x}'\\nFROM" in raw
    assert len(text.splitlines()) == 5


def test_jsdoc_cannot_be_closed_by_a_site() -> None:
    method = GET_NOTE.model_copy(update={"sites": ["evil*/.ts:1"]})
    first = render_method(method).splitlines()[0]
    assert first.count("*/") == 1 and first.endswith("*/")


def test_render_entrypoint_full_text() -> None:
    target = TARGET.model_copy(
        update={"entrypoint_path": "orchestrator/worker/entrypoints/sqlite/SqliteDemoOps.ts"}
    )
    assert render_entrypoint(target, [GET_NOTE]) == (
        'import { BaseWorkerEntrypoint } from "@shared/base/BaseWorkerEntrypoint";\n'
        'import type { Env } from "../../types";\n'
        "\n"
        "export type SqlValue = string | number | boolean | null;\n"
        "export type Row = Record<string, SqlValue>;\n"
        "export interface WriteResult {\n"
        "  changes: number;\n"
        "  lastInsertRowid: number;\n"
        "  rowsWritten: number;\n"
        "  meta: { changes: number; last_row_id: number; rows_written: number };\n"
        "}\n"
        "\n"
        "/**\n"
        " * RPC entrypoint behind the ORCHESTRATOR_SQLITE_DEMO service binding.\n"
        " * It runs the SQL moved out of apps/sqlite-demo on the orchestrator's D1.\n"
        " */\n"
        "export class SqliteDemoOps extends BaseWorkerEntrypoint<Env> {\n"
        '  protected readonly entrypointName = "SqliteDemoOps";\n'
        "\n"
        "  /** Replaces the select SQL at apps/sqlite-demo/src/index.ts:30. */\n"
        "  async selectNotesById(id: SqlValue): Promise<Row | null> {\n"
        '    return await this.env.DB.prepare("SELECT * FROM notes WHERE id = ?")'
        ".bind(id).first<Row>();\n"
        "  }\n"
        "\n"
        "  // @vibehq:rpc-methods\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (GET_NOTE.model_copy(update={"name": "select-notes"}), "not a usable"),
        (GET_NOTE.model_copy(update={"name": "log"}), "shadow"),
        (GET_NOTE.model_copy(update={"params": [RpcParam(name="delete")]}), "not a usable"),
        (
            GET_NOTE.model_copy(update={"params": [RpcParam(name="id"), RpcParam(name="id")]}),
            "two parameters",
        ),
        (
            GET_NOTE.model_copy(update={"params": [RpcParam(name="id", ts_type="x; }")]}),
            "bad type",
        ),
    ],
)
def test_unusable_names_are_refused(method: RpcMethod, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        render_method(method)


# --- the batch on a real workspace -------------------------------------------------------


def test_batch_creates_class_migration_export_and_binding(root: Path) -> None:
    migrations = root / "orchestrator" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_init.sql").write_text("CREATE TABLE a (id INTEGER);\n")
    (migrations / "0007_logs.sql").write_text("CREATE TABLE b (id INTEGER);\n")
    (migrations / "12_stray.sql").write_text("CREATE TABLE c (id INTEGER);\n")
    (migrations / "9999_notes.txt").write_text("not a migration\n")
    wrangler_before = (root / WRANGLER).read_text()

    apply(root, build(root))

    entrypoint = (root / ENTRYPOINT).read_text()
    assert entrypoint == render_entrypoint(TARGET, METHODS)
    # Methods come in name order whatever order they were given in.
    names = re.findall(r"^  async (\w+)\(", entrypoint, re.M)
    assert names == ["insertNotes", "selectNotesById", "selectNotesByTitle"]

    assert (migrations / "0008_sqlite_demo.sql").read_text() == (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT);\n"
        "CREATE INDEX notes_title ON notes (title);\n"
    )

    index = (root / INDEX).read_text()
    assert (
        'export { PatchOps } from "./patch";\n'
        'export { SqliteDemoOps } from "./SqliteDemoOps";\n'
        "// @vibehq:entrypoint-exports\n"
    ) in index
    assert (
        'export const ENTRYPOINT_NAMES = ["LoggingOps", "PatchOps", "SqliteDemoOps"] as const;\n'
        in index
    )

    wrangler = (root / WRANGLER).read_text()
    assert (
        wrangler.replace(
            "    // SqliteDemoOps: SQL moved out of apps/sqlite-demo (vibehq D1-to-RPC refactor).\n"
            '    { "binding": "ORCHESTRATOR_SQLITE_DEMO", "service": "vibehq-orchestrator", '
            '"entrypoint": "SqliteDemoOps" },\n',
            "",
            1,
        )
        == wrangler_before
    ), "only the two new lines, right after the services line"
    assert wrangler.index("ORCHESTRATOR_SQLITE_DEMO") < wrangler.index("ORCHESTRATOR_PATCH")
    config = json.loads(strip_jsonc(wrangler))
    assert config["services"][0] == {
        "binding": "ORCHESTRATOR_SQLITE_DEMO",
        "service": "vibehq-orchestrator",
        "entrypoint": "SqliteDemoOps",
    }
    assert len(config["services"]) == 4


def test_first_migration_is_0001(root: Path) -> None:
    batch = build(root)
    assert batch is not None
    created = [p.file for p in batch.patches if p.op == "create"]
    assert "orchestrator/migrations/0001_sqlite_demo.sql" in created


def test_batch_pins_the_files_it_edits_and_writes_nothing(root: Path) -> None:
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    batch = build(root)
    assert batch is not None
    assert sorted(batch.base_sha256) == [WRANGLER, INDEX]
    assert batch.task_id == "21.3" and all(p.task_id == "21.3" for p in batch.patches)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_same_input_gives_byte_identical_batch(root: Path) -> None:
    first = build(root)
    again = build(root, methods=list(reversed(METHODS)))
    assert first is not None and again is not None
    assert first.model_dump_json() == again.model_dump_json()


def test_second_run_on_the_result_is_none(root: Path) -> None:
    apply(root, build(root))
    assert build(root) is None


def test_existing_migration_with_same_content_is_not_repeated(root: Path) -> None:
    migrations = root / "orchestrator" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0003_notes.sql").write_text(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT);\n"
        "CREATE INDEX notes_title ON notes (title);\n"
    )
    batch = build(root)
    assert batch is not None
    assert not [p for p in batch.patches if p.file.startswith("orchestrator/migrations/")]


def test_no_ddl_means_no_migration(root: Path) -> None:
    batch = build(root, ddl=["  ", ";"])
    assert batch is not None
    assert not [p for p in batch.patches if p.file.endswith(".sql")]


def test_existing_entrypoint_gets_only_missing_methods_at_the_marker(root: Path) -> None:
    target = TARGET.model_copy(
        update={
            "entrypoint_path": PATCH_TS,
            "class_name": "PatchOps",
            "binding": "ORCHESTRATOR_PATCH",
        }
    )
    existing = RpcMethod(
        name="listPatchEvents", sql="SELECT 1", kind="select", params=[], returns="rows"
    )
    before = (root / PATCH_TS).read_text()
    batch = build(root, methods=[existing, COUNT_NOTES, GET_NOTE], ddl=[], target=target)
    assert batch is not None
    # PatchOps is already exported, listed and bound: only patch.ts changes.
    assert {p.file for p in batch.patches} == {PATCH_TS}

    apply(root, batch)
    after = (root / PATCH_TS).read_text()
    assert after.count("async listPatchEvents(") == 1
    tail = (
        "    return results;\n"
        "  }\n"
        "\n" + render_method(COUNT_NOTES) + "\n" + render_method(GET_NOTE) + "\n"
        "  // @vibehq:rpc-methods\n"
        "}\n"
    )
    assert after.endswith(tail)
    # The row types go above the class's doc comment, not between it and the class.
    assert (
        "const MAX_PATCHES_PER_BATCH = 200;\n"
        "\n"
        "export type SqlValue = string | number | boolean | null;\n"
        "export type Row = Record<string, SqlValue>;\n"
        "export interface WriteResult {\n"
        "  changes: number;\n"
        "  lastInsertRowid: number;\n"
        "  rowsWritten: number;\n"
        "  meta: { changes: number; last_row_id: number; rows_written: number };\n"
        "}\n"
        "\n"
        "/**\n"
        " * RPC entrypoint behind the ORCHESTRATOR_PATCH service binding.\n"
    ) in after
    assert after.replace(tail, "").startswith(before.split("/**\n * RPC entrypoint")[0])

    assert build(root, methods=[existing, COUNT_NOTES, GET_NOTE], ddl=[], target=target) is None


def test_row_types_already_present_are_reused(root: Path) -> None:
    apply(root, build(root, methods=[GET_NOTE]))
    batch = build(root, methods=[GET_NOTE, COUNT_NOTES])
    assert batch is not None
    assert [(p.op, p.file, p.marker) for p in batch.patches] == [
        ("insert-before", ENTRYPOINT, "// @vibehq:rpc-methods")
    ]
    apply(root, batch)
    text = (root / ENTRYPOINT).read_text()
    assert text.count("export type Row =") == 1
    assert text == render_entrypoint(TARGET, [GET_NOTE, COUNT_NOTES]).replace(
        render_method(COUNT_NOTES) + "\n" + render_method(GET_NOTE),
        render_method(GET_NOTE) + "\n" + render_method(COUNT_NOTES),
    )


def test_existing_file_without_the_class_or_marker_is_refused(root: Path) -> None:
    target = TARGET.model_copy(update={"entrypoint_path": PATCH_TS})
    with pytest.raises(BadInput, match="does not declare class SqliteDemoOps"):
        build(root, target=target)
    patch_ts = root / PATCH_TS
    patch_ts.write_text(patch_ts.read_text().replace("  // @vibehq:rpc-methods\n", ""))
    target = target.model_copy(update={"class_name": "PatchOps"})
    with pytest.raises(BadInput, match="rpc-methods"):
        build(root, target=target)


def test_wrangler_without_services_line_is_refused(root: Path) -> None:
    (root / WRANGLER).write_text('{\n  "name": "x",\n  "services": []\n}\n')
    with pytest.raises(BadInput, match=re.escape(WRANGLER)):
        build(root)


def test_wrangler_empty_services_list_gets_entry_without_trailing_comma(root: Path) -> None:
    (root / WRANGLER).write_text(
        '// config\n{\n    "name": "x",\n    "services": [ // none yet\n    ]\n}\n'
    )
    apply(root, build(root))
    text = (root / WRANGLER).read_text()
    assert text == (
        "// config\n{\n"
        '    "name": "x",\n'
        '    "services": [ // none yet\n'
        "      // SqliteDemoOps: SQL moved out of apps/sqlite-demo (vibehq D1-to-RPC refactor).\n"
        '      { "binding": "ORCHESTRATOR_SQLITE_DEMO", "service": "vibehq-orchestrator", '
        '"entrypoint": "SqliteDemoOps" }\n'
        "    ]\n}\n"
    )
    assert json.loads(strip_jsonc(text))["services"][0]["binding"] == "ORCHESTRATOR_SQLITE_DEMO"


def test_existing_binding_name_skips_wrangler(root: Path) -> None:
    target = TARGET.model_copy(update={"binding": "ORCHESTRATOR_TASKS"})
    batch = build(root, target=target)
    assert batch is not None
    assert WRANGLER not in {p.file for p in batch.patches}


def test_multiline_entrypoint_names_list_keeps_its_layout(root: Path) -> None:
    index = root / INDEX
    index.write_text(
        index.read_text().replace(
            'export const ENTRYPOINT_NAMES = ["LoggingOps", "PatchOps"] as const;',
            'export const ENTRYPOINT_NAMES = [\n  "LoggingOps",\n  "PatchOps",\n] as const;',
        )
    )
    apply(root, build(root))
    assert (
        'export const ENTRYPOINT_NAMES = [\n  "LoggingOps",\n  "PatchOps",\n  "SqliteDemoOps",\n'
        "] as const;\n"
    ) in index.read_text()
    assert build(root) is None


def test_method_given_twice_with_other_sql_is_refused(root: Path) -> None:
    clash = GET_NOTE.model_copy(update={"sql": "SELECT 2"})
    with pytest.raises(BadInput, match="given twice"):
        build(root, methods=[GET_NOTE, clash])


# --- the workspace's own TypeScript compiler ---------------------------------------------


@pytest.mark.integration
def test_workspace_typechecks_after_apply(tmp_path: Path) -> None:
    tsc = EXAMPLE_WORKSPACE / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.skip(
            "examples/workspace/node_modules/.bin/tsc is missing: "
            "run `make setup` (or `npm ci` in examples/workspace)"
        )
    root = copy_workspace(tmp_path, link_modules=True)
    apply(root, build(root, methods=[*METHODS, COUNT_NOTES]))
    patch_target = TARGET.model_copy(
        update={
            "entrypoint_path": PATCH_TS,
            "class_name": "PatchOps",
            "binding": "ORCHESTRATOR_PATCH",
        }
    )
    apply(root, build(root, methods=[GET_NOTE, ADD_NOTE], ddl=[], target=patch_target))
    done = subprocess.run(
        [str(root / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_migration_follows_the_hand_written_numbering_after_drizzle_files(root: Path) -> None:
    """The real target mixes drizzle-kit's 0000-0003 (in meta/_journal.json) with hand-written
    002-012: a new migration is 013_<name>.sql, after every file, in the hand-written width."""
    migrations = root / "orchestrator" / "migrations"
    (migrations / "meta").mkdir(parents=True)
    for name in ("0000_living_forge", "0003_bumpy_albert_cleary", "002_ops", "012_data"):
        (migrations / f"{name}.sql").write_text(f"CREATE TABLE {name[5:]} (id INTEGER);\n")
    (migrations / "meta" / "_journal.json").write_text(
        '{"entries": [{"tag": "0000_living_forge"}, {"tag": "0003_bumpy_albert_cleary"}]}'
    )
    batch = orchestrator_batch(
        root, TARGET, METHODS, ["CREATE TABLE t (id INTEGER)"], migration_name="demo"
    )
    assert batch is not None
    created = [p.file for p in batch.patches if p.op == "create" and p.file.endswith(".sql")]
    assert created == ["orchestrator/migrations/013_demo.sql"]
