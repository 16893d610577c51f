"""Sends one request to PagerDuty with retries inside a total time limit.

Retry policy, after PagerDuty's guidance (pagerduty.md §1.4, §2.4): 429,
5xx and network errors are retried with exponential backoff and jitter;
every other status is final. A server's wait hint (``Retry-After``,
``ratelimit-reset``) is honoured when it fits in the time left.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any, Callable, Dict, Optional

from . import __version__, deadline
from .errors import ConfigError, NotDeliveredError, RejectedError
from .settings import Network

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP/TLS connection to PagerDuty."""

READ_TIMEOUT = 15.0
"""Seconds to wait for PagerDuty's reply once the request is sent."""

MIN_ATTEMPT = 1.0
"""Don't start an attempt with less time than this left."""

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 16.0


class Response:
    """What one attempt got back: a status and the decoded body."""

    def __init__(self, status: int, body: Any, headers: Dict[str, str]):
        self.status = status
        self.body = body
        self.headers = headers


def retryable(status: int) -> bool:
    """True for the statuses PagerDuty says to retry."""
    return status == 429 or 500 <= status <= 599


class Sender:
    """Posts JSON with retries until a deadline; one per notification."""

    def __init__(
        self,
        step: str,
        time_limit: float,
        clock: Optional[Callable[[], float]] = None,
        sleep: Optional[Callable[[float], None]] = None,
        network: Optional[Network] = None,
    ) -> None:
        self.step = step
        self._network = network or Network()
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._deadline = self._clock() + time_limit
        self._time_limit = time_limit
        self._session: Any = None

    def post(
        self, url: str, body: Dict[str, Any],
        headers: Optional[Dict[str, str]] = None,
    ) -> Response:
        """POST until a final answer; raise unless it is 2xx."""
        return self.request("POST", url, body, headers)

    def request(
        self, method: str, url: str, body: Optional[Dict[str, Any]],
        headers: Optional[Dict[str, str]] = None, once: bool = False,
    ) -> Response:
        """Send until a final answer or the deadline; raise unless 2xx.

        ``once``: the request starts something (a workflow); it is retried
        only when PagerDuty surely did not act on it (429, or no connection
        was made), never after a 5xx or a lost reply.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._attempt(method, url, body, headers)
            except _NetworkError as err:
                last, hint = "%s" % err, None
                unsure = err.sent
            else:
                if 200 <= reply.status <= 299:
                    return reply
                message = error_text(reply)
                if not retryable(reply.status):
                    raise RejectedError(
                        "%s: PagerDuty rejected the request (status %d): %s"
                        % (self.step, reply.status, message), reply.status
                    )
                last = "status %d: %s" % (reply.status, message)
                hint = wait_hint(reply.headers)
                unsure = reply.status != 429
            if once and unsure:
                raise NotDeliveredError(
                    "%s: not retried, PagerDuty may have acted on it; "
                    "check the incident (%s)" % (self.step, last)
                )
            self._wait_or_give_up(attempt, last, hint)

    def _wait_or_give_up(
        self, attempt: int, last: str, hint: Optional[float]
    ) -> None:
        delay = backoff(attempt)
        if hint is not None and hint >= 1:
            # The server's wait, spread by up to a tenth so that runs told
            # the same wait don't all come back at once. A hint under a
            # second ("Retry-After: 0") is no reason to hammer: backoff.
            delay = hint * random.uniform(1.0, 1.1)
        left = self._deadline - self._clock()
        if delay + MIN_ATTEMPT > left:
            asked = "" if hint is None or hint < 1 else (
                " (PagerDuty asked to wait %g s)" % hint)
            raise NotDeliveredError(
                "%s: not delivered within the %g s time limit after %d "
                "attempt%s; last: %s%s" % (
                    self.step, self._time_limit, attempt,
                    "" if attempt == 1 else "s", last, asked,
                )
            )
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.1f s",
            self.step, attempt, last, delay,
        )
        self._sleep(delay)

    def _attempt(
        self, method: str, url: str, body: Optional[Dict[str, Any]],
        headers: Optional[Dict[str, str]],
    ) -> Response:
        import requests

        left = max(self._deadline - self._clock(), 0.1)
        timeout = (min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left))
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": "pagerduty-notify/%s" % __version__,
        }
        all_headers.update(headers or {})
        errors = requests.exceptions
        network_errors = (errors.ConnectionError, errors.ChunkedEncodingError,
                          errors.ContentDecodingError)
        try:
            # Later than the read timeout, so that one names a silent
            # server; this one ends a reply that trickles in.
            with deadline.limit(left + 0.5):
                reply = self._sess().request(
                    method, url, json=body, headers=all_headers,
                    timeout=timeout, allow_redirects=False,
                )
                return Response(reply.status_code, _decode(reply),
                                dict(reply.headers))
        except deadline.Overrun:
            raise _NetworkError(
                "no complete reply within %.0f s" % left) from None
        except requests.exceptions.SSLError as err:
            raise _NetworkError("TLS error: %s" % _reason(err)) from None
        except requests.exceptions.ConnectTimeout:
            raise _NetworkError(
                "no connection within %.0f s" % timeout[0], sent=False
            ) from None
        except requests.exceptions.Timeout:
            raise _NetworkError("no reply within %.0f s" % timeout[1]) from None
        except network_errors as err:
            raise _NetworkError(
                "connection failed: %s" % _reason(err),
                sent=not _never_connected(err),
            ) from None
        except requests.exceptions.RequestException as err:
            # Not the network: a request that cannot be built or sent as is.
            raise ConfigError(
                "%s: the request cannot be sent: %s" % (self.step, _reason(err))
            ) from None

    def _sess(self) -> Any:
        if self._session is None:
            import requests

            session = requests.Session()
            # TLS verification is always on; a bundle only adds trust.
            session.verify = self._network.ca_bundle or True
            if self._network.proxy:
                proxy = self._network.proxy
                session.proxies = {"http": proxy, "https": proxy}
            self._session = session
        return self._session


class _NetworkError(Exception):
    """The request got no HTTP answer; ``sent``: it may have arrived."""

    def __init__(self, message: str, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


def _never_connected(err: Exception) -> bool:
    """True when no connection was made, so nothing reached PagerDuty."""
    from urllib3.exceptions import ConnectTimeoutError

    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, ConnectTimeoutError)


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 ... 16 seconds."""
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def wait_hint(headers: Dict[str, str]) -> Optional[float]:
    """Seconds the server asked us to wait, if it said so."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after", "ratelimit-reset"):
        try:
            value = float(lowered[name])
        except (KeyError, ValueError):
            continue
        if value >= 0:
            return value
    return None


def error_text(reply: Response) -> str:
    """PagerDuty's own message from an error body, cut to fit a log line."""
    body = reply.body
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        parts = [str(inner.get("message") or body.get("status") or "")]
        errors = inner.get("errors")
        if isinstance(errors, list) and errors:
            parts.append("; ".join(str(e) for e in errors))
        text = ": ".join(p for p in parts if p)
    else:
        text = str(body or "").strip()
    return (text or "no message")[:300]


def _decode(reply: Any) -> Any:
    try:
        return reply.json()
    except ValueError:
        return reply.text[:300]


def _reason(err: Exception) -> str:
    """The innermost cause, e.g. "[Errno 111] Connection refused"."""
    cause: Any = err
    for _ in range(5):
        inner = getattr(cause, "reason", None)
        if inner is None and cause.args:
            inner = getattr(cause.args[0], "reason", None)
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause) or type(cause).__name__
    # urllib3 puts an object's repr before the reason: drop it.
    text = re.sub(r"<[^<>]* object at 0x[0-9a-f]+>: ?", "", text)
    return (text.splitlines() or [text])[0][:300]
