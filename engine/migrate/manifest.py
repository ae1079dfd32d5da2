"""The migration manifest: which STAGING folders move where, how their imports are rewritten,
which orchestrator RPC entrypoint they get and how the result is validated.

A manifest is YAML or JSON (chosen by extension). Two forms load:

- the vibehq form (`sources`, compact `imports` rules, `rpc`, `validation`), and
- the seed's own form (`source_paths`, `import_replacements`, ...), recognised by its
  `source_paths` key, loaded as it is and converted; its seed-only sections are kept in
  `Manifest.seed`. It keeps the meaning the seed's `migrate_staging.py` gave it: each
  `path` is a pathlib glob under the STAGING folder (`<workspace>/STAGING` unless a base is
  given), each match lands at `@shared/<destination>/<path relative to STAGING>`, and the
  `import_replacements` are `re.sub` over the whole text of each copied source file, in order.

Batch templates may use the placeholders `{folder}`, `{staging}` and `{name}` (a fixed set).
They are replaced inside string values after parsing, so a value is inserted literally and is
never read as YAML; a template must therefore quote a value that starts with a placeholder.
Anything else in braces (regex quantifiers, `{Name}` in an entrypoint path) is left alone.

Every error is a `ManifestError` of one line, `<file>:<line>: <dotted.field.path>: <message>`,
or `<file>:<line>:<column>: ...` when the file does not parse.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from engine.errors import BadInput
from engine.inputs import PathText, decode_utf8, load_json, load_yaml, path_value, read_input
from engine.migrate.models import ImportRule
from engine.workspace import STATE_DIR

PLACEHOLDERS = ("folder", "staging", "name")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")

# Globs over paths relative to a source's `from`, as engine.globs matches them:
# `**/x` matches x at any depth, `dist/**` only at the top of the folder.
DEFAULT_EXCLUDES = (
    "**/node_modules/**",
    "**/package-lock.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/bun.lockb",
    "**/bun.lock",
    "dist/**",
    "build/**",
    ".wrangler/**",
    "coverage/**",
    ".turbo/**",
    "**/.git/**",
    "**/.DS_Store",
)

RULE_KINDS = ("exact", "prefix", "regex")
_BINDING = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

ManifestFormat = Literal["vibehq", "seed"]


class ManifestError(BadInput):
    """A migration manifest does not parse, does not match the model, or is a template whose
    placeholders were given no value."""


# --- field checks ---------------------------------------------------------------------------


def workspace_relative(value: str) -> str:
    """Check the text of a workspace-relative path and return it normalised (POSIX, no `./`).

    Only the text is checked here; symlinks are resolved when the planner uses the path.
    """
    if not value or "\x00" in value:
        raise ValueError("must be a non-empty path without NUL bytes")
    path_value(value)
    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or (len(value) > 1 and value[1] == ":"):
        raise ValueError(f"{value!r} is absolute; give a path relative to the workspace")
    if ".." in posix.parts:
        raise ValueError(f"{value!r} contains '..'; give a path inside the workspace")
    if posix.parts[:1] == (STATE_DIR,):
        raise ValueError(f"{value!r} points into vibehq's own state folder {STATE_DIR}/")
    return posix.as_posix()


def _relative_glob(glob: str) -> str:
    if not glob:
        raise ValueError("a glob cannot be empty")
    path_value(glob)
    if glob.startswith("/"):
        raise ValueError(f"glob {glob!r} starts with '/'; globs are relative to `from`")
    return glob


def _relative_globs(globs: list[str]) -> list[str]:
    return [_relative_glob(glob) for glob in globs]


def check_regex(pattern: str, replacement: str) -> None:
    """Raise ValueError unless `pattern` compiles and `replacement` only names its groups."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex '{pattern}' does not compile: {exc}") from None
    try:
        # Substituting into "" parses the template without needing a match.
        compiled.sub(replacement, "")
    except (re.error, IndexError) as exc:
        raise ValueError(f"replacement '{replacement}' does not fit the regex: {exc}") from None


def _task_id(value: object) -> object:
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise ValueError("a task id is a string or an integer, as in tasks.json")


def _compact_rule(item: object) -> object:
    """Turn `{exact|prefix|regex: pattern, to: replacement}` into ImportRule's own fields.

    The full form (`kind`, `pattern`, `replacement`) is accepted too, so that a dumped
    manifest loads again.
    """
    if not isinstance(item, Mapping):
        return item
    if "kind" in item:
        unknown = set(item) - {"kind", "pattern", "replacement", "description"}
        if unknown:
            raise ValueError(
                f"unknown key {sorted(map(str, unknown))[0]!r} in a rule written with 'kind'"
            )
        return item
    kinds = [kind for kind in RULE_KINDS if kind in item]
    unknown = set(item) - {*RULE_KINDS, "to", "description"}
    if unknown:
        raise ValueError(
            f"unknown key {sorted(map(str, unknown))[0]!r}; a rule has one of exact, prefix"
            " or regex, then to and an optional description"
        )
    if len(kinds) != 1:
        found = f" (found {' and '.join(kinds)})" if kinds else ""
        raise ValueError(f"give exactly one of exact, prefix or regex{found}")
    kind = kinds[0]
    if "to" not in item:
        raise ValueError(f"the {kind} rule has no 'to'")
    pattern, replacement = item[kind], item["to"]
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"'{kind}' must be a non-empty string")
    if not isinstance(replacement, str):
        raise ValueError("'to' must be a string")
    return {
        "kind": kind,
        "pattern": pattern,
        "replacement": replacement,
        "description": item.get("description"),
    }


def _regex_rule(rule: ImportRule) -> ImportRule:
    if rule.kind in ("regex", "from-regex"):
        check_regex(rule.pattern, rule.replacement)
    return rule


ManifestImportRule = Annotated[
    ImportRule, BeforeValidator(_compact_rule), AfterValidator(_regex_rule)
]


# --- the vibehq form ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSpec(_Strict):
    """One folder (or glob of folders) to copy, and where it lands in the workspace."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    from_: PathText = Field(
        alias="from",
        min_length=1,
        description="STAGING folder or glob, relative to the manifest's base unless absolute",
    )
    to: str = Field(description="destination folder, relative to the workspace")
    include: list[str] = Field(default_factory=lambda: ["**/*"], min_length=1)
    exclude: list[str] = Field(default_factory=list)
    default_excludes: bool = Field(
        True, description="also exclude dependencies, lockfiles, build output and VCS files"
    )
    description: str | None = None

    _to = field_validator("to")(workspace_relative)
    _globs = field_validator("include", "exclude")(_relative_globs)

    def excluded_globs(self) -> list[str]:
        return [*DEFAULT_EXCLUDES, *self.exclude] if self.default_excludes else list(self.exclude)


class RpcSpec(_Strict):
    """The orchestrator RPC entrypoint that will own the worker's SQL after the migration."""

    entrypoint: str = Field(description="e.g. orchestrator/worker/entrypoints/SqliteDemoOps.ts")
    entrypoint_class: str | None = Field(None, description="default: the entrypoint file's stem")
    binding: str = Field(description="service binding name, UPPER_SNAKE")
    wrangler: str = Field(description="wrangler config the binding is registered in")
    migrations_dir: str = "orchestrator/migrations"

    _paths = field_validator("entrypoint", "wrangler", "migrations_dir")(workspace_relative)

    @field_validator("entrypoint")
    @classmethod
    def _typescript_file(cls, value: str) -> str:
        if not value.endswith((".ts", ".tsx")):
            raise ValueError(f"{value!r} is not a TypeScript file")
        return value

    @field_validator("entrypoint_class")
    @classmethod
    def _class_name(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.fullmatch(value):
            raise ValueError(f"{value!r} is not a class name")
        return value

    @field_validator("binding")
    @classmethod
    def _upper_snake(cls, value: str) -> str:
        if not _BINDING.fullmatch(value):
            raise ValueError(f"{value!r} is not UPPER_SNAKE, e.g. ORCHESTRATOR_SQLITE_DEMO")
        return value

    @property
    def class_name(self) -> str:
        return self.entrypoint_class or PurePosixPath(self.entrypoint).name.split(".", 1)[0]


class ValidationSpec(_Strict):
    typescript: bool = True
    tsconfig: str = "tsconfig.json"
    eslint: bool = False
    tests: bool = False
    imports: bool = Field(True, description="fail on imports that do not resolve after the move")
    sql: bool = Field(True, description="report the direct SQL sites left in moved files")

    _tsconfig = field_validator("tsconfig")(workspace_relative)


# --- the seed form --------------------------------------------------------------------------


class _Seed(BaseModel):
    # Someone else's format: keys it may grow are kept, not refused.
    model_config = ConfigDict(extra="allow")


SEED_STAGING = "STAGING"
SEED_DEST_ROOT = "@shared"


class SeedSourcePath(_Seed):
    path: str = Field(min_length=1, description="pathlib glob under the STAGING folder")
    destination: str
    description: str | None = None

    _path = field_validator("path")(_relative_glob)
    _destination = field_validator("destination")(workspace_relative)


class SeedImportReplacement(_Seed):
    pattern: str = Field(min_length=1, description="searched in the text from '<specifier>'")
    replacement: str
    description: str | None = None

    @field_validator("replacement")
    @classmethod
    def _fits_pattern(cls, value: str, info: ValidationInfo) -> str:
        pattern = info.data.get("pattern")
        if isinstance(pattern, str):
            check_regex(pattern, value)
        return value


class SeedRpcMigration(_Seed):
    file_pattern: str
    ai_provider: str | None = None
    context_files: list[str] = Field(default_factory=list)
    description: str | None = None


class SeedTypescriptCheck(_Seed):
    enabled: bool = True
    strict: bool | None = None
    skipLibCheck: bool | None = None


class SeedImportsCheck(_Seed):
    enabled: bool = True
    checkSharedPaths: bool | None = None


class SeedRpcCheck(_Seed):
    enabled: bool = True
    checkDatabasePatterns: bool | None = None


class SeedValidation(_Seed):
    typescript: SeedTypescriptCheck = Field(default_factory=SeedTypescriptCheck)
    imports: SeedImportsCheck = Field(default_factory=SeedImportsCheck)
    rpc: SeedRpcCheck = Field(default_factory=SeedRpcCheck)


class SeedBackup(_Seed):
    enabled: bool = False
    backupDir: str | None = None


class SeedPostMigration(_Seed):
    run_tests: bool = False
    update_dependencies: bool = False
    generate_docs: bool = False


class SeedExtras(_Strict):
    """The parts of a seed manifest that have no vibehq field, kept so nothing is lost."""

    rpc_migrations: list[SeedRpcMigration] = Field(default_factory=list)
    validation: SeedValidation | None = None
    backup: SeedBackup | None = None
    post_migration: SeedPostMigration | None = None
    other: dict[str, Any] = Field(
        default_factory=dict, description="top-level keys the seed format does not define"
    )


class Manifest(_Strict):
    """A migration manifest in vibehq's form (a seed manifest is converted into one)."""

    name: str = Field(min_length=1)
    description: str | None = None
    version: str | None = None
    owner: Annotated[str | int | None, BeforeValidator(_task_id)] = Field(
        None, description="id of the task in tasks.json this migration belongs to"
    )
    sources: list[SourceSpec] = Field(min_length=1)
    imports: list[ManifestImportRule] = Field(
        default_factory=list, description="tried in order; the first rule that matches wins"
    )
    tsconfig_paths: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(
        default_factory=dict, description="path aliases to add, e.g. {'@shared/*': ['@shared/*']}"
    )
    relative_to_alias: bool = Field(
        False,
        description="re-point relative imports that cross a moved boundary to an alias"
        " when one covers the target",
    )
    rpc: RpcSpec | None = None
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    seed: SeedExtras | None = None


class SeedManifest(_Seed):
    """The seed's `migration_manifest.json`, as its own script reads it."""

    name: str = Field(min_length=1)
    version: str | None = None
    description: str | None = None
    source_paths: list[SeedSourcePath] = Field(min_length=1)
    import_replacements: list[SeedImportReplacement] = Field(default_factory=list)
    rpc_migrations: list[SeedRpcMigration] = Field(default_factory=list)
    validation: SeedValidation | None = None
    backup: SeedBackup | None = None
    post_migration: SeedPostMigration | None = None

    def to_manifest(self) -> Manifest:
        checks = self.validation or SeedValidation()
        return Manifest(
            name=self.name,
            description=self.description,
            version=self.version,
            # Seed paths are globs under the STAGING folder: each becomes an include there,
            # landing under @shared/<destination> with its path relative to STAGING kept.
            sources=[
                SourceSpec(
                    from_=".",
                    to=workspace_relative(f"{SEED_DEST_ROOT}/{p.destination}"),
                    include=[p.path],
                    default_excludes=False,
                    description=p.description,
                )
                for p in self.source_paths
            ],
            imports=[
                ImportRule(
                    kind="from-regex",
                    pattern=r.pattern,
                    replacement=r.replacement,
                    description=r.description,
                )
                for r in self.import_replacements
            ],
            validation=ValidationSpec(
                typescript=checks.typescript.enabled,
                imports=checks.imports.enabled,
                sql=checks.rpc.enabled,
            ),
            seed=SeedExtras(
                rpc_migrations=self.rpc_migrations,
                validation=self.validation,
                backup=self.backup,
                post_migration=self.post_migration,
                other=dict(self.model_extra or {}),
            ),
        )


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedManifest:
    """A validated manifest and where it came from. `base` is the folder that relative
    `from` paths start at. For a seed manifest `staging` is the folder its globs are resolved
    under when one was given; None means `<workspace>/STAGING`, as in the seed."""

    manifest: Manifest
    path: Path
    base: Path
    format: ManifestFormat
    staging: Path | None = None

    def staging_root(self, workspace_root: Path) -> Path:
        return self.staging if self.staging is not None else workspace_root / SEED_STAGING


def load_manifest(
    path: Path,
    *,
    variables: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> LoadedManifest:
    """Read, fill in and validate a manifest. `base` defaults to the manifest's folder; for a
    seed manifest a given `base` is the STAGING folder its globs are resolved under."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ManifestError(f"{source}: a manifest ends in .yaml, .yml or .json")
    raw = read_input(path, what="manifest", error=ManifestError)
    text = decode_utf8(raw, source=source, error=ManifestError, bom=True)
    manifest, fmt = _parse(text, source, is_json=suffix == ".json", variables=variables or {})
    return LoadedManifest(
        manifest=manifest,
        path=path,
        base=(base if base is not None else path.parent).resolve(),
        format=fmt,
        staging=base.resolve() if fmt == "seed" and base is not None else None,
    )


def _parse(
    text: str, source: str, *, is_json: bool, variables: Mapping[str, str]
) -> tuple[Manifest, ManifestFormat]:
    unknown = sorted(set(variables) - set(PLACEHOLDERS))
    if unknown:
        raise ManifestError(
            f"{source}: unknown template variable {unknown[0]!r};"
            " the placeholders are {folder}, {staging} and {name}"
        )
    data = _load_json(text, source) if is_json else _load_yaml(text, source)
    tree = _compose(text, is_json=is_json)
    if tree is not None:
        _refuse_duplicate_keys(tree, source)
    if not isinstance(data, dict):
        got = "nothing" if data is None else f"a {type(data).__name__}"
        raise ManifestError(
            f"{source}:1: a manifest is a mapping with a name and sources (got {got})"
        )
    data = _fill_placeholders(data, variables, source, text, tree)

    if "source_paths" in data:
        if "sources" in data:
            line = _line_at(tree, ("sources",))
            raise ManifestError(
                f"{source}:{line}: sources: the document also has the seed's 'source_paths';"
                " use one form"
            )
        try:
            return SeedManifest.model_validate(data).to_manifest(), "seed"
        except ValidationError as exc:
            raise _located(exc, SeedManifest, source, tree) from None
    try:
        return Manifest.model_validate(data), "vibehq"
    except ValidationError as exc:
        raise _located(exc, Manifest, source, tree) from None


def _load_json(text: str, source: str) -> object:
    try:
        return load_json(text, source=source, error=ManifestError)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{source}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}"
        ) from None


def _load_yaml(text: str, source: str) -> object:
    try:
        return load_yaml(text, source=source, error=ManifestError)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "cannot parse"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        lines = text.splitlines()
        at = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        hint = "; quote a value that starts with a {placeholder}" if _PLACEHOLDER.search(at) else ""
        raise ManifestError(f"{where}: malformed YAML: {problem}{context}{hint}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: malformed YAML: {exc}") from None


def _compose(text: str, *, is_json: bool) -> yaml.Node | None:
    """The document's node tree, for line numbers. JSON is composed as YAML, which it nearly
    is: tabs (legal JSON whitespace, and illegal in JSON strings) become spaces first."""
    try:
        return yaml.compose(text.replace("\t", " ") if is_json else text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        # Already parsed by the real parser; without a tree, errors point at line 1.
        return None


def _refuse_duplicate_keys(node: yaml.Node, source: str, path: tuple[str, ...] = ()) -> None:
    # json.loads and safe_load both keep the last of two equal keys; a second `imports:`
    # would silently drop the first list of rules.
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            line = key.start_mark.line + 1
            if name and name != "<<":
                if name in seen:
                    where = ".".join((*path, name))
                    raise ManifestError(
                        f"{source}:{line}: {where}: duplicate key (first at line {seen[name]})"
                    )
                seen[name] = line
            _refuse_duplicate_keys(value, source, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_duplicate_keys(item, source, (*path, str(index)))


# --- placeholders ---------------------------------------------------------------------------


def _fill_placeholders(
    data: dict[str, Any],
    variables: Mapping[str, str],
    source: str,
    text: str,
    tree: yaml.Node | None,
) -> dict[str, Any]:
    for value in _strings(data):
        for match in _PLACEHOLDER.finditer(value):
            if match.group(1) not in variables:
                token = match.group(0)
                line = _line_of_token(tree, token) or _line_in_text(text, token)
                raise ManifestError(
                    f"{source}:{line}: template placeholder {token} has no value;"
                    " this manifest is a template for `vibehq batch` (or an epic spec's `template`)"
                )
    if not variables:
        return data
    filled = _substitute(data, variables)
    assert isinstance(filled, dict)
    return filled


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _substitute(value: object, variables: Mapping[str, str]) -> object:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, dict):
        return {_substitute(k, variables): _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def _line_of_token(node: yaml.Node | None, token: str) -> int | None:
    if isinstance(node, yaml.ScalarNode):
        return node.start_mark.line + 1 if token in str(node.value) else None
    if isinstance(node, yaml.MappingNode):
        children: list[yaml.Node] = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        return None
    for child in children:
        line = _line_of_token(child, token)
        if line is not None:
            return line
    return None


def _line_in_text(text: str, token: str) -> int:
    index = text.find(token)
    return 1 if index < 0 else text.count("\n", 0, index) + 1


# --- validation errors ----------------------------------------------------------------------


def _line_at(tree: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest node on `loc` that the document has: a missing field is
    reported at its parent, a key at the line it is written on."""
    if tree is None:
        return 1
    node, line = tree, tree.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and str(key.value) == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _located(
    exc: ValidationError, model: type[BaseModel], source: str, tree: yaml.Node | None
) -> ManifestError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc) or "manifest"
    line = _line_at(tree, loc)
    if error["type"] == "extra_forbidden":
        message = _unknown_field(model, loc)
    elif error["type"] == "missing":
        message = "required field is missing"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = re.sub(r" or instance of \w+| after validation", "", message)
    more = exc.error_count() - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ManifestError(f"{source}:{line}: {where}: {message}{extra}")


def _unknown_field(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    known = _fields_at(model, loc[:-1])
    if not known:
        return "unknown field"
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"unknown field (did you mean {close[0]!r}?)"
    return f"unknown field; expected one of {', '.join(known)}"


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names (as written in a manifest) of the model found at `loc`."""
    current: Any = model
    for part in loc:
        current = _element_type(current)
        if isinstance(part, str) and _is_model(current):
            field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return []
            current = field.annotation
    current = _element_type(current)
    if not _is_model(current):
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def _element_type(tp: Any) -> Any:
    """Look through Annotated, Optional, list and dict to the type a nested value has."""
    while True:
        origin = get_origin(tp)
        args = [a for a in get_args(tp) if a is not type(None)]
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (list, dict) and args:
            tp = args[-1]
        elif origin in (Union, types.UnionType) and len(args) == 1:
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
