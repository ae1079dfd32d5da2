"""The delivery report as pages: Markdown for the repository and one self-contained HTML file
(inline CSS and inline SVG charts, no JavaScript, nothing fetched) for a browser.

Every string that came from input (folder names, titles, reasons, agent names) is escaped:
HTML-escaped on the page, and `|` and line breaks removed from Markdown table cells. The
prose fields (headline, what is left to do, reasons, actions, titles) are Markdown, and the
page renders it inline with markdown-it, raw HTML off and links and images left as text, so
the page still loads nothing.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from engine.epic.report_models import CallGroup, DeliveryReport, FolderReport, StepTotal

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "duration_text",
    "outcomes_chart",
    "report_html",
    "report_markdown",
    "sites_chart",
    "steps_chart",
]

# The per-folder chart's series: (field of FolderReport, label, colour).
SITE_SERIES: tuple[tuple[str, str, str], ...] = (
    ("recipe_sites", "recipes", "#2563eb"),
    ("model_sites", "models", "#d97706"),
    ("other_sites", "moved or dropped", "#9ca3af"),
)
_STEP_COLOUR = "#0f766e"
# The outcome chart's series: a folder's status at a step, and "not reached" for a step it has
# no record of yet.
OUTCOME_SERIES: tuple[tuple[str, str], ...] = (
    ("done", "#16a34a"),
    ("skipped", "#9ca3af"),
    ("waiting", "#d97706"),
    ("running", "#2563eb"),
    ("failed", "#dc2626"),
    ("not reached", "#e5e7eb"),
)
_NOTHING_LEFT = "Nothing: every folder is through every step."
_NO_CALLS = "No model was called in this run."
_NO_APPROVALS = "No approval item was queued."
_NO_CHECKS = "No batch was checked in this run."
_NO_BATCHES = "No batch was applied."
_LABEL_W = 170
_BAR_W = 460
_ROW_H = 22
_BAR_H = 14


def duration_text(ms: float | None) -> str:
    """A duration people read: `840 ms`, `12.4 s`, `3 min 05 s`."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds:02d} s"


def _usd(value: float) -> str:
    return f"${value:.4f}"


def _md(text: str) -> str:
    """Markdown text from input: no raw HTML tag can reach a renderer."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value: object) -> str:
    text = "-" if value is None or value == "" else str(value)
    return _md(" ".join(text.split())).replace("|", "\\|")


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _n(count: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith(("s", "ch")) else "s")
    return f"{count} {noun if count == 1 else plural}"


def _approval_counts(report: DeliveryReport) -> str:
    counts: dict[str, int] = {}
    for a in report.approvals:
        counts[a.state] = counts.get(a.state, 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{len(report.approvals)}" + (f" ({states})" if states else "")


def _deciders(report: DeliveryReport) -> str:
    return ", ".join(f"{who} {n}" for who, n in report.deciders.items()) or "nobody yet"


def _options(report: DeliveryReport) -> str:
    o = report.options
    budget = o.get("budget_usd")
    parts = [f"auto-approve {o.get('auto_approve', 'safe')}"]
    parts.append("no budget" if budget is None else f"budget ${budget}")
    if o.get("folders"):
        parts.append(f"folders {o['folders']}")
    return ", ".join(parts)


def _summary_items(report: DeliveryReport) -> list[tuple[str, str]]:
    t = report.totals
    wall = "" if t.wall_ms is None else f", {duration_text(t.wall_ms)} from start to last step"
    return [
        ("Folders", f"{t.folders_done} of {t.folders} done"),
        ("Files", f"{t.files} copied, {t.rewrites} imports rewritten, {t.unresolved} unresolved"),
        (
            "SQL sites",
            f"{t.sql_sites} found; of the {t.sites} the refactor took, {t.recipe_sites} by "
            f"recipes, {t.model_sites} to models ({t.model_answers} answered), "
            f"{t.sites - t.recipe_sites - t.model_sites} moved or dropped",
        ),
        (
            "Model calls",
            f"{t.model_calls}, {t.prompt_tokens} prompt + {t.completion_tokens} completion "
            f"tokens, {_usd(t.cost_usd)}",
        ),
        ("Approvals", f"{_approval_counts(report)}; decided by {_deciders(report)}"),
        (
            "Violations",
            f"{t.violations} ({t.critical} critical); {_n(t.quarantines, 'quarantine')}",
        ),
        ("Patches", f"{_n(t.batches, 'batch')} applied, {_n(t.files_written, 'file')} written"),
        ("Time", f"{duration_text(t.step_ms)} in steps{wall}"),
    ]


def _folder_row(f: FolderReport) -> list[object]:
    task = f"{f.subtask} {f.task_status}" if f.subtask else f.task_status
    return [
        f.folder,
        f.dest,
        f.status,
        f.files,
        f.sql_sites,
        f.recipe_sites,
        f.model_sites,
        f.model_answers,
        f.violations,
        f.critical,
        f.pending,
        f.files_written,
        task,
        duration_text(f.duration_ms),
    ]


def _policy(rule: str | None, human_rules: Sequence[str]) -> str:
    """`auto: RULE` for what the policy passed, `human: RULES` for what it sent to a person
    (each rule once, however many of the batch's files it matched)."""
    if rule is not None:
        return f"auto: {rule}"
    return f"human: {', '.join(dict.fromkeys(human_rules))}" if human_rules else "-"


_FOLDER_HEAD = (
    "folder", "dest", "status", "files", "SQL sites", "recipes", "models", "answered",
    "violations", "critical", "pending", "written", "task", "time",
)  # fmt: skip
_CALL_HEAD = ("calls", "ok", "fallback", "errors", "prompt", "completion", "cost")


def _call_row(g: CallGroup) -> list[object]:
    return [
        g.name, g.calls, g.ok, g.fallback, g.errors, g.prompt_tokens, g.completion_tokens,
        _usd(g.cost_usd),
    ]  # fmt: skip


Table = tuple[tuple[str, ...], list[list[object]]]


def _waiting_table(report: DeliveryReport) -> Table:
    head = ("id", "kind", "folder", "where", "reason", "what must happen")
    rows: list[list[object]] = [
        [w.approval_id, w.kind, w.folder, w.location, w.reason, w.action] for w in report.waiting
    ]
    return head, rows


def _approvals_table(report: DeliveryReport) -> Table:
    head = ("id", "kind", "folder", "state", "decided by", "policy", "title")
    rows: list[list[object]] = [
        [
            a.id,
            a.kind,
            a.folder,
            a.state,
            a.decided_by,
            _policy(a.rule, a.policy_rules),
            a.title,
        ]
        for a in report.approvals
    ]
    return head, rows


def _checks_table(report: DeliveryReport) -> Table:
    head = (
        "agent", "checks", "with violations", "violations", "critical", "quarantines",
        "releases", "refusals",
    )  # fmt: skip
    rows: list[list[object]] = [
        [c.agent, c.checks, c.with_violations, c.violations, c.critical, c.quarantines,
         c.releases, c.refusals]
        for c in report.agent_checks
    ]  # fmt: skip
    return head, rows


def _guards_table(report: DeliveryReport) -> Table:
    head = ("when", "agent", "event", "batch", "by", "reason")
    rows: list[list[object]] = [
        [g.ts, g.agent, g.kind, g.batch_id, g.actor, g.reason] for g in report.guard_events
    ]
    return head, rows


def _batches_table(report: DeliveryReport) -> Table:
    head = ("batch", "folder", "status", "ops", "files", "+lines", "-lines", "error")
    rows: list[list[object]] = [
        [b.batch_id, b.folder, b.status, b.ops, b.files, b.lines_added, b.lines_removed, b.error]
        for b in report.batches
    ]
    return head, rows


def _steps_table(report: DeliveryReport) -> Table:
    head = ("step", "folders", "total", "longest")
    rows: list[list[object]] = [
        [s.step, s.folders, duration_text(s.duration_ms), duration_text(s.max_ms)]
        for s in report.steps
    ]
    return head, rows


def _step_matrix(report: DeliveryReport) -> Table:
    """Per folder, each step's seconds and status."""
    steps = [s.step for s in report.steps if s.step != "report"]
    rows: list[list[object]] = []
    for f in report.folders:
        by_step = {s.step: s for s in f.steps}
        row: list[object] = [f.folder]
        for step in steps:
            s = by_step.get(step)
            row.append("-" if s is None else f"{s.status} {duration_text(s.duration_ms)}")
        rows.append(row)
    return ("folder", *steps), rows


# --- Markdown -----------------------------------------------------------------------------------


def _moved_from(report: DeliveryReport) -> str:
    if report.staging is not None:
        return f"STAGING {report.staging}"
    return f"manifest {report.manifest}"


def _moved_from_html(report: DeliveryReport) -> str:
    if report.staging is not None:
        return f"STAGING <code>{_e(report.staging)}</code>"
    return f"manifest <code>{_e(report.manifest or '')}</code>"


def report_markdown(report: DeliveryReport) -> str:
    epic = f" (epic task {report.epic})" if report.epic else ""
    lines = [
        f"# Delivery report: {_md(report.name)}",
        "",
        _md(
            f"Run {report.run_id} from {report.source}{epic}, {_moved_from(report)}: "
            f"{report.status}. Generated {report.generated_at}; {_options(report)}."
        ),
        "",
        f"> {_md(report.headline)}",
        "",
        "## Summary",
        "",
    ]
    lines += [f"- **{name}**: {_md(value)}" for name, value in _summary_items(report)]
    lines += ["", "## Still to do", ""]
    if report.next:
        lines += [f"{n}. {_md(step)}" for n, step in enumerate(report.next, 1)]
    else:
        lines.append(_NOTHING_LEFT)
    if report.waiting:
        lines += ["", f"### Waiting for {len(report.waiting)} approvals", ""]
        lines += _table(*_waiting_table(report))
    lines += ["", "## Folders", ""]
    lines += _table(_FOLDER_HEAD, [_folder_row(f) for f in report.folders])
    for f in report.folders:
        if f.new_errors:
            lines += ["", f"New type errors of {_md(f.folder)}:", ""]
            lines += [f"- `{e}`" for e in f.new_errors]
    lines += ["", "## Model calls", ""]
    if report.tiers:
        lines += ["Per tier:", ""]
        lines += _table(("tier", *_CALL_HEAD), [_call_row(g) for g in report.tiers])
        lines += ["", "Per agent:", ""]
        lines += _table(("agent", *_CALL_HEAD), [_call_row(g) for g in report.agents])
    else:
        lines.append(_NO_CALLS)
    lines += ["", "## Approvals", ""]
    lines += _table(*_approvals_table(report)) if report.approvals else [_NO_APPROVALS]
    lines += ["", "## Violations and quarantines", ""]
    lines += _table(*_checks_table(report)) if report.agent_checks else [_NO_CHECKS]
    if report.guard_events:
        lines.append("")
        lines += _table(*_guards_table(report))
    if report.quarantined_now:
        lines += ["", _md(f"Still quarantined: {', '.join(report.quarantined_now)}.")]
    lines += ["", "## Patches", ""]
    lines += _table(*_batches_table(report)) if report.batches else [_NO_BATCHES]
    lines += ["", "## Time per step", ""]
    lines += _table(*_steps_table(report))
    if report.folders:
        lines += ["", "Per folder:", ""]
        lines += _table(*_step_matrix(report))
    return "\n".join(lines) + "\n"


# --- HTML ---------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("-" if value is None or value == "" else str(value), quote=True)


@functools.cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML escaped; a link or image stays text, as nothing may be fetched.
    return MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])


def _m(value: object) -> str:
    """A prose field's Markdown as inline HTML (code spans, emphasis); input HTML escaped."""
    if value is None or value == "":
        return "-"
    rendered: str = _markdown().renderInline(" ".join(str(value).split()))
    return rendered.strip()


def _html_table(
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    cls: str,
    markdown: Collection[int] = (),
) -> str:
    """A table; the columns at the indexes in `markdown` hold prose rendered from Markdown."""
    attr = f' class="{cls}"'
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_m(c) if i in markdown else _e(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table{attr}><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _scale(value: float, most: float) -> float:
    return round(_BAR_W * value / most, 2) if most > 0 else 0.0


def sites_chart(folders: Sequence[FolderReport]) -> str:
    """Per folder, one stacked bar: SQL sites by recipes, to models, moved or dropped."""
    most = max((f.sites for f in folders), default=0)
    height = _ROW_H * len(folders) + 30
    width = _LABEL_W + _BAR_W + 60
    parts = [
        f'<svg id="sites-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="SQL sites per folder">'
    ]
    for row, f in enumerate(folders):
        y = row * _ROW_H
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H - 2}" text-anchor="end">{_e(f.folder)}</text>'
        )
        x = float(_LABEL_W)
        for field, label, colour in SITE_SERIES:
            value = int(getattr(f, field))
            w = _scale(value, most)
            if value:
                parts.append(
                    f'<rect class="bar {label.split()[0]}" x="{x:.2f}" y="{y}" width="{w:.2f}" '
                    f'height="{_BAR_H}" fill="{colour}" data-folder="{_e(f.folder)}" '
                    f'data-series="{_e(label)}" data-value="{value}">'
                    f"<title>{_e(f.folder)}: {value} {_e(label)}</title></rect>"
                )
            x += w
        parts.append(f'<text x="{x + 6:.2f}" y="{y + _BAR_H - 2}">{f.sites}</text>')
    legend_y = _ROW_H * len(folders) + 12
    x = float(_LABEL_W)
    for _, label, colour in SITE_SERIES:
        parts.append(
            f'<rect x="{x:.2f}" y="{legend_y}" width="12" height="12" fill="{colour}"></rect>'
            f'<text x="{x + 16:.2f}" y="{legend_y + 11}">{_e(label)}</text>'
        )
        x += 140
    parts.append("</svg>")
    return "".join(parts)


def steps_chart(steps: Sequence[StepTotal]) -> str:
    """One bar per step: its time summed over every folder."""
    most = max((s.duration_ms for s in steps), default=0.0)
    height = _ROW_H * len(steps) + 4
    width = _LABEL_W + _BAR_W + 80
    parts = [
        f'<svg id="steps-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="time per step">'
    ]
    for row, s in enumerate(steps):
        y = row * _ROW_H
        w = _scale(s.duration_ms, most)
        took = duration_text(s.duration_ms)
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H - 2}" text-anchor="end">{_e(s.step)}</text>'
            f'<rect class="bar step" x="{_LABEL_W}" y="{y}" width="{w:.2f}" height="{_BAR_H}" '
            f'fill="{_STEP_COLOUR}" data-step="{_e(s.step)}" data-value="{s.duration_ms}">'
            f"<title>{_e(s.step)}: {took} over {s.folders} folders</title>"
            f'</rect><text x="{_LABEL_W + w + 6:.2f}" y="{y + _BAR_H - 2}">'
            f"{took}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _step_outcomes(report: DeliveryReport) -> list[tuple[str, dict[str, int]]]:
    """Per folder step in run order, how many folders ended it in each outcome."""
    steps = [s.step for s in report.steps if s.step != "report"]
    rows: list[tuple[str, dict[str, int]]] = []
    for step in steps:
        counts = {label: 0 for label, _ in OUTCOME_SERIES}
        for f in report.folders:
            found = next((s.status for s in f.steps if s.step == step), None)
            label = "not reached" if found is None or found not in counts else found
            counts[label] += 1
        rows.append((step, counts))
    return rows


def outcomes_chart(report: DeliveryReport) -> str:
    """One stacked bar per step: the run's folders by outcome at that step (done, skipped,
    waiting, running, failed, not reached), so a glance shows where the run stands."""
    rows = _step_outcomes(report)
    most = len(report.folders)
    height = _ROW_H * len(rows) + 30
    # Six legend entries need more room than the bars do.
    width = _LABEL_W + _BAR_W + 120
    parts = [
        f'<svg id="outcomes-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="folders by outcome at each step">'
    ]
    for row, (step, counts) in enumerate(rows):
        y = row * _ROW_H
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H - 2}" text-anchor="end">{_e(step)}</text>'
        )
        x = float(_LABEL_W)
        for label, colour in OUTCOME_SERIES:
            value = counts[label]
            w = _scale(value, most)
            if value:
                parts.append(
                    f'<rect class="bar outcome" x="{x:.2f}" y="{y}" width="{w:.2f}" '
                    f'height="{_BAR_H}" fill="{colour}" data-step="{_e(step)}" '
                    f'data-outcome="{_e(label)}" data-value="{value}">'
                    f"<title>{_e(step)}: {_n(value, 'folder')} {_e(label)}</title></rect>"
                )
            x += w
    legend_y = _ROW_H * len(rows) + 12
    x = float(_LABEL_W)
    for label, colour in OUTCOME_SERIES:
        parts.append(
            f'<rect x="{x:.2f}" y="{legend_y}" width="12" height="12" fill="{colour}"></rect>'
            f'<text x="{x + 16:.2f}" y="{legend_y + 11}">{_e(label)}</text>'
        )
        x += 90
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top} th{background:#f3f4f6}
.headline{font-size:15px;padding:.6em .8em;background:#eff6ff;border-left:4px solid #2563eb}
.status{font-weight:bold} .status-done{color:#166534} .status-failed{color:#b91c1c}
.status-paused,.status-waiting{color:#b45309}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dl.summary dt{font-weight:bold}
ol.todo li{margin:.3em 0} svg text{font:12px system-ui,sans-serif;fill:#333}
code{background:#f3f4f6;padding:0 3px}
"""


def report_html(report: DeliveryReport) -> str:
    status_cls = f"status status-{_e(report.status)}"
    summary = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _summary_items(report))
    epic = f" (epic task {_e(report.epic)})" if report.epic else ""
    todo = (
        '<ol class="todo">' + "".join(f"<li>{_m(s)}</li>" for s in report.next) + "</ol>"
        if report.next
        else f"<p>{_e(_NOTHING_LEFT)}</p>"
    )
    sections = [
        f"<h1>Delivery report: {_e(report.name)}</h1>",
        f"<p>Run <code>{_e(report.run_id)}</code> from <code>{_e(report.source)}</code>{epic},"
        f' {_moved_from_html(report)}: <span class="{status_cls}">'
        f"{_e(report.status)}</span>. Generated {_e(report.generated_at)}; "
        f"{_e(_options(report))}.</p>",
        f'<p class="headline">{_m(report.headline)}</p>',
        f'<h2>Summary</h2><dl class="summary">{summary}</dl>',
        f"<h2>Still to do</h2>{todo}",
    ]
    if report.waiting:
        sections.append(f"<h3>Waiting for {len(report.waiting)} approvals</h3>")
        sections.append(_html_table(*_waiting_table(report), cls="waiting", markdown=(4, 5)))
    sections += [
        "<h2>SQL sites per folder: recipes and models</h2>",
        sites_chart(report.folders),
        "<h2>Folders by outcome, step by step</h2>",
        outcomes_chart(report),
        "<h2>Folders</h2>",
        _html_table(_FOLDER_HEAD, [_folder_row(f) for f in report.folders], cls="folders"),
    ]
    for f in report.folders:
        if f.new_errors:
            items = "".join(f"<li><code>{_e(e)}</code></li>" for e in f.new_errors)
            sections.append(f"<h3>New type errors of {_e(f.folder)}</h3><ul>{items}</ul>")
    sections += [
        "<h2>Model calls</h2>",
    ]
    if report.tiers:
        tiers = [_call_row(g) for g in report.tiers]
        agents = [_call_row(g) for g in report.agents]
        sections += [
            "<h3>Per tier</h3>",
            _html_table(("tier", *_CALL_HEAD), tiers, cls="tiers"),
            "<h3>Per agent</h3>",
            _html_table(("agent", *_CALL_HEAD), agents, cls="agents"),
        ]
    else:
        sections.append(f"<p>{_e(_NO_CALLS)}</p>")
    sections.append("<h2>Approvals</h2>")
    if report.approvals:
        sections.append(_html_table(*_approvals_table(report), cls="approvals", markdown=(6,)))
    else:
        sections.append(f"<p>{_e(_NO_APPROVALS)}</p>")
    sections.append("<h2>Violations and quarantines</h2>")
    if report.agent_checks:
        sections.append(_html_table(*_checks_table(report), cls="checks"))
    else:
        sections.append(f"<p>{_e(_NO_CHECKS)}</p>")
    if report.guard_events:
        sections.append(_html_table(*_guards_table(report), cls="guards"))
    if report.quarantined_now:
        sections.append(f"<p>Still quarantined: {_e(', '.join(report.quarantined_now))}.</p>")
    sections.append("<h2>Patches</h2>")
    if report.batches:
        sections.append(_html_table(*_batches_table(report), cls="batches"))
    else:
        sections.append(f"<p>{_e(_NO_BATCHES)}</p>")
    sections += [
        "<h2>Time per step</h2>",
        steps_chart(report.steps),
        _html_table(*_steps_table(report), cls="steps"),
    ]
    if report.folders:
        sections.append(_html_table(*_step_matrix(report), cls="step-matrix"))
    # A JSON data block, not a script: `<`, `>` and `&` escaped so no input can close it.
    data = (
        json.dumps(report.model_dump(mode="json"), ensure_ascii=False)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>vibehq delivery report {_e(report.run_id)}</title>"
        f"<style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + f'\n<script type="application/json" id="report-data">{data}</script>\n'
        + "</body></html>\n"
    )
