"""`vibehq config show` as data: every setting in force, where it came from, secrets redacted.

A value's source is the most specific one that sets it: a `VIBEHQ_*` variable (for the key or
any section above it), then `vibehq.toml`, then the `[route] litellm_config` file for the
deployments read from it, else the default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.config.route import ENV_REF_PREFIX, TIERS, deployment_name
from engine.settings import SETTINGS_FILE, Settings, read_settings_file

__all__ = ["REDACTED", "ConfigValue", "ConfigView", "config_view"]

Source = Literal["default", "vibehq.toml", "env", "litellm config"]
REDACTED = "<redacted>"
_ENV_PREFIX = "VIBEHQ_"
_SECRET_WORDS = frozenset({"key", "secret", "password", "token", "credentials"})
# Words that make a key a pointer to a secret (a variable name, a file, a price), not one.
_NOT_SECRET_WORDS = frozenset({"env", "ref", "file", "path", "cost", "name", "limit"})
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|cookie", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]+:)[^/@\s]+(?P<tail>@.*)$")


@dataclass(frozen=True)
class ConfigValue:
    key: str
    value: Any
    source: Source
    # For a litellm-config value, the file and group; for env, the variable.
    origin: str | None = None


@dataclass(frozen=True)
class ConfigView:
    file: str | None
    values: list[ConfigValue]
    problems: list[str]
    unused_litellm_groups: list[str]


def config_view(root: Path, settings: Settings) -> ConfigView:
    data = read_settings_file(root)
    env = {k.upper(): k for k in os.environ if k.upper().startswith(_ENV_PREFIX)}
    dumped = settings.model_dump(mode="json", by_alias=True)
    origins = _deployment_origins(settings)
    values: list[ConfigValue] = []
    for path, value in _leaves(dumped, ()):
        if value is None and "deployments" in path:
            # A deployment's unset keys are noise: LiteLLM's defaults apply to them.
            continue
        key = _key(path)
        source, origin = _source(path, data, env, origins)
        values.append(ConfigValue(key, _redacted(path, value), source, origin))
    return ConfigView(
        file=SETTINGS_FILE if (root / SETTINGS_FILE).is_file() else None,
        values=values,
        problems=settings.route.problems(),
        unused_litellm_groups=settings.route.unused_groups,
    )


def _leaves(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], Any]]:
    """(path, scalar) pairs; a list of scalars is one leaf, a list of mappings is walked."""
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [leaf for n, v in enumerate(value) for leaf in _leaves(v, (*path, n))]
    return [(path, value)]


def _key(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _deployment_origins(settings: Settings) -> dict[tuple[str, int], str]:
    route = settings.route
    found: dict[tuple[str, int], str] = {}
    for tier in TIERS:
        for n, d in enumerate(route.tiers.of(tier).deployments, start=1):
            origin = route.origins.get(deployment_name(tier, n, d))
            if origin is not None:
                found[(tier, n - 1)] = origin
    return found


def _source(
    path: tuple[str | int, ...],
    data: dict[str, Any],
    env: dict[str, str],
    origins: dict[tuple[str, int], str],
) -> tuple[Source, str | None]:
    names = [str(p) for p in path if isinstance(p, str)]
    for end in range(len(names), 0, -1):
        variable = _ENV_PREFIX + "__".join(names[:end]).upper()
        if variable in env:
            return "env", env[variable]
    if path[:2] == ("route", "tiers") and len(path) > 4 and isinstance(path[4], int):
        origin = origins.get((str(path[2]), path[4]))
        if origin is not None:
            return "litellm config", origin
    node: Any = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return "default", None
    return "vibehq.toml", None


def _redacted(path: tuple[str | int, ...], value: Any) -> Any:
    if not isinstance(value, str) or value.startswith(ENV_REF_PREFIX):
        return value
    names = [str(p) for p in path if isinstance(p, str)]
    words = set(names[-1].lower().split("_")) if names else set()
    if len(names) >= 2 and names[-2] in ("headers", "extra_headers"):
        return REDACTED if _SECRET_HEADER.search(names[-1]) else value
    if words & _SECRET_WORDS and not words & _NOT_SECRET_WORDS:
        return REDACTED
    match = _URL_PASSWORD.match(value)
    return f"{match['head']}{REDACTED}{match['tail']}" if match else value
