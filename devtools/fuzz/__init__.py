"""Fuzzing vibehq's input formats through the CLI: cases (`cases`) and a judged run (`runner`)."""

from devtools.fuzz.cases import KINDS, NAMED_CASES, Case, mutated_case
from devtools.fuzz.runner import Outcome, run_case

__all__ = ["KINDS", "NAMED_CASES", "Case", "Outcome", "mutated_case", "run_case"]
