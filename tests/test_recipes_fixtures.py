"""Every recipe on its own fixtures: the before folder becomes the after folder, the sites are
credited to that recipe, each decline case gives its reason, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.refactor.models import RpcTarget
from engine.refactor.recipes import RECIPES, list_recipes
from engine.refactor.worker import refactor_worker

FIXTURES = Path(__file__).parent / "fixtures" / "recipes"
FOLDER = "apps/demo"
TARGET = RpcTarget(
    folder=FOLDER,
    entrypoint_path="orchestrator/worker/entrypoints/DemoOps.ts",
    class_name="DemoOps",
    binding="ORCHESTRATOR_DEMO",
    wrangler="orchestrator/wrangler.jsonc",
)
NAMES = [recipe.name for recipe in RECIPES]


def _read(root: Path) -> dict[str, bytes]:
    return {
        f"{FOLDER}/{path.relative_to(root).as_posix()}": path.read_bytes()
        for path in sorted(root.rglob("*.ts"))
    }


def _rewrite(files: dict[str, bytes]) -> dict[str, bytes]:
    result = refactor_worker(Path("/ws"), TARGET, files)
    return files | {path: text.encode() for path, text in result.rewritten.items()}


def test_every_recipe_has_fixtures() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(NAMES)
    for name in NAMES:
        assert (FIXTURES / name / "before").is_dir()
        assert (FIXTURES / name / "after").is_dir()
        assert any((FIXTURES / name / "declines").iterdir())


@pytest.mark.parametrize("name", NAMES)
def test_recipe_rewrites_its_before_into_its_after(name: str) -> None:
    before = _read(FIXTURES / name / "before")
    result = refactor_worker(Path("/ws"), TARGET, before)
    assert result.work_items == []
    assert name in {d.recipe for d in result.decisions}
    after = _read(FIXTURES / name / "after")
    got = before | {path: text.encode() for path, text in result.rewritten.items()}
    assert {p: t.decode() for p, t in got.items()} == {p: t.decode() for p, t in after.items()}


@pytest.mark.parametrize("name", NAMES)
def test_recipe_is_idempotent(name: str) -> None:
    once = _rewrite(_read(FIXTURES / name / "before"))
    assert _rewrite(once) == once


@pytest.mark.parametrize(
    ("name", "case"),
    [
        (name, case.name)
        for name in NAMES
        for case in sorted((FIXTURES / name / "declines").iterdir())
        if case.is_dir()
    ],
)
def test_recipe_declines_with_a_reason(name: str, case: str) -> None:
    root = FIXTURES / name / "declines" / case
    files = _read(root)
    result = refactor_worker(Path("/ws"), TARGET, files)
    expected = (root / "reason.txt").read_text().strip()
    assert result.decisions, "a decline case must hold at least one SQL site"
    assert all(d.recipe is None and d.reason for d in result.decisions)
    assert any(expected in (d.reason or "") for d in result.decisions)
    assert result.rewritten == {}


def test_list_recipes_describes_every_recipe() -> None:
    listed = list_recipes()
    assert [info.name for info in listed] == NAMES
    for info in listed:
        assert info.call_shapes and info.rewrites and info.safety and "->" in info.example
