"""Prompt templates render every piece of context, and parse_answer gates what a model sends."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.migrate.models import SqlSite
from engine.patch.validation import Finding
from engine.refactor.models import RpcMethod, RpcParam, RpcTarget, WorkItem
from engine.refactor.prompts import (
    PROMPTS_DIR,
    STANDARDIZATION_RULES,
    AnswerRejected,
    load_template,
    parse_answer,
    rejection_message,
    render_entrypoint_prompt,
    render_remediation,
    render_work_item,
    work_item_files,
    workspace_conventions,
)

WORKSPACE = Path(__file__).resolve().parents[1] / "examples" / "workspace"
BOARD = "apps/unsafe-cases/src/board.ts"
ENTRYPOINT = "orchestrator/worker/entrypoints/UnsafeCasesOps.ts"

TARGET = RpcTarget(
    folder="apps/unsafe-cases",
    entrypoint_path=ENTRYPOINT,
    class_name="UnsafeCasesOps",
    binding="ORCHESTRATOR_UNSAFE_CASES",
    wrangler="@shared/base/wrangler.base.jsonc",
)
SITE = SqlSite(
    file=BOARD,
    start_line=16,
    end_line=18,
    driver="bun:sqlite",
    call="this.db.query().get",
    statement="SELECT COUNT(*) AS total FROM issues WHERE project = ? AND state = 'open'",
    kind="select",
    tables_read=["issues"],
    is_async=False,
    function="openCount",
    class_name="Board",
)
CONTEXT = """\
14 |   get openCount(): number {
15 |     const row = this.db
16 |       .query("SELECT COUNT(*) AS total FROM issues WHERE project = ? AND state = 'open'")
17 |       .get(this.project) as { total: number };
18 |     return row.total;
19 |   }"""
ITEM = WorkItem(
    id="apps/unsafe-cases:src/board.ts:16",
    folder="apps/unsafe-cases",
    file=BOARD,
    start_line=16,
    end_line=18,
    reason="a getter runs the query synchronously and cannot await an RPC call",
    site=SITE,
    context=CONTEXT,
    methods=["countIssuesOpenByProject"],
)
METHOD = RpcMethod(
    name="countIssuesOpenByProject",
    sql=SITE.statement or "",
    kind="select",
    params=[RpcParam(name="project", ts_type="string")],
    returns="row",
    tables_read=["issues"],
    sites=[f"{BOARD}:16"],
)


def _placeholders_left(template_name: str, rendered: str) -> list[str]:
    names = load_template(template_name).placeholders
    return [name for name in names if "{" + name + "}" in rendered]


def _fenced(batch: object) -> str:
    return "Here is the batch.\n\n```json\n" + json.dumps(batch, indent=2) + "\n```\n"


def _batch(*patches: Mapping[str, object]) -> dict[str, object]:
    return {
        "orderId": "d1-to-rpc-board",
        "requester": "vibehq-refactor",
        "reason": "openCount: async RPC",
        "patches": [dict(p) for p in patches],
    }


REPLACE = {
    "op": "replace-block",
    "file": BOARD,
    "start": 14,
    "end": 19,
    "block": "  async openCount(): Promise<number> {\n    return 0;\n  }",
}


# --------------------------------------------------------------------------- templates


def test_templates_resolve_latest_and_explicit_versions() -> None:
    for name in (
        "d1_to_rpc/worker_refactor",
        "d1_to_rpc/orchestrator_entrypoint",
        "d1_to_rpc/remediate",
    ):
        latest = load_template(name)
        assert latest.version == 1
        assert latest.path.parent == PROMPTS_DIR / "d1_to_rpc"
        assert load_template(name, 1).text == latest.text
        assert latest.text.startswith(f"<!-- template: {name}, version: 1 -->\n")


def test_higher_version_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = tmp_path / "demo"
    group.mkdir()
    for version in (1, 2, 10):
        (group / f"t.v{version}.md").write_text(
            f"<!-- template: demo/t, version: {version} -->\nv{version} {{x}}\n", encoding="utf-8"
        )
    monkeypatch.setattr("engine.refactor.prompts.PROMPTS_DIR", tmp_path)
    assert load_template("demo/t").version == 10
    assert load_template("demo/t", 2).render({"x": "ok"}).endswith("v2 ok\n")


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("d1_to_rpc/nope", None, "no template"),
        ("d1_to_rpc/worker_refactor", 99, "no version 99"),
        ("../etc/passwd", None, "not of the form"),
    ],
)
def test_missing_template_is_bad_input(name: str, version: int | None, expected: str) -> None:
    with pytest.raises(BadInput, match=re.escape(expected)):
        load_template(name, version)


def test_wrong_header_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "t.v1.md").write_text("# no header\n", encoding="utf-8")
    monkeypatch.setattr("engine.refactor.prompts.PROMPTS_DIR", tmp_path)
    with pytest.raises(BadInput, match="first line must be"):
        load_template("demo/t")


# --------------------------------------------------------------------------- rendering


def test_worker_refactor_prompt_has_all_context() -> None:
    conventions = workspace_conventions(WORKSPACE)
    text = render_work_item(ITEM, target=TARGET, methods=[METHOD], conventions=conventions)
    assert text.startswith("<!-- template: d1_to_rpc/worker_refactor, version: 1 -->")
    assert ITEM.id in text and ITEM.reason in text
    assert SITE.statement is not None and SITE.statement in text
    assert "`this.db.query().get`, synchronous, in `openCount` in `Board`" in text
    assert "16 |       .query(" in text  # the code context, verbatim
    assert "countIssuesOpenByProject(project: string): Promise<Row | null>`  <- planned" in text
    assert "env.ORCHESTRATOR_UNSAFE_CASES" in text
    assert STANDARDIZATION_RULES in text
    assert "/api/[module]/[action]" in text and "/ws/[module]" in text
    assert conventions in text and "`LoggingOps` extends `BaseWorkerEntrypoint<Env>`" in text
    assert 'import { Database } from "bun:sqlite";' in text  # the worked example, before
    assert "await env.ORCHESTRATOR_LOGGER.insertLogsError(error);" in text  # and after
    assert f"- `{BOARD}`\n- `{ENTRYPOINT}`" in text
    assert '"orderId": "d1-to-rpc-apps-unsafe-cases-src-board.ts-16"' in text
    assert "`replace-block`, `insert-before`" in text
    assert _placeholders_left("d1_to_rpc/worker_refactor", text) == []


def test_worked_example_answer_in_the_template_is_a_valid_batch() -> None:
    text = render_work_item(ITEM, target=TARGET, methods=[METHOD], conventions="")
    example = text.split("The answer for that change is this one batch:", 1)[1]
    batch = parse_answer(
        example.split("## Your answer", 1)[0], allowed_files=["apps/logger/src/storage.ts"]
    )
    assert [p.op for p in batch.patches] == ["replace-block", "replace-block"]


def test_entrypoint_prompt_lists_methods_sites_and_files() -> None:
    insert = RpcMethod(
        name="insertIssues",
        sql="INSERT INTO issues (project, title, state, label) VALUES (?, ?, 'open', ?)",
        kind="insert",
        params=[RpcParam(name="project"), RpcParam(name="title"), RpcParam(name="label")],
        returns="result",
        tables_written=["issues"],
        sites=["apps/unsafe-cases/src/importer.ts:11"],
    )
    conventions = workspace_conventions(WORKSPACE)
    text = render_entrypoint_prompt(TARGET, [METHOD, insert], [SITE], conventions)
    assert text.startswith("<!-- template: d1_to_rpc/orchestrator_entrypoint, version: 1 -->")
    assert "insertIssues(project: SqlValue, title: SqlValue, label: SqlValue)" in text
    assert "Promise<{ changes: number; lastInsertRowid: number }>" in text
    assert "writes `issues`" in text
    assert f"| `{BOARD}:16` | bun:sqlite | `this.db.query().get` | select |" in text
    assert "`UnsafeCasesOps` (extends `BaseWorkerEntrypoint`)" in text
    assert STANDARDIZATION_RULES in text and conventions in text
    assert "export class LoggerOps extends BaseWorkerEntrypoint<Env> {" in text
    assert "- `orchestrator/migrations/`" in text
    assert _placeholders_left("d1_to_rpc/orchestrator_entrypoint", text) == []


def test_remediation_prompt_carries_findings_and_excerpts() -> None:
    findings = [
        Finding(
            tool="tsc",
            file=BOARD,
            line=15,
            column=5,
            code="TS1308",
            message="'await' expressions are only allowed within async functions",
        ),
        Finding(tool="tsc", message="Found 1 error."),
    ]
    source = "\n".join(f"line {n}" for n in range(1, 31))
    rejected = parse_answer(_fenced(_batch(REPLACE)), allowed_files=[BOARD])
    text = render_remediation(ITEM, findings, rejected=rejected, sources={BOARD: source})
    assert text.startswith("<!-- template: d1_to_rpc/remediate, version: 1 -->")
    assert f"tsc error `{BOARD}:15:5` TS1308: 'await' expressions" in text
    assert "15> line 15" in text and "12  line 12" in text
    assert "`(no file)`" in text
    assert '"op": "replace-block"' in text
    assert CONTEXT.splitlines()[0] in text
    assert STANDARDIZATION_RULES in text
    assert "d1-to-rpc-apps-unsafe-cases-src-board.ts-16-remediate-1" in text
    assert _placeholders_left("d1_to_rpc/remediate", text) == []


def test_remediation_for_files_allows_the_files_with_findings() -> None:
    finding = Finding(tool="tsc", file="apps/x/src/a.ts", line=3, message="bad")
    text = render_remediation(["apps/x/src/b.ts"], [finding])
    assert "- `apps/x/src/b.ts`\n- `apps/x/src/a.ts`" in text
    assert _placeholders_left("d1_to_rpc/remediate", text) == []


def test_workspace_conventions_reads_entrypoints_bindings_and_markers() -> None:
    text = workspace_conventions(WORKSPACE)
    assert "`PatchOps` extends `BaseWorkerEntrypoint<Env>`" in text
    assert "methods: applyPatches, listPatchEvents" in text
    assert "`@shared/base/BaseWorkerEntrypoint.ts`" in text
    assert (
        "`ORCHESTRATOR_LOGGING` -> service `vibehq-orchestrator`, entrypoint `LoggingOps`" in text
    )
    assert "`// @vibehq:rpc-methods` in `orchestrator/worker/entrypoints/patch.ts`" in text
    assert "node_modules" not in text


def test_workspace_conventions_of_an_empty_tree_is_empty(tmp_path: Path) -> None:
    assert workspace_conventions(tmp_path) == ""


# --------------------------------------------------------------------------- answers


def test_parse_answer_accepts_a_fenced_batch() -> None:
    batch = parse_answer(_fenced(_batch(REPLACE)), allowed_files=work_item_files(ITEM, TARGET))
    assert batch.order_id == "d1-to-rpc-board"
    assert batch.patches[0].file == BOARD and batch.patches[0].start == 14


def test_parse_answer_accepts_bare_json_and_folder_entries() -> None:
    created = {"op": "create", "file": "orchestrator/migrations/0002_x.sql", "block": "x"}
    batch = parse_answer(json.dumps(_batch(created)), allowed_files=["orchestrator/migrations/"])
    assert batch.patches[0].op == "create"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('```json\n{"patches": [\n```', "malformed JSON at line"),
        ("I think the fix is to make it async.", "no JSON found"),
        (_fenced(_batch(REPLACE)) + _fenced(_batch(REPLACE)), "2 JSON blocks"),
        (json.dumps(_batch(REPLACE)) + json.dumps(_batch(REPLACE)), "more than one JSON object"),
        (json.dumps([_batch(REPLACE), _batch(REPLACE)]), "list of 2 items"),
        (_fenced({"orderId": "x", "patches": []}), "patches: List should have at least 1 item"),
    ],
)
def test_parse_answer_rejects_malformed_answers(answer: str, expected: str) -> None:
    with pytest.raises(AnswerRejected) as info:
        parse_answer(answer, allowed_files=[BOARD])
    assert any(expected in error for error in info.value.errors), info.value.errors


def test_parse_answer_lists_every_validation_error() -> None:
    answer = _fenced(
        _batch(
            {"op": "rewrite", "file": BOARD, "block": "x"},
            {"op": "replace-block", "file": BOARD, "start": 9, "end": 3, "block": "x"},
            {"op": "append", "file": BOARD, "block": "x", "colour": "red"},
        )
    )
    with pytest.raises(AnswerRejected) as info:
        parse_answer(answer, allowed_files=[BOARD])
    errors = info.value.errors
    assert "patches.0.op: unknown op 'rewrite'; expected one of replace-block" in errors[0]
    assert "patches.1: end 3 is before start 9" in errors
    assert "patches.2.colour: unknown field" in errors
    assert isinstance(info.value, BadInput)


def test_parse_answer_rejects_files_outside_the_allowed_set() -> None:
    other = dict(REPLACE, file="apps/unsafe-cases/src/server.ts")
    with pytest.raises(AnswerRejected) as info:
        parse_answer(_fenced(_batch(REPLACE, other)), allowed_files=[BOARD, ENTRYPOINT])
    assert info.value.errors == [
        "patches.1.file: 'apps/unsafe-cases/src/server.ts' is not a file this task may change "
        f"({BOARD}, {ENTRYPOINT})"
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("apps/unsafe-cases/../../etc/passwd", "path traversal"),
        ("../outside.ts", "path traversal"),
        ("/etc/passwd", "not a workspace-relative POSIX path"),
        ("apps/unsafe-cases/./src/board.ts", "is not normalized"),
    ],
)
def test_parse_answer_rejects_unsafe_paths(path: str, expected: str) -> None:
    with pytest.raises(AnswerRejected) as info:
        parse_answer(_fenced(_batch(dict(REPLACE, file=path))), allowed_files=[path, BOARD])
    assert len(info.value.errors) == 1 and expected in info.value.errors[0]


def test_parse_answer_rejects_block_file() -> None:
    op = {"op": "append", "file": BOARD, "blockFile": "/tmp/secret"}
    with pytest.raises(AnswerRejected, match="blockFile"):
        parse_answer(_fenced(_batch(op)), allowed_files=[BOARD])


def test_rejection_message_lists_the_errors_for_the_model() -> None:
    with pytest.raises(AnswerRejected) as info:
        parse_answer(_fenced(_batch(dict(REPLACE, file="../x.ts"))), allowed_files=[BOARD])
    message = rejection_message(info.value)
    assert "- patches.0.file: '../x.ts' leaves its folder" in message
    assert "ONE corrected PatchBatch" in message
    assert "- plain problem" in rejection_message(BadInput("plain problem"))
