"""Live progress of an epic run: a table of folders x steps and a footer with the current
agent, tool, tokens, cost and waiting approvals, fed one `EpicEvent` at a time.

Two sinks share one interface (`handle(event)`, used as a context manager):
- `ProgressView`: a rich Live table on a terminal. On anything else (a CI log, a pipe) it prints
  one plain line per step or run change instead, so logs get no redraw escape codes.
- `JsonLines`: one `EpicEvent` JSON document per line on stdout, for `--json`.

The flow turns CrewAI's event bus (agent, tool and LLM events) and its own step records into
`EpicEvent`s; this module only folds them into a view. It never imports crewai.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TextIO

from engine.epic.models import FOLDER_STEPS, REPORT_STEP, RUN_FOLDER, EpicEvent
from engine.epic.report_pages import duration_text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = [
    "COLUMNS",
    "JsonLines",
    "ProgressSink",
    "ProgressState",
    "ProgressView",
    "open_sink",
]

COLUMNS: tuple[str, ...] = (*FOLDER_STEPS, REPORT_STEP)
RUN_ROW = "(run)"
_TERMINAL = ("done", "failed", "skipped")
_WAITING_COUNT = re.compile(r"(\d+)\s+approvals?\b")
_MARKS = {"done": "✓", "waiting": "⏸", "failed": "✗", "skipped": "\u2013"}  # an en dash
_STYLES = {"done": "green", "waiting": "yellow", "failed": "bold red", "skipped": "dim"}


class ProgressSink(Protocol):
    def handle(self, event: EpicEvent) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@dataclass
class Cell:
    status: str
    started: datetime | None = None
    duration_ms: float | None = None
    waiting: int = 0
    message: str | None = None


class ProgressState:
    """Everything the view shows, folded from events; no rendering here."""

    def __init__(self, folders: Sequence[str] = ()) -> None:
        self.run_id: str | None = None
        self.run_status: str | None = None
        self.run_message: str | None = None
        self.folders: list[str] = list(dict.fromkeys(folders))
        self.cells: dict[tuple[str, str], Cell] = {}
        self.agent: str | None = None
        self.tool: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd = 0.0
        self.calls = 0
        self.message: str | None = None
        self.waiting_override: int | None = None

    @property
    def waiting(self) -> int:
        """Approvals the run waits on: what the ledger said last, else what the steps said."""
        if self.waiting_override is not None:
            return self.waiting_override
        return sum(c.waiting for c in self.cells.values() if c.status == "waiting")

    def apply(self, event: EpicEvent) -> Cell | None:
        """Fold one event in; the cell it changed, if it was a step event."""
        self.run_id = event.run_id
        if event.kind == "run":
            self.run_status = event.status or self.run_status
            self.run_message = event.message
        elif event.kind == "step":
            return self._step(event)
        elif event.kind == "agent":
            self.agent = event.agent or self.agent
            if event.tool is not None:
                self.tool = event.tool
        elif event.kind == "tool":
            self.tool = event.tool or self.tool
            self.agent = event.agent or self.agent
        elif event.kind == "llm":
            self.calls += 1
            self.prompt_tokens += event.prompt_tokens or 0
            self.completion_tokens += event.completion_tokens or 0
            self.cost_usd += event.cost_usd or 0.0
            self.agent = event.agent or self.agent
        elif event.kind == "message":
            self.message = event.message
        return None

    def _step(self, event: EpicEvent) -> Cell | None:
        if event.folder is None or event.step is None or event.status is None:
            return None
        folder = RUN_ROW if event.folder == RUN_FOLDER else event.folder
        if folder not in self.folders:
            self.folders.append(folder)
        key = (folder, event.step)
        previous = self.cells.get(key)
        at = _parse(event.ts)
        cell = Cell(status=event.status, message=event.message)
        if event.status == "running":
            cell.started = at
        elif previous is not None and previous.started is not None:
            cell.started = previous.started
            if event.status in _TERMINAL:
                cell.duration_ms = max((at - previous.started).total_seconds() * 1000, 0.0)
        if event.status == "waiting":
            found = _WAITING_COUNT.search(event.message or "")
            cell.waiting = int(found.group(1)) if found else 1
        self.cells[key] = cell
        return cell

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ProgressView:
    """The rich view of a run. Use as a context manager around the run; feed it `handle`."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        folders: Sequence[str] = (),
        pending_approvals: Callable[[], int] | None = None,
        refresh_per_second: float = 8,
    ) -> None:
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True)
        self.state = ProgressState(folders)
        self._pending = pending_approvals
        self._refresh = refresh_per_second
        self._live: Live | None = None

    @property
    def live(self) -> bool:
        """Whether the view redraws in place (a terminal) rather than printing lines."""
        return self.console.is_terminal

    def __enter__(self) -> Self:
        if self.live and self._live is None:
            from rich.live import Live

            self._live = Live(
                console=self.console,
                get_renderable=self.render,
                refresh_per_second=self._refresh,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        else:
            self._line(self.footer_text())

    def handle(self, event: EpicEvent) -> None:
        cell = self.state.apply(event)
        changed = cell is not None or event.kind == "run"
        if changed and self._pending is not None:
            self.state.waiting_override = self._pending()
        if self._live is not None:
            self._live.refresh()
        elif not self.live:
            self._plain(event, cell)

    # --- plain lines ------------------------------------------------------------------------

    def _plain(self, event: EpicEvent, cell: Cell | None) -> None:
        if cell is not None and event.folder is not None and event.step is not None:
            folder = RUN_ROW if event.folder == RUN_FOLDER else event.folder
            parts = [folder, event.step, cell.status]
            if cell.duration_ms is not None:
                parts.append(duration_text(cell.duration_ms))
            if cell.message:
                parts.append(f"- {cell.message}")
            self._line(" ".join(parts))
        elif event.kind == "run":
            text = f"run {event.run_id} {event.status or ''}".rstrip()
            self._line(f"{text}: {event.message}" if event.message else text)
        elif event.kind == "message" and event.message:
            self._line(event.message)

    def _line(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text), soft_wrap=True, highlight=False)

    # --- the live view ----------------------------------------------------------------------

    def footer_text(self) -> str:
        s = self.state
        return (
            f"agent {s.agent or '-'} · tool {s.tool or '-'} · tokens {s.prompt_tokens:,} in / "
            f"{s.completion_tokens:,} out · cost ${s.cost_usd:.4f} · "
            f"waiting approvals {s.waiting}"
        )

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        s = self.state
        title = f"epic run {s.run_id or '-'}"
        if s.run_status:
            title += f": {s.run_status}"
        table = Table(title=title, title_justify="left", expand=False)
        table.add_column("folder", no_wrap=True)
        for column in COLUMNS:
            table.add_column(column, no_wrap=True)
        now = datetime.now().astimezone()
        for folder in s.folders:
            cells: list[RenderableType] = [Text(folder)]
            for column in COLUMNS:
                cell = s.cells.get((folder, column))
                if cell is None:
                    cells.append(Text("·", style="dim"))
                elif cell.status == "running":
                    elapsed = (
                        None
                        if cell.started is None
                        else (now - cell.started).total_seconds() * 1000
                    )
                    cells.append(Spinner("dots", text=Text(duration_text(elapsed), style="cyan")))
                else:
                    label = _MARKS.get(cell.status, cell.status)
                    if cell.status == "waiting":
                        label += f" {cell.waiting}"
                    elif cell.duration_ms is not None:
                        label += f" {duration_text(cell.duration_ms)}"
                    cells.append(Text(label, style=_STYLES.get(cell.status, "")))
            table.add_row(*cells)
        parts: list[RenderableType] = [table, Text(self.footer_text(), style="bold")]
        note = s.message or s.run_message
        if note:
            parts.append(Text(note, style="dim"))
        return Group(*parts)


class JsonLines:
    """`--json`: every event as one JSON document on its own line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def handle(self, event: EpicEvent) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(event.model_dump_json() + "\n")
        stream.flush()


def open_sink(
    *,
    as_json: bool,
    console: Console | None = None,
    folders: Sequence[str] = (),
    pending_approvals: Callable[[], int] | None = None,
) -> ProgressSink:
    """The sink `vibehq epic run/resume` feeds: JSON lines with `--json`, else the view."""
    if as_json:
        return JsonLines()
    return ProgressView(console, folders=folders, pending_approvals=pending_approvals)
