"""pagerduty-send-event: one Events API v2 event per notification."""

from __future__ import annotations

import logging

from . import event, render, settings
from .env import TRIGGERS, Invocation
from .errors import ConfigError
from .transport import Sender

log = logging.getLogger(__name__)

STEP = "send event"


def run(inv: Invocation) -> int:
    """Build and send the event; 0 once PagerDuty accepted it."""
    if inv.trigger not in TRIGGERS:
        raise ConfigError(
            "RD_NOTIFICATION_TRIGGER: %r is not one of %s"
            % (inv.trigger[:40], ", ".join(TRIGGERS))
        )
    checked = settings.event_settings(inv.config)
    text = render.render_all(render.Renderer(inv.context()), checked.text)
    body = event.build(inv, checked, text)
    log.debug("%s: event without its key: %s", STEP, _loggable(body))
    sender = Sender(STEP, checked.timeout)
    reply = sender.post(checked.events_url + "/v2/enqueue", body)
    key = reply.body.get("dedup_key") if isinstance(reply.body, dict) else None
    if key is None:
        log.warning("%s: PagerDuty's reply was not the usual JSON", STEP)
    log.info(
        "%s: PagerDuty accepted %s for dedup key %s (status %d)",
        STEP, body["event_action"], key or body["dedup_key"], reply.status,
    )
    return 0


def _loggable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "routing_key"}
