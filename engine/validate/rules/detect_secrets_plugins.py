"""Known key shapes, found by detect-secrets' maintained regex plugins, run in-process.

Importing detect-secrets costs about 0.15 s (it pulls in `requests` for its verifiers, which we
never call), so it is imported only for a text that holds one of the fixed prefixes its
plugins look for. Plugins with no fixed prefix, or that flag what is not a secret, are left out:

    KeywordDetector, *HighEntropyString   our name + entropy check on the syntax tree does this
                                          with far fewer false alarms (VQ401 reads the tree)
    TwilioKeyDetector                      it matches account and key SIDs, which are ids
    DiscordBotTokenDetector, Telegram...   no fixed prefix to look for; JWT-shaped noise
    IPPublicDetector                       an address is not a secret
    Cloudant, IBM, Softlayer, Artifactory  keyword-shaped, covered by the name + entropy check
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from re import Pattern

__all__ = ["PLUGINS", "KeyMatch", "find_keys", "looks_generated"]


@dataclass(frozen=True)
class _Plugin:
    module: str
    cls: str
    what: str
    # Text that every match of the plugin contains; none present means no import and no scan.
    anchors: tuple[str, ...]


PLUGINS: tuple[_Plugin, ...] = (
    _Plugin(
        "aws",
        "AWSKeyDetector",
        "an AWS access key",
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T", "aws", "AWS", "Aws"),
    ),
    _Plugin(
        "azure_storage_key", "AzureStorageKeyDetector", "an Azure storage key", ("AccountKey=",)
    ),
    _Plugin(
        "github_token",
        "GitHubTokenDetector",
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Plugin(
        "gitlab_token",
        "GitLabTokenDetector",
        "a GitLab token",
        (
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "GR1348941",
            "glcbt-",
            "glimt-",
            "glptt-",
            "glagent-",
            "gloas-",
        ),
    ),
    _Plugin("mailchimp", "MailchimpDetector", "a Mailchimp key", ("-us",)),
    _Plugin("npm", "NpmDetector", "an npm token", ("_authToken",)),
    _Plugin("openai", "OpenAIDetector", "an OpenAI API key", ("T3BlbkFJ",)),
    _Plugin("pypi_token", "PypiTokenDetector", "a PyPI token", ("pypi-Ag",)),
    _Plugin("sendgrid", "SendGridDetector", "a SendGrid key", ("SG.",)),
    _Plugin("slack", "SlackDetector", "a Slack token", ("xox", "hooks.slack.com")),
    _Plugin("square_oauth", "SquareOAuthDetector", "a Square OAuth secret", ("sq0csp-",)),
    _Plugin("stripe", "StripeDetector", "a Stripe live key", ("k_live_",)),
    _Plugin(
        "private_key",
        "PrivateKeyDetector",
        "a private key block",
        ("PRIVATE KEY", "PuTTY-User-Key-File"),
    ),
)


@dataclass(frozen=True)
class KeyMatch:
    start: int
    end: int
    key: str
    what: str
    plugin: str


@cache
def _denylist(plugin: _Plugin) -> tuple[Pattern[str], ...]:
    module = importlib.import_module(f"detect_secrets.plugins.{plugin.module}")
    return tuple(getattr(module, plugin.cls).denylist)


def find_keys(text: str) -> Iterator[KeyMatch]:
    """Every match of an enabled plugin in `text`, whole: some plugins group only a prefix
    (GitHub's `(ghp|gho|...)`), so a group is not always the secret."""
    for plugin in PLUGINS:
        if not any(anchor in text for anchor in plugin.anchors):
            continue
        for pattern in _denylist(plugin):
            for match in pattern.finditer(text):
                yield KeyMatch(match.start(), match.end(), match.group(0), plugin.what, plugin.cls)


def looks_generated(value: str) -> bool:
    """detect-secrets' own false-alarm filters: a UUID, a sequential run (ABCDEF..., 0123...),
    or a templated value (`{{ key }}`, `<key>`, `${KEY}`)."""
    from detect_secrets.filters.heuristic import (
        is_potential_uuid,
        is_sequential_string,
        is_templated_secret,
    )

    return is_potential_uuid(value) or is_sequential_string(value) or is_templated_secret(value)
