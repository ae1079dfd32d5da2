"""The approval policy: which items auto-pass and which wait for a human, from `[approvals]`.

A pure function of the item's stored facts, the settings and (for the recurring rule) the
counts of past human decisions, so the same item always gets the same verdict. In order:

1. Rules that require a human. All of them run, and every reason is reported:
   - `needs_model`: a work item is answered by a human or a model, never by a rule;
   - `quarantine_release`: letting a quarantined agent work again is a human's call;
   - `gate_refused`: the gate (quality monitor, validators, anchors) refused the batch;
   - `quality_violation`: the quality monitor found anything at all in the added lines;
   - `human_path`: the batch touches a path matching `human_paths`;
   - `no_change`: the batch changes nothing, so there is nothing a rule could vouch for.
2. If none fired, the auto-pass rules, first match wins:
   - `recipe` (confidence 1.0): the batch is the output of vibehq's deterministic recipes
     (the engine marks it; a submitted batch cannot), its validators ran with no new error,
     and `auto_pass_recipes` is on;
   - `plan_owner` (confidence 1.0): a plan change requested by the plan's owner
     (`plan_owner`, by default the architect agent "Auto", who keeps tasks.json through the
     plan tools); anyone else's plan change waits for a human (or the recurring rule);
   - `import_only` (confidence 1.0): every changed file changes import declarations only,
     in at most `auto_pass_import_only_max_lines` changed lines in all (the limit included);
     every import it adds binds names and resolves to a file or an installed package
     (`import_check`), and the batch passed its validators (the type check) at review;
   - `recurring`: the item has a signature with at least `recurring_min_decisions` human
     decisions, and the confidence from them is at least `auto_confidence_min`.
3. Otherwise a human decides, told why each auto-pass rule did not apply.

Recurring confidence is Laplace's rule of succession over human decisions only:
(clean + 1) / (decisions + 2), where a clean decision is an approval without an edit, and a
rejection or an edited approval counts against. Three clean approvals give exactly 0.8, the
seed's threshold; automated decisions never feed it, so the rule cannot vouch for itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from engine.approvals.models import (
    AutoApprove,
    NeedsHuman,
    PatchBatchPayload,
    Payload,
    PolicyReason,
    PolicyVerdict,
)
from engine.globs import matcher
from engine.settings import ApprovalSettings

IMPORT_ONLY_CONFIDENCE = 1.0
RECIPE_CONFIDENCE = 1.0
PLAN_OWNER_CONFIDENCE = 1.0


@dataclass(frozen=True)
class SignatureHistory:
    """Past human decisions on items with one signature (and kind)."""

    clean: int = 0
    other: int = 0

    @property
    def decisions(self) -> int:
        return self.clean + self.other

    @property
    def confidence(self) -> float:
        return round((self.clean + 1) / (self.decisions + 2), 4)


def evaluate(
    payload: Payload,
    settings: ApprovalSettings,
    *,
    signature: str | None = None,
    history: SignatureHistory | None = None,
    requester: str | None = None,
) -> PolicyVerdict:
    blocking = _human_reasons(payload, settings)
    if blocking:
        return NeedsHuman(reasons=blocking)
    misses: list[PolicyReason] = []
    if isinstance(payload, PatchBatchPayload):
        passed, detail = _recipe(payload, settings)
        if passed:
            return AutoApprove(rule="recipe", confidence=RECIPE_CONFIDENCE, detail=detail)
        if payload.recipe is not None:
            misses.append(PolicyReason(rule="recipe", detail=detail))
        passed, detail = _import_only(payload, settings)
        if passed:
            return AutoApprove(rule="import_only", confidence=IMPORT_ONLY_CONFIDENCE, detail=detail)
        misses.append(PolicyReason(rule="import_only", detail=detail))
    elif payload.kind == "plan_change":
        passed, detail = _plan_owner(requester, settings)
        if passed:
            return AutoApprove(rule="plan_owner", confidence=PLAN_OWNER_CONFIDENCE, detail=detail)
        misses.append(PolicyReason(rule="plan_owner", detail=detail))
    passed, confidence, detail = _recurring(signature, history, settings)
    if passed:
        return AutoApprove(rule="recurring", confidence=confidence, detail=detail)
    misses.append(PolicyReason(rule="recurring", detail=detail))
    return NeedsHuman(reasons=misses)


def _human_reasons(payload: Payload, settings: ApprovalSettings) -> list[PolicyReason]:
    if payload.kind == "needs_model":
        item = payload.work_item
        return [
            PolicyReason(
                rule="needs_model",
                detail=f"{item.file}:{item.start_line}-{item.end_line} needs a human or a "
                f"model: {item.reason}",
            )
        ]
    if payload.kind == "quarantine_release":
        return [
            PolicyReason(
                rule="quarantine_release",
                detail=f"releasing quarantined agent {payload.agent!r} is a human's call",
            )
        ]
    if payload.kind != "patch_batch":
        return []
    reasons: list[PolicyReason] = []
    if payload.refused is not None:
        reasons.append(PolicyReason(rule="gate_refused", detail=payload.refused))
    if payload.quality.violations:
        counts = ", ".join(f"{n} {kind}" for kind, n in payload.quality.counts.items() if n)
        first = payload.quality.violations[0]
        reasons.append(
            PolicyReason(
                rule="quality_violation",
                detail=f"{counts} (first: {first.file}:{first.line} {first.message})",
            )
        )
    reasons.extend(_human_paths(payload, settings))
    if payload.refused is None and not payload.files:
        reasons.append(PolicyReason(rule="no_change", detail="the batch changes no file"))
    return reasons


def _human_paths(payload: PatchBatchPayload, settings: ApprovalSettings) -> list[PolicyReason]:
    if not settings.human_paths:
        return []
    paths = dict.fromkeys(
        [f.path for f in payload.files] + [_normalise(op.file) for op in payload.batch.patches]
    )
    reasons: list[PolicyReason] = []
    for path in paths:
        patterns = [p for p in settings.human_paths if matcher([p])(path)]
        if patterns:
            reasons.append(
                PolicyReason(
                    rule="human_path", detail=f"{path} matches human_paths {patterns[0]!r}"
                )
            )
    return reasons


def _normalise(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def _recipe(payload: PatchBatchPayload, settings: ApprovalSettings) -> tuple[bool, str]:
    if payload.recipe is None:
        return False, "not made by a recipe"
    if not settings.auto_pass_recipes:
        return False, "auto_pass_recipes is off"
    if payload.validation is None:
        return False, f"{payload.recipe}: no validator ran on it"
    if not payload.validation.ok:
        return False, f"{payload.recipe}: {payload.validation.summary}"
    return True, f"{payload.recipe}, validated: {payload.validation.summary}"


def _plan_owner(requester: str | None, settings: ApprovalSettings) -> tuple[bool, str]:
    owner = settings.plan_owner
    if owner is None:
        return False, "no plan_owner is set (rule off)"
    if requester == owner:
        return True, f"requested by the plan owner {owner!r}"
    who = "no requester" if requester is None else f"requester {requester!r}"
    return False, f"{who} is not the plan owner {owner!r}"


def _import_only(payload: PatchBatchPayload, settings: ApprovalSettings) -> tuple[bool, str]:
    limit = settings.auto_pass_import_only_max_lines
    if limit == 0:
        return False, "auto_pass_import_only_max_lines is 0 (rule off)"
    other = [f.path for f in payload.files if not f.import_only]
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        return False, f"not import-only: {shown}"
    lines = payload.changed_lines
    if lines > limit:
        return False, f"{lines} changed lines > auto_pass_import_only_max_lines {limit}"
    problems = [p for f in payload.files for p in f.import_problems]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return False, f"{problems[0]}{more}"
    if payload.validation is None:
        return False, "no type check ran on it; an import-only change is validated like any other"
    if not payload.validation.ok:
        return False, f"validation failed: {payload.validation.summary}"
    return True, (
        f"import declarations only, {lines} changed lines <= {limit}, imports resolve, "
        f"validated: {payload.validation.summary}"
    )


def _recurring(
    signature: str | None, history: SignatureHistory | None, settings: ApprovalSettings
) -> tuple[bool, float, str]:
    if signature is None:
        return False, 0.0, "no signature: not a recurring case"
    seen = history or SignatureHistory()
    confidence = seen.confidence
    facts = (
        f"signature {signature!r}: {seen.clean} clean human approvals, {seen.other} rejections "
        f"or edits; confidence {confidence:.2f}"
    )
    if seen.decisions < settings.recurring_min_decisions:
        return (
            False,
            confidence,
            f"{facts}; fewer than {settings.recurring_min_decisions} decisions",
        )
    if confidence < settings.auto_confidence_min:
        return False, confidence, f"{facts} < auto_confidence_min {settings.auto_confidence_min}"
    return True, confidence, f"{facts} >= auto_confidence_min {settings.auto_confidence_min}"
