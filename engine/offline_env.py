"""Environment defaults that keep the model stack offline, set before litellm or crewai loads.

Importing litellm fetches a price map from the internet (retrying for about 20 s) unless
LITELLM_LOCAL_MODEL_COST_MAP is set; crewai sends telemetry and traces unless told not to.
`engine/__init__.py` imports this module, so anything that imports the engine is covered.
A value the user already exported wins.
"""

from __future__ import annotations

import os

OFFLINE_DEFAULTS: dict[str, str] = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
}


def apply_offline_defaults() -> None:
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)


apply_offline_defaults()
