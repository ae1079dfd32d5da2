from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.migrate.tsconfig import read_paths, strip_jsonc


def test_jsonc_comments_and_trailing_commas_are_removed_but_strings_kept() -> None:
    text = '{\n  // comment\n  "a": "http://x", /* block */ "b": [1, 2,],\n}\n'
    assert strip_jsonc(text).replace(" ", "").replace("\n", "") == '{"a":"http://x","b":[1,2]}'


def test_paths_are_made_workspace_relative_through_base_url(tmp_path: Path) -> None:
    (tmp_path / "tsconfig.json").write_text(
        '{"compilerOptions": {"baseUrl": "./src", // base\n'
        ' "paths": {"@shared/*": ["shared/*"], "~/*": ["./*"],}}}'
    )
    assert read_paths(tmp_path / "tsconfig.json") == {
        "@shared/*": ["src/shared/*"],
        "~/*": ["src/*"],
    }
    assert read_paths(tmp_path / "missing.json") == {}


def test_broken_tsconfig_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "tsconfig.json").write_text('{"compilerOptions": ')
    with pytest.raises(BadInput, match=r"tsconfig\.json"):
        read_paths(tmp_path / "tsconfig.json")
