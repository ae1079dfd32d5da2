"""Benchmark: the task plan engine on a generated task-master plan of 2,000 tasks with 10,000
subtasks. Prints the time of load, `next`, `deps validate`, one `set-status` and one
`epic create` (each change includes the locked re-read and the atomic write).

    uv run python bench/plan.py [--tasks 2000] [--subtasks 5]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.plan.document import editing, load_tasks
from engine.plan.ops import create_epic, next_task, set_status, validate_dependencies

STATUSES = ["done"] * 5 + ["pending"] * 4 + ["in-progress", "review", "deferred", "cancelled"]
PRIORITIES = ["high", "medium", "medium", "low"]


def generate(tasks: int, subtasks: int, rng: random.Random) -> dict[str, Any]:
    out = []
    for i in range(1, tasks + 1):
        deps = sorted({rng.randint(1, i - 1) for _ in range(rng.randint(0, 3))}) if i > 1 else []
        out.append(
            {
                "id": i,
                "title": f"Task {i}: implement service {i}",
                "description": f"Service {i} with routes, tests and bindings.",
                "details": "Implementation notes.\n" * 3,
                "testStrategy": "Unit and integration tests.",
                "priority": rng.choice(PRIORITIES),
                "dependencies": deps,
                "status": rng.choice(STATUSES),
                "subtasks": [
                    {
                        "id": s,
                        "title": f"Step {s} of task {i}",
                        "description": "A step.",
                        "dependencies": [s - 1] if s > 1 else [],
                        "details": "",
                        "status": rng.choice(STATUSES),
                    }
                    for s in range(1, subtasks + 1)
                ],
            }
        )
    return {
        "master": {
            "tasks": out,
            "metadata": {"created": "2026-11-01T00:00:00.000Z", "description": "generated"},
        }
    }


def timed(label: str, fn: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    result = fn()
    print(f"{label}: {(time.perf_counter() - t0) * 1000:.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--subtasks", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vibehq-plan-"))
    try:
        path = work / "tasks.json"
        path.write_text(
            json.dumps(
                generate(args.tasks, args.subtasks, random.Random(3)), indent=2, ensure_ascii=False
            )
        )
        size = path.stat().st_size / 2**20
        print(f"plan: {args.tasks} tasks, {args.tasks * args.subtasks} subtasks, {size:.1f} MiB")
        tf = timed("load", lambda: load_tasks(path))
        timed("next", lambda: next_task(tf))  # type: ignore[arg-type]
        issues = timed("deps validate", lambda: validate_dependencies(tf))  # type: ignore[arg-type]
        print(f"  ({len(issues)} dependency problems)")  # type: ignore[arg-type]

        def one_status() -> None:
            with editing(path) as live:
                set_status(live, [str(args.tasks // 2)], "done")

        def one_epic() -> None:
            with editing(path) as live:
                create_epic(
                    live,
                    title="Epic: bench",
                    merge=["10", "11", "12"],
                    mark="subsumed",
                    priority="high",
                )

        timed("set-status (locked read + change + atomic write)", one_status)
        timed("epic create (locked read + change + atomic write)", one_epic)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
