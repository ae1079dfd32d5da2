"""Batch runs: plan + apply every immediate subfolder of a STAGING folder, each in its own
process and its own atomic batch, so one broken folder never stops or half-writes another."""

from __future__ import annotations

import fnmatch
import html
import json
import multiprocessing
import time
import urllib.parse
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from engine.errors import BadInput, VibehqError
from engine.ids import new_batch_id
from engine.ledger.events import utc_now
from engine.migrate.runner import ConflictPolicy, run_dir
from engine.settings import Settings
from engine.workspace import Workspace

FolderState = Literal["done", "failed", "skipped"]


class FolderSummary(BaseModel):
    folder: str
    status: FolderState
    run_id: str | None = None
    files: int = 0
    written: int = 0
    rewrites: int = 0
    unresolved: int = 0
    sql_sites: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    error: str | None = None


class BatchSummary(BaseModel):
    batch_id: str
    staging: str
    manifest: str
    created: str = Field(default_factory=utc_now)
    workers: int
    report_dir: str = ""
    folders: list[FolderSummary] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def done(self) -> int:
        return sum(1 for f in self.folders if f.status == "done")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        return sum(1 for f in self.folders if f.status == "failed")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        return sum(1 for f in self.folders if f.status == "skipped")


def migrate_folder(
    ws_root: str, template: str, staging: str, folder: str, on_conflict: ConflictPolicy
) -> FolderSummary:
    """Plan and apply one folder. Runs in a worker process; never raises."""
    from engine.migrate.manifest import load_manifest
    from engine.migrate.runner import apply_migration
    from engine.settings import load_settings

    started = time.perf_counter()
    try:
        ws = Workspace.open(ws_root)
        variables = {"folder": folder, "staging": staging, "name": folder}
        loaded = load_manifest(Path(template), variables=variables)
        record, result = apply_migration(
            ws, loaded, load_settings(ws.root), on_conflict=on_conflict
        )
        totals = result.plan.totals()
        return FolderSummary(
            folder=folder,
            status="done",
            run_id=record.run_id,
            files=totals["files"],
            written=record.written,
            rewrites=totals["rewrites"],
            unresolved=totals["unresolved"],
            sql_sites=totals["sql_sites"],
            conflicts=totals["conflicts"],
            seconds=time.perf_counter() - started,
        )
    except VibehqError as exc:
        error = exc.message
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    return FolderSummary(
        folder=folder, status="failed", error=error, seconds=time.perf_counter() - started
    )


def list_folders(staging: Path, only: str | None) -> list[str]:
    if not staging.is_dir():
        raise BadInput(f"STAGING folder {str(staging)!r} not found")
    names = sorted(p.name for p in staging.iterdir() if p.is_dir() and not p.name.startswith("."))
    if only:
        names = [n for n in names if fnmatch.fnmatchcase(n, only)]
    if not names:
        raise BadInput(
            f"no folders to migrate in {staging}" + (f" matching {only!r}" if only else "")
        )
    return names


def last_batch(ws: Workspace) -> BatchSummary | None:
    if not ws.runs_dir.is_dir():
        return None
    found = [
        BatchSummary.model_validate_json(p.read_bytes())
        for p in ws.runs_dir.glob("batch-*/summary.json")
    ]
    return max(found, key=lambda s: (s.created, s.batch_id)) if found else None


def run_batch(
    ws: Workspace,
    settings: Settings,
    staging: Path,
    template: Path,
    *,
    workers: int = 2,
    resume: bool = False,
    only: str | None = None,
    on_conflict: ConflictPolicy = "fail",
    progress: bool = True,
) -> BatchSummary:
    if not template.is_file():
        raise BadInput(f"manifest template {str(template)!r} not found")
    staging = staging.resolve()
    names = list_folders(staging, only)
    previous = last_batch(ws) if resume else None
    done_before = {f.folder for f in previous.folders if f.status == "done"} if previous else set()
    summary = BatchSummary(
        batch_id=new_batch_id(), staging=str(staging), manifest=str(template), workers=workers
    )
    pending = [n for n in names if n not in done_before]
    skipped = {
        n: FolderSummary(
            folder=n, status="skipped", error=f"done in {previous.batch_id}" if previous else None
        )
        for n in names
        if n in done_before
    }
    results = _run_pool(ws, staging, template, pending, workers, on_conflict, progress)
    summary.folders = [skipped.get(n) or results[n] for n in names]
    summary.report_dir = str(write_reports(ws, summary))
    return summary


def _run_pool(
    ws: Workspace,
    staging: Path,
    template: Path,
    names: list[str],
    workers: int,
    on_conflict: ConflictPolicy,
    progress: bool,
) -> dict[str, FolderSummary]:
    results: dict[str, FolderSummary] = {}
    if not names:
        return results
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # spawn: the progress display runs a thread, and forking a threaded process can deadlock.
    context = multiprocessing.get_context("spawn")
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            disable=not progress,
            transient=False,
        ) as bar,
        ProcessPoolExecutor(max_workers=min(workers, len(names)), mp_context=context) as pool,
    ):
        overall = bar.add_task("all folders", total=len(names))
        tasks = {n: bar.add_task(f"  {n}: queued", total=1) for n in names}
        futures: dict[Future[FolderSummary], str] = {
            pool.submit(
                migrate_folder, str(ws.root), str(template.resolve()), str(staging), n, on_conflict
            ): n
            for n in names
        }
        for future in as_completed(futures):
            name = futures[future]
            results[name] = result = future.result()
            bar.update(
                tasks[name],
                completed=1,
                description=f"  {name}: {result.status} ({result.seconds:.1f}s)",
            )
            bar.advance(overall)
    return results


def write_reports(ws: Workspace, summary: BatchSummary) -> Path:
    """Per-folder reports plus one summary as Markdown, JSON and a self-contained HTML page."""
    folder = run_dir(ws, summary.batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    for f in summary.folders:
        sub = folder / f.folder
        sub.mkdir(exist_ok=True)
        (sub / "report.json").write_text(f.model_dump_json(indent=2) + "\n")
        (sub / "report.md").write_text(_folder_markdown(f))
        (sub / "report.html").write_text(_folder_html(summary, f))
    (folder / "summary.json").write_text(summary.model_dump_json(indent=2) + "\n")
    (folder / "summary.md").write_text(summary_markdown(summary))
    (folder / "summary.html").write_text(summary_html(summary))
    return folder


_COLUMNS = (
    "folder",
    "status",
    "files",
    "rewrites",
    "unresolved",
    "sql_sites",
    "conflicts",
    "seconds",
)


def _cells(f: FolderSummary) -> list[str]:
    return [
        f.folder,
        f.status,
        str(f.files),
        str(f.rewrites),
        str(f.unresolved),
        str(f.sql_sites),
        str(f.conflicts),
        f"{f.seconds:.2f}",
    ]


def _folder_markdown(f: FolderSummary) -> str:
    lines = [f"# {f.folder}", "", f"- **Status**: {f.status}"]
    lines += [
        f"- **{name.replace('_', ' ').title()}**: {value}"
        for name, value in zip(_COLUMNS[2:], _cells(f)[2:], strict=True)
    ]
    if f.run_id:
        lines.append(f"- **Run**: {f.run_id}")
    if f.error:
        lines.append(f"- **Error**: {f.error}")
    return "\n".join(lines) + "\n"


def _report_href(f: FolderSummary, name: str) -> str:
    """The folder's own report, relative to the summary beside it."""
    return f"{urllib.parse.quote(f.folder)}/{name}"


_PAGE_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
tr.failed td{background:#fde8e8} tr.skipped td{color:#888}
tr.done td:nth-child(2){color:#166534}
.bar{height:10px;background:#2563eb;min-width:1px}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em} dt{font-weight:bold}
"""


def _folder_html(summary: BatchSummary, f: FolderSummary) -> str:
    """One folder's report as a page, linked from the batch's summary.html and back."""
    items: list[tuple[str, str]] = [("Status", f.status)]
    items += [
        (name.replace("_", " ").capitalize(), value)
        for name, value in zip(_COLUMNS[2:], _cells(f)[2:], strict=True)
    ]
    if f.run_id:
        items.append(("Run", f.run_id))
    if f.error:
        items.append(("Error", f.error))
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vibehq batch {html.escape(summary.batch_id)}: {html.escape(f.folder)}</title>
<style>{_PAGE_CSS}</style></head><body>
<p><a href="../summary.html">Batch {html.escape(summary.batch_id)}</a></p>
<h1>{html.escape(f.folder)}</h1>
<dl>{rows}</dl>
<p>Also as <a href="report.md">Markdown</a> and <a href="report.json">JSON</a>.</p>
</body></html>
"""


def summary_markdown(summary: BatchSummary) -> str:
    lines = [
        f"# Batch {summary.batch_id}",
        "",
        f"STAGING `{summary.staging}` with manifest `{summary.manifest}`: "
        f"{summary.done} done, {summary.failed} failed, {summary.skipped} skipped.",
        "",
        "| " + " | ".join(_COLUMNS) + " | error | report |",
        "|" + " --- |" * (len(_COLUMNS) + 2),
    ]
    for f in summary.folders:
        error = (f.error or "").replace("|", "\\|")
        link = f"[report.md]({_report_href(f, 'report.md')})"
        lines.append("| " + " | ".join(_cells(f)) + f" | {error} | {link} |")
    return "\n".join(lines) + "\n"


def summary_html(summary: BatchSummary) -> str:
    """The batch on one page: a row per folder, its name linking to the folder's report."""
    longest = max((f.seconds for f in summary.folders), default=0.0) or 1.0
    rows = []
    for f in summary.folders:
        href = html.escape(_report_href(f, "report.html"))
        name = f'<td><a href="{href}">{html.escape(f.folder)}</a></td>'
        cells = name + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(f)[1:])
        width = int(100 * f.seconds / longest)
        bar = f'<div class="bar" style="width:{width}%"></div>'
        rows.append(
            f'<tr class="{f.status}">{cells}<td>{bar}</td>'
            f"<td>{html.escape(f.error or '')}</td></tr>"
        )
    head = "".join(f"<th>{c}</th>" for c in (*_COLUMNS, "time", "error"))
    data = html.escape(json.dumps(summary.model_dump(mode="json")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vibehq batch {summary.batch_id}</title>
<style>{_PAGE_CSS}</style></head><body>
<h1>Batch {html.escape(summary.batch_id)}</h1>
<p>STAGING <code>{html.escape(summary.staging)}</code>, manifest
<code>{html.escape(summary.manifest)}</code>: <b>{summary.done}</b> done,
<b>{summary.failed}</b> failed, <b>{summary.skipped}</b> skipped. Each folder's name links
to its report.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<script type="application/json" id="summary">{data}</script>
</body></html>
"""
