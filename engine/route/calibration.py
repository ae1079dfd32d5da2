"""How well the complexity score ranks work against human grades: a labelled set and
Spearman's rank correlation (with average ranks for ties, as scipy computes it)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import BadInput
from engine.plan.document import TasksFile
from engine.route.features import CodeWork, WorkUnit
from engine.route.score import score_unit
from engine.route.task_text import task_text
from engine.route.tiers import TIERS, Thresholds, Tier

__all__ = [
    "Calibration",
    "LabelledExample",
    "average_ranks",
    "calibrate",
    "load_labelled",
    "spearman",
]


class LabelledExample(BaseModel):
    """One graded unit of work: a text, a task id (read from a tasks.json), or code structure."""

    model_config = ConfigDict(extra="forbid")

    id: str
    grade: int = Field(ge=1, le=10)
    text: str | None = None
    task: str | None = None
    code: CodeWork | None = None
    note: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _one_subject(self) -> LabelledExample:
        given = [k for k in ("text", "task", "code") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, task or code (got {given or 'none'})")
        return self


def load_labelled(path: Path) -> list[LabelledExample]:
    examples: list[LabelledExample] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"cannot read labelled set {path}: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            examples.append(LabelledExample.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{n}: invalid JSON: {exc.msg}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(line)"
            raise BadInput(f"{path}:{n}: {where}: {first['msg']}") from None
    return examples


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = shared
        start = end + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rho: Pearson's correlation of the average ranks."""
    if len(xs) != len(ys):
        raise ValueError(f"need two sequences of one length, got {len(xs)} and {len(ys)}")
    if len(xs) < 2:
        raise ValueError("need at least two pairs")
    rx, ry = average_ranks(xs), average_ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        raise ValueError("one of the sequences is constant: its ranks have no order")
    return cov / math.sqrt(vx * vy)


@dataclass(frozen=True)
class Calibration:
    n: int
    spearman: float
    grades: tuple[int, ...]
    scores: tuple[int, ...]
    tiers: dict[Tier, int]
    grade_tiers: dict[Tier, int]


def example_unit(example: LabelledExample, tasks: TasksFile | None) -> WorkUnit:
    if example.task is not None:
        if tasks is None:
            raise BadInput(f"labelled example {example.id} names task {example.task}: need tasks")
        return WorkUnit(text=task_text(tasks, example.task)[1])
    return WorkUnit(text=example.text or "", code=example.code)


def calibrate(
    examples: Sequence[LabelledExample], thresholds: Thresholds, tasks: TasksFile | None = None
) -> Calibration:
    grades = tuple(e.grade for e in examples)
    scores = tuple(score_unit(example_unit(e, tasks)).score for e in examples)
    tiers = Counter(thresholds.tier_for(s) for s in scores)
    grade_tiers = Counter(thresholds.tier_for(g) for g in grades)
    return Calibration(
        n=len(examples),
        spearman=spearman(scores, grades),
        grades=grades,
        scores=scores,
        tiers={t: tiers.get(t, 0) for t in TIERS},
        grade_tiers={t: grade_tiers.get(t, 0) for t in TIERS},
    )
