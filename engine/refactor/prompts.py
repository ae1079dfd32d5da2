"""Prompt templates for the D1-to-RPC long tail, and the gate that a model's answer must pass.

Templates live in the repository's `prompts/` folder as `<group>/<name>.v<N>.md`, Markdown with
`str.format_map` placeholders (literal braces doubled). Their first line names them:
`<!-- template: d1_to_rpc/worker_refactor, version: 1 -->`, so a rendered prompt found in a log
says which template and version produced it.

A model answers with one PatchBatch. `parse_answer` accepts it only if it validates and touches
nothing but the files the task allowed; otherwise `AnswerRejected.errors` lists every problem in
a form that can go straight back to the model.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from engine.errors import BadInput
from engine.migrate.models import SqlSite
from engine.patch.models import OP_NAMES, PatchBatch
from engine.patch.validation import Finding
from engine.refactor.models import RpcMethod, RpcTarget, WorkItem
from engine.refactor.orchestrator import ts_return

__all__ = [
    "ANSWER_FORMAT",
    "PROMPTS_DIR",
    "REQUESTER",
    "STANDARDIZATION_RULES",
    "AnswerRejected",
    "Template",
    "entrypoint_files",
    "load_template",
    "parse_answer",
    "rejection_message",
    "render_entrypoint_prompt",
    "render_remediation",
    "render_work_item",
    "work_item_files",
    "workspace_conventions",
]

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
REQUESTER = "vibehq-refactor"

# The Option 2 report's standardization rules, plus the two consequences a refactor must keep
# (async callers, transaction boundaries); every template carries the same text.
STANDARDIZATION_RULES = """\
1. REST APIs follow `/api/[module]/[action]`; WebSocket APIs follow `/ws/[module]`.
2. Every RPC entrypoint extends `BaseWorkerEntrypoint` (from `@shared/base/BaseWorkerEntrypoint`)
   and is exposed to the apps through a wrangler service binding.
3. All database operations live in the orchestrator, behind type-safe RPC entrypoints. No
   specialist worker keeps a database of its own: no `bun:sqlite`, no D1 binding, no Durable
   Object SQL storage.
4. A specialist worker reaches the orchestrator only through its service binding
   (`env.<BINDING>.<method>(...)`), never by binding the orchestrator's D1 database.
5. RPC calls are async: await every call; a function that now awaits becomes async, and so do
   its callers.
6. Keep behaviour: the same results, the same error cases, and the same transaction boundaries
   (statements that ran in one transaction run in one RPC method)."""

ANSWER_FORMAT = f"""\
Answer with ONE PatchBatch as JSON, in a single ```json fenced block, and nothing else: no
explanation before or after it, no second batch.

```text
{{
  "orderId": string,        // given below
  "requester": string,      // given below
  "reason": string,         // one line: what the batch changes and why
  "patches": [ operation, ... ]   // at least one
}}
```

Each operation is `{{"op", "file", ...}}` where `file` is a workspace-relative path from the list
above and `op` is one of: {", ".join(f"`{name}`" for name in OP_NAMES)}.

- `replace-block`, `insert-before`, `insert-after` address lines in ONE of these ways:
  - line numbers: `start` and `end` (replace-block, 1-based, inclusive) or `line` (insert-*),
    counted in the file as it is now;
  - `marker`: the text of one line that occurs exactly once (optionally `markerEnd` for the
    closing line of a region);
  - `match`: exact lines of the file that occur exactly once;
  - `regex`: a regular expression with exactly one match.
  Prefer `match` or `marker` over line numbers: they fail loudly instead of hitting the wrong
  line.
- `append` and `prepend` add `block` at the end or start of the file; `create` writes a new
  file with `block`; `delete` removes a file. These take no line or anchor.
- `block` is the new text, with its final indentation. An empty `block` in `replace-block`
  deletes the lines. Do not use `blockFile`: the answer must be self-contained."""

_NAME = re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+)*")
_VERSIONED = re.compile(r"\.v(\d+)\.md")
_HEADER = re.compile(r"<!-- template: ([a-z0-9_/]+), version: (\d+) -->")
_FENCE = re.compile(r"^```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_SKIP_DIRS = frozenset({"node_modules", ".git", ".vibehq", "dist", "build", ".wrangler"})
_ENTRYPOINT_CLASS = re.compile(
    r"^export\s+(?:default\s+)?class\s+(\w+)\s+extends\s+"
    r"(BaseWorkerEntrypoint|WorkerEntrypoint)(<[^>{]*>)?",
    re.MULTILINE,
)
_BASE_CLASS = re.compile(r"^export\s+(?:abstract\s+)?class\s+BaseWorkerEntrypoint\b", re.MULTILINE)
_BASE_HELPER = re.compile(r"^  protected\s+(?:abstract\s+)?(\w+)\s*\(", re.MULTILINE)
_CLASS_METHOD = re.compile(r"^  (?:public\s+)?async\s+(\w+)\s*[(<]", re.MULTILINE)
_SERVICE = re.compile(r"\{[^{}]*\"binding\"\s*:\s*\"(\w+)\"[^{}]*\}")
_SERVICE_FIELD = re.compile(r"\"(service|entrypoint)\"\s*:\s*\"([^\"]+)\"")
_MARKER = re.compile(r"//\s*(@vibehq:[\w-]+)")
_MAX_FINDINGS = 40


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    version: int
    path: Path
    text: str

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(
            field for _, field, _, _ in string.Formatter().parse(self.text) if field is not None
        )

    def render(self, values: Mapping[str, object]) -> str:
        missing = sorted(self.placeholders - values.keys())
        if missing:
            raise BadInput(
                f"template {self.name} v{self.version} needs {', '.join(missing)}, "
                "which the renderer does not provide"
            )
        return self.text.format_map(values)


class AnswerRejected(BadInput):
    """A model's answer is not one valid PatchBatch over the allowed files."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        first = self.errors[0] if self.errors else "no problems listed"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"answer rejected: {first}{more}")


# --------------------------------------------------------------------------- templates


def load_template(name: str, version: int | None = None) -> Template:
    """`prompts/<name>.v<version>.md`; the highest version when `version` is None."""
    if not _NAME.fullmatch(name):
        raise BadInput(f"template name {name!r} is not of the form group/name (a-z, 0-9, _)")
    group, _, stem = name.rpartition("/")
    folder = PROMPTS_DIR / group
    versions = _versions(folder, stem)
    if not versions:
        raise BadInput(f"no template {name!r} in {PROMPTS_DIR}")
    chosen = max(versions) if version is None else version
    if chosen not in versions:
        known = ", ".join(f"v{v}" for v in sorted(versions))
        raise BadInput(f"template {name!r} has no version {chosen} (has {known})")
    path = versions[chosen]
    text = path.read_text(encoding="utf-8")
    header = _HEADER.match(text.partition("\n")[0])
    if header is None or header.group(1) != name or int(header.group(2)) != chosen:
        raise BadInput(f"{path}: first line must be '<!-- template: {name}, version: {chosen} -->'")
    return Template(name=name, version=chosen, path=path, text=text)


def _versions(folder: Path, stem: str) -> dict[int, Path]:
    found: dict[int, Path] = {}
    if not folder.is_dir():
        return found
    for path in folder.glob(f"{stem}.v*.md"):
        match = _VERSIONED.fullmatch(path.name[len(stem) :])
        if match is not None:
            found[int(match.group(1))] = path
    return found


# --------------------------------------------------------------------------- rendering


def work_item_files(item: WorkItem, target: RpcTarget) -> list[str]:
    """What a worker-refactor answer may change: the item's file, and the entrypoint, for an
    operation (a transaction, say) that no planned method covers."""
    return list(dict.fromkeys([item.file, target.entrypoint_path]))


def entrypoint_files(target: RpcTarget) -> list[str]:
    """What an entrypoint answer may change; an entry ending in `/` allows any file under it."""
    return [
        target.entrypoint_path,
        target.entrypoints_index,
        target.wrangler,
        target.migrations_dir.rstrip("/") + "/",
    ]


def render_work_item(
    item: WorkItem,
    *,
    target: RpcTarget,
    methods: Sequence[RpcMethod],
    conventions: str,
    template: str = "d1_to_rpc/worker_refactor",
    allowed_files: Sequence[str] | None = None,
) -> str:
    files = list(allowed_files) if allowed_files is not None else work_item_files(item, target)
    return load_template(template).render(
        {
            "item_id": item.id,
            "folder": item.folder,
            "file": item.file,
            "start_line": item.start_line,
            "end_line": item.end_line,
            "reason": item.reason,
            "site": _site_details(item.site),
            "context": item.context.rstrip("\n"),
            "target": _target_text(target),
            "class_name": target.class_name,
            "entrypoint_path": target.entrypoint_path,
            "methods": _methods_text(methods, suggested=item.methods),
            "rules": STANDARDIZATION_RULES,
            "conventions": conventions.strip() or "(no entrypoints found in the workspace)",
            "allowed_files": _bullets(files),
            "answer_format": ANSWER_FORMAT,
            "order_id": _order_id(item.id),
        }
    )


def render_entrypoint_prompt(
    target: RpcTarget,
    methods: Sequence[RpcMethod],
    sites: Sequence[SqlSite],
    conventions: str,
    *,
    template: str = "d1_to_rpc/orchestrator_entrypoint",
) -> str:
    return load_template(template).render(
        {
            "folder": target.folder,
            "target": _target_text(target),
            "methods": _methods_text(methods, suggested=()),
            "sites": _sites_text(sites),
            "migrations_dir": target.migrations_dir.rstrip("/"),
            "rules": STANDARDIZATION_RULES,
            "conventions": conventions.strip() or "(no entrypoints found in the workspace)",
            "allowed_files": _bullets(entrypoint_files(target)),
            "answer_format": ANSWER_FORMAT,
            "order_id": _order_id(f"{target.folder}-entrypoint"),
        }
    )


def render_remediation(
    item_or_files: WorkItem | Sequence[str],
    findings: Sequence[Finding],
    *,
    rejected: PatchBatch | None = None,
    sources: Mapping[str, str] | None = None,
    conventions: str = "",
    attempt: int = 1,
    template: str = "d1_to_rpc/remediate",
) -> str:
    """The prompt after a failed validation. `sources` (path -> current text) adds the lines
    around each finding, so the model sees what tsc saw."""
    if isinstance(item_or_files, WorkItem):
        item = item_or_files
        files = [item.file]
        subject = (
            f"Work item `{item.id}`: `{item.file}`, lines {item.start_line}-{item.end_line}.\n"
            f"{item.reason}"
        )
        context = f"The code around it before the change:\n\n```ts\n{item.context.rstrip()}\n```"
        key = item.id
    else:
        files = list(dict.fromkeys(item_or_files))
        subject = "The refactor changed these files:\n\n" + _bullets(files)
        context = ""
        key = files[0] if files else "files"
    for finding in findings:
        if finding.file is not None and finding.file not in files:
            files.append(finding.file)
    if rejected is not None:
        files.extend(p.file for p in rejected.patches if p.file not in files)
        rejected_text = "```json\n" + rejected.model_dump_json(indent=2, exclude_none=True)
        rejected_text += "\n```"
    else:
        rejected_text = "(not available: the findings are all there is)"
    return load_template(template).render(
        {
            "subject": subject,
            "context": context,
            "findings": _findings_text(findings, sources or {}),
            "rejected_batch": rejected_text,
            "rules": STANDARDIZATION_RULES,
            "conventions": conventions.strip() or "(not collected for this remediation)",
            "allowed_files": _bullets(files),
            "answer_format": ANSWER_FORMAT,
            "order_id": _order_id(f"{key}-remediate-{attempt}"),
        }
    )


def _order_id(key: str) -> str:
    return "d1-to-rpc-" + (_ID_CHARS.sub("-", key).strip("-").lower() or "item")


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- `{item}`" for item in items) if items else "- (none)"


def _target_text(target: RpcTarget) -> str:
    return (
        f"- Entrypoint class: `{target.class_name}` (extends `BaseWorkerEntrypoint`) in "
        f"`{target.entrypoint_path}`\n"
        f"- Exported from: `{target.entrypoints_index}`\n"
        f"- Service binding the worker uses: `env.{target.binding}` "
        f"(service `{target.service}`, entrypoint `{target.class_name}`, declared in "
        f"`{target.wrangler}`)\n"
        f"- D1 migrations: `{target.migrations_dir}`"
    )


def _methods_text(methods: Sequence[RpcMethod], *, suggested: Collection[str]) -> str:
    if not methods:
        return "(none yet)"
    blocks = []
    for method in methods:
        params = ", ".join(f"{p.name}: {p.ts_type}" for p in method.params)
        mark = "  <- planned for this site" if method.name in suggested else ""
        lines = [f"- `{method.name}({params}): {ts_return(method)}`{mark}"]
        lines.append(f"  - SQL ({method.kind}): `{_one_line(method.sql)}`")
        tables = _tables(method.tables_read, method.tables_written)
        if tables:
            lines.append(f"  - tables: {tables}")
        if method.sites:
            lines.append(f"  - replaces: {', '.join(method.sites)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _site_details(site: SqlSite) -> str:
    where = " in ".join(
        f"`{part}`" for part in (site.function, site.class_name) if part is not None
    )
    lines = [
        f"- `{site.file}` lines {site.start_line}-{site.end_line}: driver `{site.driver}`, "
        f"call `{site.call}`, {'awaited' if site.is_async else 'synchronous'}"
        + (f", in {where}" if where else ""),
        f"- Statement ({site.kind}): "
        + (
            f"`{_one_line(site.statement)}`"
            if site.statement
            else "not a literal: built at run time"
        ),
    ]
    tables = _tables(site.tables_read, site.tables_written)
    if tables:
        lines.append(f"- Tables: {tables}")
    return "\n".join(lines)


def _sites_text(sites: Sequence[SqlSite]) -> str:
    if not sites:
        return "(no sites)"
    rows = ["| Site | Driver | Call | Kind | Statement |", "|---|---|---|---|---|"]
    for site in sites:
        statement = _one_line(site.statement).replace("|", "\\|") if site.statement else "(dynamic)"
        rows.append(
            f"| `{site.file}:{site.start_line}` | {site.driver} | `{site.call}` | {site.kind} "
            f"| `{statement}` |"
        )
    return "\n".join(rows)


def _tables(read: Sequence[str], written: Sequence[str]) -> str:
    parts = []
    if read:
        parts.append("reads " + ", ".join(f"`{t}`" for t in read))
    if written:
        parts.append("writes " + ", ".join(f"`{t}`" for t in written))
    return "; ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _findings_text(findings: Sequence[Finding], sources: Mapping[str, str]) -> str:
    if not findings:
        return "(the validator failed without findings; check the batch itself)"
    shown = findings[:_MAX_FINDINGS]
    blocks = []
    for finding in shown:
        where = finding.file or "(no file)"
        if finding.line is not None:
            where += f":{finding.line}"
            if finding.column is not None:
                where += f":{finding.column}"
        code = f" {finding.code}" if finding.code else ""
        block = f"- {finding.tool} {finding.severity} `{where}`{code}: {finding.message}"
        excerpt = _excerpt(sources.get(finding.file or ""), finding.line)
        if excerpt:
            block += "\n\n  ```ts\n" + excerpt + "\n  ```"
        blocks.append(block)
    if len(findings) > len(shown):
        blocks.append(f"- ... and {len(findings) - len(shown)} more findings of the same run")
    return "\n".join(blocks)


def _excerpt(text: str | None, line: int | None, radius: int = 3) -> str:
    if text is None or line is None:
        return ""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    first, last = max(1, line - radius), min(len(lines), line + radius)
    width = len(str(last))
    return "\n".join(
        f"  {n:>{width}}{'>' if n == line else ' '} {lines[n - 1]}" for n in range(first, last + 1)
    )


# --------------------------------------------------------------------------- conventions


def workspace_conventions(ws_root: Path) -> str:
    """A short description of the workspace's RPC conventions, read with regexes: entrypoint
    classes and their methods, the base class, service bindings, and the patch markers."""
    entrypoints: list[str] = []
    bases: list[str] = []
    markers: list[str] = []
    bindings: list[str] = []
    base_helpers = ""
    for rel, path in _workspace_files(ws_root):
        name = path.name
        if name.endswith((".ts", ".tsx", ".mts")) and not name.endswith(".d.ts"):
            text = _read(path)
            if text is None:
                continue
            if _BASE_CLASS.search(text):
                bases.append(rel)
                helpers = list(dict.fromkeys(_BASE_HELPER.findall(text)))
                if helpers:
                    base_helpers = "; helpers for subclasses: " + ", ".join(
                        f"`this.{h}()`" for h in helpers
                    )
            entrypoints.extend(_entrypoints_in(rel, text))
            markers.extend(f"`// {m}` in `{rel}`" for m in dict.fromkeys(_MARKER.findall(text)))
        elif name.startswith("wrangler") and name.endswith((".json", ".jsonc")):
            text = _read(path)
            if text is not None:
                bindings.extend(_bindings_in(rel, text))
    sections = []
    if entrypoints:
        sections.append("Entrypoint classes:\n" + "\n".join(entrypoints))
    if bases:
        module = bases[0].removesuffix(".ts")
        sections.append(
            f"Base class: `BaseWorkerEntrypoint` in `{bases[0]}` "
            f'(import {{ BaseWorkerEntrypoint }} from "{module}")' + base_helpers
        )
    if bindings:
        sections.append("Service bindings:\n" + "\n".join(bindings))
    if markers:
        sections.append("Insertion markers for anchored patches:\n- " + "\n- ".join(markers))
    return "\n\n".join(sections)


def _workspace_files(root: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        base = Path(current)
        for name in sorted(files):
            path = base / name
            if not path.is_symlink():
                found.append((path.relative_to(root).as_posix(), path))
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _entrypoints_in(rel: str, text: str) -> list[str]:
    found = []
    for match in _ENTRYPOINT_CLASS.finditer(text):
        class_name, base, generic = match.group(1), match.group(2), match.group(3) or ""
        body_end = text.find("\n}", match.end())
        body = text[match.end() : body_end if body_end != -1 else len(text)]
        methods = _CLASS_METHOD.findall(body)
        listed = f"; methods: {', '.join(methods)}" if methods else ""
        found.append(f"- `{class_name}` extends `{base}{generic}` in `{rel}`{listed}")
    return found


def _bindings_in(rel: str, text: str) -> list[str]:
    found = []
    for match in _SERVICE.finditer(text):
        fields = dict(_SERVICE_FIELD.findall(match.group(0)))
        if "service" not in fields:
            continue
        entry = f", entrypoint `{fields['entrypoint']}`" if "entrypoint" in fields else ""
        found.append(f"- `{match.group(1)}` -> service `{fields['service']}`{entry} (`{rel}`)")
    return found


# --------------------------------------------------------------------------- answers


def parse_answer(text: str, *, allowed_files: Collection[str]) -> PatchBatch:
    """The one PatchBatch in a model's answer, or `AnswerRejected` listing every problem.

    `allowed_files` are workspace-relative paths; an entry ending in `/` allows any file under
    that folder."""
    payload = _extract_json(text)
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise AnswerRejected(
            [f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from exc
    if isinstance(data, list):
        raise AnswerRejected(
            [f"the answer is a list of {len(data)} items; send ONE batch object, not a list"]
        )
    if not isinstance(data, dict):
        raise AnswerRejected(["the answer must be one JSON object with a 'patches' list"])
    try:
        batch = PatchBatch.model_validate(data)
    except ValidationError as exc:
        raise AnswerRejected([_error_line(err) for err in exc.errors()]) from exc
    errors = _file_errors(batch, allowed_files)
    if errors:
        raise AnswerRejected(errors)
    return batch


def rejection_message(exc: BadInput) -> str:
    """What to send back to the model after `parse_answer` refused its answer."""
    errors = exc.errors if isinstance(exc, AnswerRejected) else [exc.message]
    problems = "\n".join(f"- {error}" for error in errors)
    return (
        "Your answer was rejected; nothing was applied. Problems:\n\n"
        f"{problems}\n\n"
        "Answer again with ONE corrected PatchBatch in a single ```json block and nothing else. "
        "Change only the files listed in the task."
    )


def _extract_json(text: str) -> str:
    fences: list[str] = [
        body
        for lang, body in _FENCE.findall(text)
        if lang.lower() == "json" or (not lang and body.lstrip().startswith(("{", "[")))
    ]
    if len(fences) > 1:
        raise AnswerRejected(
            [f"the answer has {len(fences)} JSON blocks; send exactly ONE batch in one block"]
        )
    if fences:
        return fences[0]
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        raise AnswerRejected(
            ["no JSON found: answer with one PatchBatch in a ```json block and nothing else"]
        )
    try:
        _, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError:
        return stripped
    rest = stripped[end:].strip()
    if rest.startswith("{"):
        raise AnswerRejected(["the answer holds more than one JSON object; send ONE batch"])
    if rest:
        raise AnswerRejected([f"text after the JSON object ({rest[:40]!r}); send only the batch"])
    return stripped


def _error_line(err: ErrorDetails) -> str:
    loc = err["loc"]
    where = ".".join(str(part) for part in loc) or "batch"
    if err["type"] == "literal_error" and loc[-1:] == ("op",):
        return f"{where}: unknown op {err.get('input')!r}; expected one of {', '.join(OP_NAMES)}"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"


def _file_errors(batch: PatchBatch, allowed_files: Collection[str]) -> list[str]:
    exact = {f for f in allowed_files if not f.endswith("/")}
    folders = tuple(f for f in allowed_files if f.endswith("/"))
    listed = ", ".join(sorted(allowed_files)) or "(none)"
    errors = []
    for index, patch in enumerate(batch.patches):
        where = f"patches.{index}.file"
        unsafe = _unsafe_reason(patch.file)
        if unsafe is not None:
            errors.append(f"{where}: {patch.file!r} {unsafe}")
        elif patch.file not in exact and not patch.file.startswith(folders):
            errors.append(f"{where}: {patch.file!r} is not a file this task may change ({listed})")
        if patch.block_file is not None:
            errors.append(
                f"patches.{index}.blockFile: put the text in 'block'; blockFile reads disk"
            )
    for name in batch.base_sha256:
        if name not in {p.file for p in batch.patches}:
            errors.append(f"baseSha256.{name}: no patch changes this file")
    return errors


def _unsafe_reason(path: str) -> str | None:
    if path.startswith("/") or re.match(r"[A-Za-z]:", path) or "\\" in path:
        return "is not a workspace-relative POSIX path"
    if ".." in path.split("/"):
        return "leaves its folder ('..' path traversal)"
    if posixpath.normpath(path) != path:
        return f"is not normalized (write {posixpath.normpath(path)!r})"
    return None
