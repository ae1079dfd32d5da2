"""The orchestrator side of the D1-to-RPC refactor, as one PatchBatch.

A worker's SQL moves into a typed RPC entrypoint class on the orchestrator, which runs it on
the orchestrator's own D1 binding. Four files take part: the entrypoint class, a D1
migration with the worker's DDL, the entrypoints index that exports the class, and the
wrangler JSONC that binds it as a service. Nothing here writes: the batch goes through the
gate like any other change.

Every edit is anchored (the `// @vibehq:*` markers, the `"services": [` line) and skips what
is already there, so building the batch again on its own result finds nothing to do and
returns None.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import BadInput
from engine.migrate.tsconfig import strip_jsonc
from engine.patch.models import PatchBatch, PatchOperation
from engine.refactor.models import RpcMethod, RpcTarget
from engine.refactor.orchestrator_style import (
    BASE_IMPORT,
    ENV_MODULE,
    EntrypointStyle,
    entrypoint_style,
)
from engine.syntax.relative import import_specifier
from engine.workspace import resolve_inside

__all__ = [
    "ENTRYPOINT_EXPORTS_MARKER",
    "RPC_METHODS_MARKER",
    "orchestrator_batch",
    "render_entrypoint",
    "render_method",
]

RPC_METHODS_MARKER = "// @vibehq:rpc-methods"
ENTRYPOINT_EXPORTS_MARKER = "// @vibehq:entrypoint-exports"
SQL_VALUE_TYPE = "export type SqlValue = string | number | boolean | null;"
ROW_TYPE = "export type Row = Record<string, SqlValue>;"
# A write's result in every shape a worker may have read it in: bun:sqlite's `Changes`,
# a Durable Object cursor's `rowsWritten` and D1's `run()` meta. One type for all three lets
# the worker keep its property reads as they are.
WRITE_RESULT_TYPE = (
    "export interface WriteResult {\n"
    "  changes: number;\n"
    "  lastInsertRowid: number;\n"
    "  rowsWritten: number;\n"
    "  meta: { changes: number; last_row_id: number; rows_written: number };\n"
    "}"
)
# The property paths of a WriteResult, which the worker rewrite accepts as result uses.
WRITE_RESULT_PATHS = frozenset(
    {
        ("changes",),
        ("lastInsertRowid",),
        ("rowsWritten",),
        ("meta",),
        ("meta", "changes"),
        ("meta", "last_row_id"),
        ("meta", "rows_written"),
    }
)
_SHARED_TYPES = (
    ("SqlValue", SQL_VALUE_TYPE),
    ("Row", ROW_TYPE),
    ("WriteResult", WRITE_RESULT_TYPE),
)

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MIGRATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_MIGRATION_FILE = re.compile(r"^(\d{3,})_(.+)\.sql$")
_SERVICES_LINE = re.compile(r'^(?P<indent>[ \t]*)"services"\s*:\s*\[\s*(?://.*)?$')
_NAMES_LIST = re.compile(
    r"^(?P<head>[^\n]*\bENTRYPOINT_NAMES\b[^\n=]*=\s*)\[(?P<body>[^\]]*)\](?P<tail>[^\n]*)$",
    re.M,
)
_QUOTED = re.compile(r"\"([^\"\\]*)\"|'([^'\\]*)'")
# Words TypeScript refuses as parameter names in strict mode (classes are strict).
_RESERVED = frozenset(
    [
        "arguments",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "eval",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "await",
    ]
)
# Members every entrypoint inherits from BaseWorkerEntrypoint / WorkerEntrypoint: an RPC
# method with one of these names would shadow the base class.
_INHERITED = frozenset(
    {"constructor", "env", "ctx", "fetch", "log", "now", "newRequestId", "entrypointName"}
)


def ts_return(method: RpcMethod) -> str:
    """The TypeScript return type of the RPC method."""
    if method.returns == "rows":
        return "Promise<Row[]>"
    if method.returns == "row":
        return "Promise<Row | null>"
    return "Promise<WriteResult>"


def render_method(method: RpcMethod, db: str = "this.env.DB") -> str:
    """One class member, indented for a class body, with a JSDoc naming the sites it replaces.
    `db` is how the class reaches its D1 binding."""
    _check_method(method)
    params = ", ".join(f"{p.name}: {p.ts_type}" for p in method.params)
    bind = f".bind({', '.join(p.name for p in method.params)})" if method.params else ""
    # JSON string literals are valid JS string literals: quotes, backslashes, newlines and
    # U+2028/U+2029 all come out escaped, and nothing is interpolated.
    statement = f"{db}.prepare({json.dumps(method.sql)}){bind}"
    signature = ts_return(method)
    if method.returns == "rows":
        body = [
            f"const {{ results }} = await {statement}.all<Row>();",
            "return results;",
        ]
    elif method.returns == "row":
        body = [f"return await {statement}.first<Row>();"]
    else:
        body = [
            f"const {{ meta }} = await {statement}.run();",
            "const { changes, last_row_id, rows_written } = meta;",
            "return {",
            "  changes,",
            "  lastInsertRowid: last_row_id,",
            "  rowsWritten: rows_written,",
            "  meta: { changes, last_row_id, rows_written },",
            "};",
        ]
    lines = [
        f"  /** {_jsdoc_text(method)} */",
        f"  async {method.name}({params}): {signature} {{",
        *(f"    {line}" for line in body),
        "  }",
    ]
    return "\n".join(lines) + "\n"


def render_entrypoint(
    target: RpcTarget, methods: Sequence[RpcMethod], style: EntrypointStyle | None = None
) -> str:
    """The whole entrypoint file for a class that does not exist yet, written the way the
    workspace's other entrypoints are (`style`; the conventional one when None)."""
    _check_identifier(target.class_name, "class name")
    env_import = import_specifier(target.entrypoint_path, ENV_MODULE)
    style = style or EntrypointStyle(base=BASE_IMPORT, env_type="Env", env_import=env_import)
    members = "\n".join(render_method(m, style.db) for m in _unique(methods))
    parts = [
        f'import {{ BaseWorkerEntrypoint }} from "{style.base}";\n',
        f'import type {{ {style.env_type} }} from "{style.env_import}";\n',
        "\n",
        *(f"{decl}\n" for _, decl in _SHARED_TYPES),
        "\n",
        "/**\n",
        f" * RPC entrypoint behind the {_comment_safe(target.binding)} service binding.\n",
        f" * It runs the SQL moved out of {_comment_safe(target.folder)} on the orchestrator's"
        " D1.\n",
        " */\n",
        f"export class {target.class_name} extends BaseWorkerEntrypoint<{style.env_type}> {{\n",
        f"  protected readonly entrypointName = {json.dumps(target.class_name)};\n",
        "\n",
        members,
        "\n" if members else "",
        f"  {RPC_METHODS_MARKER}\n",
        "}\n",
    ]
    return "".join(parts)


def orchestrator_batch(
    ws_root: Path,
    target: RpcTarget,
    methods: Sequence[RpcMethod],
    ddl: Sequence[str],
    *,
    migration_name: str,
    requester: str = "codex-recipes",
    task_id: str | None = None,
) -> PatchBatch | None:
    """The batch that gives `target.class_name` the methods, or None when all of it is done.

    Reads the workspace, writes nothing. Existing files carry their sha256 in the batch so
    that applying it after someone else changed them is a conflict, not a silent merge.
    """
    if not _MIGRATION_NAME.match(migration_name):
        raise BadInput(
            f"migration name {migration_name!r} must be letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    _check_identifier(target.class_name, "class name")
    unique = _unique(methods)
    for method in unique:
        _check_method(method)
    work = _Work(ws_root)
    _entrypoint_ops(work, target, unique)
    _migration_ops(work, target, ddl, migration_name)
    _index_ops(work, target)
    _wrangler_ops(work, target)
    if not work.ops:
        return None
    for op in work.ops:
        op.task_id = task_id
    return PatchBatch(
        requester=requester,
        reason=f"move the SQL of {target.folder} into the {target.class_name} RPC entrypoint",
        task_id=task_id,
        base_sha256=dict(sorted(work.bases.items())),
        patches=work.ops,
    )


@dataclass
class _Work:
    """The ops gathered so far and the sha256 of every existing file they edit."""

    root: Path
    ops: list[PatchOperation] = field(default_factory=list)
    bases: dict[str, str] = field(default_factory=dict)

    def read(self, rel: str) -> str | None:
        path = resolve_inside(self.root, rel, what="refactor target path")
        if not path.exists():
            return None
        if not path.is_file():
            raise BadInput(f"{rel} is not a file")
        data = path.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{rel} is not UTF-8: {exc}") from exc

    def edit(self, op: PatchOperation, text: str) -> None:
        self.bases[op.file] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.ops.append(op)


def _entrypoint_ops(work: _Work, target: RpcTarget, methods: list[RpcMethod]) -> None:
    path = target.entrypoint_path
    text = work.read(path)
    if text is None:
        work.ops.append(
            PatchOperation(
                op="create",
                file=path,
                block=render_entrypoint(target, methods, entrypoint_style(work.root, target)),
            )
        )
        return
    if not re.search(
        rf"^(export\s+)?(default\s+)?(abstract\s+)?class\s+{re.escape(target.class_name)}\b",
        text,
        re.M,
    ):
        raise BadInput(f"{path} exists but does not declare class {target.class_name}")
    missing = [m for m in methods if not _has_member(text, m.name)]
    if not missing:
        return
    if sum(RPC_METHODS_MARKER in line for line in text.splitlines()) != 1:
        raise BadInput(
            f"{path} needs exactly one {RPC_METHODS_MARKER!r} line in class "
            f"{target.class_name} to add methods at"
        )
    types = [decl for name, decl in _SHARED_TYPES if not _declares_type(text, name)]
    if types:
        # A line number is safe here: the batch pins the file's sha256.
        work.edit(
            PatchOperation(
                op="insert-before",
                file=path,
                line=_class_start(text, target.class_name) + 1,
                block="\n".join(types) + "\n\n",
                open_space=True,
            ),
            text,
        )
    # Each method ends with a blank line, as in a generated class, so the marker keeps its gap.
    db = entrypoint_style(work.root, target).db
    block = "".join(render_method(m, db) + "\n" for m in missing)
    work.edit(
        PatchOperation(op="insert-before", file=path, marker=RPC_METHODS_MARKER, block=block),
        text,
    )


def _class_start(text: str, class_name: str) -> int:
    """0-based line where the class declaration begins, its doc comment and decorators included."""
    lines = text.split("\n")
    declaration = re.compile(
        rf"^(export\s+)?(default\s+)?(abstract\s+)?class\s+{re.escape(class_name)}\b"
    )
    at = next(i for i, line in enumerate(lines) if declaration.match(line))
    while at > 0:
        above = lines[at - 1].strip()
        if not above.startswith(("/**", "*", "//", "@")):
            break
        at -= 1
    return at


def _migration_ops(work: _Work, target: RpcTarget, ddl: Sequence[str], name: str) -> None:
    statements = [s.strip().rstrip(";").rstrip() for s in ddl]
    statements = [s for s in statements if s]
    if not statements:
        return
    content = "".join(f"{s};\n" for s in statements)
    folder = resolve_inside(work.root, target.migrations_dir, what="migrations folder")
    highest, width = 0, 4
    if folder.is_dir():
        generated = _journal_tags(folder)
        numbered: list[tuple[int, int, bool]] = []
        for entry in sorted(folder.iterdir()):
            found = _MIGRATION_FILE.match(entry.name)
            if found is None or not entry.is_file():
                continue
            numbered.append((int(found.group(1)), len(found.group(1)), entry.stem in generated))
            if entry.read_bytes() == content.encode("utf-8"):
                return
        highest = max((n for n, _, _ in numbered), default=0)
        # A hand-written migration follows the hand-written files' numbering (drizzle-kit
        # numbers its own, listed in meta/_journal.json), and comes after every file.
        own = [(n, w) for n, w, is_generated in numbered if not is_generated] or [
            (n, w) for n, w, _ in numbered
        ]
        width = max(own)[1] if own else 4
    if highest >= 9999:
        raise BadInput(f"{target.migrations_dir} already has migration 9999; renumber it first")
    rel = posixpath.join(target.migrations_dir, f"{highest + 1:0{width}d}_{name}.sql")
    work.ops.append(PatchOperation(op="create", file=rel, block=content))


def _journal_tags(folder: Path) -> frozenset[str]:
    """The migrations drizzle-kit generated and tracks in its journal, by file stem."""
    journal = folder / "meta" / "_journal.json"
    try:
        entries = json.loads(journal.read_text(encoding="utf-8")).get("entries", [])
    except (OSError, ValueError, AttributeError):
        return frozenset()
    return frozenset(str(e.get("tag")) for e in entries if isinstance(e, dict))


def _index_ops(work: _Work, target: RpcTarget) -> None:
    path = target.entrypoints_index
    name = target.class_name
    line = (
        f'export {{ {name} }} from "{import_specifier(path, _strip_ts(target.entrypoint_path))}";'
    )
    text = work.read(path)
    if text is None:
        work.ops.append(
            PatchOperation(op="create", file=path, block=f"{line}\n{ENTRYPOINT_EXPORTS_MARKER}\n")
        )
        return
    if not re.search(rf"export\s*(type\s*)?\{{[^}}]*\b{re.escape(name)}\b[^}}]*\}}", text):
        if sum(ENTRYPOINT_EXPORTS_MARKER in ln for ln in text.splitlines()) != 1:
            raise BadInput(f"{path} needs exactly one {ENTRYPOINT_EXPORTS_MARKER!r} line")
        work.edit(
            PatchOperation(
                op="insert-before", file=path, marker=ENTRYPOINT_EXPORTS_MARKER, block=line + "\n"
            ),
            text,
        )
    names_op = _names_list_op(path, text, name)
    if names_op is not None:
        work.edit(names_op, text)


def _names_list_op(path: str, text: str, name: str) -> PatchOperation | None:
    """Keep an `ENTRYPOINT_NAMES = [...] as const` list in step with the exports."""
    found = list(_NAMES_LIST.finditer(text))
    if not found:
        return None
    if len(found) > 1:
        raise BadInput(f"{path} declares ENTRYPOINT_NAMES {len(found)} times")
    m = found[0]
    body = m.group("body")
    items = [a if a else b for a, b in _QUOTED.findall(body)]
    if name in items:
        return None
    quote = "'" if body.strip().startswith("'") else '"'
    # A list kept in order stays in order; otherwise the new name goes last.
    names = sorted([*items, name]) if items == sorted(items) else [*items, name]
    quoted = [f"{quote}{n}{quote}" for n in names]
    if "\n" in body:
        item_lines = [ln for ln in body.split("\n") if ln.strip()]
        indent = _leading_ws(item_lines[0]) if item_lines else "  "
        closing = body.rsplit("\n", 1)[1]
        trailing = body.rstrip().endswith(",") or not items
        inner = [f"{indent}{q}," for q in quoted]
        if not trailing:
            inner[-1] = inner[-1][:-1]
        new_body = "\n" + "\n".join(inner) + "\n" + closing
    else:
        new_body = ", ".join(quoted)
    replacement = f"{m.group('head')}[{new_body}]{m.group('tail')}"
    return PatchOperation(
        op="replace-block", file=path, match=m.group(0), block=replacement + "\n", open_space=True
    )


def _wrangler_ops(work: _Work, target: RpcTarget) -> None:
    path = target.wrangler
    text = work.read(path)
    if text is None:
        raise BadInput(f"wrangler config {path} not found")
    try:
        config: Any = json.loads(strip_jsonc(text))
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not valid JSONC: {exc}") from exc
    services = config.get("services") if isinstance(config, dict) else None
    if isinstance(services, list) and any(
        isinstance(s, dict) and s.get("binding") == target.binding for s in services
    ):
        return
    lines = text.splitlines()
    hits = [i for i, ln in enumerate(lines) if _SERVICES_LINE.match(ln)]
    if not hits:
        raise BadInput(f'{path} has no `"services": [` line to add the {target.binding} binding at')
    # The top-level list is the least indented one; per-environment lists sit deeper.
    depth = min(len(_leading_ws(lines[i])) for i in hits)
    top = [i for i in hits if len(_leading_ws(lines[i])) == depth]
    if len(top) > 1 or lines.count(lines[top[0]]) > 1:
        raise BadInput(f'{path} has several `"services": [` lines at the top level')
    at = top[0]
    following = _next_code_line(lines, at + 1)
    more = following is not None and not lines[following].lstrip().startswith("]")
    indent = _entry_indent(lines, at)
    entry = json.dumps(
        {"binding": target.binding, "service": target.service, "entrypoint": target.class_name}
    )
    entry = "{ " + entry[1:-1] + " }" + ("," if more else "")
    comment = (
        f"// {_comment_safe(target.class_name)}: SQL moved out of "
        f"{_comment_safe(target.folder)} (vibehq D1-to-RPC refactor)."
    )
    work.edit(
        PatchOperation(
            op="insert-after",
            file=path,
            match=lines[at],
            block=f"{indent}{comment}\n{indent}{entry}\n",
            open_space=True,
        ),
        text,
    )


def _entry_indent(lines: list[str], services_at: int) -> str:
    """Indentation of the list's first line (entry or comment), else one step deeper."""
    for line in lines[services_at + 1 :]:
        if not line.strip():
            continue
        if line.lstrip().startswith("]"):
            break
        return _leading_ws(line)
    return _leading_ws(lines[services_at]) + "  "


def _next_code_line(lines: list[str], start: int) -> int | None:
    for i in range(start, len(lines)):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith(("//", "/*", "*")):
            return i
    return None


def _unique(methods: Sequence[RpcMethod]) -> list[RpcMethod]:
    """Methods in name order; a name given twice must mean the same method."""
    by_name: dict[str, RpcMethod] = {}
    for method in methods:
        seen = by_name.get(method.name)
        if seen is None:
            by_name[method.name] = method
        elif (seen.sql, seen.params, seen.returns) != (method.sql, method.params, method.returns):
            raise BadInput(f"RPC method {method.name!r} is given twice with different SQL")
        else:
            merged = sorted(set(seen.sites) | set(method.sites), key=_site_key)
            by_name[method.name] = seen.model_copy(update={"sites": merged})
    return [by_name[name] for name in sorted(by_name)]


def _check_method(method: RpcMethod) -> None:
    _check_identifier(method.name, "RPC method name")
    if method.name in _INHERITED:
        raise BadInput(f"RPC method name {method.name!r} would shadow a base class member")
    seen: set[str] = set()
    for param in method.params:
        _check_identifier(param.name, f"parameter of {method.name}")
        if param.name in seen:
            raise BadInput(f"RPC method {method.name} has two parameters named {param.name!r}")
        seen.add(param.name)
        if not param.ts_type.strip() or any(c in param.ts_type for c in ";{}\n"):
            raise BadInput(f"parameter {param.name} of {method.name}: bad type {param.ts_type!r}")


def _check_identifier(name: str, what: str) -> None:
    if not _IDENTIFIER.match(name) or name in _RESERVED:
        raise BadInput(f"{what} {name!r} is not a usable TypeScript identifier")


def _jsdoc_text(method: RpcMethod) -> str:
    sites = sorted(set(method.sites), key=_site_key)
    if not sites:
        return _comment_safe(f"Runs {method.kind} SQL moved to the orchestrator.")
    return _comment_safe(f"Replaces the {method.kind} SQL at {', '.join(sites)}.")


def _site_key(site: str) -> tuple[str, int, str]:
    file, _, line = site.rpartition(":")
    if file and line.isdigit():
        return (file, int(line), site)
    return (site, 0, site)


def _comment_safe(text: str) -> str:
    # Inside a /* */ or // comment: no terminator, no line break.
    return " ".join(text.replace("*/", "*\\/").split())


def _has_member(text: str, name: str) -> bool:
    # Indented, so a top-level function of the same name does not count as a member.
    modifiers = r"(?:(?:public|private|protected|static|async|override)\s+)*"
    pattern = rf"^[ \t]+{modifiers}{re.escape(name)}\s*[(<]"
    return re.search(pattern, text, re.M) is not None


def _declares_type(text: str, name: str) -> bool:
    n = re.escape(name)
    declared = rf"\b(?:type|interface)\s+{n}\b"
    imported = rf"\bimport\s+(?:type\s+)?\{{[^}}]*\b{n}\b[^}}]*\}}"
    return re.search(declared, text) is not None or re.search(imported, text) is not None


def _strip_ts(path: str) -> str:
    return path[:-3] if path.endswith(".ts") else path


def _leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]
