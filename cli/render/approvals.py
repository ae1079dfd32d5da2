"""Printers of approval items."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from cli.output import escape, get_console
from cli.render.common import print_diff, print_violations

if TYPE_CHECKING:
    from engine.approvals.models import ApprovalItem, PatchBatchPayload


def item_state(item: ApprovalItem) -> str:
    colour = {"pending": "yellow", "approved": "green", "rejected": "red"}.get(item.state, "dim")
    auto = " (auto)" if item.decision is not None and item.decision.auto else ""
    return f"[{colour}]{item.state}[/]{auto}"


def print_verdict(item: ApprovalItem) -> None:
    console = get_console()
    verdict = item.verdict
    if verdict.verdict == "auto":
        console.print(
            f"policy: auto-pass by rule {verdict.rule} (confidence {verdict.confidence}): "
            f"{escape(verdict.detail)}"
        )
        return
    console.print("policy: needs a human")
    for r in verdict.reasons:
        console.print(f"  - {r.rule}: {escape(r.detail)}")


def print_item(item: ApprovalItem) -> None:
    console = get_console()
    console.print(f"[bold]item {item.id}[/] {item.kind} {item_state(item)}: {escape(item.title)}")
    for name, value in item.facts():
        console.print(f"{name}: {escape(value)}")
    decision = item.decision
    if decision is not None:
        how = (
            f" by rule {decision.rule} (confidence {decision.confidence})" if decision.auto else ""
        )
        edited = " with an edited batch" if item.edited else ""
        console.print(
            f"decision: {decision.state} by {escape(decision.by)} at {decision.at}{how}{edited}"
            + (f": {escape(decision.reason)}" if decision.reason else "")
        )
    print_verdict(item)
    payload = item.payload
    if payload.kind == "patch_batch":
        print_batch_payload(payload)
    elif payload.kind == "needs_model":
        work = payload.work_item
        console.print(
            f"work item {escape(work.id)}: {escape(work.file)}:{work.start_line}-"
            f"{work.end_line}: {escape(work.reason)}"
        )
        if payload.allowed_files:
            console.print("allowed files: " + escape(", ".join(payload.allowed_files)))
        print_code(work.context, "typescript")
        if payload.prompt:
            console.print("[bold]prompt:[/]")
            console.print(escape(payload.prompt))
        if payload.answer is not None:
            console.print("[bold]answer:[/]")
            print_batch_payload(payload.answer)
    elif payload.kind == "plan_change":
        change = payload.change
        console.print(f"plan change: {change.op} {', '.join(change.ids)}: {escape(change.summary)}")
        if change.fields:
            console.print(escape(json.dumps(change.fields, indent=2, default=str)))
        for command in change.commands:
            console.print(f"  $ {escape(command)}")
    else:
        console.print(
            f"release agent {escape(payload.agent)}, quarantined since "
            f"{payload.quarantined_since or '?'}: {escape(payload.quarantine_reason or '')}"
        )


def print_batch_payload(payload: PatchBatchPayload) -> None:
    from rich.table import Table

    console = get_console()
    table = Table("action", "file", "+", "-", "import-only", box=None, pad_edge=False)
    for f in payload.files:
        table.add_row(
            f.action,
            escape(f.path),
            str(f.lines_added),
            str(f.lines_removed),
            "yes" if f.import_only else "no",
        )
    if payload.files:
        console.print(table)
    violations = payload.quality.violations
    counts = ", ".join(f"{n} {k}" for k, n in payload.quality.counts.items() if n)
    console.print(f"quality: {len(violations)} violations" + (f" ({counts})" if counts else ""))
    print_violations(violations, stderr=False)
    validation = payload.validation
    if validation is None:
        console.print("validation: not run")
    else:
        mark = "[green]passed[/]" if validation.ok else "[red]failed[/]"
        console.print(f"validation: {validation.validator} {mark} {escape(validation.summary)}")
    if payload.refused:
        console.print(f"[red]refused by the gate:[/] {escape(payload.refused)}")
    if payload.diff:
        print_diff(payload.diff)


def print_code(text: str, lexer: str) -> None:
    console = get_console()
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text, lexer, theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
