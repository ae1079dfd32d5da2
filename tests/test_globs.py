from __future__ import annotations

import pytest

from engine.globs import has_magic, matcher


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.ts", "a.ts", True),
        ("**/*.ts", "src/deep/a.ts", True),
        ("**/*.ts", "src/a.tsx", False),
        ("*.ts", "src/a.ts", True),
        ("src/*.ts", "src/a.ts", True),
        ("src/*.ts", "src/x/a.ts", False),
        ("dist/**", "dist/index.js", True),
        ("dist/**", "src/dist/index.js", False),
        ("**/node_modules/**", "a/node_modules/x/y.js", True),
        ("node_modules/", "a/node_modules/x.js", True),
        ("bun.lock", "bun.lock", True),
        ("bun.lock", "sub/bun.lock", True),
        ("types/**/*.ts", "types/a/b.ts", True),
        ("types/**/*.ts", "types/b.ts", True),
        ("file?.ts", "file1.ts", True),
        ("file[!0-9].ts", "file1.ts", False),
        ("file[!0-9].ts", "fileA.ts", True),
        ("a.b", "aXb", False),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert matcher([pattern])(path) is expected


def test_has_magic() -> None:
    assert has_magic("src/*.ts") and not has_magic("src/a.ts")
