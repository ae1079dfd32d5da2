"""Judging an answer to one needs-model item by what it adds, not by the folder it lands in.

An answer is written against the folder's overlay, which may still hold errors of other sites
waiting for their own answers (a bun:sqlite import another item must remove). Judged against
the workspace baseline, every answer in such a folder would look broken. So the overlay as it
was before the answer is the before: the answer fails only on findings it introduces. The
folder as a whole still has to pass the gate against the workspace baseline before it lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from engine.patch.validation import BatchValidator, Finding, ValidationResult
from engine.validate.baseline import Baseline, BaselineFinding, compare_with_baseline, fingerprint

__all__ = ["AnswerValidator"]


class AnswerValidator:
    """Wraps a validator: the findings of `before_root` (checked once, lazily) are forgiven."""

    def __init__(self, inner: BatchValidator, before_root: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.before_root = before_root
        self._before: list[Finding] | None = None

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        if self._before is None:
            self._before = list(self.inner.validate(self.before_root, changed_files).findings)
        result = self.inner.validate(staging_root, changed_files)
        before = Baseline(
            tool=self.name,
            created=datetime.now(UTC),
            findings=[
                BaselineFinding(**f.model_dump(), fingerprint=fingerprint(f)) for f in self._before
            ],
        )
        judged, _ = compare_with_baseline(result, before)
        return judged
