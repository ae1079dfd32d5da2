"""Workspace tools: read a file (a line range, numbered, capped) and ask what an agent changed.

`changes_by` answers "what did Codex change in folder X?" from the ledger alone: the batches
the agent proposed (approval items, their state, whether they were applied), the patch events
of batches it requested, and the proposals that were refused before they queued.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.approvals.apply import APPLIED_EVENT
from engine.approvals.queue import list_items
from engine.errors import BadInput
from engine.patch.patch_events import requester_edits
from tools.base import ToolArgs, VibehqTool, clip, listing
from tools.batch_proposals import REFUSED_EVENT

MAX_LINES = 200
LINE_CHARS = 400
CHANGE_CAP = 20


class ReadArgs(ToolArgs):
    path: str = Field(description="workspace-relative file")
    start: int = Field(1, ge=1, description="first line, 1-based")
    end: int | None = Field(None, ge=1, description=f"last line; at most {MAX_LINES} lines")


class ReadFileTool(VibehqTool):
    name: str = "read_file"
    description: str = (
        f"Read lines of a workspace file, numbered (at most {MAX_LINES} lines per call; ask "
        "for the next range to read on)."
    )
    args_schema: type[ToolArgs] = ReadArgs

    def invoke(self, args: ReadArgs) -> dict[str, Any]:
        path = self.ctx.workspace.resolve(args.path)
        if not path.is_file():
            raise BadInput(f"{args.path!r} is not a file of the workspace")
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            raise BadInput(f"{args.path!r} is a binary file")
        lines = data.decode("utf-8", "replace").splitlines()
        last = min(len(lines), args.end or args.start + MAX_LINES - 1, args.start + MAX_LINES - 1)
        if args.start > max(len(lines), 1):
            raise BadInput(f"{args.path!r} has {len(lines)} lines; start {args.start} is past it")
        width = len(str(last))
        shown = [
            f"{n:>{width}} | {clip(lines[n - 1], LINE_CHARS) if lines[n - 1] else ''}"
            for n in range(args.start, last + 1)
        ]
        out: dict[str, Any] = {
            "path": args.path,
            "lines": f"{args.start}-{last}",
            "total_lines": len(lines),
            "text": "\n".join(shown),
        }
        if last < len(lines):
            out["more"] = f"read on with start={last + 1}"
        return out


class ChangesArgs(ToolArgs):
    agent: str = Field(description="who: an agent name (Codex, Auto, migrator) or a person")
    folder: str | None = Field(None, description="only changes to files under this folder")
    limit: int = Field(CHANGE_CAP, ge=1, le=100)


class ChangesByTool(VibehqTool):
    name: str = "changes_by"
    description: str = (
        "What an agent changed or proposed, from the ledger: its batches (approval state, "
        "applied or not, files), patch events of batches it requested, refused proposals. "
        "Filter by folder."
    )
    args_schema: type[ToolArgs] = ChangesArgs

    def invoke(self, args: ChangesArgs) -> dict[str, Any]:
        who = args.agent.strip().casefold()
        folder = (args.folder or "").strip().strip("/")

        def under(path: str) -> bool:
            return not folder or path == folder or path.startswith(folder + "/")

        with self.ctx.ledger() as ledger:
            items = [
                i
                for i in list_items(ledger, kind="patch_batch")
                if (i.requester or "").casefold() == who
            ]
            applied = {
                item_id: str(e.payload.get("batch_id"))
                for e in ledger.events(kind=APPLIED_EVENT, limit=10_000)
                if isinstance(item_id := e.payload.get("id"), int)
            }
            refused = [
                e
                for e in ledger.events(kind=REFUSED_EVENT, limit=10_000)
                if str(e.payload.get("agent", "")).casefold() == who
            ]
            edits = requester_edits(ledger, args.agent.strip())
        proposals = []
        for item in items:
            payload = item.payload
            assert payload.kind == "patch_batch"
            files = [f.path for f in payload.files] or [op.file for op in payload.batch.patches]
            if not any(under(f) for f in files):
                continue
            proposals.append(
                {
                    "id": item.id,
                    "state": item.state,
                    "title": clip(item.title, 160),
                    "files": [f for f in files if under(f)],
                    "lines_changed": payload.changed_lines,
                    "applied_batch": applied.get(item.id),
                    **({"answers": payload.answers} if payload.answers else {}),
                    **({"refused": clip(payload.refused, 200)} if payload.refused else {}),
                }
            )
        batches: dict[str, dict[str, Any]] = {}
        for edit in edits:
            if not under(edit.file):
                continue
            entry = batches.setdefault(
                edit.batch_id, {"batch": edit.batch_id, "events": [], "files": {}, "last": edit.ts}
            )
            if edit.kind not in entry["events"]:
                entry["events"].append(edit.kind)
            if edit.kind == "applied":
                entry["files"][edit.file] = f"+{edit.lines_added} -{edit.lines_removed}"
            entry["last"] = edit.ts
        refusals = [
            {"ts": e.ts, "reason": clip(str(e.payload.get("reason")), 200)}
            for e in refused
            if any(under(str(f)) for f in _listed(e.payload.get("files"))) or not folder
        ]
        return {
            "agent": args.agent,
            "folder": folder or None,
            **listing("proposals", proposals[::-1], args.limit),
            **listing("patch_batches", list(batches.values())[::-1], args.limit),
            **listing("refused", refusals[::-1], args.limit),
        }


WORKSPACE_TOOLS: tuple[type[VibehqTool], ...] = (ReadFileTool, ChangesByTool)


def _listed(value: object) -> list[object]:
    """A ledger payload field that holds a list, or nothing when it holds anything else."""
    return value if isinstance(value, list) else []
