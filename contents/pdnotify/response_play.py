"""pagerduty-run-response-play: run a response play on an incident.

PagerDuty retired Response Plays (deprecated 2023-02-22, removed from the
API reference 2025-09-09; pagerduty.md §3.2) in favour of Incident
Workflows. The provider stays for jobs that name it, and a 404 says where
to go instead.
"""

from __future__ import annotations

import logging

from . import rest
from .env import Invocation
from .errors import RejectedError
from .transport import Sender

log = logging.getLogger(__name__)

STEP = "run response play"

RETIRED = (
    "PagerDuty retired Response Plays (removed from its API in 2025); use "
    "the notification PagerDuty / Start Incident Workflow "
    "(pagerduty-start-incident-workflow) with an Incident Workflow instead"
)


def run(inv: Invocation) -> int:
    """POST /response_plays/{id}/run; never run twice."""
    checked = rest.rest_settings(inv)
    play = rest.required_id(inv.config, "response_play_id")
    sender_email = rest.email(inv.config)
    sender = Sender(STEP, checked.timeout, network=checked.network)
    incident = rest.incident(checked, sender, sender_email)
    body = {"incident": {"id": incident, "type": "incident_reference"}}
    url = "%s/response_plays/%s/run" % (checked.api_url, rest.path_id(play))
    try:
        reply = sender.request("POST", url, body,
                               rest.headers(checked, sender_email), once=True)
    except RejectedError as err:
        if err.status == 404:
            raise RejectedError("%s; %s" % (err, RETIRED), 404) from None
        raise
    log.info("%s: response play %s ran on incident %s (status %d)",
             STEP, play, incident, reply.status)
    return 0
