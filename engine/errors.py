"""Typed errors. The CLI maps `BadInput` to exit 2 and `CheckFailed` to exit 1, one line each."""

from __future__ import annotations


class VibehqError(Exception):
    """Base of every error vibehq raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(VibehqError):
    """The request itself is wrong: malformed file, unknown op, unsafe path, unknown id."""

    exit_code = 2


class CheckFailed(VibehqError):
    """The request is well formed but a check refused it: conflict, validation, stale anchor."""

    exit_code = 1


class UnsafePath(BadInput):
    """A path from input points outside the workspace (absolute, `..`, or a symlink out)."""


class BatchFormatError(BadInput):
    """A PatchBatch document is not valid JSON or does not match the model."""


class SettingsError(BadInput):
    """`vibehq.toml` or a `VIBEHQ_*` variable is invalid."""


class ToolchainMissing(BadInput):
    """A required external tool (tsc, eslint, git) is not installed where vibehq looks for it."""


class UnknownBatch(BadInput):
    """A batch id that has no journal entry."""


class PatchConflict(CheckFailed):
    """A file is not in the state the batch (or the rollback) expects."""


class OpFailed(CheckFailed):
    """An op cannot apply to the current file: anchor missing or ambiguous, line out of range."""


class ValidationFailed(CheckFailed):
    """The validator rejected the batch on its staging copy."""


class LockTimeout(CheckFailed):
    """Another vibehq process held the workspace lock for too long."""
