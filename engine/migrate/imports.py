"""Module specifiers: find them with tree-sitter, rewrite them by rule, recompute them after a move.

Everything here is a pure function over bytes and paths. The planner decides which files move
where; this module only answers "where are the specifiers", "what does this rule make of one",
"and "what relative or alias specifier reaches that file now"; splicing the new specifiers in is
`engine.syntax.splice`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from engine.errors import BadInput
from engine.migrate.models import ImportKind, ImportRule, ImportSpecifier
from engine.syntax.parse import parse
from engine.syntax.relative import relative_path

if TYPE_CHECKING:
    from tree_sitter import Node

# Where the keywords are is found by a byte scan; what each one is, the syntax tree decides, so a
# keyword in a comment, a string or a template is never taken for an import. Asking the tree only
# at these few places costs far less than walking or querying every node of it.
_KEYWORD = re.compile(rb"\b(?:import|export|require)\b")
_REFERENCE_TAG = re.compile(rb"\A///\s*<reference\s.*?/>", re.DOTALL)
_PATH_ATTRIBUTE = re.compile(rb"""\spath\s*=\s*(?:'([^']*)'|"([^"]*)")""")
_FROM_CLAUSE = re.compile(r"""from\s*(?:'([^']*)'|"([^"]*)")""")
_BOM = b"\xef\xbb\xbf"

# (kind, start byte, end byte, 0-based row) of each specifier, before records are built.
_Found = list[tuple[ImportKind, int, int, int]]

RESOLVE_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mts", ".cts", ".mjs", ".cjs")
# Longest first, so "x.d.ts" is seen as ".d.ts" rather than ".ts".
_MODULE_EXTENSIONS = (
    ".d.mts",
    ".d.cts",
    ".d.ts",
    ".tsx",
    ".mts",
    ".cts",
    ".ts",
    ".jsx",
    ".mjs",
    ".cjs",
    ".js",
)
# TypeScript lets `./x.js` name `x.ts`: the import is written as the file the compiler will emit.
_TS_SOURCES_FOR_JS = {
    ".js": (".ts", ".tsx", ".d.ts"),
    ".jsx": (".tsx", ".d.ts"),
    ".mjs": (".mts", ".d.mts"),
    ".cjs": (".cts", ".d.cts"),
}
_JS_FOR_TS = {
    ".ts": ".js",
    ".d.ts": ".js",
    ".tsx": ".js",
    ".mts": ".mjs",
    ".d.mts": ".mjs",
    ".cts": ".cjs",
    ".d.cts": ".cjs",
}


# --- finding -------------------------------------------------------------------------------------


def find_imports(source: bytes, path: str) -> list[ImportSpecifier]:
    """Every module specifier in `source`, in source order.

    Specifiers are the raw text between the quotes (escape sequences are not interpreted), so
    `source[start_byte:end_byte]` is always the specifier's UTF-8 encoding. Columns count
    characters, not bytes, and a leading byte-order mark does not count.
    """
    root = parse(source, path).root_node
    found: _Found = []
    for hit in _KEYWORD.finditer(source):
        leaf = root.descendant_for_byte_range(hit.start(), hit.end())
        if leaf is not None and leaf.start_byte == hit.start() and leaf.end_byte == hit.end():
            _add_keyword_site(found, leaf)
    _add_reference_paths(found, root)
    found.sort(key=lambda item: item[1])
    return [_specifier(source, *item) for item in found]


def _add_keyword_site(found: _Found, keyword: Node) -> None:
    """Record the specifier that the `import`, `export` or `require` token `keyword` introduces."""
    parent = keyword.parent
    if parent is None:
        return
    if keyword.type == "identifier":
        # Only a call of the plain identifier: `obj.require()` has a property_identifier instead.
        is_callee = parent.child_by_field_name("function") == keyword
        if keyword.text == b"require" and parent.type == "call_expression" and is_callee:
            _add_single_argument(found, "require", parent.child_by_field_name("arguments"))
    elif keyword.type == "import" and parent.type == "import":
        call = parent.parent
        if call is not None and call.type == "call_expression":
            _add_single_argument(found, "dynamic-import", call.child_by_field_name("arguments"))
    elif keyword.type == "import" and parent.type == "import_statement":
        _add_import_statement(found, parent)
    elif keyword.type == "export" and parent.type == "export_statement":
        source = parent.child_by_field_name("source")
        if source is not None:
            _add_literal(found, "export-from", source)


def _add_import_statement(found: _Found, statement: Node) -> None:
    source = statement.child_by_field_name("source")
    if source is not None:
        is_type_only = _child_type(statement, 1) == "type"
        _add_literal(found, "import-type" if is_type_only else "import", source)
        return
    for clause in statement.named_children:
        if clause.type == "import_require_clause":
            required = clause.child_by_field_name("source")
            if required is not None:
                _add_literal(found, "require", required)


def _child_type(node: Node, index: int) -> str | None:
    child = node.child(index)
    return None if child is None else child.type


def _add_literal(found: _Found, kind: ImportKind, node: Node) -> None:
    """Record a string or substitution-free template literal; the quotes are one byte each."""
    if node.type == "template_string" and any(
        child.type == "template_substitution" for child in node.named_children
    ):
        return
    found.append((kind, node.start_byte + 1, node.end_byte - 1, node.start_point.row))


def _add_single_argument(found: _Found, kind: ImportKind, arguments: Node | None) -> None:
    if arguments is None:
        return
    values = [child for child in arguments.named_children if child.type != "comment"]
    if len(values) == 1 and values[0].type in ("string", "template_string"):
        _add_literal(found, kind, values[0])


def _add_reference_paths(found: _Found, root: Node) -> None:
    # tsc honours triple-slash directives only before the first statement of a file.
    for index in range(root.child_count):
        child = root.child(index)
        if child is None or child.type == "hash_bang_line":
            continue
        if child.type != "comment":
            return
        text = child.text or b""
        tag = _REFERENCE_TAG.match(text)
        if tag is None:
            continue
        attribute = _PATH_ATTRIBUTE.search(text, 0, tag.end())
        if attribute is None:
            continue
        group = 1 if attribute.group(1) is not None else 2
        found.append(
            (
                "reference-path",
                child.start_byte + attribute.start(group),
                child.start_byte + attribute.end(group),
                child.start_point.row,
            )
        )


def _specifier(source: bytes, kind: ImportKind, start: int, end: int, row: int) -> ImportSpecifier:
    line_start = source.rfind(b"\n", 0, start) + 1
    prefix = source[line_start:start]
    if prefix.isascii():
        column = len(prefix) + 1
    else:
        column = len(prefix.decode("utf-8", "replace")) + 1
        if line_start == 0 and prefix.startswith(_BOM):
            column -= 1
    return ImportSpecifier(
        kind=kind,
        specifier=source[start:end].decode("utf-8", "replace"),
        line=row + 1,
        column=column,
        start_byte=start,
        end_byte=end,
    )


# --- rules ---------------------------------------------------------------------------------------


def rule_label(index: int, rule: ImportRule) -> str:
    """How a rule is named in errors and in `ImportRewrite.rule`, e.g. 'imports[2] prefix ../x/'."""
    return f"imports[{index}] {rule.kind} {rule.pattern}"


def apply_rules(specifier: str, rules: Sequence[ImportRule]) -> tuple[str, int] | None:
    """The first rule that changes `specifier`: (new specifier, rule index), or None."""
    for index, rule in enumerate(rules):
        rewritten = _apply_rule(specifier, rule, index)
        if rewritten is not None and rewritten != specifier:
            return rewritten, index
    return None


def _apply_rule(specifier: str, rule: ImportRule, index: int) -> str | None:
    if rule.kind == "exact":
        return rule.replacement if specifier == rule.pattern else None
    if rule.kind == "prefix":
        if not specifier.startswith(rule.pattern):
            return None
        return rule.replacement + specifier[len(rule.pattern) :]
    pattern = _compile(rule, index)
    try:
        if rule.kind == "regex":
            match = pattern.fullmatch(specifier)
            return None if match is None else match.expand(rule.replacement)
        text = f"from '{specifier}'"
        if pattern.search(text) is None:
            return None
        rewritten = pattern.sub(rule.replacement, text, count=1)
    except (re.error, IndexError) as error:
        raise BadInput(f"{rule_label(index, rule)}: bad replacement: {error}") from error
    clause = _FROM_CLAUSE.fullmatch(rewritten)
    if clause is None:
        raise BadInput(
            f"{rule_label(index, rule)}: turned {text!r} into {rewritten!r},"
            " which is not from '<specifier>'"
        )
    return clause.group(1) if clause.group(1) is not None else clause.group(2)


def _compile(rule: ImportRule, index: int) -> re.Pattern[str]:
    try:
        return re.compile(rule.pattern)
    except re.error as error:
        raise BadInput(f"{rule_label(index, rule)}: invalid regex: {error}") from error


# --- relative and alias specifiers ---------------------------------------------------------------


def is_relative(specifier: str) -> bool:
    return specifier in (".", "..") or specifier.startswith(("./", "../"))


def resolve_relative(
    specifier: str, importer: PurePosixPath, exists: Callable[[PurePosixPath], bool]
) -> PurePosixPath | None:
    """The file a relative specifier names, resolved the way TypeScript does, or None.

    `exists` must answer for files only: a directory is reached through its index file.
    """
    if not is_relative(specifier):
        return None
    target = posixpath.normpath(str(importer.parent / specifier))
    if target == ".." or target.startswith("../"):
        return None
    names_directory = specifier.endswith("/") or specifier in (".", "..")
    for candidate in _resolution_candidates(target, names_directory):
        path = PurePosixPath(candidate)
        if exists(path):
            return path
    return None


def _resolution_candidates(target: str, names_directory: bool) -> list[str]:
    candidates: list[str] = []
    if not names_directory:
        # tsc prefers the TypeScript source over an emitted .js sitting next to it.
        for js_extension, ts_extensions in _TS_SOURCES_FOR_JS.items():
            if target.endswith(js_extension):
                stem = target[: -len(js_extension)]
                candidates.extend(stem + extension for extension in ts_extensions)
                break
        candidates.append(target)
        candidates.extend(target + extension for extension in RESOLVE_EXTENSIONS)
    index = "index" if target == "." else posixpath.join(target, "index")
    candidates.extend(index + extension for extension in RESOLVE_EXTENSIONS)
    return candidates


def relative_specifier(from_file: PurePosixPath, to_file: PurePosixPath, original: str) -> str:
    """The relative specifier from `from_file` to `to_file`, written in the style of `original`.

    Both paths must be anchored alike (both workspace-relative or both absolute).
    """
    styled = _styled(relative_path(to_file, from_file.parent), original)
    if styled.startswith(("./", "../")):
        return styled
    if styled in (".", ".."):
        # A bare "." or ".." is kept only where the original used one, so no move means no edit.
        return styled if styled == original else styled + "/"
    return "./" + styled


def alias_specifier(
    to_file: PurePosixPath, paths: Mapping[str, Sequence[str]], original: str
) -> str | None:
    """The tsconfig `paths` alias that reaches `to_file`, in the style of `original`, or None.

    Keys and targets are relative to the workspace root, as is `to_file`. When several aliases
    reach the file, the one whose target has the longest fixed prefix wins: it names the
    narrowest folder. An alias is only offered if tsc, resolving it, would pick the same key.
    """
    full = posixpath.normpath(str(to_file))
    forms = (_styled(full, original), full)
    best: tuple[int, int, int, str] | None = None
    for order, (key, targets) in enumerate(paths.items()):
        if key.count("*") > 1:
            continue
        for raw_target in targets:
            target = raw_target.removeprefix("./")
            if target.count("*") > 1:
                continue
            alias = _alias_through(key, target, forms)
            if alias is None or _best_key(alias, paths) != key:
                continue
            rank = (len(target.partition("*")[0]), len(key.partition("*")[0]), -order, alias)
            if best is None or rank[:3] > best[:3]:
                best = rank
    return None if best is None else best[3]


def _alias_through(key: str, target: str, forms: tuple[str, str]) -> str | None:
    if "*" not in target:
        if "*" in key:
            return None
        reached = _resolution_candidates(posixpath.normpath(target), target.endswith("/"))
        return key if forms[1] in reached or forms[0] == target else None
    if "*" not in key:
        return None
    head, _, tail = target.partition("*")
    for form in forms:
        if len(form) >= len(head) + len(tail) and form.startswith(head) and form.endswith(tail):
            return key.replace("*", form[len(head) : len(form) - len(tail)])
    return None


def _best_key(specifier: str, paths: Mapping[str, Sequence[str]]) -> str | None:
    """The `paths` key tsc would use for `specifier`: an exact key, else the longest prefix."""
    if specifier in paths:
        return specifier
    chosen: str | None = None
    for key in paths:
        head, star, tail = key.partition("*")
        if not star or key.count("*") > 1:
            continue
        fits = (
            len(specifier) >= len(head) + len(tail)
            and specifier.startswith(head)
            and specifier.endswith(tail)
        )
        if fits and (chosen is None or len(head) > len(chosen.partition("*")[0])):
            chosen = key
    return chosen


def _module_extension(name: str) -> str:
    return next((ext for ext in _MODULE_EXTENSIONS if name.endswith(ext) and name != ext), "")


def _styled(path: str, original: str) -> str:
    """`path` (a slash path to a file) written the way `original` wrote its own target."""
    original_last = original.rstrip("/").rpartition("/")[2]
    folder, _, name = path.rpartition("/")
    original_named_index = original_last == "index" or original_last.startswith("index.")
    if name.startswith("index.") and not original_named_index:
        directory = folder or "."
        return directory + "/" if original.endswith("/") else directory
    extension = _module_extension(name)
    original_extension = _module_extension(original_last)
    if not original_extension:
        suffix = PurePosixPath(name).suffix
        if suffix and original_last.endswith(suffix):
            original_extension = suffix
    if not original_extension:
        return path[: len(path) - len(extension)]
    if original_extension in _TS_SOURCES_FOR_JS and extension in _JS_FOR_TS:
        emitted = _JS_FOR_TS[extension]
        if extension == ".tsx" and original_extension == ".jsx":
            emitted = ".jsx"
        return path[: -len(extension)] + emitted
    return path
