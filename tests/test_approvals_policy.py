"""The approval policy, rule by rule, on batches reviewed against real files, and the
import-only detection it stands on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.approvals.changes import ChangedFile, diff_line_counts, is_import_only
from engine.approvals.models import (
    AutoApprove,
    NeedsHuman,
    NeedsModelPayload,
    PatchBatchPayload,
    PlanChangePayload,
    PolicyVerdict,
    QuarantineReleasePayload,
)
from engine.approvals.policy import SignatureHistory, evaluate
from engine.approvals.review import review_batch
from engine.patch.models import PatchBatch
from engine.patch.validation import ValidationResult
from engine.plan.ops import PlanChange
from engine.refactor.models import WorkItem
from engine.settings import ApprovalSettings, Settings
from engine.validate.quality import QualityReport, Violation
from engine.workspace import Workspace
from tests.conftest import write

B_TS = 'import { a } from "./a";\nimport { c } from "./c";\n\nexport const b = a + c;\n'


class TypeCheckPassed:
    """Stands in for tsc (an npm tool) in these rule tests: the review ran a type check and
    it found no new error. The import_only rule passes nothing no validator ran on."""

    name = "tsc"

    def validate(self, staging_root: Path, changed_files: Any) -> ValidationResult:
        return ValidationResult(validator=self.name, ok=True, summary="tsc: 0 new errors")


def install(root: Path, package: str = "@shared/a") -> None:
    """Install `package` the way npm does, so an import of it resolves."""
    write(root, f"node_modules/{package}/package.json", f'{{"name": "{package}"}}\n')


def review(root: Path, *patches: dict[str, Any], typecheck: bool = True) -> PatchBatchPayload:
    """Review against `root`, where @shared/a (what `import_swap` imports) is installed."""
    install(root)
    batch = PatchBatch.model_validate({"requester": "codex", "patches": list(patches)})
    validator = TypeCheckPassed() if typecheck else None
    return review_batch(Workspace.open(root), batch, Settings(), validator=validator)


def import_swap(file: str = "src/b.ts", line: int = 1, to: str = "@shared/a") -> dict[str, Any]:
    return {
        "op": "replace-block",
        "file": file,
        "start": line,
        "end": line,
        "block": f'import {{ a }} from "{to}";',
    }


def rules(verdict: PolicyVerdict) -> list[str]:
    assert isinstance(verdict, NeedsHuman), verdict
    return verdict.rules


# --- import_only ---------------------------------------------------------------------------------


def test_import_only_rewrite_auto_passes_with_full_confidence(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    payload = review(ws, import_swap())
    assert [f.model_dump() for f in payload.files] == [
        {
            "path": "src/b.ts",
            "action": "modified",
            "lines_added": 1,
            "lines_removed": 1,
            "import_only": True,
            "import_problems": [],
        }
    ]
    verdict = evaluate(payload, ApprovalSettings())
    assert isinstance(verdict, AutoApprove)
    assert (verdict.rule, verdict.confidence) == ("import_only", 1.0)


def test_import_only_needs_a_type_check_that_ran_and_passed(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    unchecked = evaluate(review(ws, import_swap(), typecheck=False), ApprovalSettings())
    assert rules(unchecked) == ["import_only", "recurring"]
    assert "no type check ran on it" in unchecked.reasons[0].detail


def test_import_of_a_file_that_does_not_exist_is_not_import_only(ws: Path) -> None:
    # Issue 17: `import { add } from "./does-not-exist"` was auto-approved.
    write(ws, "src/b.ts", B_TS)
    payload = review(ws, import_swap(to="./does-not-exist"))
    [changed] = payload.files
    assert changed.import_only is True
    assert changed.import_problems == [
        "src/b.ts: import './does-not-exist' resolves to no file or installed package"
    ]
    verdict = evaluate(payload, ApprovalSettings())
    assert rules(verdict) == ["import_only", "recurring"]
    assert verdict.reasons[0].detail == changed.import_problems[0]


def test_a_side_effect_import_binds_nothing_and_is_not_import_only(ws: Path) -> None:
    # Issue 17: `import "./payload-not-reviewed"` ran unreviewed code; tsc does not flag it.
    write(ws, "src/b.ts", B_TS)
    write(ws, "src/payload-not-reviewed.ts", "globalThis.x = 1;\n")
    payload = review(
        ws,
        {"op": "insert-after", "file": "src/b.ts", "line": 2,
         "block": 'import "./payload-not-reviewed";'},
    )  # fmt: skip
    [changed] = payload.files
    assert changed.import_problems == [
        "src/b.ts: side-effect import './payload-not-reviewed' binds no name"
    ]
    assert rules(evaluate(payload, ApprovalSettings())) == ["import_only", "recurring"]


@pytest.mark.parametrize(
    ("to", "files"),
    [
        ("./a2", {"src/a2.ts": "export const a = 1;\n"}),
        ("./a2.js", {"src/a2.ts": "export const a = 1;\n"}),
        ("../lib", {"lib/index.ts": "export const a = 1;\n"}),
        ("./types", {"src/types.d.ts": "export declare const a: number;\n"}),
        ("node:fs", {}),
        ("lodash/fp", {"node_modules/lodash/package.json": "{}\n"}),
        ("zod", {"node_modules/@types/zod/package.json": "{}\n"}),
    ],
)
def test_imports_that_resolve_pass(ws: Path, to: str, files: dict[str, str]) -> None:
    write(ws, "src/b.ts", B_TS)
    for rel, text in files.items():
        write(ws, rel, text)
    payload = review(ws, import_swap(to=to))
    assert payload.files[0].import_problems == []
    assert isinstance(evaluate(payload, ApprovalSettings()), AutoApprove)


@pytest.mark.parametrize("to", ["../../outside", "/abs/a", "@alias/not-installed", "~/a"])
def test_imports_that_resolve_to_nothing_inside_the_workspace_fail(ws: Path, to: str) -> None:
    write(ws, "src/b.ts", B_TS)
    payload = review(ws, import_swap(to=to))
    assert payload.files[0].import_problems, to
    assert rules(evaluate(payload, ApprovalSettings())) == ["import_only", "recurring"]


def test_an_import_of_a_file_the_same_batch_deletes_fails(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    write(ws, "src/gone.ts", "export const a = 1;\n")
    payload = review(ws, import_swap(to="./gone"), {"op": "delete", "file": "src/gone.ts"})
    assert payload.files[0].import_problems == [
        "src/b.ts: import './gone' resolves to no file or installed package"
    ]


def test_import_only_limit_is_inclusive_exactly_n_lines_pass_and_one_more_does_not(
    ws: Path,
) -> None:
    write(ws, "src/b.ts", B_TS)
    payload = review(ws, import_swap())
    assert payload.changed_lines == 2
    exactly = evaluate(payload, ApprovalSettings(auto_pass_import_only_max_lines=2))
    assert isinstance(exactly, AutoApprove) and exactly.rule == "import_only"
    over = evaluate(payload, ApprovalSettings(auto_pass_import_only_max_lines=1))
    assert rules(over) == ["import_only", "recurring"]
    assert "2 changed lines > auto_pass_import_only_max_lines 1" in over.reasons[0].detail


def test_import_only_rule_off_at_zero(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    verdict = evaluate(
        review(ws, import_swap()), ApprovalSettings(auto_pass_import_only_max_lines=0)
    )
    assert rules(verdict) == ["import_only", "recurring"]
    assert "rule off" in verdict.reasons[0].detail


def test_batch_mixing_import_only_and_other_edits_needs_a_human(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    write(ws, "src/d.ts", 'import { a } from "./a";\nexport const d = a;\n')
    payload = review(
        ws,
        import_swap(),
        {
            "op": "replace-block",
            "file": "src/d.ts",
            "start": 2,
            "end": 2,
            "block": "export const d = a * 2;",
        },
    )
    assert {f.path: f.import_only for f in payload.files} == {"src/b.ts": True, "src/d.ts": False}
    verdict = evaluate(payload, ApprovalSettings())
    assert rules(verdict) == ["import_only", "recurring"]
    assert verdict.reasons[0].detail == "not import-only: src/d.ts"


def test_one_file_mixing_an_import_and_a_code_edit_is_not_import_only(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    payload = review(
        ws,
        import_swap(),
        {
            "op": "replace-block",
            "file": "src/b.ts",
            "start": 4,
            "end": 4,
            "block": "export const b = a;",
        },
    )
    assert [f.import_only for f in payload.files] == [False]
    assert rules(evaluate(payload, ApprovalSettings())) == ["import_only", "recurring"]


# --- rules that need a human ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("orchestrator/worker/entrypoints/deep/ops.ts", "orchestrator/**"),
        ("apps/notes/deploy/wrangler.toml", "**/wrangler.toml"),
        ("wrangler.toml", "**/wrangler.toml"),
        ("apps/notes/wrangler.jsonc", "**/wrangler.json*"),
    ],
)
def test_human_paths_match_through_nested_folders(ws: Path, path: str, pattern: str) -> None:
    write(ws, path, B_TS)
    verdict = evaluate(review(ws, import_swap(path)), ApprovalSettings())
    # An import-only change, but under a human path: the human rule wins.
    assert rules(verdict) == ["human_path"]
    assert verdict.reasons[0].detail == f"{path} matches human_paths {pattern!r}"


def test_human_paths_are_anchored_at_the_workspace_root(ws: Path) -> None:
    write(ws, "apps/orchestrator/src/b.ts", B_TS)
    verdict = evaluate(review(ws, import_swap("apps/orchestrator/src/b.ts")), ApprovalSettings())
    assert isinstance(verdict, AutoApprove)


def test_human_paths_from_settings_replace_the_defaults(ws: Path) -> None:
    write(ws, "orchestrator/b.ts", B_TS)
    payload = review(ws, import_swap("orchestrator/b.ts"))
    assert isinstance(evaluate(payload, ApprovalSettings(human_paths=[])), AutoApprove)
    assert rules(evaluate(payload, ApprovalSettings(human_paths=["**/*.ts"]))) == ["human_path"]


def test_any_quality_violation_needs_a_human_even_a_minor_one(ws: Path) -> None:
    write(ws, "src/f.ts", "export function f(x: number): number {\n  return x;\n}\n")
    payload = review(
        ws,
        {
            "op": "insert-after",
            "file": "src/f.ts",
            "line": 1,
            "block": "  // TODO: handle the rest of the cases",
        },
    )
    assert payload.refused is None
    assert [v.kind for v in payload.quality.violations] == ["INCOMPLETE_CODE"]
    verdict = evaluate(payload, ApprovalSettings())
    assert rules(verdict) == ["quality_violation"]
    assert verdict.reasons[0].detail.startswith("1 INCOMPLETE_CODE (first: src/f.ts:2")


def test_quality_violation_blocks_an_otherwise_import_only_batch() -> None:
    payload = PatchBatchPayload(
        batch=PatchBatch.model_validate(
            {"patches": [{"op": "append", "file": "src/b.ts", "block": "x"}]}
        ),
        diff="",
        files=[
            ChangedFile(
                path="src/b.ts", action="modified", lines_added=1, lines_removed=1, import_only=True
            )
        ],
        quality=QualityReport(
            violations=[
                Violation(
                    kind="LOGIC_ERROR",
                    severity="medium",
                    file="src/b.ts",
                    line=1,
                    message="m",
                    snippet="s",
                )
            ]
        ),
    )
    assert rules(evaluate(payload, ApprovalSettings())) == ["quality_violation"]


def test_a_batch_the_gate_refused_needs_a_human(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    lazy = review(
        ws, {"op": "replace-block", "file": "src/b.ts", "start": 4, "end": 4, "block": "// ..."}
    )
    assert lazy.refused is not None and "critical quality violations" in lazy.refused
    assert rules(evaluate(lazy, ApprovalSettings())) == ["gate_refused", "quality_violation"]

    stale = review(
        ws, {"op": "replace-block", "file": "src/b.ts", "start": 40, "end": 40, "block": "x"}
    )
    assert stale.refused is not None and stale.diff == "" and stale.files == []
    assert rules(evaluate(stale, ApprovalSettings())) == ["gate_refused"]


def test_all_human_reasons_are_reported_together(ws: Path) -> None:
    write(ws, "orchestrator/f.ts", "export function f(x: number): number {\n  return x;\n}\n")
    payload = review(
        ws,
        {
            "op": "insert-after",
            "file": "orchestrator/f.ts",
            "line": 1,
            "block": "  // TODO: handle the rest of the cases",
        },
    )
    assert rules(evaluate(payload, ApprovalSettings())) == ["quality_violation", "human_path"]


def test_a_batch_that_changes_nothing_needs_a_human(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    same = review(
        ws,
        {
            "op": "replace-block",
            "file": "src/b.ts",
            "start": 1,
            "end": 1,
            "block": 'import { a } from "./a";',
        },
    )
    assert same.files == [] and same.refused is None
    assert rules(evaluate(same, ApprovalSettings())) == ["no_change"]


def test_a_failed_validation_needs_a_human(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)

    class RejectEverything:
        name = "reject-all"

        def validate(self, staging_root: Path, changed_files: Any) -> ValidationResult:
            assert (
                (staging_root / "src/b.ts").read_text().startswith('import { a } from "@shared/a"')
            )
            return ValidationResult(validator=self.name, ok=False, summary="1 new error")

    batch = PatchBatch.model_validate({"requester": "codex", "patches": [import_swap()]})
    payload = review_batch(Workspace.open(ws), batch, Settings(), validator=RejectEverything())
    assert payload.validation is not None and not payload.validation.ok
    assert payload.refused is not None and "validation failed (1 new error)" in payload.refused
    assert rules(evaluate(payload, ApprovalSettings())) == ["gate_refused"]


def work_item() -> WorkItem:
    return WorkItem.model_validate(
        {
            "id": "apps/notes:src/db.ts:12",
            "folder": "apps/notes",
            "file": "apps/notes/src/db.ts",
            "start_line": 12,
            "end_line": 14,
            "reason": "the SQL text is built at run time",
            "site": {
                "file": "apps/notes/src/db.ts",
                "start_line": 12,
                "end_line": 14,
                "driver": "d1",
                "call": "env.DB.prepare().all",
                "is_async": True,
            },
            "context": "12 | const q = env.DB.prepare(sql);\n",
        }
    )


def test_needs_model_always_needs_a_human_or_a_model() -> None:
    payload = NeedsModelPayload(work_item=work_item())
    trusted = SignatureHistory(clean=50)
    verdict = evaluate(payload, ApprovalSettings(), signature="d1", history=trusted)
    assert rules(verdict) == ["needs_model"]
    assert "apps/notes/src/db.ts:12-14 needs a human or a model" in verdict.reasons[0].detail


def test_quarantine_release_always_needs_a_human() -> None:
    payload = QuarantineReleasePayload(agent="codex")
    verdict = evaluate(
        payload, ApprovalSettings(), signature="s", history=SignatureHistory(clean=50)
    )
    assert rules(verdict) == ["quarantine_release"]


# --- recurring -----------------------------------------------------------------------------------


def plan_change() -> PlanChangePayload:
    return PlanChangePayload(
        change=PlanChange(op="set-status", ids=["3"], summary="task 3: pending -> done")
    )


@pytest.mark.parametrize(
    ("clean", "other", "expected"),
    [(3, 0, 0.8), (2, 0, 0.75), (4, 0, 0.8333), (3, 1, 0.6667), (0, 0, 0.5)],
)
def test_recurring_confidence_is_laplace_over_human_decisions(
    clean: int, other: int, expected: float
) -> None:
    assert SignatureHistory(clean=clean, other=other).confidence == expected


def test_recurring_case_at_the_seed_threshold_auto_passes_with_rule_and_confidence() -> None:
    verdict = evaluate(
        plan_change(), ApprovalSettings(), signature="status", history=SignatureHistory(clean=3)
    )
    assert isinstance(verdict, AutoApprove)
    assert (verdict.rule, verdict.confidence) == ("recurring", 0.8)
    assert "3 clean human approvals" in verdict.detail


@pytest.mark.parametrize(
    ("history", "settings", "why"),
    [
        (SignatureHistory(clean=3, other=1), ApprovalSettings(), "< auto_confidence_min 0.8"),
        (SignatureHistory(clean=2), ApprovalSettings(), "fewer than 3 decisions"),
        (
            SignatureHistory(clean=3),
            ApprovalSettings(auto_confidence_min=0.81),
            "< auto_confidence_min 0.81",
        ),
        (None, ApprovalSettings(), "0 clean human approvals"),
    ],
)
def test_recurring_below_the_bar_needs_a_human(
    history: SignatureHistory | None, settings: ApprovalSettings, why: str
) -> None:
    verdict = evaluate(plan_change(), settings, signature="status", history=history)
    assert rules(verdict) == ["plan_owner", "recurring"]
    assert why in verdict.reasons[1].detail


def test_recurring_needs_a_signature() -> None:
    verdict = evaluate(plan_change(), ApprovalSettings(), history=SignatureHistory(clean=9))
    assert rules(verdict) == ["plan_owner", "recurring"]
    assert verdict.reasons[1].detail == "no signature: not a recurring case"


def test_a_plan_change_by_the_plan_owner_auto_passes() -> None:
    verdict = evaluate(plan_change(), ApprovalSettings(), requester="Auto")
    assert isinstance(verdict, AutoApprove)
    assert (verdict.rule, verdict.confidence) == ("plan_owner", 1.0)
    assert verdict.detail == "requested by the plan owner 'Auto'"


@pytest.mark.parametrize(
    ("requester", "settings", "why"),
    [
        ("Codex", ApprovalSettings(), "requester 'Codex' is not the plan owner 'Auto'"),
        (None, ApprovalSettings(), "no requester is not the plan owner 'Auto'"),
        ("auto", ApprovalSettings(), "requester 'auto' is not the plan owner 'Auto'"),
        ("Auto", ApprovalSettings(plan_owner=None), "no plan_owner is set (rule off)"),
        ("Auto", ApprovalSettings(plan_owner="Lead"), "requester 'Auto' is not the plan owner"),
    ],
)
def test_a_plan_change_by_anyone_else_waits_for_a_human(
    requester: str | None, settings: ApprovalSettings, why: str
) -> None:
    verdict = evaluate(plan_change(), settings, requester=requester)
    assert rules(verdict) == ["plan_owner", "recurring"]
    assert why in verdict.reasons[0].detail


def test_the_plan_owner_rule_never_passes_a_batch(ws: Path) -> None:
    write(ws, "src/a.ts", "export const a = 1;\n")
    payload = review(ws, {"op": "append", "file": "src/a.ts", "block": "export const b = 2;"})
    verdict = evaluate(payload, ApprovalSettings(), requester="Auto")
    assert isinstance(verdict, NeedsHuman)
    assert "plan_owner" not in rules(verdict)


def test_recurring_never_overrides_a_human_path(ws: Path) -> None:
    write(ws, "orchestrator/x.ts", "export const x = 1;\n")
    payload = review(
        ws, {"op": "append", "file": "orchestrator/x.ts", "block": "export const y = 2;"}
    )
    verdict = evaluate(
        payload, ApprovalSettings(), signature="sig", history=SignatureHistory(clean=100)
    )
    assert rules(verdict) == ["human_path"]


def test_recurring_passes_a_code_batch_that_is_not_import_only(ws: Path) -> None:
    write(ws, "src/x.ts", "export const x = 1;\n")
    payload = review(ws, {"op": "append", "file": "src/x.ts", "block": "export const y = 2;"})
    verdict = evaluate(
        payload, ApprovalSettings(), signature="sig", history=SignatureHistory(clean=3)
    )
    assert isinstance(verdict, AutoApprove) and verdict.rule == "recurring"


def test_policy_is_deterministic(ws: Path) -> None:
    write(ws, "src/b.ts", B_TS)
    write(ws, "orchestrator/b.ts", B_TS)
    payload = review(ws, import_swap(), import_swap("orchestrator/b.ts"))
    verdicts = {
        evaluate(
            payload, ApprovalSettings(), signature="s", history=SignatureHistory(1, 1)
        ).model_dump_json()
        for _ in range(5)
    }
    assert len(verdicts) == 1


# --- import-only detection -----------------------------------------------------------------------

OLD = 'import { a } from "./a";\nimport type { T } from "./t";\n\nexport const z: T = a;\n'
SHARED = 'import { a } from "@shared/a";\nimport type { T } from "./t";\n'


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            SHARED + "\nexport const z: T = a;\n",
            True,
        ),
        # a multi-line import, reordered imports, a re-export and an import removed
        (
            'import type { T } from "./t";\nimport {\n  a,\n  b,\n} from "./a";\n'
            'export { q } from "./q";\n\nexport const z: T = a;\n',
            True,
        ),
        ('import { a } from "./a";\n\nexport const z: T = a;\n', True),
        (
            SHARED + "\nexport const z: T = a + 1;\n",
            False,
        ),
        (
            SHARED + "// moved\nexport const z: T = a;\n",
            False,
        ),
        # a dynamic import is code, not a declaration
        (OLD + 'export const m = import("./m");\n', False),
        # only whitespace between statements changed: no import changed either
        (OLD.replace("\n\n", "\n\n\n"), False),
        ('import { a } from "@shared/a"\nexport const z: T = (a;\n', False),
    ],
)
def test_is_import_only(new: str, expected: bool) -> None:
    assert is_import_only("src/z.ts", OLD.encode(), new.encode()) is expected


def test_creating_deleting_or_a_non_source_file_is_never_import_only() -> None:
    assert not is_import_only("src/z.ts", None, OLD.encode())
    assert not is_import_only("src/z.ts", OLD.encode(), None)
    assert not is_import_only(
        "README.md", b'import { a } from "./a";\n', b'import { a } from "b";\n'
    )


def test_diff_line_counts_match_the_unified_diff() -> None:
    assert diff_line_counts("a.ts", b"a\nb\nc\n", b"a\nB\nc\nd\n") == (2, 1)
    assert diff_line_counts("a.ts", None, b"a\nb") == (2, 0)
    assert diff_line_counts("a.ts", b"a\n", None) == (0, 1)


# --- recipe -----------------------------------------------------------------------------------


def _recipe_payload(ws: Path, *, ok: bool | None, recipe: str | None = "migrate copy") -> Any:
    write(ws, "apps/x/src/b.ts", "export const b = 1;\n")
    payload = review(
        ws, {"op": "create", "file": "apps/x/src/c.ts", "block": "export const c = 2;"}
    )
    validation = (
        None if ok is None else ValidationResult(validator="tsc", ok=ok, summary="tsc: 0 new")
    )
    return payload.model_copy(update={"recipe": recipe, "validation": validation})


def test_recipe_batch_that_validated_clean_auto_passes(ws: Path) -> None:
    verdict = evaluate(_recipe_payload(ws, ok=True), ApprovalSettings())
    assert isinstance(verdict, AutoApprove)
    assert (verdict.rule, verdict.confidence) == ("recipe", 1.0)
    assert "migrate copy" in verdict.detail


@pytest.mark.parametrize(
    ("ok", "recipe", "settings", "why"),
    [
        (None, "migrate copy", ApprovalSettings(), "no validator ran"),
        (False, "migrate copy", ApprovalSettings(), "tsc: 0 new"),
        (True, "migrate copy", ApprovalSettings(auto_pass_recipes=False), "is off"),
    ],
)
def test_recipe_rule_needs_a_clean_validation_and_the_setting(
    ws: Path, ok: bool | None, recipe: str, settings: ApprovalSettings, why: str
) -> None:
    verdict = evaluate(_recipe_payload(ws, ok=ok, recipe=recipe), settings)
    assert isinstance(verdict, NeedsHuman)
    recipe_reason = next(r for r in verdict.reasons if r.rule == "recipe")
    assert why in recipe_reason.detail


def test_same_batch_without_the_engine_mark_is_not_a_recipe(ws: Path) -> None:
    verdict = evaluate(_recipe_payload(ws, ok=True, recipe=None), ApprovalSettings())
    assert isinstance(verdict, NeedsHuman)
    assert "recipe" not in verdict.rules


def test_recipe_batch_touching_a_human_path_still_waits(ws: Path) -> None:
    payload = _recipe_payload(ws, ok=True)
    settings = ApprovalSettings(human_paths=["apps/x/**"])
    verdict = evaluate(payload, settings)
    assert isinstance(verdict, NeedsHuman)
    assert "human_path" in verdict.rules
