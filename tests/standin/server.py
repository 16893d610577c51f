"""Strict local PagerDuty stand-in for tests (loopback only).

Events API v2 lives here; the REST API v2 routes live in rest.py.
Run: python3 tests/standin/server.py --port 0 --port-file PATH
Import: StandIn() runs the same server in a background thread.

Faults: {"status"|"hang"|"drop", "times", "path", ...}; a path ending in
'*' matches by prefix ("/incidents/*"), and "ratelimit_reset": N adds
ratelimit-limit/-remaining: 0/-reset: N headers to a status fault.

Rules follow docs/pagerduty.md sections 1 and 5 of the shared notes.  Where
PagerDuty's real behaviour is unknown, this server picks the stricter choice
so that mistakes in our own requests show up in tests; such spots say so.
"""
from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

MAX_BODY_BYTES = 512000
KEEP_BODY_BYTES = 4 * 1024 * 1024
ROUTING_KEY_LENGTH = 32
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
SEVERITIES = ("critical", "error", "warning", "info")
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
CONTROL_PREFIX = "/_standin/"
ALERT_FIELDS = frozenset((
    "routing_key", "event_action", "dedup_key", "payload",
    "client", "client_url", "links", "images",
))
CHANGE_FIELDS = frozenset(("routing_key", "payload", "links", "images"))
FAULT_KEYS = frozenset((
    "status", "retry_after", "body", "content_type",
    "hang", "drop", "times", "path", "ratelimit_reset", "partial",
))
RATELIMIT_LIMIT = 960

_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


# ---------------------------------------------------------------- helpers

def is_iso8601_datetime(value: str) -> bool:
    """Tell whether value is an ISO 8601 date-time PagerDuty documents."""
    match = _ISO_DATETIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (
        int(part or 0) for part in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
        _utc_offset(match.group(8))
    except ValueError:
        return False
    return True


def _utc_offset(text: Optional[str]) -> Optional[timezone]:
    """Parse a '+0000', '+00:00', '+00' or 'Z' suffix (ValueError if bad)."""
    if text is None:
        return None
    if text in ("Z", "z"):
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def check_loopback(host: str) -> str:
    """Return the IPv4 loopback address for host or raise ValueError."""
    name = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(
            "refusing to listen on %r: only IPv4 loopback addresses "
            "(127.0.0.0/8) are allowed" % (host,))
    return name


def new_dedup_key() -> str:
    """Make a fresh dedup key the way PagerDuty does (a UUID)."""
    return uuid.uuid4().hex


# ------------------------------------------------------- request / reply

class Reply:
    """What the server should do with one request."""

    def __init__(self, status: int, body: bytes = b"",
                 headers: Optional[Dict[str, str]] = None,
                 content_type: str = "application/json") -> None:
        """Describe a normal HTTP reply."""
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type
        self.close = False
        self.hang: Optional[float] = None
        self.drop = False
        # Send the headers and half the body, then close: a reply cut off.
        self.partial = False


def json_reply(status: int, obj: Any,
               headers: Optional[Dict[str, str]] = None) -> Reply:
    """Build a reply whose body is obj encoded as JSON."""
    return Reply(status, json.dumps(obj).encode("utf-8"), headers)


def events_error(status: str, message: str, errors: List[str],
                 code: int = 400) -> Reply:
    """Build an Events API error reply in PagerDuty's shape."""
    body = {"status": status, "message": message, "errors": list(errors)}
    return json_reply(code, body)


def invalid_event(errors: List[str]) -> Reply:
    """Build the 400 'invalid event' reply."""
    return events_error("invalid event", "Event object is invalid", errors)


def unrecognized_object(error: str) -> Reply:
    """Build the 400 'Unrecognized object' reply."""
    return events_error("Unrecognized object",
                        "Event object format is unrecognized", [error])


class Exchange:
    """One received request as seen by route handlers."""

    def __init__(self, method: str, target: str, headers: Dict[str, str],
                 raw: bytes, size: int) -> None:
        """Store the request and try to parse its body as JSON."""
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = parts.query
        self.headers = headers
        self.raw = raw
        self.size = size
        self.text = raw.decode("utf-8", errors="replace")
        self.json_ok, self.json = _parse_json(raw)
        self.params: Dict[str, str] = {}
        self.seq = 0

    def header(self, name: str) -> Optional[str]:
        """Look a header up case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which are not JSON."""
    raise ValueError("invalid JSON constant %s" % name)


def _parse_json(raw: bytes) -> Tuple[bool, Any]:
    """Parse raw as strict UTF-8 JSON; return (ok, value)."""
    try:
        text = raw.decode("utf-8")
        return True, json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return False, None


# ------------------------------------------------------------- routing

Handler = Callable[["StandInState", Exchange], Reply]
BodyMaker = Callable[[int], Any]
PathTest = Callable[[str], bool]
AlertListener = Callable[["StandInState", Dict[str, Any], Optional[str]],
                         None]


class Router:
    """Route table: (method, path pattern) -> handler.

    Patterns may hold {name} segments, e.g. '/incidents/{id}'; the values
    land in Exchange.params.  Other modules (REST stubs) add their own
    routes with add(), control calls with add_control(), fault body
    shapes with add_fault_body() and alert listeners to alert_listeners.
    """

    def __init__(self) -> None:
        """Start with no routes."""
        self._routes: List[Tuple[str, Any, Handler]] = []
        self._fault_bodies: List[Tuple[PathTest, BodyMaker]] = []
        self.control: Dict[Tuple[str, str], Handler] = {}
        self.alert_listeners: List[AlertListener] = []

    def add_control(self, method: str, name: str, handler: Handler) -> None:
        """Register a control call: METHOD /_standin/<name>."""
        self.control[(method.upper(), name)] = handler

    def add_fault_body(self, applies: PathTest,
                       make_body: BodyMaker) -> None:
        """Shape injected-fault bodies for paths where applies(path)."""
        self._fault_bodies.append((applies, make_body))

    def fault_body(self, path: str) -> BodyMaker:
        """The body maker for faults on path (Events shape by default)."""
        for applies, make_body in self._fault_bodies:
            if applies(path):
                return make_body
        return _fault_error_body

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register handler for method and path pattern."""
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        self._routes.append((method.upper(), re.compile(regex), handler))

    def match(self, method: str,
              path: str) -> Tuple[Optional[Handler], Dict[str, str], bool]:
        """Find (handler, params, path_known) for a request."""
        known = False
        for route_method, regex, handler in self._routes:
            found = regex.fullmatch(path)
            if found is None:
                continue
            known = True
            if route_method == method:
                return handler, found.groupdict(), True
        return None, {}, known


# ---------------------------------------------------------- validation

def _unknown_field_errors(body: Dict[str, Any],
                          allowed: frozenset) -> List[str]:
    """Reject top-level fields the API does not define.

    Real PagerDuty's behaviour for unknown fields is unknown; the stand-in
    rejects them on purpose so our own typos fail loudly in tests.
    """
    return ["Unknown field '%s' (the stand-in rejects fields PagerDuty "
            "does not document)" % name
            for name in sorted(set(body) - allowed)]


def _routing_key_errors(body: Dict[str, Any]) -> List[str]:
    """Check routing_key is a 32-character string."""
    key = body.get("routing_key")
    if key is not None and not isinstance(key, str):
        return ["'routing_key' must be a string"]
    if key is None or len(key) != ROUTING_KEY_LENGTH:
        return ["Length of 'routing_key' is incorrect "
                "(should be %d characters)" % ROUTING_KEY_LENGTH]
    return []


def _event_action_errors(body: Dict[str, Any]) -> List[str]:
    """Check event_action is one of the documented actions."""
    action = body.get("event_action")
    if action is None or action == "":
        return ["'event_action' is missing or blank"]
    if action not in EVENT_ACTIONS:
        return ["'event_action' must be one of %s (got %s)"
                % (", ".join(EVENT_ACTIONS), json.dumps(action))]
    return []


def _dedup_key_errors(body: Dict[str, Any]) -> List[str]:
    """Check dedup_key: string, not blank, <= 255 chars, needed to update."""
    if "dedup_key" not in body:
        if body.get("event_action") in ("acknowledge", "resolve"):
            return ["'dedup_key' is missing or blank (required for "
                    "acknowledge and resolve)"]
        return []
    key = body["dedup_key"]
    if not isinstance(key, str):
        return ["'dedup_key' must be a string"]
    if not key.strip():
        # Blank keys on trigger: PagerDuty's reaction is unknown; strict.
        return ["'dedup_key' is missing or blank"]
    if len(key) > MAX_DEDUP_KEY_CHARS:
        return ["'dedup_key' is too long (maximum is %d characters)"
                % MAX_DEDUP_KEY_CHARS]
    return []


def _text_errors(obj: Dict[str, Any], name: str, where: str,
                 required: bool) -> List[str]:
    """Check a text field: present when required, a string, not blank."""
    if name not in obj:
        if required:
            return ["'%s' is missing or blank" % where]
        return []
    value = obj[name]
    if not isinstance(value, str):
        return ["'%s' must be a string" % where]
    if not value.strip():
        return ["'%s' is missing or blank" % where]
    return []


def _optional_string_errors(obj: Dict[str, Any], names: Tuple[str, ...],
                            prefix: str) -> List[str]:
    """Check that optional fields, when present, are strings."""
    return ["'%s%s' must be a string" % (prefix, name)
            for name in names
            if name in obj and not isinstance(obj[name], str)]


def _summary_length_errors(payload: Dict[str, Any]) -> List[str]:
    """Limit payload.summary to 1024 characters (code points)."""
    summary = payload.get("summary")
    if isinstance(summary, str) and len(summary) > MAX_SUMMARY_CHARS:
        # Wording (typo included) as quoted from real 400s in the notes.
        return ["'summary' is too long (maiximum is %d characters)"
                % MAX_SUMMARY_CHARS]
    return []


def _timestamp_errors(payload: Dict[str, Any]) -> List[str]:
    """Check payload.timestamp is an ISO 8601 date-time when present."""
    if "timestamp" not in payload:
        return []
    value = payload["timestamp"]
    if isinstance(value, str) and is_iso8601_datetime(value):
        return []
    # Whether PagerDuty rejects bad timestamps is unknown; strict here.
    return ["'payload.timestamp' must be an ISO 8601 date-time such as "
            "2015-07-17T08:42:58.315+0000"]


def _custom_details_errors(payload: Dict[str, Any]) -> List[str]:
    """Check payload.custom_details is a JSON object when present."""
    if "custom_details" in payload and \
            not isinstance(payload["custom_details"], dict):
        return ["'payload.custom_details' must be a JSON object"]
    return []


def _severity_errors(payload: Dict[str, Any]) -> List[str]:
    """Check payload.severity is in the documented enum."""
    severity = payload.get("severity")
    if isinstance(severity, str) and severity.strip() and \
            severity not in SEVERITIES:
        return ["'payload.severity' must be one of %s (got %s)"
                % (", ".join(SEVERITIES), json.dumps(severity))]
    return []


def _object_list_errors(body: Dict[str, Any], name: str, required: str,
                        optional: Tuple[str, ...]) -> List[str]:
    """Check links[] / images[]: objects with a non-blank required key."""
    if name not in body:
        return []
    items = body[name]
    if not isinstance(items, list):
        return ["'%s' must be a JSON array" % name]
    errors: List[str] = []
    for index, item in enumerate(items):
        where = "%s[%d]" % (name, index)
        if not isinstance(item, dict):
            errors.append("'%s' must be a JSON object" % where)
            continue
        errors += _text_errors(item, required, where + "." + required, True)
        errors += _optional_string_errors(item, optional, where + ".")
    return errors


def _links_images_errors(body: Dict[str, Any]) -> List[str]:
    """Check the links and images arrays."""
    return (_object_list_errors(body, "links", "href", ("text",))
            + _object_list_errors(body, "images", "src", ("href", "alt")))


def _payload_object(body: Dict[str, Any], required: bool,
                    errors: List[str]) -> Optional[Dict[str, Any]]:
    """Return body['payload'] if it is an object, else note an error."""
    if "payload" not in body:
        if required:
            errors.append("'payload' is missing")
        return None
    payload = body["payload"]
    if not isinstance(payload, dict):
        errors.append("'payload' must be a JSON object")
        return None
    return payload


def _alert_payload_errors(body: Dict[str, Any]) -> List[str]:
    """Check an alert event's payload (required only for trigger)."""
    errors: List[str] = []
    required = body.get("event_action") == "trigger"
    payload = _payload_object(body, required, errors)
    if payload is None:
        return errors
    for name in ("summary", "source", "severity"):
        errors += _text_errors(payload, name, "payload." + name, required)
    errors += _summary_length_errors(payload)
    errors += _severity_errors(payload)
    errors += _optional_string_errors(
        payload, ("component", "group", "class"), "payload.")
    errors += _timestamp_errors(payload)
    errors += _custom_details_errors(payload)
    return errors


def _change_payload_errors(body: Dict[str, Any]) -> List[str]:
    """Check a change event's payload (always required)."""
    errors: List[str] = []
    payload = _payload_object(body, True, errors)
    if payload is None:
        return errors
    errors += _text_errors(payload, "summary", "payload.summary", True)
    errors += _text_errors(payload, "source", "payload.source", False)
    errors += _summary_length_errors(payload)
    errors += _timestamp_errors(payload)
    errors += _custom_details_errors(payload)
    return errors


def validate_alert_event(body: Dict[str, Any]) -> List[str]:
    """Validate a /v2/enqueue body; return human-readable errors."""
    errors = _unknown_field_errors(body, ALERT_FIELDS)
    errors += _routing_key_errors(body)
    errors += _event_action_errors(body)
    errors += _dedup_key_errors(body)
    errors += _alert_payload_errors(body)
    errors += _optional_string_errors(body, ("client", "client_url"), "")
    errors += _links_images_errors(body)
    return errors


def validate_change_event(body: Dict[str, Any]) -> List[str]:
    """Validate a /v2/change/enqueue body; return human-readable errors."""
    errors = _unknown_field_errors(body, CHANGE_FIELDS)
    errors += _routing_key_errors(body)
    errors += _change_payload_errors(body)
    errors += _links_images_errors(body)
    return errors


# ---------------------------------------------------------------- faults

def normalize_fault(spec: Any) -> Dict[str, Any]:
    """Check one fault description and return a clean copy."""
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object: %r" % (spec,))
    unknown = set(spec) - FAULT_KEYS
    if unknown:
        raise ValueError("unknown fault keys: %s" % sorted(unknown))
    kinds = [key for key in ("status", "hang", "drop") if key in spec]
    if len(kinds) != 1:
        raise ValueError("a fault needs exactly one of status, hang, drop")
    if "ratelimit_reset" in spec and "status" not in spec:
        raise ValueError("ratelimit_reset needs a status")
    _check_fault_values(spec)
    fault = dict(spec)
    fault["times"] = spec.get("times", 1)
    return fault


def _is_number(value: Any) -> bool:
    """Tell whether value is an int or float but not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_FAULT_CHECKS: Dict[str, Callable[[Any], bool]] = {
    "status": lambda v: isinstance(v, int) and 100 <= v <= 599,
    "retry_after": lambda v: _is_number(v) and v >= 0,
    "body": lambda v: isinstance(v, str),
    "content_type": lambda v: isinstance(v, str),
    "hang": lambda v: _is_number(v) and v >= 0,
    "times": lambda v: isinstance(v, int) and v >= 1,
    "path": lambda v: isinstance(v, str) and v.startswith("/")
    and "*" not in v[:-1],
    "ratelimit_reset": lambda v: isinstance(v, int) and v >= 0,
}


def path_matches(pattern: Optional[str], path: str) -> bool:
    """Match a fault's path: exact, or a prefix when it ends in '*'."""
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return pattern == path


def _check_fault_values(spec: Dict[str, Any]) -> None:
    """Raise ValueError when a fault field has a wrong type or range."""
    for key, value in spec.items():
        if key in ("drop", "partial"):
            good = value is True
        else:
            good = not isinstance(value, bool) and _FAULT_CHECKS[key](value)
        if not good:
            raise ValueError("bad fault value %s=%r" % (key, value))


def _retry_after_header(seconds: Any) -> Dict[str, str]:
    """Format a Retry-After header (whole seconds when integral)."""
    if float(seconds).is_integer():
        return {"Retry-After": str(int(seconds))}
    return {"Retry-After": str(seconds)}


def _fault_error_body(status: int) -> Dict[str, Any]:
    """Pick a PagerDuty-shaped body for an injected status."""
    if 200 <= status < 300:
        return {"status": "success", "message": "Event processed"}
    if status == 429:
        return {"status": "throttle event",
                "message": "Too many requests",
                "errors": ["Rate limit exceeded (injected by the stand-in)"]}
    return {"status": "error", "message": "Server error",
            "errors": ["HTTP %d injected by the stand-in" % status]}


def _ratelimit_headers(reset: int) -> Dict[str, str]:
    """REST rate-limit headers for an exhausted limit."""
    return {"ratelimit-limit": str(RATELIMIT_LIMIT),
            "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}


def fault_reply(fault: Dict[str, Any],
                make_body: BodyMaker = _fault_error_body) -> Reply:
    """Turn a consumed fault into the reply to give."""
    if fault.get("drop"):
        reply = Reply(0)
        reply.drop = True
        return reply
    if "hang" in fault:
        reply = Reply(0)
        reply.hang = float(fault["hang"])
        return reply
    status = fault["status"]
    headers: Dict[str, str] = {}
    if "retry_after" in fault:
        headers = _retry_after_header(fault["retry_after"])
    if "ratelimit_reset" in fault:
        headers.update(_ratelimit_headers(fault["ratelimit_reset"]))
    if "body" in fault:
        ctype = fault.get("content_type", "application/json")
        reply = Reply(status, fault["body"].encode("utf-8"), headers, ctype)
    else:
        reply = json_reply(status, make_body(status), headers)
    reply.partial = bool(fault.get("partial"))
    return reply


def normalize_rate_limit(spec: Any) -> Optional[Tuple[int, float]]:
    """Check a rate_limit setting; None switches it off."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"per_key", "window"}:
        raise ValueError("rate_limit needs exactly per_key and window")
    per_key, window = spec["per_key"], spec["window"]
    if isinstance(per_key, bool) or not isinstance(per_key, int) \
            or per_key < 1 or not _is_number(window) or window <= 0:
        raise ValueError("rate_limit needs per_key >= 1 and window > 0")
    return per_key, float(window)


# ----------------------------------------------------------------- state

def _next_status(old: Optional[str], action: str) -> Optional[str]:
    """Compute an alert's status after an event action."""
    is_open = old in ("triggered", "acknowledged")
    if action == "trigger":
        return old if is_open else "triggered"
    if action == "acknowledge":
        return "acknowledged" if old == "triggered" else old
    return "resolved" if is_open else old


class StandInState:
    """Everything the stand-in remembers; safe to use from many threads."""

    def __init__(self) -> None:
        """Create empty state."""
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.extras: Dict[str, Any] = {}
        self.alert_listeners: List[AlertListener] = []
        self._seq = 0
        self.reset()

    def reset(self) -> None:
        """Forget requests, alerts, faults, rate limits and extras."""
        with self.lock:
            self._records: List[Dict[str, Any]] = []
            self._alerts: Dict[Tuple[str, str], Dict[str, Any]] = {}
            self._transitions: List[Dict[str, Any]] = []
            self._faults: List[Dict[str, Any]] = []
            self._rate_limit: Optional[Tuple[int, float]] = None
            self._hits: Dict[str, Deque[float]] = {}
            self.extras.clear()

    def next_seq(self) -> int:
        """Hand out the next request sequence number."""
        with self.lock:
            self._seq += 1
            return self._seq

    def add_faults(self, specs: Any) -> int:
        """Queue faults (and apply rate_limit settings); return count."""
        if not isinstance(specs, list):
            raise ValueError("faults must be a JSON list")
        queued = []
        limit: Any = ()  # () means "no rate_limit entry in this list"
        for spec in specs:
            if isinstance(spec, dict) and set(spec) == {"rate_limit"}:
                limit = normalize_rate_limit(spec["rate_limit"])
            else:
                queued.append(normalize_fault(spec))
        with self.lock:
            self._faults.extend(queued)
            if limit != ():
                self._rate_limit = limit
                self._hits.clear()
        return len(queued)

    def take_fault(self, path: str) -> Optional[Dict[str, Any]]:
        """Consume one use of the first fault matching path."""
        with self.lock:
            for index, fault in enumerate(self._faults):
                if not path_matches(fault.get("path"), path):
                    continue
                fault["times"] -= 1
                if fault["times"] <= 0:
                    del self._faults[index]
                used = dict(fault)
                used.pop("times")
                return used
        return None

    def rate_limit_wait(self, routing_key: str) -> Optional[float]:
        """Count a request; return seconds to wait if over the limit."""
        with self.lock:
            if self._rate_limit is None:
                return None
            per_key, window = self._rate_limit
            now = time.monotonic()
            hits = self._hits.setdefault(routing_key, deque())
            while hits and now - hits[0] >= window:
                hits.popleft()
            if len(hits) >= per_key:
                return hits[0] + window - now
            hits.append(now)
            return None

    def apply_event(self, ex: Exchange, key: str) -> None:
        """Move the alert (routing_key, key) per the event's action."""
        body = ex.json
        action = body["event_action"]
        ident = (body["routing_key"], key)
        with self.lock:
            alert = self._alerts.get(ident)
            old = alert["status"] if alert else None
            new = _next_status(old, action)
            if alert is None and new is not None:
                alert = self._new_alert(ident)
            if alert is not None:
                self._update_alert(alert, body, new)
            if new != old:
                self._transitions.append({
                    "routing_key": ident[0], "dedup_key": key,
                    "event_action": action, "from": old, "to": new,
                    "request_seq": ex.seq, "time": time.monotonic()})
                self._tell_listeners(alert, old)

    def _tell_listeners(self, alert: Dict[str, Any],
                        old: Optional[str]) -> None:
        """Tell alert listeners (e.g. REST incidents) a status changed."""
        for listener in self.alert_listeners:
            listener(self, alert, old)

    def _new_alert(self, ident: Tuple[str, str]) -> Dict[str, Any]:
        """Create and store an empty alert record."""
        alert = {"routing_key": ident[0], "dedup_key": ident[1],
                 "status": None, "summary": None, "severity": None,
                 "events": 0, "history": []}
        self._alerts[ident] = alert
        return alert

    @staticmethod
    def _update_alert(alert: Dict[str, Any], body: Dict[str, Any],
                      new: Optional[str]) -> None:
        """Count an event on alert and record its new status."""
        alert["events"] += 1
        if body["event_action"] == "trigger":
            alert["summary"] = body["payload"]["summary"]
            alert["severity"] = body["payload"]["severity"]
        if new != alert["status"]:
            alert["status"] = new
            alert["history"].append(new)

    def record(self, ex: Exchange, reply: Reply,
               fault: Optional[Dict[str, Any]]) -> None:
        """Remember one non-control request and what was answered."""
        outcome = "drop" if reply.drop else (
            "hang" if reply.hang is not None else "reply")
        entry = {
            "seq": ex.seq, "time": time.monotonic(), "method": ex.method,
            "path": ex.path, "query": ex.query, "headers": dict(ex.headers),
            "body": ex.text, "body_size": ex.size,
            "json": ex.json if ex.json_ok else None,
            "status": reply.status if outcome == "reply" else None,
            "outcome": outcome, "fault": fault,
        }
        with self.lock:
            self._records.append(entry)

    def requests(self) -> List[Dict[str, Any]]:
        """Copy of all recorded requests, oldest first."""
        with self.lock:
            records = sorted(self._records, key=lambda r: r["seq"])
            return copy.deepcopy(records)

    def alerts(self) -> List[Dict[str, Any]]:
        """Copy of all alerts with their current status."""
        with self.lock:
            return copy.deepcopy(list(self._alerts.values()))

    def transitions(self) -> List[Dict[str, Any]]:
        """Copy of all alert state transitions, in order."""
        with self.lock:
            return copy.deepcopy(self._transitions)

    def faults(self) -> List[Dict[str, Any]]:
        """Copy of the faults still queued."""
        with self.lock:
            return copy.deepcopy(self._faults)

    def rate_limit(self) -> Optional[Dict[str, float]]:
        """The current rate limit setting, if any."""
        with self.lock:
            if self._rate_limit is None:
                return None
            return {"per_key": self._rate_limit[0],
                    "window": self._rate_limit[1]}


# -------------------------------------------------------- events routes

def _is_json_content_type(value: Optional[str]) -> bool:
    """Tell whether a Content-Type header names JSON."""
    if not value:
        return False
    return value.split(";")[0].strip().lower() == "application/json"


def _events_preamble(state: StandInState, ex: Exchange) -> Optional[Reply]:
    """Apply size, content type, JSON and rate-limit checks."""
    if ex.size > MAX_BODY_BYTES:
        # PagerDuty documents the 512 KB limit, not the status; 400 is ours.
        return invalid_event([
            "Request body is too large: %d bytes (maximum is %d bytes, "
            "512 KB)" % (ex.size, MAX_BODY_BYTES)])
    if not _is_json_content_type(ex.header("Content-Type")):
        # Real PagerDuty's handling is unknown; strict on purpose.
        return unrecognized_object(
            "Content-Type must be application/json (stand-in rule)")
    if not ex.json_ok or not isinstance(ex.json, dict):
        return unrecognized_object("JSON parse error")
    key = ex.json.get("routing_key")
    wait = state.rate_limit_wait(key) if isinstance(key, str) else None
    if wait is not None:
        headers = {"Retry-After": str(max(1, int(math.ceil(wait))))}
        body = _fault_error_body(429)
        body["errors"] = ["Rate limit for this routing key exceeded"]
        return json_reply(429, body, headers)
    return None


def handle_enqueue(state: StandInState, ex: Exchange) -> Reply:
    """Handle POST /v2/enqueue."""
    early = _events_preamble(state, ex)
    if early is not None:
        return early
    errors = validate_alert_event(ex.json)
    if errors:
        return invalid_event(errors)
    key = ex.json.get("dedup_key") or new_dedup_key()
    state.apply_event(ex, key)
    return json_reply(202, {"status": "success",
                            "message": "Event processed", "dedup_key": key})


def handle_change_enqueue(state: StandInState, ex: Exchange) -> Reply:
    """Handle POST /v2/change/enqueue."""
    early = _events_preamble(state, ex)
    if early is not None:
        return early
    errors = validate_change_event(ex.json)
    if errors:
        return invalid_event(errors)
    return json_reply(202, {"status": "success",
                            "message": "Event processed"})


def events_routes(router: Router) -> None:
    """Add the Events API v2 routes to router."""
    router.add("POST", "/v2/enqueue", handle_enqueue)
    router.add("POST", "/v2/change/enqueue", handle_change_enqueue)


def _rest_module() -> Any:
    """The REST part (imported late because it imports this module)."""
    from . import rest
    return rest


def default_router() -> Router:
    """Build the router with every built-in API."""
    router = Router()
    events_routes(router)
    _rest_module().rest_routes(router)
    return router


def serve_exchange(state: StandInState, router: Router,
                   ex: Exchange) -> Reply:
    """Answer one API request: faults first, then the route table."""
    ex.seq = state.next_seq()
    fault = state.take_fault(ex.path)
    if fault is not None:
        reply = fault_reply(fault, router.fault_body(ex.path))
    else:
        reply = _route(state, router, ex)
    state.record(ex, reply, fault)
    return reply


def _route(state: StandInState, router: Router, ex: Exchange) -> Reply:
    """Dispatch to the matching handler or answer 404/405."""
    handler, params, known = router.match(ex.method, ex.path)
    if handler is not None:
        ex.params = params
        return handler(state, ex)
    if known:
        return events_error("Method not allowed", "Method not allowed",
                            ["%s is not allowed on %s" % (ex.method,
                                                          ex.path)], 405)
    return events_error("Not found", "Not found",
                        ["No stand-in route for %s" % ex.path], 404)


# ----------------------------------------------------------- control API

def _control_faults(state: StandInState, ex: Exchange) -> Reply:
    """POST /_standin/faults: queue a JSON list of faults."""
    if not ex.json_ok:
        return json_reply(400, {"error": "body is not valid JSON"})
    try:
        count = state.add_faults(ex.json)
    except ValueError as exc:
        return json_reply(400, {"error": str(exc)})
    return json_reply(200, {"queued": count})


def _control_reset(state: StandInState, ex: Exchange) -> Reply:
    """POST /_standin/reset: forget everything."""
    state.reset()
    return json_reply(200, {"status": "reset"})


CONTROL_ROUTES: Dict[Tuple[str, str], Handler] = {
    ("GET", "requests"): lambda s, e: json_reply(200, s.requests()),
    ("GET", "alerts"): lambda s, e: json_reply(200, s.alerts()),
    ("GET", "transitions"): lambda s, e: json_reply(200, s.transitions()),
    ("GET", "faults"): lambda s, e: json_reply(200, s.faults()),
    ("GET", "rate_limit"): lambda s, e: json_reply(200, s.rate_limit()),
    ("POST", "faults"): _control_faults,
    ("POST", "reset"): _control_reset,
}


def serve_control(state: StandInState, ex: Exchange,
                  router: Optional[Router] = None) -> Reply:
    """Answer a /_standin/ request (never recorded)."""
    name = ex.path[len(CONTROL_PREFIX):].strip("/")
    handler = CONTROL_ROUTES.get((ex.method, name))
    if handler is None and router is not None:
        handler = router.control.get((ex.method, name))
    if handler is None:
        return json_reply(404, {"error": "unknown control request %s %s"
                                % (ex.method, ex.path)})
    return handler(state, ex)


# ---------------------------------------------------------- HTTP plumbing

class _BadFraming(Exception):
    """The request body could not be read."""


class _Server(ThreadingHTTPServer):
    """Threaded HTTP server carrying the stand-in's state and routes."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], state: StandInState,
                 router: Router) -> None:
        """Bind and listen on address."""
        self.state = state
        self.router = router
        self._open: Dict[int, socket.socket] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request_thread(self, request: Any,
                               client_address: Any) -> None:
        """Serve one connection, tracking it so stop() can close it."""
        with self._open_lock:
            self._open[id(request)] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(id(request), None)

    def close_connections(self) -> None:
        """Shut every open client connection (idle keep-alives too)."""
        with self._open_lock:
            sockets = list(self._open.values())
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns HTTP requests into Exchanges and delivers Replies."""

    protocol_version = "HTTP/1.1"
    server_version = "PagerDutyStandIn/1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; requests are recorded instead."""

    def do_GET(self) -> None:
        """Handle any method the same way."""
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        """Read the request, compute the reply, deliver it."""
        try:
            raw, size = self._read_body()
        except (_BadFraming, ValueError) as exc:
            self.close_connection = True
            self.send_error(400, "Bad request framing: %s" % exc)
            return
        ex = Exchange(self.command, self.path, dict(self.headers.items()),
                      raw, size)
        state = self.server.state
        if ex.path.startswith(CONTROL_PREFIX):
            reply = serve_control(state, ex, self.server.router)
        else:
            reply = serve_exchange(state, self.server.router, ex)
        self._deliver(reply)

    def _read_body(self) -> Tuple[bytes, int]:
        """Read the body; keep at most KEEP_BODY_BYTES; return (kept, size)."""
        encoding = self.headers.get("Transfer-Encoding", "")
        if "chunked" in encoding.lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", 0
        size = int(length)
        if size < 0:
            raise _BadFraming("negative Content-Length")
        return self._read_exact(size), size

    def _read_exact(self, size: int) -> bytes:
        """Read size bytes, keeping only the first KEEP_BODY_BYTES."""
        kept: List[bytes] = []
        left, room = size, KEEP_BODY_BYTES
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                raise _BadFraming("body shorter than Content-Length")
            left -= len(chunk)
            if room > 0:
                kept.append(chunk[:room])
                room -= len(kept[-1])
        return b"".join(kept)

    def _read_chunked(self) -> Tuple[bytes, int]:
        """Read a chunked body; return (kept bytes, total size)."""
        kept: List[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size = int(line.split(b";")[0].strip() or b"x", 16)
            if size == 0:
                break
            kept.append(self._read_exact(size))
            total += size
            self.rfile.readline(1024)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(kept)[:KEEP_BODY_BYTES], total

    def _deliver(self, reply: Reply) -> None:
        """Send the reply, or hang, or drop the connection."""
        try:
            if reply.drop:
                self._close_now()
            elif reply.hang is not None:
                self.server.state.stop_event.wait(reply.hang)
                self._close_now()
            else:
                self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        """Write a normal HTTP response."""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.partial:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self._close_now()
        elif self.command != "HEAD":
            self.wfile.write(reply.body)

    def _close_now(self) -> None:
        """Close the connection without sending a byte."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --------------------------------------------------------------- StandIn

class StandIn:
    """The stand-in server running in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 tls: Optional[Tuple[str, str]] = None) -> None:
        """Prepare (but do not start) a server on a loopback address.

        tls: (certificate file, key file) to serve https instead of http.
        """
        self.host = check_loopback(host)
        self.port = port
        self.tls = tls
        self.state = StandInState()
        self.router = default_router()
        self.state.alert_listeners.extend(self.router.alert_listeners)
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        scheme = "https" if self.tls else "http"
        return "%s://%s:%d" % (scheme, self.host, self.port)

    def start(self) -> str:
        """Start listening and serving; return the base URL."""
        if self._server is not None:
            return self.url
        self.state.stop_event.clear()
        server = _Server((self.host, self.port), self.state, self.router)
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket,
                                                server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="pagerduty-standin", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, wake any hanging replies, close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        self.state.stop_event.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "StandIn":
        """Start the server for a with-block."""
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Stop the server at the end of a with-block."""
        self.stop()

    def requests(self) -> List[Dict[str, Any]]:
        """All recorded (non-control) requests, oldest first."""
        return self.state.requests()

    def alerts(self) -> List[Dict[str, Any]]:
        """All alerts and their status."""
        return self.state.alerts()

    def transitions(self) -> List[Dict[str, Any]]:
        """All alert status transitions, in order."""
        return self.state.transitions()

    def faults(self) -> List[Dict[str, Any]]:
        """Faults still waiting to be used."""
        return self.state.faults()

    def add_faults(self, faults: List[Dict[str, Any]]) -> int:
        """Queue faults (see module notes); return how many were queued."""
        return self.state.add_faults(list(faults))

    def set_rate_limit(self, per_key: Optional[int],
                       window: float = 60.0) -> None:
        """Limit events per routing key per window; None switches off."""
        spec = None if per_key is None else {"per_key": per_key,
                                             "window": window}
        self.state.add_faults([{"rate_limit": spec}])

    def reset(self) -> None:
        """Forget requests, alerts, faults, the rate limit, REST state."""
        self.state.reset()

    def add_api_key(self, key: str) -> None:
        """Accept key in REST 'Authorization: Token token=<key>' headers."""
        _rest_module().add_api_key(self.state, key)

    def add_workflow(self, workflow_id: str) -> None:
        """Make an incident workflow with this id known."""
        _rest_module().add_workflow(self.state, workflow_id)

    def add_incident(self, incident_key: Optional[str] = None,
                     status: str = "triggered", levels: int = 3,
                     title: str = "Stand-in incident") -> str:
        """Create an incident directly; return its PagerDuty-style id."""
        return _rest_module().add_incident(
            self.state, incident_key, status, levels, title)

    def set_default_levels(self, levels: int) -> None:
        """Policy depth for incidents that Events triggers create later."""
        _rest_module().set_default_levels(self.state, levels)

    def incidents(self) -> List[Dict[str, Any]]:
        """All incidents (with stand-in fields: levels, history)."""
        return _rest_module().incidents(self.state)

    def escalations(self) -> List[Dict[str, Any]]:
        """All escalation-level changes made through PUT /incidents/{id}."""
        return _rest_module().escalations(self.state)

    def workflow_instances(self) -> List[Dict[str, Any]]:
        """All incident workflow instances started, oldest first."""
        return _rest_module().workflow_instances(self.state)


# ------------------------------------------------------------------- CLI

def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse command-line options."""
    parser = argparse.ArgumentParser(
        description="Local PagerDuty Events and REST API v2 "
                    "stand-in (loopback only)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="IPv4 loopback address to bind (default "
                             "127.0.0.1); anything else is refused")
    parser.add_argument("--port", type=int, default=0,
                        help="port to bind; 0 picks a free one")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening")
    return parser.parse_args(argv)


def _write_port_file(path: str, port: int) -> None:
    """Write the port atomically so readers never see a partial file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the stand-in until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    try:
        standin = StandIn(args.host, args.port)
    except ValueError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    url = standin.start()
    if args.port_file:
        _write_port_file(args.port_file, standin.port)
    print(url, flush=True)
    while not done.wait(0.5):
        pass
    standin.stop()
    return 0


if __name__ == "__main__":
    if not __package__:
        # Run as a script: import the package copy so rest.py's relative
        # imports work and there is one copy of every class.
        sys.path.insert(0, os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        from standin.server import main as package_main
        sys.exit(package_main())
    sys.exit(main())
