"""pagerduty-send-event: one Events API v2 event per notification.

With an outbox (outbox.py), what earlier notifications could not deliver
goes out first, and this event waits there if it cannot go out now.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Optional

from . import event, render, settings
from .env import Invocation
from .errors import (
    ConfigError, NotDeliveredError, PluginError, QueuedError, RejectedError,
)
from .outbox import FLUSH_SHARE, InFlight, Outbox
from .transport import Response, Sender

log = logging.getLogger(__name__)

STEP = "send event"


def run(inv: Invocation) -> int:
    """Build and send the event; 0 once PagerDuty accepted it."""
    started = time.monotonic()
    inv.checked_trigger()
    checked = settings.event_settings(inv.config)
    text = render.render_all(render.Renderer(inv.context()), checked.text)
    body = event.build(inv, checked, text)
    log.debug("%s: event without its key: %s", STEP, _loggable(body))
    url = checked.events_url + "/v2/enqueue"
    box = Outbox.configured(inv)
    if box is None:
        reply = _send_alone(url, body, checked)
    else:
        box.deliver_waiting(started + checked.timeout * FLUSH_SHARE,
                            checked.network)
        reply = _send_or_queue(box, url, body, checked,
                               started + checked.timeout)
    key = reply.body.get("dedup_key") if isinstance(reply.body, dict) else None
    if key is None:
        log.warning("%s: PagerDuty's reply was not the usual JSON", STEP)
    log.info(
        "%s: PagerDuty accepted %s for dedup key %s (status %d)",
        STEP, body["event_action"], key or body["dedup_key"], reply.status,
    )
    if box is not None:
        _tell_waiting(box)
    return 0


def _send_alone(
    url: str, body: Dict[str, Any], checked: settings.EventSettings
) -> Response:
    """Send without an outbox: what is not delivered now is lost."""
    sender = Sender(STEP, checked.timeout, network=checked.network)
    try:
        return sender.post(url, body)
    except NotDeliveredError:
        log.warning(
            "%s: no outbox is configured (outbox_dir, or RD_RUNDECK_BASE as "
            "Rundeck sets it), so the event is not kept for later", STEP)
        raise


def _send_or_queue(
    box: Outbox, url: str, body: Dict[str, Any],
    checked: settings.EventSettings, deadline: float,
) -> Response:
    """Send now, or queue behind an earlier event of the same alert."""
    earlier = box.waiting_for(body)
    if earlier is not None:
        raise _queued_behind(box, url, body, earlier)
    flight = _begin(box, url, body)
    sender = Sender(STEP, _left(deadline), network=checked.network)
    try:
        reply = sender.post(url, body)
    except NotDeliveredError as err:
        raise _kept(box, flight, url, body, err) from None
    except (RejectedError, ConfigError):
        _done(flight)  # PagerDuty refused it, or nothing was sent
        raise
    _done(flight)
    return reply


def _queued_behind(
    box: Outbox, url: str, body: Dict[str, Any], earlier: str
) -> PluginError:
    """Queue the event after its alert's waiting one; never overtake it."""
    what = "%s for dedup key %s" % (body["event_action"], body["dedup_key"])
    try:
        name = box.queue(url, body, "waits behind " + earlier, earlier)
    except OSError as err:
        return NotDeliveredError(
            "%s: not sent, an earlier event of the alert waits in the outbox "
            "(%s), and this %s could not be queued behind it: %s"
            % (STEP, earlier, what, err))
    return QueuedError(
        "%s: an earlier event of the alert waits in the outbox (%s), so this "
        "%s is queued behind it as %s; a later notification or flush-outbox "
        "delivers them in order" % (STEP, earlier, what, name))


def _begin(
    box: Outbox, url: str, body: Dict[str, Any]
) -> Optional[InFlight]:
    """A copy on disk while the event is sent, so a crash can't lose it."""
    try:
        return box.begin(url, body)
    except OSError as err:
        log.error("outbox: cannot write to %s (%s); sending without a copy",
                  box.path, err)
        return None


def _kept(
    box: Outbox, flight: Optional[InFlight], url: str,
    body: Dict[str, Any], err: NotDeliveredError,
) -> PluginError:
    """Queue an event that was not delivered; the error to end with."""
    try:
        if flight is not None:
            name = flight.keep(str(err))
        else:
            name = box.queue(url, body, str(err))
    except OSError as os_err:
        return NotDeliveredError(
            "%s; the outbox could not keep it: %s" % (err, os_err))
    return QueuedError(
        "%s; queued in the outbox %s as %s, a later notification or "
        "flush-outbox delivers it" % (err, box.path, name))


def _done(flight: Optional[InFlight]) -> None:
    """PagerDuty answered: the copy on disk is not needed any more."""
    if flight is None:
        return
    try:
        flight.done()
    except OSError as err:
        # The copy goes out again with the next flush; PagerDuty folds the
        # repeat into the same alert by dedup_key.
        log.warning("outbox: could not remove %s: %s", flight.path, err)


def _tell_waiting(box: Outbox) -> None:
    """Say how many events still wait, after this one went out."""
    try:
        waiting = len(box.names())
    except OSError:
        return
    if waiting:
        log.warning(
            "outbox: %d earlier event%s still wait%s in %s for a later "
            "notification or flush-outbox", waiting,
            "" if waiting == 1 else "s", "s" if waiting == 1 else "",
            box.path)


def _left(deadline: float) -> float:
    """Seconds left, to 0.1 s, as the time limit for this event."""
    return max(round(deadline - time.monotonic(), 1), 0.1)


def _loggable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "routing_key"}
