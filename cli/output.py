"""Where the CLI writes: a rich console for people, one JSON document for machines."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def get_console(stderr: bool = False) -> Console:
    from rich.console import Console

    # Piped output (CI logs, `| less`) gets a wide fixed width instead of 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
