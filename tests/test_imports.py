"""Import finder, rewrite rules, relative/alias recomputation and byte splicing."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from engine.errors import BadInput
from engine.migrate.imports import (
    alias_specifier,
    apply_rules,
    find_imports,
    relative_specifier,
    resolve_relative,
)
from engine.migrate.models import ImportRule, ImportSpecifier
from engine.syntax.splice import splice

P = PurePosixPath

# The seed manifest's import_replacements, as they appear in
# fixtures/manifests/seed-migration_manifest.json once JSON escapes are undone.
SEED_RULES = [
    ImportRule(
        kind="from-regex",
        pattern="from ['\"]\\.\\./types/([^'\"]*)['\"]",
        replacement="from '@shared/types/\\1'",
    ),
    ImportRule(
        kind="from-regex",
        pattern="from ['\"]\\.\\./container/([^'\"]*)['\"]",
        replacement="from '@shared/container/\\1'",
    ),
    ImportRule(
        kind="from-regex",
        pattern="from ['\"]\\.\\./ai-tools/([^'\"]*)['\"]",
        replacement="from '@shared/ai-tools/\\1'",
    ),
    ImportRule(
        kind="from-regex",
        pattern="from ['\"]\\.\\./contracts/([^'\"]*)['\"]",
        replacement="from '@shared/contracts/\\1'",
    ),
]


def _found(source: bytes, path: str = "worker/index.ts") -> list[tuple[str, str, int, int]]:
    specs = find_imports(source, path)
    for spec in specs:
        assert source[spec.start_byte : spec.end_byte].decode() == spec.specifier
    return [(s.kind, s.specifier, s.line, s.column) for s in specs]


# --- find_imports --------------------------------------------------------------------------------


def test_every_static_form_with_kind_position_and_offsets() -> None:
    source = (
        b"import Default from 'default-mod';\n"
        b"import './side-effect';\n"
        b'import * as ns from "namespace-mod";\n'
        b"import type { Env } from './env';\n"
        b"import { type Row, query } from './db';\n"
        b"export * from '../shared/all';\n"
        b"export { a, b as c } from './reexport';\n"
        b"export type { T } from './types';\n"
        b"export * as grouped from './grouped';\n"
    )
    assert _found(source) == [
        ("import", "default-mod", 1, 22),
        ("import", "./side-effect", 2, 9),
        ("import", "namespace-mod", 3, 22),
        ("import-type", "./env", 4, 27),
        ("import", "./db", 5, 34),
        ("export-from", "../shared/all", 6, 16),
        ("export-from", "./reexport", 7, 28),
        ("export-from", "./types", 8, 25),
        ("export-from", "./grouped", 9, 27),
    ]


def test_offsets_are_bytes_of_the_specifier_without_quotes() -> None:
    source = b"const x = 1;\nimport { y } from './y';\n"
    [spec] = find_imports(source, "a.ts")
    assert spec == ImportSpecifier(
        kind="import", specifier="./y", line=2, column=20, start_byte=32, end_byte=35
    )
    assert source[spec.start_byte - 1 : spec.end_byte + 1] == b"'./y'"


def test_dynamic_imports_require_and_import_equals() -> None:
    source = (
        b"import fs = require('node:fs');\n"
        b"const cfg = require('./config');\n"
        b"export async function load() {\n"
        b'  const mod = await import("./lazy");\n'
        b"  const tpl = await import(`./templated`);\n"
        b"  return import(/* webpackChunkName: 'x' */ './chunk');\n"
        b"}\n"
    )
    assert _found(source) == [
        ("require", "node:fs", 1, 22),
        ("require", "./config", 2, 22),
        ("dynamic-import", "./lazy", 4, 29),
        ("dynamic-import", "./templated", 5, 29),
        ("dynamic-import", "./chunk", 6, 46),
    ]


def test_reference_path_directive_at_top_of_file() -> None:
    source = (
        b"#!/usr/bin/env node\n"
        b'/// <reference path="../types/globals.d.ts" />\n'
        b"/* licence header */\n"
        b"///<reference path='./local.d.ts'/>\n"
        b'/// <reference types="node" />\n'
        b"import { x } from './x';\n"
        b'/// <reference path="./after-code.d.ts" />\n'
    )
    assert _found(source) == [
        ("reference-path", "../types/globals.d.ts", 2, 22),
        ("reference-path", "./local.d.ts", 4, 21),
        ("import", "./x", 6, 20),
    ]


@pytest.mark.parametrize("path", ["a.js", "a.mjs", "a.cjs", "a.tsx", "a.jsx"])
def test_javascript_and_jsx_files(path: str) -> None:
    source = (
        b"import React from 'react';\n"
        b"const { join } = require('path');\n"
        b"export const App = () => <div title=\"import x from 'nope'\">{import('./page')}</div>;\n"
    )
    assert [(k, s) for k, s, _, _ in _found(source, path)] == [
        ("import", "react"),
        ("require", "path"),
        ("dynamic-import", "./page"),
    ]


def test_columns_count_characters_and_ignore_a_bom() -> None:
    source = "\ufeffimport a from './a';\nconst é = 'ü'; import b from './b';\n".encode()
    assert _found(source) == [("import", "./a", 1, 16), ("import", "./b", 2, 31)]


def test_crlf_source() -> None:
    source = b"import a from './a';\r\nimport b from './b';\r\n"
    assert _found(source) == [("import", "./a", 1, 16), ("import", "./b", 2, 16)]


def test_look_alikes_are_not_imports() -> None:
    source = (
        b"// import x from 'nope-line-comment'\n"
        b"/* require('nope-block-comment') */\n"
        b"const s = \"import x from 'nope-string'\";\n"
        b"const t = `await import('nope-template')`;\n"
        b"const u = `${require}('nope-substituted')`;\n"
        b"obj.require('nope-member');\n"
        b"require('nope-two-args', 2);\n"
        b"const name = './dynamic';\n"
        b"import(name);\n"
        b"import(`./x/${name}`);\n"
        b"function later() {\n"
        b'  /// <reference path="./nope-in-body.d.ts" />\n'
        b"  return 1;\n"
        b"}\n"
        b"import real from './real';\n"
    )
    assert _found(source) == [("import", "./real", 15, 19)]


def test_types_reference_is_skipped_and_path_after_statement_is_not_a_directive() -> None:
    source = b'/// <reference types="node" />\nconst x = 1;\n/// <reference path="./late.d.ts" />\n'
    assert find_imports(source, "a.ts") == []


def test_other_keyword_uses_are_not_imports() -> None:
    source = (
        b"const here = import.meta.url;\n"
        b"const $import = (m: string) => m;\n"
        b"$import('nope-dollar');\n"
        b"loader.import('nope-method');\n"
        b"const importer = 1, exported = 2, required = 3;\n"
        b"export const value = importer + exported + required;\n"
        b"export default function run() {}\n"
        b"export = run;\n"
    )
    assert find_imports(source, "a.ts") == []


def test_imports_inside_an_ambient_module_and_import_types() -> None:
    source = (
        b"declare module 'virtual:config' {\n"
        b"  import type { Config } from './config';\n"
        b"  export const config: Config;\n"
        b"}\n"
        b"type Db = typeof import('./db');\n"
        b"let row: import('./schema').Row;\n"
    )
    assert _found(source) == [
        ("import-type", "./config", 2, 32),
        ("dynamic-import", "./db", 5, 26),
        ("dynamic-import", "./schema", 6, 18),
    ]


def test_import_attributes_are_not_specifiers() -> None:
    source = b"import data from './data.json' with { type: 'json' };\n"
    assert _found(source) == [("import", "./data.json", 1, 19)]


# --- apply_rules ---------------------------------------------------------------------------------


def test_exact_rule() -> None:
    rules = [ImportRule(kind="exact", pattern="../env", replacement="@shared/env")]
    assert apply_rules("../env", rules) == ("@shared/env", 0)
    assert apply_rules("../env/x", rules) is None


def test_prefix_rule_keeps_the_rest() -> None:
    rules = [ImportRule(kind="prefix", pattern="../types/", replacement="@shared/types/")]
    assert apply_rules("../types/rpc/messages", rules) == ("@shared/types/rpc/messages", 0)
    assert apply_rules("./types/x", rules) is None


def test_regex_rule_is_a_fullmatch_with_group_references() -> None:
    rules = [
        ImportRule(kind="regex", pattern=r"\.\./(\w+)/index", replacement=r"@shared/\1"),
        ImportRule(kind="regex", pattern=r"~/(?P<rest>.+)\.js", replacement=r"@app/\g<rest>"),
    ]
    assert apply_rules("../db/index", rules) == ("@shared/db", 0)
    assert apply_rules("../../db/index", rules) is None
    assert apply_rules("~/lib/log.js", rules) == ("@app/lib/log", 1)


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        ("../types/foo", ("@shared/types/foo", 0)),
        ("../types/rpc/index.js", ("@shared/types/rpc/index.js", 0)),
        ("../container/sandbox", ("@shared/container/sandbox", 1)),
        ("../ai-tools/openai", ("@shared/ai-tools/openai", 2)),
        ("../contracts/rpc", ("@shared/contracts/rpc", 3)),
        ("../../types/foo", None),
        ("./types/foo", None),
        ("@shared/types/foo", None),
    ],
)
def test_seed_manifest_from_regex_rules(specifier: str, expected: tuple[str, int] | None) -> None:
    assert apply_rules(specifier, SEED_RULES) == expected


def test_from_regex_reading_double_quotes_back() -> None:
    rule = ImportRule(
        kind="from-regex", pattern=r"from '\./legacy/(\w+)'", replacement=r'from "@legacy/\1"'
    )
    assert apply_rules("./legacy/db", [rule]) == ("@legacy/db", 0)


def test_from_regex_that_breaks_the_from_clause_is_bad_input() -> None:
    rule = ImportRule(kind="from-regex", pattern=r"from '\.\./x/", replacement="import '")
    with pytest.raises(BadInput, match=r"imports\[0\] from-regex"):
        apply_rules("../x/y", [rule])


def test_first_matching_rule_wins() -> None:
    rules = [
        ImportRule(kind="prefix", pattern="../types/special", replacement="@special"),
        ImportRule(kind="prefix", pattern="../types/", replacement="@shared/types/"),
        ImportRule(kind="exact", pattern="../types/special", replacement="@never"),
    ]
    assert apply_rules("../types/special", rules) == ("@special", 0)
    assert apply_rules("../types/other", rules) == ("@shared/types/other", 1)


def test_rule_mapping_to_itself_is_no_match() -> None:
    rules = [
        ImportRule(kind="regex", pattern=r"@shared/.*", replacement=r"\g<0>"),
        ImportRule(kind="prefix", pattern="@shared/", replacement="@core/"),
    ]
    assert apply_rules("@shared/log", rules) == ("@core/log", 1)


@pytest.mark.parametrize("kind", ["regex", "from-regex"])
def test_invalid_regex_names_the_rule(kind: str) -> None:
    rules = [
        ImportRule(kind="exact", pattern="zzz", replacement="y"),
        ImportRule.model_validate({"kind": kind, "pattern": "(unclosed", "replacement": "x"}),
    ]
    with pytest.raises(BadInput, match=r"imports\[1\].*invalid regex"):
        apply_rules("anything", rules)


def test_replacement_with_a_missing_group_is_bad_input() -> None:
    rules = [ImportRule(kind="regex", pattern=r"\.\./(\w+)", replacement=r"@x/\2")]
    with pytest.raises(BadInput, match=r"imports\[0\]"):
        apply_rules("../db", rules)


# --- resolve_relative ----------------------------------------------------------------------------

TREE = {
    "src/worker.ts",
    "src/db/index.ts",
    "src/db/schema.ts",
    "src/view.tsx",
    "src/legacy.js",
    "src/data.json",
    "src/globals.d.ts",
    "src/emitted.ts",
    "src/emitted.js",
    "src/esm/mod.mts",
    "types/rpc.ts",
    "index.ts",
}


def _exists(path: PurePosixPath) -> bool:
    return str(path) in TREE


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        ("./db/schema", "src/db/schema.ts"),
        ("./db", "src/db/index.ts"),
        ("./db/", "src/db/index.ts"),
        ("./db/index", "src/db/index.ts"),
        ("./view", "src/view.tsx"),
        ("./legacy", "src/legacy.js"),
        ("./data.json", "src/data.json"),
        ("./globals", "src/globals.d.ts"),
        ("./db/schema.js", "src/db/schema.ts"),
        ("./view.js", "src/view.tsx"),
        ("./emitted.js", "src/emitted.ts"),
        ("./esm/mod.mjs", "src/esm/mod.mts"),
        ("../types/rpc", "types/rpc.ts"),
        ("./db/../../types/rpc.js", "types/rpc.ts"),
        ("..", "index.ts"),
        ("./missing", None),
        ("./db/missing.js", None),
        ("../../outside", None),
        ("lodash", None),
        ("@shared/types", None),
    ],
)
def test_resolve_relative(specifier: str, expected: str | None) -> None:
    resolved = resolve_relative(specifier, P("src/worker.ts"), _exists)
    assert resolved == (None if expected is None else P(expected))


def test_resolve_relative_from_the_root_folder() -> None:
    assert resolve_relative(".", P("main.ts"), _exists) == P("index.ts")
    assert resolve_relative("./src/db", P("main.ts"), _exists) == P("src/db/index.ts")


# --- relative_specifier --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_file", "to_file", "original", "expected"),
    [
        # deeper: the importer moved down two folders
        (
            "apps/api/src/worker.ts",
            "packages/db/schema.ts",
            "./db/schema",
            "../../../packages/db/schema",
        ),
        # shallower
        ("worker.ts", "lib/db/schema.ts", "../../lib/db/schema", "./lib/db/schema"),
        # siblings
        ("src/a.ts", "src/b.ts", "../old/b", "./b"),
        ("src/a.ts", "src/b.ts", "../old/b.js", "./b.js"),
        ("src/a.ts", "src/b.mts", "../old/b.mjs", "./b.mjs"),
        ("src/a.ts", "src/view.tsx", "./view.jsx", "./view.jsx"),
        ("src/a.ts", "src/view.tsx", "./view.js", "./view.js"),
        ("src/a.ts", "src/view.tsx", "./view", "./view"),
        ("src/a.ts", "src/legacy.js", "./legacy.js", "./legacy.js"),
        ("src/a.ts", "src/globals.d.ts", "./globals", "./globals"),
        ("src/a.ts", "assets/data.json", "./data.json", "../assets/data.json"),
        ("src/a.ts", "src/b.ts", "./old/b.ts", "./b.ts"),
        # index omitted stays omitted; spelled out stays spelled out
        ("src/a.ts", "lib/db/index.ts", "./db", "../lib/db"),
        ("src/a.ts", "lib/db/index.ts", "./db/", "../lib/db/"),
        ("src/a.ts", "lib/db/index.ts", "./db/index", "../lib/db/index"),
        ("src/a.ts", "lib/db/index.ts", "./db/index.js", "../lib/db/index.js"),
        ("src/deep/a.ts", "src/index.ts", "./parent", "../"),
        ("src/a.ts", "src/index.ts", "./x", "./"),
        ("src/a.ts", "src/index.ts", ".", "."),
        ("src/a/b.ts", "src/index.ts", "..", ".."),
        # a dotted name is not an extension
        ("src/a.ts", "src/user.service.ts", "./user.service", "./user.service"),
    ],
)
def test_relative_specifier(from_file: str, to_file: str, original: str, expected: str) -> None:
    assert relative_specifier(P(from_file), P(to_file), original) == expected


def test_relative_specifier_is_identity_when_nothing_moved() -> None:
    importer = P("src/worker.ts")
    for original in [
        "./db/schema",
        "./db",
        "./db/",
        "./db/index",
        "./view.js",
        "./data.json",
        "..",
    ]:
        target = resolve_relative(original, importer, _exists)
        assert target is not None
        assert relative_specifier(importer, target, original) == original


def test_relative_specifier_refuses_mixed_anchors() -> None:
    with pytest.raises(ValueError, match="anchored differently"):
        relative_specifier(P("/abs/a.ts"), P("rel/b.ts"), "./b")


# --- alias_specifier -----------------------------------------------------------------------------

PATHS = {
    "@shared/*": ["@shared/*"],
    "@shared/types/*": ["@shared/types/*"],
    "@db": ["orchestrator/worker/database/index.ts"],
    "~/*": ["./apps/web/src/*"],
}


@pytest.mark.parametrize(
    ("to_file", "original", "expected"),
    [
        ("@shared/types/rpc.ts", "../types/rpc", "@shared/types/rpc"),
        ("@shared/types/rpc.ts", "../types/rpc.js", "@shared/types/rpc.js"),
        ("@shared/contracts/index.ts", "../contracts", "@shared/contracts"),
        ("@shared/contracts/index.ts", "../contracts/index", "@shared/contracts/index"),
        ("orchestrator/worker/database/index.ts", "../database", "@db"),
        ("apps/web/src/lib/log.ts", "../../lib/log", "~/lib/log"),
        ("apps/api/src/log.ts", "./log", None),
        ("orchestrator/worker/database/schema.ts", "./schema", None),
    ],
)
def test_alias_specifier(to_file: str, original: str, expected: str | None) -> None:
    assert alias_specifier(P(to_file), PATHS, original) == expected


def test_alias_specifier_prefers_the_narrowest_target_folder() -> None:
    paths = {"@shared/*": ["shared/*"], "@types/*": ["shared/types/*"]}
    assert alias_specifier(P("shared/types/rpc.ts"), paths, "../x") == "@types/rpc"
    assert alias_specifier(P("shared/log.ts"), paths, "../x") == "@shared/log"


def test_alias_specifier_skips_an_alias_that_tsc_would_send_elsewhere() -> None:
    # '@shared/types/rpc' would match the longer key and resolve into legacy/, not shared/.
    paths = {"@shared/*": ["shared/*"], "@shared/types/*": ["legacy/types/*"]}
    assert alias_specifier(P("shared/types/rpc.ts"), paths, "./rpc") is None
    assert alias_specifier(P("legacy/types/rpc.ts"), paths, "./rpc") == "@shared/types/rpc"


# --- rewrite_source ------------------------------------------------------------------------------


def test_rewrite_keeps_everything_outside_the_edits() -> None:
    source = (
        b"\xef\xbb\xbfimport a from './a';  \r\n"
        b"// keep \xe2\x80\x94 this\r\n"
        b"import b from './b';\r\n"
    )
    a = source.index(b"./a")
    b = source.index(b"./b")
    out = splice(source, [(b, b + 3, "@shared/b"), (a, a + 3, "../lib/a")])
    assert out == (
        b"\xef\xbb\xbfimport a from '../lib/a';  \r\n"
        b"// keep \xe2\x80\x94 this\r\n"
        b"import b from '@shared/b';\r\n"
    )


def test_rewrite_with_no_edits_is_identity() -> None:
    source = b"x\r\n\ty  \n"
    assert splice(source, []) == source


def test_rewrite_allows_adjacent_edits() -> None:
    assert splice(b"abcdef", [(0, 2, "X"), (2, 4, "Y")]) == b"XYef"


@pytest.mark.parametrize(
    "edits",
    [
        [(0, 3, "x"), (2, 5, "y")],
        [(1, 4, "x"), (2, 3, "y")],
        [(2, 2, "x"), (2, 2, "y")],
        [(2, 2, "x"), (2, 4, "y")],
    ],
)
def test_rewrite_refuses_overlaps(edits: list[tuple[int, int, str]]) -> None:
    with pytest.raises(ValueError, match="overlaps"):
        splice(b"abcdef", edits)


def test_rewrite_refuses_ranges_outside_the_source() -> None:
    with pytest.raises(ValueError, match="outside"):
        splice(b"abc", [(2, 9, "x")])


# --- round trip ----------------------------------------------------------------------------------

WORKER_BEFORE = b"""\
/// <reference path="../types/worker-env.d.ts" />
import { Hono } from 'hono';
import type { Env, Bindings } from "../types/env";
import { SandboxClient } from '../container/sandbox-client';
import { runTool } from '../ai-tools/registry';
import * as rpc from '../contracts/rpc';
import { log } from './log';

// import { old } from '../types/old';  -- kept as a note, not an import
const banner = "served from '../types/banner'";

export { Env };
export * from '../types/errors';

const app = new Hono<{ Bindings: Bindings }>();

app.get('/run/:tool', async (c) => {
  const { planFor } = await import('../ai-tools/planner');
  const sandbox = new SandboxClient(c.env.SANDBOX);
  return c.json(await runTool(c.req.param('tool'), planFor, sandbox, rpc, log, banner));
});

export default app;
"""

WORKER_AFTER = b"""\
/// <reference path="../types/worker-env.d.ts" />
import { Hono } from 'hono';
import type { Env, Bindings } from "@shared/types/env";
import { SandboxClient } from '@shared/container/sandbox-client';
import { runTool } from '@shared/ai-tools/registry';
import * as rpc from '@shared/contracts/rpc';
import { log } from './log';

// import { old } from '../types/old';  -- kept as a note, not an import
const banner = "served from '../types/banner'";

export { Env };
export * from '@shared/types/errors';

const app = new Hono<{ Bindings: Bindings }>();

app.get('/run/:tool', async (c) => {
  const { planFor } = await import('@shared/ai-tools/planner');
  const sandbox = new SandboxClient(c.env.SANDBOX);
  return c.json(await runTool(c.req.param('tool'), planFor, sandbox, rpc, log, banner));
});

export default app;
"""


def test_round_trip_on_a_worker_file() -> None:
    specs = find_imports(WORKER_BEFORE, "STAGING/worker/index.ts")
    assert [s.kind for s in specs] == [
        "reference-path",
        "import",
        "import-type",
        "import",
        "import",
        "import",
        "import",
        "export-from",
        "dynamic-import",
    ]
    edits = []
    for spec in specs:
        # tsc resolves reference paths against the file only, never through `paths` aliases.
        if spec.kind == "reference-path":
            continue
        applied = apply_rules(spec.specifier, SEED_RULES)
        if applied is not None:
            edits.append((spec.start_byte, spec.end_byte, applied[0]))
    assert len(edits) == 6
    after = splice(WORKER_BEFORE, edits)
    assert after == WORKER_AFTER
    # Idempotent: a second pass finds nothing left to rewrite.
    again = find_imports(after, "worker/index.ts")
    assert [apply_rules(s.specifier, SEED_RULES) for s in again if s.kind != "reference-path"] == [
        None
    ] * 8
