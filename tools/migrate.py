"""Migration tools: plan a STAGING folder's move into the workspace, propose it, find SQL.

A folder moves through a manifest template (manifests/staging-template.yaml by default, the
one `vibehq batch` uses): its files are copied to `apps/<folder>` with their imports
rewritten. `migrate_folder` proposes the copy as one PatchBatch of file creations; nothing is
written until it is approved and applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from engine.errors import BadInput
from engine.migrate.manifest import LoadedManifest, load_manifest
from engine.migrate.planner import PlanResult, plan_migration
from engine.migrate.sqlfinder import find_sql_sites
from engine.patch.models import PatchBatch, PatchOperation
from engine.syntax.parse import is_source
from engine.workspace import resolve_inside
from tools.base import ToolArgs, VibehqTool, clip, listing
from tools.batch_proposals import propose_batch
from tools.context import ToolContext

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "manifests" / "staging-template.yaml"
SITE_CAP = 40
UNRESOLVED_CAP = 20
_SKIP_DIRS = frozenset({"node_modules", ".git", ".vibehq", "dist", "build"})


def staging_root(ctx: ToolContext) -> Path:
    if ctx.staging is None:
        raise BadInput("no STAGING folder is set for this session (give it with --staging PATH)")
    if not ctx.staging.is_dir():
        raise BadInput(f"STAGING folder {str(ctx.staging)!r} not found")
    return ctx.staging.resolve()


def load_folder_manifest(ctx: ToolContext, folder: str) -> LoadedManifest:
    staging = staging_root(ctx)
    name = folder.strip().strip("/")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise BadInput(f"folder {folder!r} is not the name of one STAGING folder")
    if not (staging / name).is_dir():
        known = sorted(p.name for p in staging.iterdir() if p.is_dir() and p.name[0] != ".")
        raise BadInput(f"no STAGING folder {name!r}; there are: {', '.join(known)}")
    template = ctx.template or DEFAULT_TEMPLATE
    variables = {"folder": name, "staging": str(staging), "name": name}
    return load_manifest(template, variables=variables)


def _summary(result: PlanResult) -> dict[str, Any]:
    plan = result.plan
    folders = []
    for f in plan.folders:
        unresolved = [f"{u.file}:{u.line} {u.specifier} ({u.reason})" for u in f.unresolved]
        folders.append(
            {
                "name": f.name,
                "dest": f.dest_root,
                "files": len(f.files),
                "new": sum(1 for p in f.files if p.status == "new"),
                "identical": sum(1 for p in f.files if p.status == "identical"),
                "conflicts": [p.dest for p in f.conflicts],
                "rewrites": len(f.rewrites),
                "sql_sites": len(f.sql_sites),
                **listing("unresolved", unresolved, UNRESOLVED_CAP),
            }
        )
    out: dict[str, Any] = {"totals": plan.totals(), "folders": folders}
    if plan.tsconfig_paths_missing:
        out["tsconfig_paths_missing"] = plan.tsconfig_paths_missing
    return out


class StagingFolderArgs(ToolArgs):
    folder: str = Field(description="the name of one STAGING folder, e.g. terminal-demo")


class MigratePlanTool(VibehqTool):
    name: str = "migrate_plan"
    description: str = (
        "Plan moving one STAGING folder into the workspace (nothing is written): files, import "
        "rewrites, unresolved imports, conflicts and SQL sites."
    )
    args_schema: type[ToolArgs] = StagingFolderArgs

    def invoke(self, args: StagingFolderArgs) -> dict[str, Any]:
        return _summary(
            plan_migration(self.ctx.workspace, load_folder_manifest(self.ctx, args.folder))
        )


class MigrateFolderTool(VibehqTool):
    name: str = "migrate_folder"
    description: str = (
        "Propose moving one STAGING folder into the workspace as ONE PatchBatch of new files "
        "(imports rewritten). Files that exist with other content are left out and listed. "
        "Returns the proposal id."
    )
    args_schema: type[ToolArgs] = StagingFolderArgs
    changes = True

    def invoke(self, args: StagingFolderArgs) -> dict[str, Any]:
        loaded = load_folder_manifest(self.ctx, args.folder)
        result = plan_migration(self.ctx.workspace, loaded)
        ops: list[PatchOperation] = []
        conflicts: list[str] = []
        # The copy only rewrites import specifiers: what it writes is what STAGING held.
        origins: dict[str, bytes] = {}
        for folder in result.plan.folders:
            for planned in folder.files:
                if planned.status == "identical":
                    continue
                if planned.status == "conflict":
                    conflicts.append(planned.dest)
                    continue
                text = result.contents[planned.dest].decode("utf-8", "surrogateescape")
                ops.append(PatchOperation(op="create", file=planned.dest, block=text))
                origins[planned.dest] = result.contents[planned.dest]
        summary = _summary(result)
        if not ops:
            return {"proposal": None, "note": "nothing to write: the workspace matches", **summary}
        batch = PatchBatch(
            order_id=f"migrate-{args.folder}",
            reason=f"migrate STAGING/{args.folder} ({loaded.manifest.name})",
            patches=ops,
        )
        out = propose_batch(
            self.ctx, batch, signature="migrate/staging", origins=origins
        ).model_dump(exclude_none=True)
        out["files"] = len(ops)
        out["conflicts_left_out"] = conflicts
        out["totals"] = summary["totals"]
        return out


class SqlSitesArgs(ToolArgs):
    path: str = Field(description="a file or folder, workspace-relative (or of STAGING)")
    in_staging: bool = Field(False, description="look in the STAGING folder, not the workspace")
    limit: int = Field(SITE_CAP, ge=1, le=200)


class SqlSitesTool(VibehqTool):
    name: str = "sql_sites"
    description: str = (
        "Find where code touches a database directly (D1, bun:sqlite, Durable Object SQL, "
        "Kysely, ...): file, lines, driver, call shape, SQL kind and tables."
    )
    args_schema: type[ToolArgs] = SqlSitesArgs

    def invoke(self, args: SqlSitesArgs) -> dict[str, Any]:
        root = staging_root(self.ctx) if args.in_staging else self.ctx.workspace.root
        target = resolve_inside(root, args.path, what="path")
        if target.is_file():
            files = [target]
        elif target.is_dir():
            files = sorted(
                p
                for p in target.rglob("*")
                if p.is_file()
                and not p.is_symlink()
                and is_source(p.name)
                and not p.name.endswith(".d.ts")
                and not _SKIP_DIRS.intersection(p.relative_to(root).parts)
            )
        else:
            raise BadInput(f"{args.path!r} is not a file or folder")
        sites = []
        drivers: dict[str, int] = {}
        for path in files:
            rel = path.relative_to(root).as_posix()
            for site in find_sql_sites(path.read_bytes(), rel):
                drivers[site.driver] = drivers.get(site.driver, 0) + 1
                sites.append(
                    {
                        "file": site.file,
                        "lines": f"{site.start_line}-{site.end_line}",
                        "driver": site.driver,
                        "call": site.call,
                        "kind": site.kind,
                        "tables": sorted({*site.tables_read, *site.tables_written}),
                        "sql": clip(site.statement, 160),
                    }
                )
        return {
            "files_scanned": len(files),
            "by_driver": drivers,
            **listing("sites", sites, args.limit),
        }


MIGRATE_TOOLS: tuple[type[VibehqTool], ...] = (MigratePlanTool, MigrateFolderTool, SqlSitesTool)
