"""Checks the Send Event properties and turns them into typed settings.

Every check names the property in its message and never echoes a key.
Text properties are kept raw here; templates are rendered later.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict, Optional
from urllib.parse import urlsplit

from .errors import ConfigError

ACTIONS = ("auto", "trigger", "acknowledge", "resolve")
SEVERITIES = ("auto", "critical", "error", "warning", "info")

# Events API v2 hosts per service region (pagerduty.md §1.1).
EVENTS_URLS = {
    "us": "https://events.pagerduty.com",
    "eu": "https://events.eu.pagerduty.com",
}

DEFAULT_TIMEOUT = 60
"""Seconds one notification may take in all, well under Rundeck's 120."""

MAX_TIMEOUT = 600

TEXT_PROPERTIES = (
    "dedupe_key", "summary", "source", "component", "group", "class",
    "images", "custom_details",
)

# Integration keys are 32 characters of letters and digits (pagerduty.md
# §1.2); anything else is most likely a REST API key or a pasted typo.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{32}")


@dataclasses.dataclass(frozen=True)
class Network:
    """How to reach PagerDuty: a CA bundle and a proxy, both optional."""

    ca_bundle: Optional[str] = None
    proxy: Optional[str] = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class EventSettings:
    """The Send Event properties, checked."""

    integration_key: str = dataclasses.field(repr=False)
    action: str
    severity: str
    events_url: str
    timeout: int
    text: Dict[str, str]
    network: Network = Network()


def event_settings(config: Dict[str, str]) -> EventSettings:
    """Check the RD_CONFIG_* values of pagerduty-send-event."""
    return EventSettings(
        integration_key=_integration_key(config.get("integration_key")),
        action=_choice(config, "action", ACTIONS),
        severity=_choice(config, "severity", SEVERITIES),
        events_url=service_url(config, "events_url", EVENTS_URLS),
        timeout=timeout(config),
        text={k: config[k] for k in TEXT_PROPERTIES if config.get(k)},
        network=network(config),
    )


def network(config: Dict[str, str]) -> Network:
    """The ca_bundle and proxy properties, checked."""
    bundle = (config.get("ca_bundle") or "").strip() or None
    if bundle and not os.path.isfile(bundle):
        raise ConfigError("ca_bundle: %r is not a readable file" % bundle[:200])
    proxy = (config.get("proxy") or "").strip() or None
    if proxy:
        try:
            parts = urlsplit(proxy)
            parts.port  # raises ValueError on a bad port
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or (
                not parts.hostname):
            # The value may hold a proxy password: don't echo it.
            raise ConfigError(
                "proxy: must look like http://host:port (value not shown)")
    return Network(ca_bundle=bundle, proxy=proxy)


def timeout(config: Dict[str, str]) -> int:
    """The total time limit in seconds, from the ``timeout`` property."""
    raw = (config.get("timeout") or "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    # ASCII digits only, as the Java loader reads it (int() would also
    # take "1_0" or other scripts' digits).
    if not re.fullmatch(r"[0-9]{1,3}", raw):
        raise ConfigError(
            "timeout: %r is not a whole number of seconds" % raw[:40]
        )
    value = int(raw)
    if not 1 <= value <= MAX_TIMEOUT:
        raise ConfigError(
            "timeout: %d is outside 1 to %d seconds" % (value, MAX_TIMEOUT)
        )
    return value


def _integration_key(raw: Optional[str]) -> str:
    key = (raw or "").strip()
    if not key:
        raise ConfigError("integration_key: is required and empty")
    if not _KEY_SHAPE.fullmatch(key):
        raise ConfigError(
            "integration_key: must be the 32-character Events API v2 "
            "integration key of a PagerDuty service (got %d characters)"
            % len(key)
        )
    return key


def _choice(
    config: Dict[str, str], name: str, allowed: tuple, default: str = "auto"
) -> str:
    value = (config.get(name) or "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(
            "%s: %r is not one of %s"
            % (name, value[:40], ", ".join(allowed))
        )
    return value


def service_url(
    config: Dict[str, str], override: str, urls: Dict[str, str]
) -> str:
    """The override property's base URL, else the region's."""
    value = (config.get(override) or "").strip()
    if value:
        return base_url(override, value)
    return urls[_choice(config, "region", tuple(urls), "us")]


def _without_credentials(raw: str) -> str:
    """The URL as it may be shown: user and password replaced."""
    return re.sub(r"(?<=//)[^/@\s]*@", "****@", raw)


def base_url(name: str, raw: str) -> str:
    """Check a base URL override: http(s), a host, no path, query or secret."""
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise ConfigError("%s: not a URL: %s" % (name, err)) from None
    shown = _without_credentials(raw)[:80]
    if re.search(r"\s", raw) or port == 0:
        raise ConfigError("%s: %r is not a usable URL" % (name, shown))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            "%s: must look like https://host[:port], got %r" % (name, shown)
        )
    if parts.username or parts.password:
        raise ConfigError("%s: must not contain credentials" % name)
    if parts.query or parts.fragment:
        raise ConfigError("%s: must not have a query or fragment" % name)
    if parts.path not in ("", "/"):
        raise ConfigError(
            "%s: give only scheme, host and port, without the path %r"
            % (name, parts.path[:80])
        )
    return raw.rstrip("/")
