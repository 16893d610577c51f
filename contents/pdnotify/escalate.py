"""pagerduty-escalate-incident: move an incident to a policy level."""

from __future__ import annotations

import logging
import re

from . import rest
from .env import Invocation
from .errors import ConfigError
from .transport import Sender

log = logging.getLogger(__name__)

STEP = "escalate incident"


def run(inv: Invocation) -> int:
    """PUT /incidents/{id} with the level; 0 once PagerDuty applied it."""
    checked = rest.rest_settings(inv)
    level = escalation_level(inv.config.get("escalation_level"))
    sender_email = rest.email(inv.config)
    sender = Sender(STEP, checked.timeout, network=checked.network)
    incident = rest.incident(checked, sender, sender_email)
    body = {"incident": {"type": "incident_reference",
                         "escalation_level": level}}
    url = "%s/incidents/%s" % (checked.api_url, rest.path_id(incident))
    reply = sender.request("PUT", url, body,
                           rest.headers(checked, sender_email))
    log.info("%s: incident %s moved to escalation level %d (status %d)",
             STEP, incident, level, reply.status)
    return 0


def escalation_level(raw: object) -> int:
    """A whole number from 1."""
    text = str(raw or "").strip()
    if not text:
        raise ConfigError("escalation_level: is required and empty")
    if not re.fullmatch(r"-?[0-9]{1,3}", text):
        raise ConfigError(
            "escalation_level: %r is not a whole number from 1 to 999"
            % text[:40]
        )
    level = int(text)
    if level < 1:
        raise ConfigError("escalation_level: %d is below 1 (levels start "
                          "at 1)" % level)
    return level
