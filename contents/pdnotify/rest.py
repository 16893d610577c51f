"""What the three REST providers share: settings, headers, the incident.

REST API v2 contract: pagerduty.md §2 (headers, errors, rate limits).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Optional
from urllib.parse import quote, urlencode

from . import render, settings
from .env import Invocation
from .errors import ConfigError, RejectedError
from .transport import Sender

# REST API v2 hosts per service region (pagerduty.md §2.1).
API_URLS = {
    "us": "https://api.pagerduty.com",
    "eu": "https://api.eu.pagerduty.com",
}
ACCEPT = "application/vnd.pagerduty+json;version=2"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_TOKEN = re.compile(r"[\x21-\x7e]{8,128}")
_INTEGRATION_KEY = re.compile(r"[A-Za-z0-9]{32}")


@dataclasses.dataclass(frozen=True)
class RestSettings:
    """What every REST provider needs, checked."""

    api_key: str = dataclasses.field(repr=False)
    api_url: str
    timeout: int
    incident_id: str
    incident_key: str
    network: settings.Network = settings.Network()


def rest_settings(inv: Invocation) -> RestSettings:
    """Check the properties the three REST providers share."""
    inv.checked_trigger()
    config = inv.config
    renderer = render.Renderer(inv.context())
    incident_id = renderer.render(
        "incident_id", config.get("incident_id", "")).strip()
    incident_key = renderer.render(
        "incident_key", config.get("incident_key", "")).strip()
    if incident_id:
        check_id("incident_id", incident_id)
    elif not incident_key:
        raise ConfigError(
            "incident_id: give an incident ID, or an incident_key to find "
            "the open incident by"
        )
    return RestSettings(
        api_key=_api_key(config.get("api_key")),
        api_url=settings.service_url(config, "api_url", API_URLS),
        timeout=settings.timeout(config),
        incident_id=incident_id,
        incident_key=incident_key,
        network=settings.network(config),
    )


def check_id(name: str, value: str) -> str:
    """A PagerDuty object ID: letters, digits, - and _, no path tricks."""
    if not _ID.fullmatch(value):
        raise ConfigError(
            "%s: %r is not a PagerDuty ID (letters and digits, e.g. "
            "PWL7QXS)" % (name, value[:80])
        )
    return value


def required_id(config: Dict[str, str], name: str) -> str:
    """A required ID property, checked."""
    value = (config.get(name) or "").strip()
    if not value:
        raise ConfigError("%s: is required and empty" % name)
    return check_id(name, value)


def email(config: Dict[str, str]) -> str:
    """The From user's email address, checked."""
    value = (config.get("email") or "").strip()
    if not value:
        raise ConfigError("email: is required and empty")
    # ASCII only: it travels in an HTTP header (From).
    if not _EMAIL.fullmatch(value) or not all(ord(c) < 128 for c in value):
        raise ConfigError(
            "email: %r does not look like an email address" % value[:80])
    return value


def headers(rest: RestSettings, sender_email: Optional[str]) -> Dict[str, str]:
    """Authorization, Accept and, where the call needs it, From."""
    result = {"Authorization": "Token token=" + rest.api_key,
              "Accept": ACCEPT}
    if sender_email:
        result["From"] = sender_email
    return result


def incident(rest: RestSettings, sender: Sender,
             sender_email: Optional[str] = None) -> str:
    """The incident ID: given, or the open incident with the key."""
    if rest.incident_id:
        return rest.incident_id
    query = urlencode([
        ("incident_key", rest.incident_key),
        ("statuses[]", "triggered"), ("statuses[]", "acknowledged"),
    ])
    reply = sender.request("GET", rest.api_url + "/incidents?" + query, None,
                           headers(rest, sender_email))
    found = reply.body.get("incidents") if isinstance(reply.body, dict) else None
    for item in found or []:
        if isinstance(item, dict) and item.get("incident_key") == rest.incident_key:
            return check_id("incident_id", str(item.get("id", "")))
    raise RejectedError(
        "%s: no open incident has incident_key %r"
        % (sender.step, rest.incident_key[:255])
    )


def path_id(value: str) -> str:
    """An ID made safe for a URL path (already checked; belt and braces)."""
    return quote(value, safe="")


def _api_key(raw: Optional[str]) -> str:
    key = (raw or "").strip()
    if not key:
        raise ConfigError("api_key: is required and empty")
    if key.startswith("keys/"):
        raise ConfigError(
            "api_key: holds a Key Storage path that was not read; run it "
            "from Rundeck, or give the key itself"
        )
    if _INTEGRATION_KEY.fullmatch(key):
        raise ConfigError(
            "api_key: looks like an Events API integration key; a REST API "
            "key is needed here (PagerDuty: Integrations > API Access Keys)"
        )
    if not _TOKEN.fullmatch(key):
        raise ConfigError(
            "api_key: is not a PagerDuty REST API key (%d characters, or it "
            "has spaces or control characters)" % len(key)
        )
    return key
