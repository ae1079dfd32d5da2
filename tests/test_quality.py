"""Quality monitor: each rule on positives and look-alikes, judging only added lines, whole-file
scans. Fixture sources live in tests/fixtures/quality; secrets are built here at run time so no
key-shaped literal is ever committed."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pytest

from engine.errors import BadInput, UnsafePath
from engine.patch.models import PatchBatch
from engine.validate import quality
from engine.validate.quality import (
    QualityReport,
    Violation,
    added_lines_of,
    check_batch,
    scan_paths,
    scan_text,
)
from engine.workspace import Workspace
from tests.conftest import write

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
# Fixtures are judged as if they sat three folders down in a workspace.
HOME = "apps/api/src"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def scan_fixture(name: str) -> list[Violation]:
    return scan_text(fixture(name), f"{HOME}/{name}")


def line_of(text: str, needle: str) -> int:
    """The one line holding `needle`; a leading `=` asks for the whole line."""
    lines = enumerate(text.split("\n"), 1)
    if needle.startswith("="):
        hits = [i for i, line in lines if line == needle[1:]]
    else:
        hits = [i for i, line in lines if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def found(violations: list[Violation], kind: str | None = None) -> set[tuple[str, int]]:
    return {(v.kind, v.line) for v in violations if kind is None or v.kind == kind}


def expect(name: str, kind: str, needles: list[str]) -> None:
    """Exactly the lines holding `needles` carry a violation of `kind`, and nothing else."""
    text = fixture(name)
    wanted = {(kind, line_of(text, n)) for n in needles}
    assert found(scan_fixture(name)) == wanted


def fake_key(length: int, seed: int) -> str:
    # Generated at run time: a committed literal of this shape would trip secret scanners.
    alphabet = string.ascii_letters + string.digits
    return "".join(random.Random(seed).choices(alphabet, k=length))


def batch(*patches: dict[str, Any]) -> PatchBatch:
    return PatchBatch.model_validate({"requester": "agent", "patches": list(patches)})


# --------------------------------------------------------------------------- placeholders


def test_placeholder_forms_in_typescript() -> None:
    expect(
        "placeholders.ts",
        "PLACEHOLDER_DROPPED",
        [
            "// ... (other agent methods)",
            "// ... (scheduled handler remains the same)",
            "// ... existing code ...",
            "// rest of the implementation",
            "/* unchanged */",
            "// remaining methods unchanged",
            "// (same as before)",
            "// ... rest of the methods",
            "omitted for brevity",
            "// implementation goes here",
            "remain the same as in the original file",
            "existing helpers stay unchanged",
            "// ... (other handlers)",
            "// Existing methods",
            "=  // ...",
            "items.slice(1 /* ... */)",
        ],
    )


def test_placeholder_in_jsx_expression() -> None:
    expect("placeholders_view.tsx", "PLACEHOLDER_DROPPED", ["{/* ... */}"])


def test_placeholder_lookalikes_are_not_placeholders() -> None:
    # Spreads, strings and templates with "...", a JSDoc about "the rest of the queue", prose
    # with one or only descriptive keywords, "..." and "the rest" inside a paragraph of
    # comments, code samples (`/etc`, `<rest>`), ASCII art, a note after code: none is elided
    # code. The TODO is its own kind.
    text = fixture("placeholder_lookalikes.tsx")
    assert found(scan_fixture("placeholder_lookalikes.tsx")) == {
        ("INCOMPLETE_CODE", line_of(text, "// TODO: handle the rest of the cases"))
    }


def test_placeholders_in_python_comments_only() -> None:
    expect(
        "placeholders.py",
        "PLACEHOLDER_DROPPED",
        ["# ... rest of code", "# existing methods unchanged", "# ... (other store methods)"],
    )
    # Docstrings and strings that say the same are data, not comments.
    assert scan_fixture("placeholder_lookalikes.py") == []


def test_placeholder_violation_fields() -> None:
    text = "export function f(): number {\n  // ... existing code ...\n  return 1;\n}\n"
    [violation] = scan_text(text, "src/f.ts")
    assert violation.kind == "PLACEHOLDER_DROPPED"
    assert violation.severity == "critical"
    assert violation.file == "src/f.ts"
    assert violation.line == 2
    assert violation.snippet == "// ... existing code ..."
    assert "placeholder" in violation.message


def test_trailing_comment_needs_a_strong_form() -> None:
    # After code on the same line a note annotates that code; only a bare ellipsis or a
    # strong phrase still marks elided code there.
    assert scan_text("const a = keep(rows); // existing rows unchanged\n", "a.ts") == []
    assert scan_text("const a = 1; // ... (other fields)\n", "a.ts") == []
    assert found(scan_text("const a = [1 /* ... */];\n", "a.ts")) == {("PLACEHOLDER_DROPPED", 1)}
    assert found(scan_text("const a = 1; // rest omitted for brevity\n", "a.ts")) == {
        ("PLACEHOLDER_DROPPED", 1)
    }


def test_snippet_is_stripped_and_cut_at_120() -> None:
    text = "   // ... (" + "x" * 200 + ")\n"
    [violation] = scan_text(text, "a.ts")
    assert violation.snippet.startswith("// ... (")
    assert len(violation.snippet) == 120


# --------------------------------------------------------------------------- incomplete code


def test_incomplete_typescript() -> None:
    expect(
        "incomplete.ts",
        "INCOMPLETE_CODE",
        [
            'throw new Error("Not implemented")',
            "throw new Error(`TODO: refunds",
            "throw new NotImplementedError()",
            "// TODO: apply discounts",
            "// FIXME: rounding",
            "XXX: ignores exempt items",
        ],
    )


def test_incomplete_lookalikes_typescript() -> None:
    # "todo" the noun, XXX-XXX-XXXX, an error about a missing to-do, empty bodies with no
    # original to compare with, and a TODO inside a string.
    assert scan_fixture("incomplete_lookalikes.ts") == []


def test_incomplete_python() -> None:
    expect(
        "incomplete.py",
        "INCOMPLETE_CODE",
        [
            "=    raise NotImplementedError",
            'raise NotImplementedError("refunds")',
            "        pass",
            "        ...",
            'raise RuntimeError("not implemented yet")',
            "# TODO: retries",
            "# FIXME: timeouts",
        ],
    )


def test_incomplete_lookalikes_python() -> None:
    # @abstractmethod, Protocol members and @overload stubs may have no body.
    assert scan_fixture("incomplete_lookalikes.py") == []


def test_emptied_function_is_judged_against_the_original() -> None:
    original = (
        "export class Billing {\n"
        "  charge(amount: number): number {\n"
        "    return amount * 1.2;\n"
        "  }\n"
        "  noop(): void {}\n"
        "}\n"
    )
    emptied = original.replace("    return amount * 1.2;\n", "")
    violations = scan_text(emptied, "b.ts", original=original)
    assert found(violations) == {("INCOMPLETE_CODE", 2)}
    assert "Billing.charge" in violations[0].message
    # The same content without an original: an empty body alone is no evidence.
    assert scan_text(emptied, "b.ts") == []


def test_emptied_python_function_against_the_original() -> None:
    original = 'def f():\n    """Doc."""\n    return 1\n'
    emptied = 'def f():\n    """Doc."""\n'
    assert found(scan_text(emptied, "f.py", original=original)) == {("INCOMPLETE_CODE", 2)}
    assert scan_text(emptied, "f.py") == []


# --------------------------------------------------------------------------- malformed syntax


def test_malformed_typescript_reports_line_and_brackets() -> None:
    violations = scan_fixture("malformed.ts")
    assert violations and {v.kind for v in violations} == {"MALFORMED_SYNTAX"}
    assert any("missing `}`" in v.message for v in violations)
    assert any("unbalanced brackets" in v.message for v in violations)
    call = fixture("malformed_call.ts")
    assert ("MALFORMED_SYNTAX", line_of(call, 'parts.join("";')) in found(
        scan_fixture("malformed_call.ts")
    )


def test_brackets_in_strings_comments_templates_regexes_do_not_count() -> None:
    assert scan_fixture("balanced_lookalikes.ts") == []


def test_malformed_python() -> None:
    text = fixture("malformed.py")
    assert found(scan_fixture("malformed.py")) == {
        ("MALFORMED_SYNTAX", line_of(text, "return (sum"))
    }
    indent = fixture("malformed_indent.py")
    assert found(scan_fixture("malformed_indent.py")) == {
        ("MALFORMED_SYNTAX", line_of(indent, "      return 0"))
    }


def test_unbalanced_python_bracket_is_named() -> None:
    violations = scan_text("value = compute(1,\n    2]\n", "v.py")
    assert [v.kind for v in violations] == ["MALFORMED_SYNTAX"]


# --------------------------------------------------------------------------- security


def test_security_typescript() -> None:
    expect(
        "security.ts",
        "SECURITY_RISK",
        [
            "return eval(code);",
            "globalThis.eval(code)",
            "new Function(",
            '"SELECT * FROM users WHERE id = " + id',
            "`DELETE FROM users WHERE id = ${id}`",
            "LIKE '%${q}%'",
            "rejectUnauthorized: false",
            "NODE_TLS_REJECT_UNAUTHORIZED",
            '"/etc/vibehq.conf"',
            '"../../../../outside.json"',
            '"~/notes.txt"',
            '"/tmp/report.json"',
        ],
    )


def test_security_lookalikes_typescript() -> None:
    # env reads, placeholder values, obj.eval(), a tagged sql`` template, constant
    # interpolation, logged SQL, English "Select ... from", prepare().bind(), a table name,
    # a list of `?` marks and a builder's WHERE fragment spliced in, TLS on, writes that stay
    # inside the workspace, and stream.write.
    assert scan_fixture("security_lookalikes.ts") == []


@pytest.mark.parametrize(
    "code",
    [
        "db.prepare(`SELECT * FROM t WHERE id IN (${ids})`);",
        "db.prepare(`INSERT INTO t (a, b) VALUES (${a}, ${b})`);",
        'db.prepare("UPDATE t SET name = \'" + name + "\' WHERE id = 1");',
        "const q = `SELECT * FROM t LIMIT ${n}`;",
    ],
)
def test_sql_value_positions(code: str) -> None:
    assert found(scan_text(code + "\n", "q.ts")) == {("SECURITY_RISK", 1)}


def test_sql_in_identifier_positions_is_left_alone() -> None:
    code = "db.prepare(`SELECT ${cols} FROM ${table} ${where} ORDER BY ${order}`);\n"
    assert scan_text(code, "q.ts") == []


def test_security_python() -> None:
    expect(
        "security.py",
        "SECURITY_RISK",
        [
            "verify=False",
            "ssl._create_unverified_context()",
            "ctx.check_hostname = False",
            "ssl.CERT_NONE",
            'f"SELECT * FROM users WHERE id = {uid}"',
            '"DELETE FROM users WHERE id = " + uid',
            "\"UPDATE users SET name = '%s'\" % uid",
            ".format(uid)",
            "return eval(code)",
            'open("/etc/vibehq.conf", "w")',
        ],
    )


def test_security_lookalikes_python() -> None:
    assert scan_fixture("security_lookalikes.py") == []


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda: "AKIA" + fake_key(16, 1).upper(), id="aws"),
        pytest.param(lambda: "ghp_" + fake_key(36, 2), id="github"),
        pytest.param(lambda: "sk-" + "proj-" + fake_key(40, 3), id="openai"),
        pytest.param(lambda: "sk-" + "ant-api03-" + fake_key(40, 4), id="anthropic"),
        # A Slack bot token as Slack issues it: two numeric ids, then the secret part.
        pytest.param(
            lambda: "xox" + "b-" + "2" * 11 + "-" + "3" * 13 + "-" + fake_key(24, 5), id="slack"
        ),
        pytest.param(lambda: "sk_" + "live_" + fake_key(24, 10), id="stripe"),
        pytest.param(lambda: "gh" + "s_" + fake_key(36, 11), id="github-app"),
    ],
)
def test_known_key_shapes_are_secrets(key: Any) -> None:
    value = key()
    ts = f'const client = new Client({{ auth: "{value}" }});\n'
    assert found(scan_text(ts, "c.ts")) == {("SECURITY_RISK", 1)}
    py = f'CLIENT = make_client("{value}")\n'
    assert found(scan_text(py, "c.py")) == {("SECURITY_RISK", 1)}


def test_private_key_block_is_a_secret_but_its_header_alone_is_not() -> None:
    header = "-----BEGIN " + "RSA PRIVATE KEY-----"
    block = f'const pem = "{header}\\n{fake_key(64, 6)}\\n";\n'
    assert found(scan_text(block, "k.ts")) == {("SECURITY_RISK", 1)}
    # PEM-handling code names the header without holding a key.
    assert scan_text(f'const HEADER = "{header}";\n', "k.ts") == []


def test_high_entropy_literal_in_a_secret_name() -> None:
    value = fake_key(32, 7)
    for text, path in [
        (f'export const apiKey = "{value}";\n', "s.ts"),
        (f'const cfg = {{ client_secret: "{value}" }};\n', "s.ts"),
        (f'this.password = "{value}";\n', "s.ts"),
        (f'API_TOKEN = "{value}"\n', "s.py"),
        (f'connect(password="{value}")\n', "s.py"),
    ]:
        assert found(scan_text(text, path)) == {("SECURITY_RISK", 1)}, text


def test_fake_or_low_entropy_keys_are_not_secrets() -> None:
    # Decided: a key that says it is fake, or uses four characters or fewer, is test data.
    for text in [
        'const k = "AKIA' + "X" * 16 + '";\n',
        'const k = "sk-test-' + fake_key(30, 8) + '";\n',
        'const k = "' + "AKIA" + "IOSFODNN7" + "EXAMPLE" + '";\n',
        'const apiKey = "' + "your-api-key-goes-here-please" + '";\n',
        'const requestId = "' + fake_key(32, 9) + '";\n',
        "const apiKey = process.env.API_KEY;\n",
    ]:
        assert scan_text(text, "f.ts") == [], text


# --------------------------------------------------------------------------- logic


def test_logic_typescript() -> None:
    text = fixture("logic.ts")
    assert found(scan_fixture("logic.ts")) == {
        ("LOGIC_ERROR", line_of(text, needle))
        for needle in [
            "if (x === x)",
            '"undefnied"',
            "if (true)",
            "while (false)",
            '1 === 1 && "a" == "a"',
            'console.log("skipped")',
            'console.log("dead")',
            "cleanup();",
        ]
    }
    same_line = [v for v in scan_fixture("logic.ts") if "literals" in v.message]
    assert len(same_line) == 2  # `1 === 1` and `"a" == "a"`, both on one line


def test_logic_lookalikes_typescript() -> None:
    # `x !== x` is the NaN test; a return in a nested if; a hoisted function after return;
    # while (true); do ... while (false); real typeof names; the same text in strings/comments.
    assert scan_fixture("logic_lookalikes.ts") == []


def test_logic_python() -> None:
    text = fixture("logic.py")
    assert found(scan_fixture("logic.py")) == {
        ("LOGIC_ERROR", line_of(text, needle))
        for needle in [
            "if x == x:",
            "if True:",
            "while False:",
            "if 1 == 1:",
            'print("skipped")',
            'print("dead")',
        ]
    }
    assert scan_fixture("logic_lookalikes.py") == []


# --------------------------------------------------------------------------- clean code


@pytest.mark.parametrize("name", ["clean_service.ts", "clean_panel.tsx", "clean_tool.py"])
def test_realistic_clean_files_have_no_violations(name: str) -> None:
    assert scan_fixture(name) == []


def test_other_file_types_are_not_judged() -> None:
    assert scan_text("// ... existing code ...\n", "README.md") == []


# --------------------------------------------------------------------------- added lines


def test_scan_text_only_counts_added_lines() -> None:
    text = "// ... existing code ...\nconst a = eval(x);\n"
    assert found(scan_text(text, "a.ts", added_lines={2})) == {("SECURITY_RISK", 2)}
    assert found(scan_text(text, "a.ts", added_lines={1})) == {("PLACEHOLDER_DROPPED", 1)}
    assert scan_text(text, "a.ts", added_lines=set()) == []


def test_added_lines_of() -> None:
    old = b"a\nb\nc\n"
    assert added_lines_of(None, b"x\ny\n") == {1, 2}
    assert added_lines_of(old, old) == set()
    assert added_lines_of(old, b"a\nnew\nb\nc\n") == {2}
    assert added_lines_of(old, b"a\nB\nc\n") == {2}
    assert added_lines_of(old, b"a\nc\n") == set()
    assert added_lines_of(b"a\r\nb\r\n", b"a\r\nb\r\nc\r\n") == {3}


SERVICE = """\
export class Service {
  // ... existing code ...

  run(): number {
    return 1;
  }

  stop(): void {
    this.running = false;
    this.timer = null;
    this.queue.length = 0;
    this.listeners.clear();
    this.log("stopped");
    this.emit("stop");
  }
}
"""


@pytest.fixture
def service(ws: Path) -> Workspace:
    write(ws, "src/service.ts", SERVICE)
    return Workspace.open(ws)


def test_existing_placeholder_is_not_the_agents_fault(service: Workspace) -> None:
    block = "\n  status(): string {\n    return 'ok';\n  }"
    report = check_batch(
        service, batch({"op": "insert-after", "file": "src/service.ts", "line": 6, "block": block})
    )
    assert report.violations == []
    assert report.files_checked == 1
    assert report.lines_judged == 4
    # Planning is read-only.
    assert (service.root / "src/service.ts").read_text() == SERVICE


def test_added_placeholder_is_reported_at_its_new_line(service: Workspace) -> None:
    block = "  status(): string {\n    // ... existing code ...\n  }"
    report = check_batch(
        service, batch({"op": "insert-after", "file": "src/service.ts", "line": 6, "block": block})
    )
    assert [(v.kind, v.line) for v in report.violations] == [("PLACEHOLDER_DROPPED", 8)]
    assert report.critical
    assert report.counts["PLACEHOLDER_DROPPED"] == 1
    assert report.violations[0].file == "src/service.ts"


def test_added_todo_counts_but_existing_one_does_not(ws: Path) -> None:
    write(ws, "a.py", "# TODO: old\nx = 1\n")
    report = check_batch(
        Workspace.open(ws), batch({"op": "append", "file": "a.py", "block": "# TODO: new"})
    )
    assert [(v.kind, v.line) for v in report.violations] == [("INCOMPLETE_CODE", 3)]
    assert not report.critical


def test_shrinking_a_block_with_a_placeholder_says_so(service: Workspace) -> None:
    block = "  stop(): void {\n    // ... (teardown unchanged)\n  }"
    report = check_batch(
        service,
        batch(
            {"op": "replace-block", "file": "src/service.ts", "start": 8, "end": 15, "block": block}
        ),
    )
    # The diff keeps the signature and the closing brace: six body lines became one comment.
    # That comment is a placeholder, and the body it leaves behind is empty.
    assert [(v.kind, v.line) for v in report.violations] == [
        ("PLACEHOLDER_DROPPED", 9),
        ("INCOMPLETE_CODE", 9),
    ]
    assert "6 lines became 1" in report.violations[0].message


def test_shrink_makes_a_weak_comment_a_placeholder(service: Workspace) -> None:
    # One weak keyword is not enough on its own...
    weak = "  stop(): void {\n    // previous teardown\n    this.running = false;\n  }"
    inserted = check_batch(
        service, batch({"op": "insert-after", "file": "src/service.ts", "line": 6, "block": weak})
    )
    assert inserted.violations == []
    # ...but it is where it replaces most of a block.
    shrunk = check_batch(
        service,
        batch(
            {"op": "replace-block", "file": "src/service.ts", "start": 8, "end": 15, "block": weak}
        ),
    )
    assert [(v.kind, v.line) for v in shrunk.violations] == [("PLACEHOLDER_DROPPED", 9)]
    assert "stands for the rest" in shrunk.violations[0].message


def test_emptied_body_counts_even_when_nothing_is_added(service: Workspace) -> None:
    # Deleting the body adds no line; the emptied function is still the agent's doing.
    report = check_batch(
        service,
        batch(
            {"op": "replace-block", "file": "src/service.ts", "start": 9, "end": 14, "block": ""}
        ),
    )
    assert report.lines_judged == 0
    assert [(v.kind, v.line) for v in report.violations] == [("INCOMPLETE_CODE", 8)]
    assert "Service.stop" in report.violations[0].message


def test_breaking_syntax_by_deletion_is_reported(service: Workspace) -> None:
    report = check_batch(
        service,
        batch({"op": "replace-block", "file": "src/service.ts", "start": 6, "end": 6, "block": ""}),
    )
    assert report.lines_judged == 0
    assert report.violations
    assert {v.kind for v in report.violations} == {"MALFORMED_SYNTAX"}


def test_syntax_errors_already_there_are_not_the_agents_fault(ws: Path) -> None:
    write(ws, "broken.ts", "export function f( {\n  return 1;\n}\n")
    report = check_batch(
        Workspace.open(ws),
        batch({"op": "append", "file": "broken.ts", "block": "export const ok = 1;"}),
    )
    assert report.violations == []


def test_python_change_through_check_batch(ws: Path) -> None:
    write(ws, "tool.py", "def run():\n    return 1\n")
    report = check_batch(
        Workspace.open(ws),
        batch({"op": "append", "file": "tool.py", "block": "\n\ndef stop():\n    pass"}),
    )
    assert [(v.kind, v.line) for v in report.violations] == [("INCOMPLETE_CODE", 6)]


def test_created_files_are_judged_whole_and_deleted_files_not_at_all(ws: Path) -> None:
    write(ws, "old.ts", "// ... existing code ...\n")
    report = check_batch(
        Workspace.open(ws),
        batch(
            {"op": "create", "file": "new.ts", "block": "export const run = eval;\neval(code);\n"},
        ),
    )
    assert [(v.kind, v.line) for v in report.violations] == [("SECURITY_RISK", 2)]
    deleted = check_batch(Workspace.open(ws), batch({"op": "delete", "file": "old.ts"}))
    assert deleted.violations == []
    assert deleted.files_checked == 0


def test_files_that_are_not_source_are_skipped(ws: Path) -> None:
    write(ws, "notes.md", "x\n")
    report = check_batch(
        Workspace.open(ws),
        batch({"op": "append", "file": "notes.md", "block": "// ... existing code ..."}),
    )
    assert report == QualityReport()


# --------------------------------------------------------------------------- whole-file scans


def test_scan_paths_walks_folders_and_skips_vendored_and_state(ws: Path) -> None:
    write(ws, "apps/a/src/index.ts", "export const a = eval(x);\n")
    write(ws, "apps/a/src/view.tsx", "export const V = () => <div>{/* ... */}</div>;\n")
    write(ws, "tools/t.py", "def f():\n    pass\n")
    write(ws, "apps/a/README.md", "// ... existing code ...\n")
    write(ws, "node_modules/x/index.js", "eval(x);\n")
    write(ws, ".git/hooks/h.js", "eval(x);\n")
    write(ws, ".vibehq/runs/r.ts", "eval(x);\n")
    report = scan_paths(ws, ["."])
    assert report.files_checked == 3
    assert report.lines_judged == 4
    assert sorted((v.file, v.kind) for v in report.violations) == [
        ("apps/a/src/index.ts", "SECURITY_RISK"),
        ("apps/a/src/view.tsx", "PLACEHOLDER_DROPPED"),
        ("tools/t.py", "INCOMPLETE_CODE"),
    ]
    only = scan_paths(ws, ["apps/a/src/index.ts", "apps/a"])
    assert only.files_checked == 2


def test_scan_paths_refuses_paths_outside_or_missing(ws: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsafePath):
        scan_paths(ws, ["../elsewhere"])
    with pytest.raises(BadInput):
        scan_paths(ws, ["missing"])
    # A symlink out of the workspace is never read, whether named or met on the walk.
    outside = write(tmp_path, "outside/leak.ts", "eval(x);\n")
    (ws / "src").mkdir()
    (ws / "src" / "leak.ts").symlink_to(outside)
    assert scan_paths(ws, ["."]) == QualityReport()
    with pytest.raises(UnsafePath):
        scan_paths(ws, ["src/leak.ts"])


def test_parallel_scan_matches_the_serial_one(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(12):
        write(ws, f"src/m{i}.ts", f"export const v{i} = 1;\n// ... (more {i})\nif (true) {{}}\n")
    assert quality._worker_count(12) == 1  # too few files to be worth a fork
    serial = scan_paths(ws, ["src"])
    monkeypatch.setattr(quality, "_worker_count", lambda files: 2)
    parallel = scan_paths(ws, ["src"])
    assert parallel == serial
    assert len(serial.violations) == 24


def test_report_counts_every_kind() -> None:
    report = QualityReport(
        violations=scan_text("if (1 == 1) {}\n", "a.ts"), files_checked=1, lines_judged=1
    )
    assert report.counts == {
        "PLACEHOLDER_DROPPED": 0,
        "INCOMPLETE_CODE": 0,
        "MALFORMED_SYNTAX": 0,
        "SECURITY_RISK": 0,
        "LOGIC_ERROR": 1,
    }
    assert not report.critical


def test_the_same_file_is_analysed_once_and_each_caller_keeps_its_own_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A gate judges a moved file, then the STAGING file it came from: the same text there.
    from engine.validate.rules import run

    parsed: list[str] = []
    real = run.TsSource

    def counted(source: bytes, text: str, path: str, original: bytes | None) -> Any:
        parsed.append(path)
        return real(source, text, path, original)

    monkeypatch.setattr(run, "TsSource", counted)
    text = f"// TODO: {random.random()}\nexport const x = 1;\n"
    first = run.analyse(text, f"{HOME}/once.ts", None)
    second = run.analyse(text, f"{HOME}/once.ts", None)
    assert parsed == [f"{HOME}/once.ts"]
    assert [f.kind for f in second.findings] == ["INCOMPLETE_CODE"]
    first.findings.clear()
    assert [f.kind for f in run.analyse(text, f"{HOME}/once.ts", None).findings] == [
        "INCOMPLETE_CODE"
    ]
    # Another path or another original is another analysis.
    run.analyse(text, f"{HOME}/twice.ts", None)
    run.analyse(text, f"{HOME}/once.ts", "export const x = 0;\n")
    assert len(parsed) == 3
