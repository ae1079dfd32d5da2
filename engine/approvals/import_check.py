"""What the `import_only` rule must prove about each import declaration a batch adds: that it
binds names, and that its module exists.

- A bare side-effect import (`import "./payload"`) binds nothing, so tsc has nothing to
  check, and it runs whatever the module does: never import-only.
- A relative specifier resolves, the way TypeScript's resolver does, to a file that exists
  inside the workspace after the batch (a file the same batch deletes does not count):
  `./x` -> `x.ts`, `x.tsx`, `x.d.ts`, `x.js`, ..., `x/index.ts`, ...; `./x.js` also -> `x.ts`.
- A bare specifier names a Node built-in (`node:fs`, `fs`) or a package installed in a
  `node_modules` folder between the file and the workspace root (`@scope/name` included).
  Anything else (a tsconfig `paths` alias, an absolute path) is not proven, so a human decides.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from engine.syntax.parse import parse

if TYPE_CHECKING:
    from tree_sitter import Node

_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json")
# `import "./x.js"` in TypeScript source names the `.ts` file it compiles from.
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
NODE_BUILTINS = frozenset(
    {
        "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants",
        "crypto", "dgram", "diagnostics_channel", "dns", "domain", "events", "fs", "http",
        "http2", "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process",
        "punycode", "querystring", "readline", "repl", "stream", "string_decoder", "sys",
        "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi",
        "worker_threads", "zlib",
    }
)  # fmt: skip


def import_problems(
    root: Path, path: str, old: bytes, new: bytes, planned: Mapping[str, bytes | None]
) -> list[str]:
    """Why the import declarations `new` adds over `old` are not proven safe; [] if they are.
    `planned` maps each path the batch changes to its content after it (None: deleted)."""
    before = {_text(n) for n in _declarations(old, path)}
    problems: list[str] = []
    for node in _declarations(new, path):
        text = _text(node)
        if text in before:
            continue
        source = node.child_by_field_name("source")
        if source is None:
            problems.append(f"{path}: {text!r} has no module specifier vibehq can check")
            continue
        specifier = _text(source)[1:-1]
        if node.type == "import_statement" and not _binds_names(node):
            problems.append(f"{path}: side-effect import {specifier!r} binds no name")
        elif not _resolves(root, path, specifier, planned):
            problems.append(
                f"{path}: import {specifier!r} resolves to no file or installed package"
            )
    return problems


def _declarations(data: bytes, path: str) -> list[Node]:
    root = parse(data, path).root_node
    return [
        node
        for node in root.children
        if node.type == "import_statement"
        or (node.type == "export_statement" and node.child_by_field_name("source") is not None)
    ]


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _binds_names(node: Node) -> bool:
    return any(c.type in ("import_clause", "import_require_clause") for c in node.children)


def _resolves(root: Path, path: str, specifier: str, planned: Mapping[str, bytes | None]) -> bool:
    if not specifier or "\x00" in specifier:
        return False
    if specifier.startswith(("./", "../")) or specifier in (".", ".."):
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier))
        if base == ".." or base.startswith("../") or base.startswith("/"):
            return False
        return any(_exists(root, c, planned) for c in _candidates(base))
    if specifier.startswith("/"):
        return False
    if specifier.startswith("node:") or specifier.split("/")[0] in NODE_BUILTINS:
        return True
    return _installed(root, path, specifier)


def _candidates(base: str) -> list[str]:
    found = [base]
    found += [base + ext for ext in _EXTENSIONS]
    found += [f"{base}/index{ext}" for ext in _EXTENSIONS]
    stem, ext = posixpath.splitext(base)
    found += [stem + ts for ts in _JS_TO_TS.get(ext, ())]
    return found


def _exists(root: Path, rel: str, planned: Mapping[str, bytes | None]) -> bool:
    if rel in planned:
        return planned[rel] is not None
    return (root / rel).is_file()


def _installed(root: Path, path: str, specifier: str) -> bool:
    parts = specifier.split("/")
    name = "/".join(parts[:2]) if specifier.startswith("@") else parts[0]
    if not name or (name.startswith("@") and "/" not in name):
        return False
    folder = root / posixpath.dirname(path)
    while True:
        for package in (name, f"@types/{name.lstrip('@').replace('/', '__')}"):
            if (folder / "node_modules" / package / "package.json").is_file():
                return True
        if folder == root or root not in folder.parents:
            return False
        folder = folder.parent
