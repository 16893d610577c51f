"""Builds the Events API v2 event for a notification. Pure: no I/O."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from .env import Invocation
from .errors import ConfigError
from .settings import EventSettings

log = logging.getLogger(__name__)

# Limits of the Events API v2 (pagerduty.md §1.2).
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
MAX_EVENT_BYTES = 512000

AUTO_ACTION = {"success": "resolve"}
AUTO_SEVERITY = {
    "failure": "error",
    "retryablefailure": "warning",
    "avgduration": "warning",
    "start": "info",
    "success": "info",
}

_OUTCOME = {
    "start": "started",
    "success": "succeeded",
    "retryablefailure": "failed and will be retried",
    "avgduration": "is running longer than its average duration",
}
_FAILURE_OUTCOME = {
    "aborted": "was aborted",
    "timedout": "timed out",
    "missed": "missed its scheduled run",
}

OVERSIZE_NOTE = (
    "Custom details were removed: the event was larger than PagerDuty's "
    "512 KB limit."
)


def build(
    inv: Invocation, settings: EventSettings, text: Dict[str, str]
) -> Dict[str, Any]:
    """The event to send, from checked settings and rendered text."""
    action = settings.action
    if action == "auto":
        action = AUTO_ACTION.get(inv.trigger, "trigger")
    event: Dict[str, Any] = {
        "routing_key": settings.integration_key,
        "event_action": action,
        "dedup_key": dedup_key(inv, text.get("dedupe_key", "")),
        "payload": _payload(inv, settings, text),
        "client": "Rundeck",
    }
    client_url = _web_url(inv.job.get("serverurl")) or _origin(
        _web_url(inv.execution.get("href")))
    if client_url:
        event["client_url"] = client_url
    links = _links(inv)
    if links:
        event["links"] = links
    images = _images(text.get("images", ""))
    if images:
        event["images"] = images
    return fit_size(event)


def dedup_key(inv: Invocation, rendered: str) -> str:
    """The dedup key: given, or stable per job; at most 255 characters."""
    key = rendered.strip() or default_dedup_key(inv)
    if len(key) <= MAX_DEDUP_KEY_CHARS:
        return key
    import hashlib  # only here: most keys are short

    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key[: MAX_DEDUP_KEY_CHARS - len(digest) - 1] + "~" + digest


def default_dedup_key(inv: Invocation) -> str:
    """Same for every run of one job, different between jobs."""
    project = inv.job.get("project") or inv.execution.get("project", "")
    job_id = inv.job.get("id")
    if job_id:
        return "rundeck:%s:job:%s" % (project, job_id)
    return "rundeck:%s:execution:%s" % (project, inv.execution.get("id", ""))


def _payload(
    inv: Invocation, settings: EventSettings, text: Dict[str, str]
) -> Dict[str, Any]:
    severity = settings.severity
    if severity == "auto":
        severity = AUTO_SEVERITY.get(inv.trigger, "error")
    payload: Dict[str, Any] = {
        "summary": cut_summary(_given(text, "summary") or default_summary(inv)),
        "source": _given(text, "source") or default_source(inv),
        "severity": severity,
        "component": _given(text, "component") or job_title(inv),
        "group": _given(text, "group") or _project(inv),
        "class": _given(text, "class") or "rundeck job",
        "custom_details": custom_details(inv, text.get("custom_details")),
    }
    timestamp = _timestamp(inv)
    if timestamp:
        payload["timestamp"] = timestamp
    return {k: v for k, v in payload.items() if v not in ("", None)}


def _given(text: Dict[str, str], name: str) -> str:
    """A rendered property, or "" when it is blank (then the default)."""
    return text.get(name, "").strip()


def job_title(inv: Invocation) -> str:
    """The job's group and name, as Rundeck shows them."""
    name = inv.job.get("name", "")
    group = inv.job.get("group", "")
    if not name:
        return "ad hoc command"
    return "%s/%s" % (group, name) if group else name


def default_summary(inv: Invocation) -> str:
    """Names the job, what happened and the execution."""
    outcome = _OUTCOME.get(inv.trigger)
    if outcome is None:
        status = inv.execution.get("status", "")
        outcome = _FAILURE_OUTCOME.get(status, "failed")
    summary = "Rundeck job %s %s" % (job_title(inv), outcome)
    if inv.execution.get("id"):
        summary += " (execution %s" % inv.execution["id"]
        summary += ", project %s)" % _project(inv) if _project(inv) else ")"
    return summary


def cut_summary(summary: str) -> str:
    """Cut to PagerDuty's limit on a character boundary, marked with …."""
    if len(summary) <= MAX_SUMMARY_CHARS:
        return summary
    log.warning(
        "summary: cut from %d to %d characters (PagerDuty's limit)",
        len(summary), MAX_SUMMARY_CHARS,
    )
    return summary[: MAX_SUMMARY_CHARS - 1] + "\u2026"


def default_source(inv: Invocation) -> str:
    """The Rundeck server's host name."""
    for url in (inv.job.get("serverurl"), inv.execution.get("href")):
        host = _host(url)
        if host:
            return host
    import socket  # only here: Rundeck's URL names the host

    return socket.gethostname() or "rundeck"


def custom_details(inv: Invocation, rendered: Optional[str]) -> Dict[str, Any]:
    """Default details with the administrator's JSON object merged over."""
    details = default_details(inv)
    if rendered and rendered.strip():
        try:
            extra = json.loads(rendered, parse_constant=_no_constant)
        except ValueError as err:
            raise ConfigError("custom_details: not valid JSON: %s" % err)
        except RecursionError:
            raise ConfigError("custom_details: nested too deeply") from None
        if not isinstance(extra, dict):
            raise ConfigError(
                "custom_details: must be a JSON object, got %s"
                % type(extra).__name__
            )
        details = _merge(details, extra)
    return details


def _no_constant(name: str) -> Any:
    raise ValueError("%s is not a JSON value" % name)


def default_details(inv: Invocation) -> Dict[str, Any]:
    """Job, execution and the job's (non-secure) option values."""
    ex = inv.execution
    job = {
        "id": inv.job.get("id"),
        "name": inv.job.get("name"),
        "group": inv.job.get("group"),
        "project": _project(inv),
        "link": inv.job.get("href"),
    }
    execution = {
        "id": ex.get("id"),
        "status": ex.get("status"),
        "user": ex.get("user") or inv.job.get("username"),
        "started": ex.get("datestartedw3c"),
        "ended": ex.get("dateendedw3c"),
        "link": ex.get("href"),
        "aborted_by": ex.get("abortedby"),
        "failed_nodes": ex.get("failednodeliststring"),
        "succeeded_nodes": ex.get("succeedednodeliststring"),
    }
    details: Dict[str, Any] = {
        "trigger": inv.trigger,
        "job": _compact(job),
        "execution": _compact(execution),
    }
    if inv.option:
        details["options"] = dict(sorted(inv.option.items()))
    return details


def fit_size(event: Dict[str, Any]) -> Dict[str, Any]:
    """Drop custom details, with a note, when the event is over 512 KB."""
    size = len(json.dumps(event).encode("utf-8"))
    if size <= MAX_EVENT_BYTES:
        return event
    log.warning(
        "custom_details: removed, the event was %d bytes and PagerDuty "
        "accepts at most %d", size, MAX_EVENT_BYTES,
    )
    payload = dict(event["payload"], custom_details={"note": OVERSIZE_NOTE})
    smaller = dict(event, payload=payload)
    size = len(json.dumps(smaller).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        longest = max(("summary", "source", "component", "group", "class"),
                      key=lambda k: len(str(payload.get(k, ""))))
        raise ConfigError(
            "%s: the event is %d bytes even without custom details; "
            "PagerDuty accepts at most %d" % (longest, size, MAX_EVENT_BYTES)
        )
    return smaller


def _links(inv: Invocation) -> List[Dict[str, str]]:
    links = []
    execution = _web_url(inv.execution.get("href"))
    if execution:
        text = "Rundeck execution %s" % inv.execution.get("id", "")
        links.append({"href": execution, "text": text.strip()})
    job = _web_url(inv.job.get("href"))
    if job:
        links.append({"href": job, "text": "Rundeck job %s" % job_title(inv)})
    return links


def _web_url(value: Optional[str]) -> str:
    """An absolute http(s) URL from the context, or "" if it is not one.

    Context values come from Rundeck and its jobs, unchecked; PagerDuty
    rejects the whole event over one bad link.
    """
    text = (value or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme in ("http", "https") and parts.netloc and not any(
            c.isspace() for c in text):
        return text
    return ""


# ISO 8601 as Rundeck writes it (…Z) and as PagerDuty's examples do.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
    r"(Z|[+-]\d{2}(:?\d{2})?)?")


def _images(raw: str) -> List[Dict[str, str]]:
    images = []
    for url in (part.strip() for part in raw.split(",")):
        if not url:
            continue
        parts = urlsplit(url)
        if (parts.scheme.lower() != "https" or not parts.netloc
                or any(c.isspace() for c in url)):
            raise ConfigError("images: %r is not an https:// URL" % url[:80])
        images.append({"src": url})
    return images


def _timestamp(inv: Invocation) -> str:
    ex = inv.execution
    if inv.trigger in ("start", "avgduration"):
        value = ex.get("datestartedw3c", "")
    else:
        value = ex.get("dateendedw3c") or ex.get("datestartedw3c", "")
    return value if _TIMESTAMP.fullmatch(value.strip()) else ""


def _project(inv: Invocation) -> str:
    return inv.job.get("project") or inv.execution.get("project", "")


def _host(url: Optional[str]) -> str:
    try:
        return urlsplit(url or "").hostname or ""
    except ValueError:
        return ""


def _origin(url: Optional[str]) -> str:
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return "%s://%s" % (parts.scheme, parts.netloc) if parts.netloc else ""


def _compact(values: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


def _merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
