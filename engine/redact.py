"""Scrub API keys from every string vibehq stores, logs or prints.

Two kinds of secret are replaced by `[redacted]`:
- the configured keys: the values of the environment variables the route config names
  (`api_key_env` of each deployment) and of the usual provider variables, read when the text
  is scrubbed, so a key set after start-up is caught too;
- known key shapes, configured or not: OpenAI/Anthropic `sk-...`, Stripe `sk_live_...`/`rk_...`,
  AWS access key ids `AKIA...`/`ASIA...`, GitHub `ghp_...`/`github_pat_...`, Slack `xox?-...`.

An upstream that echoes the key in an error body (a 401 with "Incorrect API key sk-...") is
the case this exists for: the error goes to the ledger and the screen, the key does not.

The boundaries that call `redact`: the ledger's writes (`Ledger.write`), the CLI's output
streams and error lines, and the crash log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

REDACTED = "[redacted]"

# Variables that hold provider keys whatever the route config says.
DEFAULT_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AZURE_API_KEY",
    "GEMINI_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHERAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "HUGGINGFACE_API_KEY",
)
# Shorter values are not keys, and replacing them would mangle ordinary text.
MIN_SECRET_CHARS = 8

KEY_SHAPES = re.compile(
    r"""
      \bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}
    | \b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}
    | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
    | \bgh[pousr]_[A-Za-z0-9]{30,}
    | \bgithub_pat_[A-Za-z0-9_]{20,}
    | \bxox[abposr]-[A-Za-z0-9\-]{10,}
    """,
    re.VERBOSE,
)

_named: set[str] = set()


def register_key_variables(names: Iterable[str]) -> None:
    """Add the environment variables a configuration reads keys from (route deployments)."""
    _named.update(n for n in names if n)


def configured_secrets() -> list[str]:
    """The current values of every key variable, longest first (a key that contains another
    is replaced whole)."""
    names = (*DEFAULT_KEY_VARIABLES, *sorted(_named))
    values = {os.environ.get(name, "") for name in names}
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every configured key and every known key shape replaced."""
    for secret in configured_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPES.sub(REDACTED, text)


def redact_value(value: object) -> object:
    """`redact` on a str, or on each str inside lists, tuples and dicts; other values as
    they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value
