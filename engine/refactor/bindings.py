"""Declaring the orchestrator binding on the worker: its Env member (typed `Service<Ops>`), the
module-scope `env` declaration, their imports, and driver imports left unused."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.errors import BadInput
from engine.refactor.calls import ancestors, line_span, walk
from engine.refactor.edits import apply_edits
from engine.refactor.models import RpcMethod, RpcTarget
from engine.syntax.kinds import node_text
from engine.syntax.parse import parse
from engine.syntax.relative import import_specifier
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node


MODULE_ENV_IMPORT = 'import { env } from "cloudflare:workers";\n'


MODULE_ENV_FILE = "cloudflare-env.d.ts"


def import_line(names: str, from_file: str, to_file: str) -> str:
    return f'import type {{ {names} }} from "{import_specifier(from_file, to_file)}";\n'


def insert_import(source: bytes, line: str) -> bytes:
    head = _after_imports(source)
    # A file without imports gets a blank line between the new import and its code.
    spacer = "\n" if head == 0 and source.strip() and not source.startswith(b"\n") else ""
    return source[:head] + (line + spacer).encode() + source[head:]


def _after_imports(source: bytes) -> int:
    root = parse(source, "x.ts").root_node
    end = 0
    for child in root.named_children:
        if child.type != "import_statement":
            break
        end = line_span(source, child.start_byte, child.end_byte)[1]
    return end


def _is_module(root: Node) -> bool:
    return any(c.type in ("import_statement", "export_statement") for c in root.named_children)


# The RPC shapes, spelled inline so a declaration adds no global names of its own.
_SQL_VALUE = "string | number | boolean | null"
_ROW = f"Record<string, {_SQL_VALUE}>"
_WRITE_RESULT = (
    "{ changes: number; lastInsertRowid: number; rowsWritten: number; "
    "meta: { changes: number; last_row_id: number; rows_written: number } }"
)


def rpc_shape(methods: Sequence[RpcMethod]) -> str:
    """The binding's type spelled from the RPC methods themselves, for a folder type-checked
    with its own tsconfig: there the orchestrator's entrypoint (and its `@shared/*` imports)
    is outside the program, so `Service<Ops>` could not be resolved."""
    returns = {"rows": f"Promise<{_ROW}[]>", "row": f"Promise<{_ROW} | null>"}
    members = [
        f"{m.name}({', '.join(f'{p.name}: {_SQL_VALUE}' for p in m.params)}): "
        f"{returns.get(m.returns, f'Promise<{_WRITE_RESULT}>')};"
        for m in sorted({m.name: m for m in methods}.values(), key=lambda m: m.name)
    ]
    return "{ " + " ".join(members) + " }" if members else "{}"


def _binding_member(target: RpcTarget, path: str, module: bool, shape: str | None = None) -> str:
    if shape is not None:
        return (
            f"  // Service binding to the orchestrator's {target.class_name} RPC entrypoint.\n"
            f"  {target.binding}: {shape};\n"
        )
    # Service<T> from @cloudflare/workers-types types the stub by the entrypoint class, so every
    # RPC method the worker calls is checked against the orchestrator's real signature. A file
    # that is not a module (a global Env in a .d.ts) takes an inline import() type instead, as
    # an import statement would turn its global declarations into module ones.
    type_name = (
        target.class_name
        if module
        else f'import("{import_specifier(path, target.entrypoint_path)}").{target.class_name}'
    )
    return (
        f"  // Service binding to the orchestrator's {target.class_name} RPC entrypoint.\n"
        f"  {target.binding}: Service<{type_name}>;\n"
    )


def add_env_binding(
    texts: dict[str, bytes], target: RpcTarget, rewritten: list[str], shape: str | None = None
) -> None:
    """Declare the binding on the folder's Env. With `shape` (a folder type-checked on its
    own) the binding is typed structurally, and an Env the folder only has globally (from
    wrangler's worker-configuration.d.ts) is augmented instead of shadowed by a local one."""
    binding = target.binding
    for path in sorted(texts):
        source = texts[path]
        root = parse(source, path).root_node
        for node in walk(root):
            if node.type not in ("interface_declaration", "type_alias_declaration"):
                continue
            if node_text(node.child_by_field_name("name")) != "Env":
                continue
            body = node.child_by_field_name("body") or node.child_by_field_name("value")
            if body is None or body.type not in ("interface_body", "object_type"):
                continue
            if f"{binding}:" in node_text(body) or f"{binding}?:" in node_text(body):
                return
            module = _is_module(root)
            member = _binding_member(target, path, module, shape)
            close = body.end_byte - 1
            line_start = source.rfind(b"\n", 0, close) + 1
            at = line_start if not source[line_start:close].strip() else close
            prefix = "" if at == line_start else "\n"
            updated = source[:at] + (prefix + member).encode() + source[at:]
            if module and shape is None:
                line = import_line(target.class_name, path, target.entrypoint_path)
                updated = insert_import(updated, line)
            texts[path] = updated
            return
    if shape is not None and any(_uses_global_env(texts[p], p) for p in rewritten):
        declaration = posixpath.join(posixpath.dirname(rewritten[0]), GLOBAL_ENV_FILE)
        texts[declaration] = (
            "// The orchestrator binding on the folder's global Env (vibehq D1-to-RPC).\n"
            "interface Env {\n" + _binding_member(target, declaration, False, shape) + "}\n"
        ).encode()
        return
    types_path = posixpath.join(posixpath.dirname(rewritten[0]), "types.ts")
    existing = texts.get(types_path, b"")
    line = import_line(target.class_name, types_path, target.entrypoint_path)
    with_import = insert_import(existing, line)
    declaration = f"\nexport interface Env {{\n{_binding_member(target, types_path, True)}}}\n"
    texts[types_path] = with_import.rstrip(b"\n") + b"\n" + declaration.encode()
    for path in rewritten:
        if path == types_path:
            continue
        source = texts[path]
        tree = parse(source, path).root_node
        uses = any(n.type == "type_identifier" and n.text == b"Env" for n in walk(tree))
        if uses and b"import type { Env }" not in source:
            texts[path] = insert_import(source, import_line("Env", path, types_path))


GLOBAL_ENV_FILE = "vibehq-env.d.ts"


def _uses_global_env(source: bytes, path: str) -> bool:
    """Whether the file names the type `Env` without importing or declaring it."""
    root = parse(source, path).root_node
    names = {node_text(n) for n in walk(root) if n.type == "type_identifier"}
    if "Env" not in names:
        return False
    for node in walk(root):
        if node.type in ("interface_declaration", "type_alias_declaration"):
            name = node.child_by_field_name("name")
        elif node.type == "import_specifier":
            name = node.child_by_field_name("alias") or node.child_by_field_name("name")
        else:
            continue
        if name is not None and node_text(name) == "Env":
            return False
    return True


def _module_env_declaration(target: RpcTarget, path: str, shape: str | None) -> str:
    head = "" if shape is not None else import_line(target.class_name, path, target.entrypoint_path)
    member = _binding_member(target, path, True, shape)
    return (
        '// Bindings read through `import { env } from "cloudflare:workers"` (vibehq D1-to-RPC).\n'
        f"{head}{'export {};' + chr(10) if shape is not None else ''}\n"
        "declare global {\n"
        "  namespace Cloudflare {\n"
        "    interface Env {\n"
        + "".join(f"    {line}\n" for line in member.splitlines())
        + "    }\n"
        "  }\n"
        "}\n"
    )


def add_module_env(
    texts: dict[str, bytes], target: RpcTarget, users: set[str], shape: str | None = None
) -> None:
    """Import the module-scope `env` where it is read, and declare the binding on
    `Cloudflare.Env` in one declaration file beside the first such file."""
    for path in sorted(users):
        texts[path] = insert_import(texts[path], MODULE_ENV_IMPORT)
    declaration = posixpath.join(posixpath.dirname(min(users)), MODULE_ENV_FILE)
    existing = texts.get(declaration)
    if existing is not None and f"{target.binding}:".encode() in existing:
        return
    if existing is not None:
        raise BadInput(f"{declaration} exists and does not declare {target.binding}; add it there")
    texts[declaration] = _module_env_declaration(target, declaration, shape).encode()


def drop_unused_driver_imports(source: bytes, path: str) -> bytes:
    root = parse(source, path).root_node
    used = {
        node_text(n)
        for n in walk(root)
        if n.type in ("identifier", "type_identifier")
        and not any(a.type == "import_statement" for a in ancestors(n))
    }
    edits: list[ByteEdit] = []
    for statement in root.named_children:
        if statement.type != "import_statement":
            continue
        if node_text(statement.child_by_field_name("source")).strip("'\"") not in (
            "bun:sqlite",
            "better-sqlite3",
        ):
            continue
        specs = [n for n in walk(statement) if n.type == "import_specifier"]
        keep = [
            s
            for s in specs
            if node_text(s.child_by_field_name("alias") or s.child_by_field_name("name")) in used
        ]
        if len(keep) == len(specs) and specs:
            continue
        if not keep:
            edits.append(ByteEdit(*line_span(source, statement.start_byte, statement.end_byte), ""))
            continue
        clause = next(n for n in walk(statement) if n.type == "named_imports")
        edits.append(
            ByteEdit(
                clause.start_byte,
                clause.end_byte,
                "{ " + ", ".join(node_text(s) for s in keep) + " }",
            )
        )
    if not edits:
        return source
    updated = apply_edits(source, edits)
    # A dropped first import leaves the blank line that separated it from the code.
    return updated.lstrip(b"\n") if not source.startswith(b"\n") else updated
