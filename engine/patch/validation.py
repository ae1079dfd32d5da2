"""The validator interface the patch engine calls once per batch, on a staging copy.

The patch engine never imports a concrete validator; the caller passes one in
(`engine.validate.tsc.TscValidator` is the default the CLI wires).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]


class Finding(BaseModel):
    tool: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str | None = None
    message: str
    severity: Severity = "error"


class ValidationResult(BaseModel):
    validator: str
    ok: bool
    findings: list[Finding] = Field(default_factory=list)
    duration_s: float = 0.0
    summary: str = ""


class BatchValidator(Protocol):
    name: str

    def validate(self, staging_root: Path, changed_files: Sequence[str]) -> ValidationResult:
        """Check the staging copy (the workspace with the batch applied), never the real tree."""
