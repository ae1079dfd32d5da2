"""The documents in the repository point at things that exist: the architecture notes the
README links, and every `vibehq ...` command the manifests tell a user to run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from cli.app import app
from tests.conftest import ROOT

ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def test_the_readme_links_the_architecture_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)", readme)
    assert "docs/ARCHITECTURE.md" in links
    assert ARCHITECTURE.is_file()
    assert "../shared" not in " ".join(links)
    assert "DESIGN.md" not in readme


def test_the_architecture_names_packages_that_exist() -> None:
    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"^ {6}([a-z_]+)/ ", text, re.M))
    assert {"patch", "ledger", "migrate", "validate", "epic"} <= named
    for package in named:
        assert (ROOT / "engine" / package / "__init__.py").is_file(), package
    for module in re.findall(r"`((?:cli|engine|crews|agents)/[a-z_/]+\.py)", text):
        assert (ROOT / module).is_file(), module


def command_paths() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


MANIFESTS = sorted((ROOT / "manifests").glob("*.y*ml"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_commands_a_manifest_mentions_exist(manifest: Path) -> None:
    known = command_paths()
    for mention in re.findall(r"`vibehq ([a-z][a-z -]*)", manifest.read_text()):
        words = tuple(w for w in mention.split() if not w.isupper())
        # The longest run of leading words that names a command must name one of two words
        # or more when the first word is a group.
        prefix = next((words[:n] for n in range(len(words), 0, -1) if words[:n] in known), None)
        assert prefix is not None, f"{manifest.name}: `vibehq {mention}` is no command"
        group = typer.main.get_command(app).commands[prefix[0]]  # type: ignore[attr-defined]
        if hasattr(group, "commands") and len(words) > 1:
            assert len(prefix) > 1, f"{manifest.name}: `vibehq {mention}` is no command"
