"""How the workspace writes its RPC entrypoints, read from the entrypoints already there.

A generated entrypoint has to type-check next to its siblings: the same `BaseWorkerEntrypoint`
module, the same Env type argument, and a D1 binding reached the way that Env allows. The
example workspace follows the conventions (`@shared/base/BaseWorkerEntrypoint`, `Env` from
`orchestrator/worker/types`); the real monorepo keeps the base class in
`@shared/base/workerEntrypoint.ts`, types most entrypoints with `CoreEnv` from
`@shared/types/env`, and declares `DB` there as optional.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.refactor.models import RpcTarget
from engine.syntax.relative import import_specifier

__all__ = ["BASE_IMPORT", "ENV_MODULE", "EntrypointStyle", "entrypoint_style"]

BASE_IMPORT = "@shared/base/BaseWorkerEntrypoint"
# Env lives beside the entrypoints folder; the import is computed from the entrypoint's path.
ENV_MODULE = "orchestrator/worker/types"

_DECLARES_BASE = re.compile(r"^export\s+(abstract\s+)?class\s+BaseWorkerEntrypoint\b", re.M)
_EXTENDS = re.compile(r"\bextends\s+BaseWorkerEntrypoint\s*<\s*([A-Za-z_$][\w$]*)\s*>")
_IMPORT = re.compile(r"""^import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]""", re.M)
_OPTIONAL_DB = re.compile(r"^\s*DB\?\s*:", re.M)


@dataclass(frozen=True, slots=True)
class EntrypointStyle:
    base: str
    env_type: str
    env_import: str
    db: str = "this.env.DB"


def _base_import(root: Path) -> str:
    folder = root / "@shared" / "base"
    if (folder / "BaseWorkerEntrypoint.ts").is_file() or not folder.is_dir():
        return BASE_IMPORT
    for path in sorted(folder.glob("*.ts")):
        if not path.name.endswith(".d.ts") and _DECLARES_BASE.search(
            path.read_text(errors="replace")
        ):
            return f"@shared/base/{path.stem}"
    return BASE_IMPORT


def _module_file(root: Path, importer: str, spec: str) -> Path | None:
    if spec.startswith("@shared/"):
        rel = spec
    elif spec.startswith("."):
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    else:
        return None
    for candidate in (f"{rel}.ts", f"{rel}/index.ts", rel):
        path = root / candidate
        if path.is_file():
            return path
    return None


def entrypoint_style(root: Path, target: RpcTarget) -> EntrypointStyle:
    """The style of the entrypoints beside `target.entrypoint_path`: the Env type most of them
    give `BaseWorkerEntrypoint` and where it is imported from (the conventional `Env` when
    none does). A `DB` declared optional on that Env is reached with `!`: the binding is the
    orchestrator's to provide, and the class cannot run its SQL without it."""
    conventional = EntrypointStyle(
        base=_base_import(root),
        env_type="Env",
        env_import=import_specifier(target.entrypoint_path, ENV_MODULE),
    )
    folder = root / posixpath.dirname(target.entrypoint_path)
    if not folder.is_dir():
        return conventional
    used: Counter[str] = Counter()
    sources: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.ts")):
        if posixpath.join(posixpath.dirname(target.entrypoint_path), path.name) == (
            target.entrypoint_path
        ):
            continue
        text = path.read_text(errors="replace")
        found = _EXTENDS.search(text)
        if found is None:
            continue
        name = found.group(1)
        for names, spec in _IMPORT.findall(text):
            if name in {n.strip().split(" as ")[-1] for n in names.split(",")}:
                used[name] += 1
                importer = posixpath.join(posixpath.dirname(target.entrypoint_path), path.name)
                sources.setdefault(name, (spec, importer))
    if not used:
        return conventional
    name = used.most_common(1)[0][0]
    spec, importer = sources[name]
    declared = _module_file(root, importer, spec)
    optional = declared is not None and bool(
        _OPTIONAL_DB.search(declared.read_text(errors="replace"))
    )
    return EntrypointStyle(
        base=conventional.base,
        env_type=name,
        env_import=spec,
        db="this.env.DB!" if optional else "this.env.DB",
    )
