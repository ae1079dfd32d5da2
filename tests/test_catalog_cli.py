"""`vibehq refactor recipes` and `vibehq scan --rules` through Typer's CliRunner."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from cli.app import app
from engine.refactor.recipes import RECIPES
from engine.validate.quality import list_rules

runner = CliRunner()


def test_refactor_recipes_lists_every_recipe_in_order() -> None:
    result = runner.invoke(app, ["refactor", "recipes", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["recipes"]
    assert [r["name"] for r in listed] == [recipe.name for recipe in RECIPES]
    batch = next(r for r in listed if r["name"] == "d1-batch-schema")
    assert batch["driver"] == "d1" and batch["call_shapes"] and "->" in batch["example"]


def test_refactor_recipes_table_names_each_recipe() -> None:
    result = runner.invoke(app, ["refactor", "recipes"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for recipe in RECIPES:
        assert recipe.name in result.stdout
    assert f"{len(RECIPES)} recipes" in result.stdout


def test_scan_rules_lists_code_kind_severity_languages() -> None:
    result = runner.invoke(app, ["scan", "--rules", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["rules"]
    assert [r["code"] for r in listed] == [r.code for r in list_rules()]
    assert all(re.fullmatch(r"VQ\d{3}", r["code"]) for r in listed)
    assert all(r["kind"] and r["severity"] and r["languages"] and r["summary"] for r in listed)


def test_scan_rules_table() -> None:
    result = runner.invoke(app, ["scan", "--rules"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "VQ101" in result.stdout and f"{len(list_rules())} rules" in result.stdout


def test_scan_without_paths_or_rules_is_bad_input() -> None:
    result = runner.invoke(app, ["scan"])
    assert result.exit_code == 2
