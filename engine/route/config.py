"""The `[route]` settings, under the name the router's callers have always imported.

The models live in `engine/config/route.py`, below this package, so that `engine/settings.py`
holds them without importing the router.
"""

from __future__ import annotations

from engine.config.route import (
    DEFAULT_FALLBACKS,
    MAX_FALLBACKS,
    Deployment,
    RouteOverrides,
    RouteSettings,
    RouteThresholds,
    TierSettings,
    TierTable,
    deployment_name,
)

__all__ = [
    "DEFAULT_FALLBACKS",
    "MAX_FALLBACKS",
    "Deployment",
    "RouteOverrides",
    "RouteSettings",
    "RouteThresholds",
    "TierSettings",
    "TierTable",
    "deployment_name",
]
