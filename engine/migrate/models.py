"""Records the migrator's finders produce; they go into plan.json and sql-sites.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.sql.site import SqlDriver, SqlSite

__all__ = [
    "ImportKind",
    "ImportRewrite",
    "ImportRule",
    "ImportSpecifier",
    "SqlDriver",
    "SqlSite",
]

ImportKind = Literal[
    "import", "import-type", "export-from", "dynamic-import", "require", "reference-path"
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ImportSpecifier(_Record):
    """One module specifier in a source file. Offsets are bytes of the specifier text itself,
    without its quotes, so a rewrite replaces exactly those bytes."""

    kind: ImportKind
    specifier: str
    line: int = Field(description="1-based line of the specifier")
    column: int = Field(description="1-based column of the specifier's first character")
    start_byte: int
    end_byte: int


class ImportRule(BaseModel):
    """One import-rewrite rule. Rules are tried in order; the first that matches a specifier
    rewrites it and no later rule sees it.

    - exact: the specifier equals `pattern`.
    - prefix: the specifier starts with `pattern`; the prefix is replaced.
    - regex: `re.fullmatch(pattern, specifier)`; `replacement` may use \\1 or \\g<name>.
    - from-regex: the seed manifest's form. `pattern` is searched in the text
      `from '<specifier>'`; the replacement must produce `from '<new specifier>'`.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["exact", "prefix", "regex", "from-regex"]
    pattern: str = Field(min_length=1)
    replacement: str
    description: str | None = None


class ImportRewrite(_Record):
    """A planned change of one specifier, with the rule (or relative recomputation) behind it."""

    file: str = Field(description="destination path of the importing file, workspace-relative")
    line: int
    column: int
    kind: ImportKind
    old: str
    new: str
    rule: str = Field(description="'imports[2] prefix ../types/', 'relative', 'alias @shared/*'")
