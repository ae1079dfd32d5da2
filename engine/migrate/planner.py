"""Plan a migration: every file to copy, every import rewrite and the rule behind it, what
stays unresolved, the SQL sites, and conflicts with the workspace. Nothing is written."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import BadInput
from engine.globs import has_magic, matcher
from engine.ledger.events import utc_now
from engine.migrate.imports import (
    alias_specifier,
    apply_rules,
    find_imports,
    relative_specifier,
    resolve_relative,
)
from engine.migrate.manifest import LoadedManifest, Manifest, ManifestError, SourceSpec
from engine.migrate.models import ImportRewrite, ImportSpecifier, SqlSite
from engine.migrate.seedcopy import apply_replacements, glob_matches, rewrites_file
from engine.migrate.sqlfinder import find_sql_sites
from engine.migrate.tsconfig import read_paths
from engine.syntax.parse import is_source
from engine.syntax.splice import splice
from engine.workspace import Workspace

FileStatus = Literal["new", "identical", "conflict"]
# Never walked: too large to scan and never migrated, whatever the excludes say.
_PRUNED_DIRS = frozenset({"node_modules", ".git", ".vibehq"})


class PlannedFile(BaseModel):
    source: str = Field(description="path under the folder's source root")
    dest: str = Field(description="workspace-relative destination")
    status: FileStatus
    sha256: str = Field(description="of the content that will be written")
    existing_sha256: str | None = None
    rewrites: int = 0


class UnresolvedImport(BaseModel):
    file: str
    line: int
    column: int
    kind: str
    specifier: str
    reason: str


class FolderPlan(BaseModel):
    name: str
    source_root: str
    dest_root: str
    files: list[PlannedFile] = Field(default_factory=list)
    rewrites: list[ImportRewrite] = Field(default_factory=list)
    unresolved: list[UnresolvedImport] = Field(default_factory=list)
    sql_sites: list[SqlSite] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="symlinks, never followed")

    @property
    def conflicts(self) -> list[PlannedFile]:
        return [f for f in self.files if f.status == "conflict"]


class MigrationPlan(BaseModel):
    manifest: str
    format: str
    workspace: str
    created: str = Field(default_factory=utc_now)
    owner: str | None = None
    tsconfig: str = "tsconfig.json"
    tsconfig_paths_missing: dict[str, list[str]] = Field(
        default_factory=dict, description="aliases apply adds to the workspace tsconfig"
    )
    tsconfig_paths_differing: dict[str, list[str]] = Field(
        default_factory=dict, description="aliases the workspace maps elsewhere: left alone"
    )
    folders: list[FolderPlan] = Field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "files": sum(len(f.files) for f in self.folders),
            "new": sum(1 for f in self.folders for p in f.files if p.status == "new"),
            "identical": sum(1 for f in self.folders for p in f.files if p.status == "identical"),
            "conflicts": sum(len(f.conflicts) for f in self.folders),
            "rewrites": sum(len(f.rewrites) for f in self.folders),
            "unresolved": sum(len(f.unresolved) for f in self.folders),
            "sql_sites": sum(len(f.sql_sites) for f in self.folders),
        }


@dataclass
class PlanResult:
    plan: MigrationPlan
    contents: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Source:
    folder: str
    abs_path: str
    rel: str
    dest: str


def plan_migration(ws: Workspace, loaded: LoadedManifest) -> PlanResult:
    manifest = loaded.manifest
    folders = _expand_sources(ws, loaded)
    moved: dict[str, _Source] = {}
    dests: set[str] = set()
    for sources in folders.values():
        for src in sources:
            if src.dest in dests:
                raise BadInput(f"two source files map to {src.dest}")
            moved[src.abs_path] = src
            dests.add(src.dest)
    ws_paths = read_paths(ws.root / manifest.validation.tsconfig)
    alias_paths = {**ws_paths, **manifest.tsconfig_paths}
    resolver = _Resolver(ws, moved, dests, alias_paths, manifest)
    result = PlanResult(
        MigrationPlan(
            manifest=str(loaded.path),
            format=loaded.format,
            workspace=str(ws.root),
            owner=None if manifest.owner is None else str(manifest.owner),
            tsconfig=manifest.validation.tsconfig,
            tsconfig_paths_missing={
                k: v for k, v in manifest.tsconfig_paths.items() if k not in ws_paths
            },
            tsconfig_paths_differing={
                k: v
                for k, v in manifest.tsconfig_paths.items()
                if k in ws_paths and ws_paths[k] != v
            },
        )
    )
    seed = loaded.format == "seed"
    for (name, root, dest_root), sources in folders.items():
        folder = FolderPlan(name=name, source_root=root, dest_root=dest_root)
        for src in sources:
            data = Path(src.abs_path).read_bytes()
            if seed:
                data = _seed_rewrite_file(folder, resolver, src, data)
            elif is_source(src.rel):
                data = _rewrite_file(folder, resolver, src, data)
            if is_source(src.rel):
                folder.sql_sites.extend(find_sql_sites(data, src.dest))
            result.contents[src.dest] = data
            folder.files.append(_planned(ws, src, data, folder))
        result.plan.folders.append(folder)
    return result


def source_fingerprint(ws: Workspace, loaded: LoadedManifest) -> str:
    """A digest of everything the planned file contents depend on: the manifest and every
    source file's path, size and mtime. Equal digests mean an identical plan."""
    digest = hashlib.sha256()
    digest.update(loaded.manifest.model_dump_json().encode())
    digest.update(f"{loaded.base}\0{loaded.format}\0{ws.root}\n".encode())
    tsconfig = ws.root / loaded.manifest.validation.tsconfig
    if tsconfig.is_file():
        st = tsconfig.stat()
        digest.update(f"tsconfig\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for sources in _expand_sources(ws, loaded).values():
        for src in sources:
            st = os.stat(src.abs_path)
            digest.update(f"{src.abs_path}\0{src.dest}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _planned(ws: Workspace, src: _Source, data: bytes, folder: FolderPlan) -> PlannedFile:
    digest = hashlib.sha256(data).hexdigest()
    target = ws.resolve(src.dest)
    existing = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else None
    if target.exists() and not target.is_file():
        raise BadInput(f"destination {src.dest} exists and is not a file")
    status: FileStatus = (
        "new" if existing is None else "identical" if existing == digest else "conflict"
    )
    rewrites = sum(1 for r in folder.rewrites if r.file == src.dest)
    return PlannedFile(
        source=src.rel,
        dest=src.dest,
        status=status,
        sha256=digest,
        existing_sha256=existing,
        rewrites=rewrites,
    )


def _expand_sources(
    ws: Workspace, loaded: LoadedManifest
) -> dict[tuple[str, str, str], list[_Source]]:
    if loaded.format == "seed":
        return _expand_seed_sources(ws, loaded)
    folders: dict[tuple[str, str, str], list[_Source]] = {}
    for index, spec in enumerate(loaded.manifest.sources):
        for root, dest_root in _roots(loaded.base, spec, index):
            # Named by destination: several sources may share a folder name, never a target.
            name = dest_root or "."
            key = (name, str(root), dest_root)
            group = f"{index}:{root}"
            found = _walk(ws, root, dest_root, spec, group)
            if not found:
                raise ManifestError(
                    f"{loaded.path}: sources[{index}]: include {spec.include} matches no file"
                    f" in {root}"
                )
            folders.setdefault(key, []).extend(found)
    return folders


def _expand_seed_sources(
    ws: Workspace, loaded: LoadedManifest
) -> dict[tuple[str, str, str], list[_Source]]:
    """The seed's copy step: each `path` glob under STAGING, each file to
    `@shared/<destination>/<path relative to STAGING>`."""
    root = loaded.staging_root(ws.root).resolve()
    if not root.is_dir():
        raise ManifestError(f"{loaded.path}: the seed manifest's STAGING folder {root} not found")
    files = _files_under(root)
    folders: dict[tuple[str, str, str], list[_Source]] = {}
    for index, spec in enumerate(loaded.manifest.sources):
        pattern = spec.include[0]
        matched = [rel for rel in files if glob_matches(pattern, rel)]
        if not matched:
            raise ManifestError(
                f"{loaded.path}: source_paths.{index}.path: glob {pattern!r} matches no file"
                f" under {root}"
            )
        key = (spec.to, str(root), spec.to)
        group = folders.setdefault(key, [])
        # Two globs to one destination may match one file: the seed copied it twice, the same.
        taken = {src.rel for src in group}
        for rel in matched:
            if rel in taken:
                continue
            dest = f"{spec.to}/{rel}"
            ws.resolve(dest)
            group.append(_Source(str(index), str(root / rel), rel, dest))
    return folders


def _files_under(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _PRUNED_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        for filename in sorted(filenames):
            if os.path.islink(os.path.join(dirpath, filename)):
                continue
            rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
            found.append(rel.replace(os.sep, "/"))
    return found


def _roots(base: Path, spec: SourceSpec, index: int) -> list[tuple[Path, str]]:
    if has_magic(spec.from_):
        matches = sorted(p for p in base.glob(spec.from_) if p.is_dir())
        if not matches:
            raise ManifestError(
                f"sources[{index}].from {spec.from_!r} matches no folder under {base}"
            )
        return [(p.resolve(), f"{spec.to.rstrip('/')}/{p.name}") for p in matches]
    root = (base / spec.from_).resolve()
    if not root.is_dir():
        raise ManifestError(f"sources[{index}].from: folder {str(root)!r} not found")
    return [(root, spec.to.rstrip("/"))]


def _walk(ws: Workspace, root: Path, dest_root: str, spec: SourceSpec, group: str) -> list[_Source]:
    include = matcher(spec.include)
    exclude = matcher(spec.excluded_globs())
    found: list[_Source] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _PRUNED_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        for filename in sorted(filenames):
            rel = filename if rel_dir == "." else f"{rel_dir}/{filename}".replace(os.sep, "/")
            abs_path = os.path.join(dirpath, filename)
            if not include(rel) or exclude(rel):
                continue
            if os.path.islink(abs_path):
                continue
            dest = f"{dest_root}/{rel}" if dest_root else rel
            ws.resolve(dest)
            found.append(_Source(group, abs_path, rel, dest))
    return found


@dataclass(frozen=True)
class _Decision:
    new: str | None = None
    rule: str | None = None
    problem: str | None = None


class _Resolver:
    """Decides, for one import, the new specifier or why it stays unresolved."""

    def __init__(
        self,
        ws: Workspace,
        moved: dict[str, _Source],
        dests: set[str],
        alias_paths: dict[str, list[str]],
        manifest: Manifest,
    ) -> None:
        self.ws = ws
        self.moved = moved
        self.dests = dests
        self.alias_paths = alias_paths
        self.manifest = manifest
        self._exists_cache: dict[str, bool] = {}

    def source_exists(self, path: PurePosixPath) -> bool:
        key = str(path)
        if key not in self._exists_cache:
            self._exists_cache[key] = key in self.moved or os.path.isfile(key)
        return self._exists_cache[key]

    def dest_exists(self, path: PurePosixPath) -> bool:
        key = "dest:" + str(path)
        if key not in self._exists_cache:
            self._exists_cache[key] = str(path) in self.dests or (self.ws.root / path).is_file()
        return self._exists_cache[key]

    def decide(self, src: _Source, spec: ImportSpecifier) -> _Decision:
        # tsc resolves `/// <reference path>` relative to the file, never through aliases.
        is_reference = spec.kind == "reference-path"
        ruled = None if is_reference else apply_rules(spec.specifier, self.manifest.imports)
        if ruled is not None:
            new, index = ruled
            rule = self.manifest.imports[index]
            # The rule's rewrite stands even when its target is missing: that is reported.
            problem = self.check_dest(src.dest, new)
            return _Decision(
                new,
                f"imports[{index}] {rule.kind} {rule.pattern}",
                f"rewritten to {new!r}: {problem}" if problem else None,
            )
        if is_reference:
            bare = not spec.specifier.startswith(".")
            decided = self._relative(
                src, "./" + spec.specifier if bare else spec.specifier, allow_alias=False
            )
            if bare and decided.new == "./" + spec.specifier:
                return _Decision()
            return decided
        if spec.specifier.startswith("."):
            return self._relative(src, spec.specifier)
        return _Decision(problem=self.check_dest(src.dest, spec.specifier))

    def _relative(self, src: _Source, specifier: str, *, allow_alias: bool = True) -> _Decision:
        target = resolve_relative(specifier, PurePosixPath(src.abs_path), self.source_exists)
        if target is None:
            return _Decision(problem=f"{specifier!r} does not resolve in the source folder")
        moved = self.moved.get(str(target))
        if moved is None:
            return _Decision(problem=f"imports {target}, which this migration does not move")
        importer, dest = PurePosixPath(src.dest), PurePosixPath(moved.dest)
        # Inside one folder relative imports stay relative; across folders an alias is sturdier.
        if allow_alias and self.manifest.relative_to_alias and moved.folder != src.folder:
            alias = alias_specifier(dest, self.alias_paths, specifier)
            if alias is not None:
                return _Decision(alias, "alias")
        new = relative_specifier(importer, dest, specifier)
        return _Decision() if new == specifier else _Decision(new, "relative")

    def check_dest(self, importer: str, specifier: str) -> str | None:
        """Does `specifier` resolve from `importer` in the workspace after the migration?"""
        if specifier.startswith("."):
            found = resolve_relative(specifier, PurePosixPath(importer), self.dest_exists)
            return None if found is not None else f"{specifier!r} will not resolve after the move"
        for key, targets in self.alias_paths.items():
            star = _alias_match(key, specifier)
            if star is None:
                continue
            for target in targets:
                candidate = "./" + target.replace("*", star)
                if resolve_relative(candidate, PurePosixPath("_"), self.dest_exists) is not None:
                    return None
            return f"alias {specifier!r} matches {key!r} but no file in the workspace"
        return None


def _alias_match(key: str, specifier: str) -> str | None:
    if "*" not in key:
        return "" if specifier == key else None
    prefix, suffix = key.split("*", 1)
    if specifier.startswith(prefix) and specifier.endswith(suffix):
        return specifier[len(prefix) : len(specifier) - len(suffix)]
    return None


_QUOTED = re.compile(r"""['"]([^'"]*)['"]""")


def _seed_rewrite_file(folder: FolderPlan, resolver: _Resolver, src: _Source, data: bytes) -> bytes:
    """The seed's text substitutions, recorded; then every import the result leaves that will
    not resolve in the workspace is reported (nothing else is rewritten: the seed did not)."""
    rules = resolver.manifest.imports
    if rewrites_file(src.rel):
        data, made = apply_replacements(data, rules)
        for r in made:
            old, new = _QUOTED.search(r.old), _QUOTED.search(r.new)
            folder.rewrites.append(
                ImportRewrite(
                    file=src.dest,
                    line=r.line,
                    column=r.column,
                    kind="import",
                    old=old.group(1) if old else r.old,
                    new=new.group(1) if new else r.new,
                    rule=f"imports[{r.rule}] {rules[r.rule].kind} {rules[r.rule].pattern}",
                )
            )
    if is_source(src.rel):
        for spec in find_imports(data, src.dest):
            if spec.kind == "reference-path":
                continue
            problem = resolver.check_dest(src.dest, spec.specifier)
            if problem is not None:
                folder.unresolved.append(
                    UnresolvedImport(
                        file=src.dest,
                        line=spec.line,
                        column=spec.column,
                        kind=spec.kind,
                        specifier=spec.specifier,
                        reason=problem,
                    )
                )
    return data


def _rewrite_file(folder: FolderPlan, resolver: _Resolver, src: _Source, data: bytes) -> bytes:
    edits: list[tuple[int, int, str]] = []
    for spec in find_imports(data, src.dest):
        decision = resolver.decide(src, spec)
        where = {"file": src.dest, "line": spec.line, "column": spec.column, "kind": spec.kind}
        if decision.problem is not None:
            folder.unresolved.append(
                UnresolvedImport(**where, specifier=spec.specifier, reason=decision.problem)
            )
        if decision.new is not None and decision.rule is not None:
            edits.append((spec.start_byte, spec.end_byte, decision.new))
            folder.rewrites.append(
                ImportRewrite(**where, old=spec.specifier, new=decision.new, rule=decision.rule)
            )
    return splice(data, edits) if edits else data
