"""Migration manifests: both forms, compact rules, templates, and one-line located errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from engine.errors import BadInput
from engine.globs import matcher
from engine.migrate.manifest import (
    DEFAULT_EXCLUDES,
    LoadedManifest,
    Manifest,
    ManifestError,
    SourceSpec,
    load_manifest,
)
from engine.migrate.models import ImportRule
from tests.conftest import EXAMPLES, ROOT, SEED_MANIFEST, write

SEED = SEED_MANIFEST
MANIFESTS = ROOT / "manifests"
STAGING = EXAMPLES / "STAGING"
TEMPLATE_VARS = {"folder": "sqlite-demo", "staging": str(STAGING), "name": "sqlite-demo"}

MINIMAL = """\
name: demo
sources:
  - from: STAGING/demo
    to: apps/demo
"""


def load_text(
    tmp_path: Path, text: str, name: str = "m.yaml", variables: Mapping[str, str] | None = None
) -> LoadedManifest:
    return load_manifest(write(tmp_path, name, text), variables=variables)


def error_of(
    tmp_path: Path, text: str, name: str = "m.yaml", variables: Mapping[str, str] | None = None
) -> str:
    with pytest.raises(ManifestError) as caught:
        load_text(tmp_path, text, name, variables)
    return caught.value.message


# --- the seed's own format -------------------------------------------------------------------


def test_seed_manifest_loads_unchanged_and_converts() -> None:
    before = SEED.read_bytes()
    loaded = load_manifest(SEED)
    assert SEED.read_bytes() == before
    raw = json.loads(before)
    m = loaded.manifest

    assert loaded.format == "seed"
    assert loaded.path == SEED
    assert loaded.base == SEED.parent.resolve()
    # As in the seed: globs under <workspace>/STAGING, written under @shared/<destination>.
    assert loaded.staging is None
    assert loaded.staging_root(Path("/ws")) == Path("/ws/STAGING")
    assert (m.name, m.version, m.description) == (raw["name"], "1.0.0", raw["description"])
    assert [(s.from_, s.include, s.to, s.description) for s in m.sources] == [
        (".", [p["path"]], f"@shared/{p['destination']}", p["description"])
        for p in raw["source_paths"]
    ]
    assert all(not s.default_excludes and s.exclude == [] for s in m.sources)
    assert m.imports == [
        ImportRule(
            kind="from-regex",
            pattern=r["pattern"],
            replacement=r["replacement"],
            description=r["description"],
        )
        for r in raw["import_replacements"]
    ]
    assert m.validation.typescript is True
    assert m.validation.imports is True
    assert m.validation.sql is True
    assert m.rpc is None

    seed = m.seed
    assert seed is not None
    assert [r.model_dump(exclude_none=True) for r in seed.rpc_migrations] == raw["rpc_migrations"]
    assert seed.validation is not None
    assert seed.validation.model_dump(exclude_none=True) == raw["validation"]
    assert seed.backup is not None and seed.backup.model_dump() == raw["backup"]
    assert seed.post_migration is not None
    assert seed.post_migration.model_dump() == raw["post_migration"]
    assert seed.other == {}


def test_example_copy_of_the_seed_is_byte_identical() -> None:
    assert (MANIFESTS / "seed-migration_manifest.json").read_bytes() == SEED.read_bytes()


def test_seed_keeps_keys_it_does_not_define(tmp_path: Path) -> None:
    raw = json.loads(SEED.read_text())
    raw["owner_team"] = "platform"
    raw["validation"]["typescript"]["enabled"] = False
    raw["rpc_migrations"][0]["priority"] = 1
    m = load_text(tmp_path, json.dumps(raw, indent=2), "seed.json").manifest
    assert m.validation.typescript is False
    assert m.seed is not None
    assert m.seed.other == {"owner_team": "platform"}
    assert m.seed.rpc_migrations[0].model_extra == {"priority": 1}


def test_seed_errors_point_into_the_seed_document(tmp_path: Path) -> None:
    raw = json.loads(SEED.read_text())
    raw["source_paths"][2]["destination"] = "../outside"
    text = json.dumps(raw, indent=2)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "../outside" in t)
    message = error_of(tmp_path, text, "seed.json")
    assert message.startswith(f"{tmp_path / 'seed.json'}:{line}: source_paths.2.destination: ")
    assert "'..'" in message


def test_seed_paths_are_globs_under_the_base(tmp_path: Path) -> None:
    raw = json.loads(SEED.read_text())
    raw["source_paths"][0]["path"] = "/etc/**"
    message = error_of(tmp_path, json.dumps(raw, indent=2), "seed.json")
    assert ":7: source_paths.0.path: " in message and "relative to `from`" in message


def test_a_document_with_both_forms_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL + "source_paths:\n  - {path: x, destination: y}\n")
    assert ":2: sources: " in message and "source_paths" in message


# --- the examples ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in MANIFESTS.iterdir()
        if p.suffix in (".yaml", ".yml", ".json") and not p.stem.endswith("-epic")
    ),
    ids=lambda p: p.name,
)
def test_every_example_manifest_loads(path: Path) -> None:
    is_template = "{folder}" in path.read_text()
    loaded = load_manifest(path, variables=TEMPLATE_VARS if is_template else None)
    assert loaded.manifest.sources
    assert loaded.base == MANIFESTS.resolve()


def test_pilot_manifest() -> None:
    loaded = load_manifest(MANIFESTS / "pilot-sqlite-demo.yaml")
    m = loaded.manifest
    assert loaded.format == "vibehq"
    assert m.owner == "38"
    assert m.relative_to_alias is True
    assert m.tsconfig_paths == {"@shared/*": ["@shared/*"]}
    assert [(s.to, (loaded.base / s.from_).resolve()) for s in m.sources] == [
        ("apps/sqlite-demo", STAGING / "sqlite-demo"),
        ("@shared/contracts/sqlite-demo", STAGING / "sqlite-demo" / "src" / "contracts"),
        ("orchestrator/worker/database/sqlite-demo", STAGING / "sqlite-demo" / "src" / "schema"),
    ]
    assert all((loaded.base / s.from_).is_dir() for s in m.sources)
    assert [r.kind for r in m.imports] == ["exact", "prefix", "regex"]
    assert m.rpc is not None
    assert m.rpc.class_name == "SqliteDemoOps"
    assert m.rpc.binding == "ORCHESTRATOR_SQLITE_DEMO"
    assert m.rpc.wrangler == "@shared/base/wrangler.base.jsonc"
    assert (EXAMPLES / "workspace" / m.rpc.wrangler).is_file()


def test_staging_template_fills_every_staging_folder() -> None:
    for folder in ("sqlite-demo", "terminal-demo"):
        variables = {"folder": folder, "staging": str(STAGING), "name": folder}
        m = load_manifest(MANIFESTS / "staging-template.yaml", variables=variables).manifest
        assert m.name == f"staging: {folder}"
        assert m.sources[0].from_ == f"{STAGING}/{folder}"
        assert Path(m.sources[0].from_).is_dir()
        assert m.sources[0].to == f"apps/{folder}"


# --- compact import rules --------------------------------------------------------------------


def test_compact_rules_become_import_rules_in_order(tmp_path: Path) -> None:
    text = MINIMAL + (
        "imports:\n"
        "  - exact: ../../shared/contracts/patch\n"
        '    to: "@shared/contracts"\n'
        "    description: one index\n"
        '  - prefix: "@repo/shared/"\n'
        '    to: "@shared/"\n'
        "  - regex: '(?:\\.\\./)+shared/(\\w+)'\n"
        "    to: '@shared/\\1'\n"
        "  - kind: from-regex\n"
        "    pattern: from '\\.\\./x'\n"
        "    replacement: from '@shared/x'\n"
    )
    rules = load_text(tmp_path, text).manifest.imports
    assert rules == [
        ImportRule(
            kind="exact",
            pattern="../../shared/contracts/patch",
            replacement="@shared/contracts",
            description="one index",
        ),
        ImportRule(kind="prefix", pattern="@repo/shared/", replacement="@shared/"),
        ImportRule(kind="regex", pattern=r"(?:\.\./)+shared/(\w+)", replacement=r"@shared/\1"),
        ImportRule(kind="from-regex", pattern=r"from '\.\./x'", replacement="from '@shared/x'"),
    ]


def test_a_dumped_manifest_loads_again(tmp_path: Path) -> None:
    original = load_manifest(MANIFESTS / "pilot-sqlite-demo.yaml").manifest
    dumped = yaml.safe_dump(original.model_dump(mode="json", exclude_none=True))
    assert load_text(tmp_path, dumped).manifest == original


# --- located errors --------------------------------------------------------------------------


RULES_HEAD = MINIMAL + "imports:\n  - exact: a\n    to: b\n"


@pytest.mark.parametrize(
    ("name", "text", "where", "words"),
    [
        ("bad.yaml", "name: x\nsources:\n  - from: a\n    to: [b\n", ":5:1: malformed YAML", []),
        ("bad.json", '{\n  "name": "x",\n  "sources": [\n}\n', ":4:1: malformed JSON", []),
        (
            "m.yaml",
            MINIMAL + "  - from: b\n    to: apps/b\n    include: src/**\n",
            ":7: sources.1.include: ",
            ["valid list"],
        ),
        (
            "m.json",
            '{\n  "name": "x",\n  "sources": [\n    {"from": "a", "to": "b"},\n'
            '    {"from": "c", "to": "d",\n     "default_excludes": "sometimes"}\n  ]\n}\n',
            ":6: sources.1.default_excludes: ",
            ["boolean"],
        ),
        ("m.yaml", MINIMAL + "    frm: x\n", ":5: sources.0.frm: ", ["did you mean 'from'"]),
        (
            "m.yaml",
            MINIMAL + "validation:\n  typescript: true\n  mypy: true\n",
            ":7: validation.mypy: ",
            ["expected one of typescript, tsconfig"],
        ),
        (
            "m.yaml",
            RULES_HEAD + "  - exact: c\n    prefix: d\n    to: e\n",
            ":8: imports.1: ",
            ["exactly one of exact, prefix or regex", "found exact and prefix"],
        ),
        ("m.yaml", RULES_HEAD + "  - to: e\n", ":8: imports.1: ", ["exactly one"]),
        ("m.yaml", RULES_HEAD + "  - prefix: c\n", ":8: imports.1: ", ["has no 'to'"]),
        ("m.yaml", RULES_HEAD + "  - regex: '[a'\n    to: b\n", ":8: imports.1: ", ["compile"]),
        ("m.yaml", RULES_HEAD + "  - regex: a\n    to: '\\2'\n", ":8: imports.1: ", ["group"]),
        (
            "m.yaml",
            RULES_HEAD + "  - exact: c\n    to: d\n    replace: e\n",
            ":8: imports.1: ",
            ["unknown key 'replace'"],
        ),
        ("m.yaml", MINIMAL.replace("apps/demo", "../x"), ":4: sources.0.to: ", ["'..'"]),
        ("m.yaml", MINIMAL.replace("apps/demo", "/abs"), ":4: sources.0.to: ", ["absolute"]),
        ("m.yaml", MINIMAL.replace("apps/demo", ".vibehq/x"), ":4: sources.0.to: ", ["state"]),
        ("m.yaml", "name: demo\nsources:\n  - from: a\n", ":3: sources.0.to: ", ["missing"]),
        ("m.yaml", "name: demo\nsources: []\n", ":2: sources: ", ["at least 1"]),
        ("m.yaml", "sources:\n  - {from: a, to: b}\n", ":1: name: ", ["missing"]),
        (
            "m.yaml",
            MINIMAL + "rpc:\n  entrypoint: orchestrator/X.ts\n  binding: orchestrator_x\n"
            "  wrangler: w.jsonc\n",
            ":7: rpc.binding: ",
            ["UPPER_SNAKE"],
        ),
        (
            "m.yaml",
            MINIMAL + "rpc:\n  entrypoint: orchestrator/X.js\n  binding: X\n  wrangler: w.jsonc\n",
            ":6: rpc.entrypoint: ",
            ["TypeScript"],
        ),
        ("m.yaml", MINIMAL + "owner: [38]\n", ":5: owner: ", ["task id"]),
        ("m.yaml", MINIMAL + "tsconfig_paths:\n  '@x/*': []\n", ":6: tsconfig_paths.@x/*: ", []),
        ("m.yaml", MINIMAL + "name: again\n", ":5: name: ", ["duplicate key (first at line 1)"]),
        ("m.yaml", "- name: x\n", ":1: ", ["mapping", "got a list"]),
        ("m.yaml", "# nothing yet\n", ":1: ", ["got nothing"]),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_errors_name_the_line_and_the_field(
    tmp_path: Path, name: str, text: str, where: str, words: list[str]
) -> None:
    message = error_of(tmp_path, text, name)
    prefix = str(tmp_path / name)
    assert message.startswith(prefix + where), message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_only_the_first_problem_is_spelled_out(tmp_path: Path) -> None:
    message = error_of(tmp_path, "name: 5\nsources:\n  - {from: a, to: /b}\n")
    assert re.search(r":1: name: .*\(and 1 more problem\)$", message), message


def test_unquoted_placeholder_gets_a_hint(tmp_path: Path) -> None:
    text = "name: x\nsources:\n  - from: {staging}/{folder}\n    to: apps/x\n"
    message = error_of(tmp_path, text, variables=TEMPLATE_VARS)
    assert ":3:" in message and "quote a value that starts with a {placeholder}" in message


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "absent.yaml")
    with pytest.raises(ManifestError, match=r"\.yaml, \.yml or \.json"):
        load_text(tmp_path, MINIMAL, "m.toml")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(write(tmp_path, "latin.yaml", "name: caf\xe9\n".encode("latin-1")))
    assert issubclass(ManifestError, BadInput)


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "name: !!python/object/apply:os.system ['true']\nsources: []\n")
    assert ":1:" in message and "malformed YAML" in message


def test_json_with_tabs_and_a_byte_order_mark_still_gets_lines(tmp_path: Path) -> None:
    text = '\ufeff{\n\t"name": "x",\n\t"sources": [\n\t\t{"from": "a", "to": "/b"}\n\t]\n}\n'
    assert ":4: sources.0.to: " in error_of(tmp_path, text, "m.json")


# --- templates -------------------------------------------------------------------------------


TEMPLATE = """\
name: "{name}"
sources:
  - from: "{staging}/{folder}"
    to: apps/{folder}
imports:
  - regex: '\\.\\./([a-z]{2,})/(.*)'
    to: '@shared/\\1/\\2'
rpc:
  entrypoint: orchestrator/worker/entrypoints/{Name}Ops.ts
  binding: ORCHESTRATOR_X
  wrangler: "@shared/base/wrangler.base.jsonc"
"""


def test_template_placeholders_are_filled_and_other_braces_kept(tmp_path: Path) -> None:
    variables = {"folder": "sqlite-demo", "staging": "/srv/STAGING #2: x", "name": "it's"}
    m = load_text(tmp_path, TEMPLATE, variables=variables).manifest
    assert m.name == "it's"
    assert m.sources[0].from_ == "/srv/STAGING #2: x/sqlite-demo"
    assert m.sources[0].to == "apps/sqlite-demo"
    assert m.imports[0].pattern == r"\.\./([a-z]{2,})/(.*)"
    assert m.rpc is not None
    assert m.rpc.entrypoint == "orchestrator/worker/entrypoints/{Name}Ops.ts"


def test_template_placeholders_in_json(tmp_path: Path) -> None:
    text = json.dumps(
        {"name": "{folder}", "sources": [{"from": "{staging}", "to": "apps/{folder}"}]}
    )
    m = load_text(tmp_path, text, "t.json", variables={"folder": 'a"b', "staging": "C:\\x"})
    assert (m.manifest.name, m.manifest.sources[0].from_) == ('a"b', "C:\\x")


def test_a_placeholder_without_a_value_names_its_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, TEMPLATE, variables={"folder": "x", "name": "x"})
    assert message.startswith(f"{tmp_path / 'm.yaml'}:3: template placeholder {{staging}} ")
    message = error_of(tmp_path, TEMPLATE)
    assert ":1: template placeholder {name} " in message


def test_placeholders_in_comments_need_no_value(tmp_path: Path) -> None:
    assert load_text(tmp_path, "# from: {staging}/{folder}\n" + MINIMAL).manifest.name == "demo"


def test_unknown_template_variables_are_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL, variables={"worker": "x"})
    assert "unknown template variable 'worker'" in message


# --- sources and excludes --------------------------------------------------------------------


def test_source_defaults_and_normalised_destination(tmp_path: Path) -> None:
    text = MINIMAL.replace("apps/demo", "./apps//demo/")
    spec = load_text(tmp_path, text).manifest.sources[0]
    assert spec.to == "apps/demo"
    assert spec.include == ["**/*"]
    assert spec.excluded_globs() == list(DEFAULT_EXCLUDES)


def test_default_excludes_cover_the_staging_example() -> None:
    spec = load_manifest(MANIFESTS / "pilot-sqlite-demo.yaml").manifest.sources[0]
    excluded = matcher(spec.excluded_globs())
    root = STAGING / "sqlite-demo"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    kept = [f for f in files if not excluded(f)]
    assert kept == [
        "package.json",
        "src/db.ts",
        "src/http.ts",
        "src/index.ts",
        "src/routes/notes.ts",
        "src/types.ts",
    ]
    for path in (
        "node_modules/left-pad/index.js",
        "packages/x/node_modules/y.js",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "sub/bun.lock",
        "build/out.js",
        ".wrangler/tmp/bundle.js",
        "coverage/lcov.info",
        ".turbo/cache",
        ".git/HEAD",
        "src/.DS_Store",
    ):
        assert excluded(path), path
    assert not excluded("src/build/index.ts")


def test_default_excludes_can_be_turned_off() -> None:
    spec = SourceSpec.model_validate(
        {"from": "a", "to": "b", "exclude": ["**/*.test.ts"], "default_excludes": False}
    )
    assert spec.excluded_globs() == ["**/*.test.ts"]
    on = SourceSpec.model_validate({"from": "a", "to": "b", "exclude": ["**/*.test.ts"]})
    assert on.excluded_globs() == [*DEFAULT_EXCLUDES, "**/*.test.ts"]


def test_globs_are_relative_to_from(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL + "    exclude: ['/dist/**']\n")
    assert ":5: sources.0.exclude: " in message and "relative to `from`" in message


def test_base_defaults_to_the_manifest_folder_and_can_be_given(tmp_path: Path) -> None:
    path = write(tmp_path, "sub/m.yaml", MINIMAL)
    assert load_manifest(path).base == (tmp_path / "sub").resolve()
    assert load_manifest(path, base=tmp_path).base == tmp_path.resolve()


def test_manifest_defaults() -> None:
    m = Manifest.model_validate({"name": "x", "sources": [{"from": "a", "to": "b"}]})
    assert m.imports == [] and m.tsconfig_paths == {} and m.relative_to_alias is False
    assert m.rpc is None and m.seed is None and m.owner is None
    v = m.validation
    assert (v.typescript, v.tsconfig, v.eslint, v.tests, v.imports, v.sql) == (
        True,
        "tsconfig.json",
        False,
        False,
        True,
        True,
    )
