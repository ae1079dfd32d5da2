"""`vibehq batch`: every STAGING subfolder in its own process and atomic batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT, snapshot, write

TEMPLATE = ROOT / "manifests" / "staging-template.yaml"


def make_staging(tmp_path: Path) -> Path:
    staging = tmp_path / "STAGING"
    for name in ("alpha", "beta", "gamma"):
        write(
            staging,
            f"{name}/src/index.ts",
            f'import {{ helper }} from "./helper";\nexport const {name} = helper("{name}");\n',
        )
        write(staging, f"{name}/src/helper.ts", "export const helper = (s: string) => s;\n")
        write(staging, f"{name}/package.json", f'{{"name": "{name}"}}\n')
    return staging


def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(
        'name: "{folder}"\nsources:\n  - from: "{staging}/{folder}"\n    to: "apps/{folder}"\n'
    )
    return path


@pytest.mark.integration
def test_one_broken_folder_does_not_stop_or_half_write(cli: Any, ws: Path, tmp_path: Path) -> None:
    staging = make_staging(tmp_path)
    # beta's destination already holds a different file: a conflict fails that folder only.
    write(ws, "apps/beta/src/helper.ts", "// someone else's helper\n")
    result = cli("batch", staging, "--manifest", template(tmp_path), "-w", ws, "--json")
    assert result.code == 1
    summary = result.json()
    status = {f["folder"]: f["status"] for f in summary["folders"]}
    assert status == {"alpha": "done", "beta": "failed", "gamma": "done"}
    beta = next(f for f in summary["folders"] if f["folder"] == "beta")
    assert "apps/beta/src/helper.ts" in beta["error"]
    assert not (ws / "apps/beta/src/index.ts").exists()
    assert (ws / "apps/beta/src/helper.ts").read_text() == "// someone else's helper\n"
    for name in ("alpha", "gamma"):
        assert (ws / f"apps/{name}/src/index.ts").is_file()
    report_dir = Path(summary["report_dir"])
    md = (report_dir / "summary.md").read_text()
    assert "| beta | failed |" in md and "| alpha | done |" in md
    html = (report_dir / "summary.html").read_text()
    assert "<table>" in html and "beta" in html and "<script src" not in html
    assert json.loads((report_dir / "beta" / "report.json").read_text())["status"] == "failed"

    # Fix beta, then --resume runs only what is not done yet.
    (ws / "apps/beta/src/helper.ts").unlink()
    resumed = cli(
        "batch", staging, "--manifest", template(tmp_path), "-w", ws, "--resume", "--json"
    )
    assert resumed.code == 0, resumed.out
    status = {f["folder"]: f["status"] for f in resumed.json()["folders"]}
    assert status == {"alpha": "skipped", "beta": "done", "gamma": "skipped"}
    assert (ws / "apps/beta/src/index.ts").is_file()


@pytest.mark.integration
def test_only_glob_and_the_bundled_template(cli: Any, ws: Path) -> None:
    result = cli(
        "batch",
        EXAMPLES / "STAGING",
        "--manifest",
        TEMPLATE,
        "--only",
        "terminal-*",
        "-w",
        ws,
        "--json",
    )
    assert result.code == 0, result.out + result.err
    folders = result.json()["folders"]
    assert [f["folder"] for f in folders] == ["terminal-demo"]
    assert folders[0]["rewrites"] >= 2 and folders[0]["sql_sites"] >= 1
    assert (ws / "apps/terminal-demo/src/index.ts").is_file()


def test_bad_batch_inputs_are_one_line_exit_2(cli: Any, ws: Path, tmp_path: Path) -> None:
    staging = make_staging(tmp_path)
    cases = [
        ("batch", tmp_path / "nope", "--manifest", template(tmp_path)),
        ("batch", staging, "--manifest", tmp_path / "missing.yaml"),
        ("batch", staging, "--manifest", template(tmp_path), "--only", "zzz*"),
    ]
    for args in cases:
        result = cli(*args, "-w", ws)
        assert result.code == 2, result.err
        assert len(result.err.strip().splitlines()) == 1
    assert snapshot(ws) == {}


def test_the_summary_links_each_folders_report(ws: Path) -> None:
    import re

    from engine.migrate.batchrun import BatchSummary, FolderSummary, write_reports
    from engine.workspace import Workspace

    summary = BatchSummary(
        batch_id="batch-1",
        staging="STAGING",
        manifest="t.yaml",
        workers=2,
        folders=[
            FolderSummary(folder="alpha", status="done", files=3, seconds=1.5),
            FolderSummary(folder="odd name", status="failed", error="a <conflict> | here"),
        ],
    )
    folder = write_reports(Workspace.open(ws), summary)
    page = (folder / "summary.html").read_text()
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert links == [("alpha/report.html", "alpha"), ("odd%20name/report.html", "odd name")]
    for href, _ in links:
        target = folder / href.replace("%20", " ")
        assert target.is_file()
    odd = (folder / "odd name" / "report.html").read_text()
    assert '<a href="../summary.html">' in odd
    assert "a &lt;conflict&gt; | here" in odd
    md = (folder / "summary.md").read_text()
    assert "| alpha | done |" in md
    assert "[report.md](alpha/report.md) |" in md
    assert "[report.md](odd%20name/report.md) |" in md
    assert "a <conflict> \\| here" in md
