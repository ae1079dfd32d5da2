"""The plan as Markdown: summary, one section per task, and the to-do checklist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.plan import ops
from engine.plan.document import load_tasks
from engine.plan.render import render_markdown
from tests.conftest import TASKS_FIXTURE

FIXTURE = TASKS_FIXTURE


def test_renders_the_real_plan_after_an_epic(tmp_path: Path) -> None:
    assert FIXTURE.is_file(), f"the real task-master fixture is missing: {FIXTURE}"
    path = tmp_path / "tasks.json"
    shutil.copyfile(FIXTURE, path)
    tf = load_tasks(path)
    ops.create_epic(tf, title="Epic: Implement Core Analytics API", merge=["9", "10", "11"])
    text = render_markdown(tf, title="Complete Core Vibe HQ Implementation Plan")

    assert text.startswith("# Complete Core Vibe HQ Implementation Plan\n\n## Summary\n")
    assert "- **Total Tasks**: 36 main tasks with 95 subtasks" in text
    assert "- **Status**: pending 29, done 4, cancelled 3" in text
    assert "### Task 1: Create Shared Contracts Module\n\n" in text
    assert "**Status**: done | **Priority**: high | **Dependencies**: none" in text
    assert "**Status**: pending | **Priority**: high | **Dependencies**: [1, 2, 8]" in text
    assert (
        "**Status**: cancelled | **Priority**: medium | **Dependencies**: [1, 2, 8] | "
        "**Subsumed by**: Task 36"
    ) in text
    assert "- [x] 3.2 " in text
    assert (
        "- [ ] 11.3 Write unit tests for patch trends endpoint (pending; depends on [11.1, 11.2])"
        in text
    )
    todo = text.split("### To-dos\n\n", 1)[1].splitlines()
    assert len(todo) == 36
    assert todo[0] == "- [x] Task 1: Create Shared Contracts Module"
    assert todo[3] == "- [ ] Task 4: Factory Base Dockerfile Implementation"
    assert todo[35] == "- [ ] Task 36: Epic: Implement Core Analytics API"
    assert text.index("### Task 35:") < text.index("### Task 36:") < text.index("### To-dos")


def test_renders_dates_and_flat_files(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    tasks = [
        {
            "id": 1,
            "title": "Dated\ntitle",
            "status": "in-progress",
            "dependencies": [],
            "createdAt": "2025-11-05T13:35:54.611Z",
            "dueDate": "2025-12-01",
            "details": "Do it.",
        }
    ]
    path.write_text(json.dumps({"tasks": tasks}))
    text = render_markdown(load_tasks(path))
    assert text.startswith("# Task Plan\n")
    assert "**Tag**" not in text
    assert "### Task 1: Dated title" in text
    assert (
        "**Status**: in-progress | **Priority**: medium | **Dependencies**: none | "
        "**Created**: 2025-11-05T13:35:54.611Z | **Due date**: 2025-12-01"
    ) in text
    assert "**Details**:\n\nDo it.\n" in text
    assert text.endswith("### To-dos\n\n- [ ] Task 1: Dated title\n")
