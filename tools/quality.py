"""Quality tools: the quality monitor on files, the validators against their baselines, and
quarantine. None of them runs a model; a release is a request a human decides."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.approvals.models import ApprovalRequest, QuarantineReleasePayload
from engine.approvals.queue import submit
from engine.errors import BadInput
from engine.validate.quality import scan_paths
from engine.validate.quarantine import agent_statuses
from engine.validate.run import validate_workspace
from tools.base import ToolArgs, VibehqTool, clip, listing

VIOLATION_CAP = 30
FINDING_CAP = 20


class ScanArgs(ToolArgs):
    paths: list[str] = Field(
        min_length=1, description="workspace-relative files or folders to judge"
    )


class QualityScanTool(VibehqTool):
    name: str = "quality_scan"
    description: str = (
        "Run the quality monitor on whole files or folders: lazy placeholders, TODO stubs, "
        "secrets, raw SQL in the wrong place... with file, line, kind and severity."
    )
    args_schema: type[ToolArgs] = ScanArgs

    def invoke(self, args: ScanArgs) -> dict[str, Any]:
        for path in args.paths:
            self.ctx.workspace.resolve(path)
        report = scan_paths(self.ctx.workspace.root, args.paths)
        found = [
            {
                "file": v.file,
                "line": v.line,
                "kind": v.kind,
                "severity": v.severity,
                "message": clip(v.message, 200),
            }
            for v in report.violations
        ]
        return {
            "files_checked": report.files_checked,
            "critical": sum(1 for v in report.violations if v.severity == "critical"),
            "counts": {k: n for k, n in report.counts.items() if n},
            **listing("violations", found, VIOLATION_CAP),
        }


class NoArgs(ToolArgs):
    pass


class ValidateWorkspaceTool(VibehqTool):
    name: str = "validate_workspace"
    description: str = (
        "Type-check the workspace with tsc and compare with the recorded baseline: only NEW "
        "errors count. Returns the summary and the first new findings."
    )
    args_schema: type[ToolArgs] = NoArgs

    def invoke(self, args: NoArgs) -> dict[str, Any]:
        report = validate_workspace(self.ctx.workspace, tools=("tsc",), settings=self.ctx.settings)
        new = [
            f"{f.file}:{f.line}:{f.column} {f.code or ''} {clip(f.message, 200)}".replace("  ", " ")
            for f in report.new
        ]
        return {
            "passed": report.ok,
            "tools": [
                {"tool": r.tool, "ok": r.ok, "summary": r.summary, "baseline": r.baseline}
                for r in report.results
            ],
            "fixed": len(report.fixed),
            **listing("new_errors", new, FINDING_CAP),
        }


class AgentArgs(ToolArgs):
    agent: str | None = Field(None, description="one agent; default all")


class QuarantineStatusTool(VibehqTool):
    name: str = "quarantine_status"
    description: str = (
        "Each agent's quality record: active or quarantined (since when, why), batches "
        "checked, violation rate, refusals."
    )
    args_schema: type[ToolArgs] = AgentArgs

    def invoke(self, args: AgentArgs) -> dict[str, Any]:
        with self.ctx.ledger() as ledger:
            statuses = agent_statuses(ledger)
        rows = [
            s.model_dump(exclude_none=True)
            for s in statuses
            if args.agent is None or s.agent == args.agent
        ]
        return {"agents": rows}


class ReleaseArgs(ToolArgs):
    agent: str = Field(description="the quarantined agent")
    reason: str = Field(min_length=1, description="why it may work again")


class RequestReleaseTool(VibehqTool):
    name: str = "request_release"
    description: str = (
        "Ask a human to release a quarantined agent: queues a quarantine_release approval "
        "item (a human decides it). Returns the proposal id."
    )
    args_schema: type[ToolArgs] = ReleaseArgs
    changes = True

    def invoke(self, args: ReleaseArgs) -> dict[str, Any]:
        with self.ctx.ledger() as ledger:
            status = next((s for s in agent_statuses(ledger) if s.agent == args.agent), None)
            if status is None or status.status != "quarantined":
                raise BadInput(f"agent {args.agent!r} is not quarantined")
            item = submit(
                ledger,
                ApprovalRequest(
                    payload=QuarantineReleasePayload(
                        agent=args.agent,
                        quarantined_since=status.quarantined_since,
                        quarantine_reason=status.reason,
                    ),
                    title=f"release agent {args.agent}: {args.reason}",
                    requester=self.ctx.agent,
                    run_id=self.ctx.run_id,
                    step="gate",
                ),
                self.ctx.settings.approvals,
            )
        self.ctx.proposals.append(item.id)
        return {"proposal": item.id, "state": item.state, "waits_for": "a human decision"}


QUALITY_TOOLS: tuple[type[VibehqTool], ...] = (
    QualityScanTool,
    ValidateWorkspaceTool,
    QuarantineStatusTool,
    RequestReleaseTool,
)
