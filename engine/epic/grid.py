"""A run as a grid: one row per folder, one column per step, each cell the step's status."""

from __future__ import annotations

from dataclasses import dataclass

from engine.epic.models import FOLDER_STEPS, EpicRun, StepName, StepStatus


@dataclass(frozen=True)
class GridRow:
    folder: str
    cells: tuple[StepStatus | None, ...]


@dataclass(frozen=True)
class StepGrid:
    steps: tuple[StepName, ...]
    rows: tuple[GridRow, ...]


def step_grid(run: EpicRun) -> StepGrid:
    """Every folder of `run` x every folder step; None where a step has not started."""
    rows = []
    for folder in run.folders:
        records = (run.step(folder, step) for step in FOLDER_STEPS)
        rows.append(GridRow(folder, tuple(None if r is None else r.status for r in records)))
    return StepGrid(steps=FOLDER_STEPS, rows=tuple(rows))
