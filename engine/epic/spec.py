"""What `vibehq epic run MANIFEST_OR_EPIC_ID` runs: an epic spec file, a single migration
manifest, or the id of an epic task in tasks.json whose `epicSpec` field names a spec file.

Every path is resolved now, once, against the folder of the file it came from, and every
problem (no such file, malformed YAML/JSON, an unknown key, a folder STAGING does not have,
a task id that does not exist) is one BadInput line before anything runs."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.epic.models import EpicSpec
from engine.errors import BadInput
from engine.inputs import check_path_text, decode_utf8, load_json, load_yaml, read_input
from engine.migrate.manifest import LoadedManifest, load_manifest
from engine.workspace import Workspace

__all__ = ["EPIC_SPEC_FIELD", "FolderJob", "folder_jobs", "load_epic"]

# The task field that links an epic task of tasks.json to its spec (kept on a round trip).
EPIC_SPEC_FIELD = "epicSpec"


@dataclass(frozen=True)
class FolderJob:
    """One folder of the epic: its name (the STAGING subfolder) and its loaded manifest."""

    name: str
    loaded: LoadedManifest

    @property
    def dest(self) -> str:
        return self.loaded.manifest.sources[0].to


def load_epic(source: str, ws: Workspace, tasks_path: Path | None) -> tuple[EpicSpec, str]:
    """The spec and a label of where it came from."""
    check_path_text(source, field="epic spec", error=BadInput)
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        return _load_file(path), str(path)
    if tasks_path is None or not tasks_path.is_file():
        raise BadInput(f"{source!r} is not a file, and there is no tasks.json to find it in")
    spec_path = _spec_of_task(tasks_path, source)
    # Input like every other path: inside the workspace, after symlinks are followed.
    resolved = ws.resolve(spec_path.as_posix())
    spec = _load_file(resolved)
    if spec.epic is None:
        spec = spec.model_copy(update={"epic": source})
    return spec, f"task {source} ({spec_path})"


def _load_file(path: Path) -> EpicSpec:
    check_path_text(str(path), field="epic spec path", error=BadInput)
    if not path.is_file():
        raise BadInput(f"epic spec {str(path)!r} not found")
    raw = read_input(path, what="epic spec", error=BadInput)
    text = decode_utf8(raw, source=str(path), error=BadInput)
    try:
        if path.suffix.lower() == ".json":
            data = load_json(text, source=str(path), error=BadInput)
        else:
            data = load_yaml(text, source=str(path), error=BadInput)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: an epic spec is a mapping, not {type(data).__name__}")
    base = str(path.resolve().parent)
    if "sources" in data:
        # A migration manifest: a one-folder epic.
        name = str(data.get("name") or path.stem)
        return _validated({"name": name, "manifest": str(path.resolve()), "base": base}, path)
    return _validated({**data, "base": base}, path)


def _validated(data: dict[str, Any], path: Path) -> EpicSpec:
    try:
        return EpicSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise BadInput(f"{path}: {where}: {first['msg']}") from None


def _spec_of_task(tasks_path: Path, task_id: str) -> Path:
    from engine.plan.document import find_task, load_tasks

    raw = find_task(load_tasks(tasks_path), task_id).get(EPIC_SPEC_FIELD)
    if not isinstance(raw, str) or not raw:
        raise BadInput(
            f"task {task_id} has no {EPIC_SPEC_FIELD!r} field naming its epic spec; "
            f"add one, or pass the spec file"
        )
    return Path(raw)


def folder_jobs(spec: EpicSpec, only: str | None = None) -> list[FolderJob]:
    """The epic's folders in order, each with its manifest loaded (templates filled in)."""
    base = Path(spec.base)
    if spec.manifest is not None:
        loaded = load_manifest(_at(base, spec.manifest))
        return [FolderJob(name=Path(loaded.manifest.sources[0].to).name, loaded=loaded)]
    assert spec.staging is not None and spec.template is not None
    staging = _at(base, spec.staging)
    if not staging.is_dir():
        raise BadInput(f"STAGING folder {str(staging)!r} not found")
    present = sorted(p.name for p in staging.iterdir() if p.is_dir() and p.name[0] != ".")
    names = spec.folders if spec.folders is not None else present
    missing = [n for n in names if n not in present]
    if missing:
        raise BadInput(f"STAGING {staging} has no folder {', '.join(map(repr, missing))}")
    if only:
        # Several globs may be given, separated by commas: a run over a chosen subset.
        globs = [g.strip() for g in only.split(",") if g.strip()]
        names = [n for n in names if any(fnmatch.fnmatchcase(n, g) for g in globs)]
    if not names:
        raise BadInput(f"no epic folders{f' match {only!r}' if only else ''}")
    template = _at(base, spec.template)
    return [
        FolderJob(
            name=name,
            loaded=load_manifest(
                template, variables={"folder": name, "staging": str(staging), "name": name}
            ),
        )
        for name in names
    ]


def _at(base: Path, rel: str) -> Path:
    path = Path(rel)
    return path if path.is_absolute() else base / path
