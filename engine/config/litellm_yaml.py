"""`[route] litellm_config`: a LiteLLM proxy `config.yaml` whose `model_list` serves the tiers.

The mapping rule: tier T takes every `model_list` entry whose `model_name` is one of
`[route.tiers.T] litellm_groups`, or, when that is unset, whose `model_name` is T itself
(`simple`, `standard`, `complex`, `reasoning`). The entries come after T's own deployments from
vibehq.toml, in file order. Groups no tier takes are listed by `vibehq config show`.

Nothing here raises: a missing or malformed file, or a file whose groups no tier takes, is a
problem on the returned settings, which fails only the commands that call a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.config.route import TIERS, RouteSettings, Tier, deployment_name

__all__ = ["with_litellm_config"]

# Cost keys LiteLLM also reads from an entry's model_info.
_MODEL_INFO_KEYS = ("input_cost_per_token", "output_cost_per_token")


def with_litellm_config(route: RouteSettings, root: Path) -> RouteSettings:
    """`route` with the deployments of its LiteLLM config added; `route` itself when it names
    none."""
    if route.litellm_config is None:
        return route
    path = Path(route.litellm_config)
    path = path if path.is_absolute() else root / path
    label = f"litellm config {route.litellm_config}"
    try:
        entries = _model_list(path, label)
    except ValueError as exc:
        return _with_problem(route, str(exc))
    groups_of = {tier: route.tiers.of(tier).litellm_groups or [tier] for tier in TIERS}
    added: dict[Tier, list[tuple[str, dict[str, Any]]]] = {tier: [] for tier in TIERS}
    used: set[str] = set()
    for entry in entries:
        group, deployment = _deployment(entry)
        for tier in TIERS:
            if group in groups_of[tier]:
                added[tier].append((group, deployment))
                used.add(group)
    groups = list(dict.fromkeys(str(e.get("model_name")) for e in entries))
    unused = [g for g in groups if g not in used]
    if not used:
        return _with_problem(
            route,
            f"{label}: no tier takes any of its model groups ({', '.join(groups) or 'none'}): "
            f"name a group after a tier ({', '.join(TIERS)}) or list it in "
            "[route.tiers.<tier>] litellm_groups",
        )
    data = route.model_dump(mode="python", exclude_none=True)
    for tier in TIERS:
        data["tiers"][tier].setdefault("deployments", [])
        data["tiers"][tier]["deployments"].extend(d for _, d in added[tier])
    try:
        merged = RouteSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return _with_problem(route, f"{label}: {loc}: {first['msg']}")
    for tier in TIERS:
        own = len(route.tiers.of(tier).deployments)
        deployments = merged.tiers.of(tier).deployments
        for (group, _), n in zip(added[tier], range(own + 1, len(deployments) + 1), strict=True):
            merged._origins[deployment_name(tier, n, deployments[n - 1])] = (
                f"{label} (model_name {group})"
            )
    merged._unused_groups = unused
    return merged


def _with_problem(route: RouteSettings, problem: str) -> RouteSettings:
    copy = route.model_copy(deep=True)
    copy._load_problems = [*route.load_problems, problem]
    return copy


def _model_list(path: Path, label: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{label}: file not found ({path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{label}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{label}: not valid YAML: {exc}") from None
    entries = data.get("model_list") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{label}: expected a non-empty model_list")
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("model_name"), str):
            raise ValueError(f"{label}: model_list entry {n} has no model_name")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise ValueError(
                f"{label}: model_list entry {n} ({entry['model_name']}) has no litellm_params.model"
            )
    return entries


def _deployment(entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An entry as a vibehq deployment: its litellm_params, its model_info id as the name,
    and the prices its model_info gives (litellm_params win)."""
    params = dict(entry["litellm_params"])
    info = entry.get("model_info")
    if isinstance(info, dict):
        if info.get("id") is not None:
            params.setdefault("name", str(info["id"]))
        for key in _MODEL_INFO_KEYS:
            if info.get(key) is not None:
                params.setdefault(key, info[key])
    return str(entry["model_name"]), params
