"""PagerDuty REST API v2 routes for the stand-in (escalate, workflows).

Rules follow sections 2, 3 and 5 of the shared docs/pagerduty.md.  REST
state lives in StandInState.extras["rest"], so StandInState.reset() clears
it.  Where PagerDuty's real behaviour is unknown the stand-in is strict
and the spot says so ("guess" or "stand-in rule").
"""
from __future__ import annotations

import copy
import functools
import re
import secrets
import string
import time
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

from .server import (RATELIMIT_LIMIT, Exchange, Handler, Reply, Router,
                     StandInState, json_reply, new_dedup_key)

ACCEPT_V2 = "application/vnd.pagerduty+json;version=2"
DEFAULT_LEVELS = 3
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
STATUSES = ("triggered", "acknowledged", "resolved")
REST_SEGMENTS = frozenset(("incidents", "incident_workflows",
                           "response_plays"))
ID_ALPHABET = string.ascii_uppercase + string.digits
LIST_PARAMS = ("incident_key", "statuses[]", "limit", "offset", "total")
# Fields PagerDuty documents for PUT /incidents/{id} (schema, section 2.2).
UPDATE_FIELDS = frozenset((
    "type", "status", "priority", "resolution", "title", "escalation_level",
    "assignments", "incident_type", "escalation_policy", "urgency",
    "conference_bridge", "service",
))
# Fixed values, like an evaluated request far from the limit.
RATELIMIT_HEADERS = {"ratelimit-limit": str(RATELIMIT_LIMIT),
                     "ratelimit-remaining": str(RATELIMIT_LIMIT - 1),
                     "ratelimit-reset": "60"}
FROM_MISSING = ('You must specify a user\'s email address in the "From" '
                'header to perform this action')
FAULT_ERRORS = {401: ("Authentication failed", 2006),
                404: ("Not Found", 2100),
                429: ("Rate Limit Exceeded", 2020)}
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")
_TOKEN = re.compile(r"Token token=(\S+)")
_DIGITS = re.compile(r"[0-9]{1,12}")


# ---------------------------------------------------------------- errors

class RestError(Exception):
    """A REST error answer, raised by checks and turned into a reply."""

    def __init__(self, status: int, message: str, code: int,
                 errors: Optional[List[str]] = None) -> None:
        """Describe the error the way PagerDuty's REST API shapes it."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors

    def reply(self) -> Reply:
        """The HTTP reply for this error."""
        return json_reply(self.status, rest_error_body(
            self.message, self.code, self.errors))


def rest_error_body(message: str, code: int,
                    errors: Optional[List[str]] = None) -> Dict[str, Any]:
    """Build {"error": {"message", "code", "errors"?}}."""
    error: Dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        error["errors"] = list(errors)
    return {"error": error}


def invalid_input(errors: List[str]) -> RestError:
    """The 400 'Invalid Input Provided' (code 2001) error."""
    return RestError(400, "Invalid Input Provided", 2001, errors)


def not_found(detail: str) -> RestError:
    """The 404 'Not Found' (code 2100) error."""
    return RestError(404, "Not Found", 2100, [detail])


def rest_fault_body(status: int) -> Dict[str, Any]:
    """Body for a fault injected on a REST path (REST error shape)."""
    if 200 <= status < 300:
        return {}
    if status == 429:
        return rest_error_body("Rate Limit Exceeded", 2020)
    # 2000 is PagerDuty's documented internal-error code; other
    # statuses have no documented code, so 2000 is a guess for them.
    message, code = FAULT_ERRORS.get(
        status, (_status_phrase(status), 2000))
    return rest_error_body(
        message, code, ["HTTP %d injected by the stand-in" % status])


def _status_phrase(status: int) -> str:
    """The standard reason phrase for status, or 'Error'."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def is_rest_path(path: str) -> bool:
    """Tell whether path belongs to the REST API (not Events)."""
    return path.strip("/").split("/")[0] in REST_SEGMENTS


# ----------------------------------------------------------------- state

class RestState:
    """Incidents, API keys, workflows and what REST calls did."""

    def __init__(self) -> None:
        """Start empty, with three-level escalation policies."""
        self.api_keys: set = set()
        self.workflows: set = set()
        self.incidents: Dict[str, Dict[str, Any]] = {}
        self.by_alert: Dict[Tuple[str, str], str] = {}
        self.escalations: List[Dict[str, Any]] = []
        self.instances: List[Dict[str, Any]] = []
        self.default_levels = DEFAULT_LEVELS


def rest_state(state: StandInState) -> RestState:
    """The REST part of state, made on first use (and after reset)."""
    with state.lock:
        found = state.extras.get("rest")
        if found is None:
            found = state.extras["rest"] = RestState()
        return found


def new_id(taken: Any) -> str:
    """A fresh PagerDuty-style id: 'P' and six uppercase letters/digits."""
    while True:
        ident = "P" + "".join(secrets.choice(ID_ALPHABET) for _ in range(6))
        if ident not in taken:
            return ident


def _now() -> str:
    """The current UTC time as PagerDuty writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _create_incident(rs: RestState, incident_key: str, title: str,
                     levels: int, status: str = "triggered",
                     routing_key: Optional[str] = None) -> Dict[str, Any]:
    """Store a new incident at escalation level 1 and return it."""
    now = _now()
    incident = {
        "id": new_id(rs.incidents), "incident_number": len(rs.incidents) + 1,
        "title": title, "incident_key": incident_key, "status": status,
        "escalation_level": 1, "levels": levels, "routing_key": routing_key,
        "created_at": now, "updated_at": now, "history": [status],
    }
    rs.incidents[incident["id"]] = incident
    return incident


def _set_status(incident: Dict[str, Any], status: str) -> None:
    """Move an incident to status and note it in its history."""
    if incident["status"] != status:
        incident["status"] = status
        incident["updated_at"] = _now()
        incident["history"].append(status)


def incident_view(incident: Dict[str, Any]) -> Dict[str, Any]:
    """The incident as REST answers show it.

    escalation_level is not in PagerDuty's Incident schema; the stand-in
    adds it so tests and clients can see the escalation happen.
    """
    return {
        "id": incident["id"], "type": "incident",
        "summary": "[#%d] %s" % (incident["incident_number"],
                                 incident["title"]),
        "incident_number": incident["incident_number"],
        "title": incident["title"], "incident_key": incident["incident_key"],
        "status": incident["status"],
        "escalation_level": incident["escalation_level"],
        "urgency": "high", "created_at": incident["created_at"],
        "updated_at": incident["updated_at"],
    }


def on_alert_change(state: StandInState, alert: Dict[str, Any],
                    old: Optional[str]) -> None:
    """Keep incidents in step with Events alerts (state.lock is held).

    A trigger that opens an alert (new, or after resolve) opens a new
    incident, as PagerDuty does; acknowledge/resolve move its status.
    """
    rs = rest_state(state)
    ident = (alert["routing_key"], alert["dedup_key"])
    if alert["status"] == "triggered" and old in (None, "resolved"):
        incident = _create_incident(
            rs, alert["dedup_key"], alert["summary"] or alert["dedup_key"],
            rs.default_levels, routing_key=alert["routing_key"])
        rs.by_alert[ident] = incident["id"]
        return
    incident = rs.incidents.get(rs.by_alert.get(ident, ""))
    if incident is not None and alert["status"] is not None:
        _set_status(incident, alert["status"])


# ---------------------------------------------------- state: public API

def _check_levels(levels: Any) -> int:
    """Check an escalation policy depth (integer >= 1)."""
    if isinstance(levels, bool) or not isinstance(levels, int) \
            or levels < 1:
        raise ValueError("levels must be an integer >= 1: %r" % (levels,))
    return levels


def _check_name(value: Any, what: str) -> str:
    """Check a key or id: a non-empty string with no spaces or '/'."""
    if not isinstance(value, str) or not value or "/" in value \
            or any(char.isspace() for char in value):
        raise ValueError("%s must be a non-empty string without spaces "
                         "or '/': %r" % (what, value))
    return value


def add_api_key(state: StandInState, key: Any) -> None:
    """Accept key in 'Authorization: Token token=<key>'."""
    _check_name(key, "API key")
    with state.lock:
        rest_state(state).api_keys.add(key)


def add_workflow(state: StandInState, workflow_id: Any) -> None:
    """Make an incident workflow with this id known."""
    _check_name(workflow_id, "workflow id")
    with state.lock:
        rest_state(state).workflows.add(workflow_id)


def add_incident(state: StandInState, incident_key: Any = None,
                 status: Any = "triggered", levels: Any = DEFAULT_LEVELS,
                 title: Any = "Stand-in incident") -> str:
    """Create an incident directly; return its id."""
    if status not in STATUSES:
        raise ValueError("status must be one of %s" % ", ".join(STATUSES))
    if incident_key is not None and not isinstance(incident_key, str):
        raise ValueError("incident_key must be a string or null")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be a non-blank string")
    levels = _check_levels(levels)
    with state.lock:
        incident = _create_incident(
            rest_state(state), incident_key or new_dedup_key(), title,
            levels, status)
        return incident["id"]


def set_default_levels(state: StandInState, levels: Any) -> None:
    """Policy depth for incidents that Events triggers create later."""
    levels = _check_levels(levels)
    with state.lock:
        rest_state(state).default_levels = levels


def incidents(state: StandInState) -> List[Dict[str, Any]]:
    """Copies of all incidents, oldest first, with stand-in fields."""
    with state.lock:
        return copy.deepcopy(list(rest_state(state).incidents.values()))


def escalations(state: StandInState) -> List[Dict[str, Any]]:
    """Copies of all escalation-level changes, in order."""
    with state.lock:
        return copy.deepcopy(rest_state(state).escalations)


def workflow_instances(state: StandInState) -> List[Dict[str, Any]]:
    """Copies of all started workflow instances, in order."""
    with state.lock:
        return copy.deepcopy(rest_state(state).instances)


# ------------------------------------------------------- request checks

def _check_auth(state: StandInState, ex: Exchange) -> None:
    """Demand 'Authorization: Token token=<known key>' (else 401)."""
    header = ex.header("Authorization")
    if header is None:
        raise _auth_error("The Authorization header is missing")
    match = _TOKEN.fullmatch(header)
    if match is None:
        raise _auth_error("The Authorization header must be exactly "
                          "'Token token=<API key>'")
    with state.lock:
        known = match.group(1) in rest_state(state).api_keys
    if not known:
        raise _auth_error("The API key is not known to the stand-in")


def _auth_error(detail: str) -> RestError:
    """The 401 'Authentication failed' (code 2006) error."""
    return RestError(401, "Authentication failed", 2006, [detail])


def _check_accept(ex: Exchange) -> None:
    """Demand the v2 Accept header.

    PagerDuty's schema marks Accept required on every operation, while its
    prose (REST versioning page) makes it optional; the stand-in follows
    the stricter schema and answers 400 (code 2001 is a guess).
    """
    value = ex.header("Accept")
    if value is None:
        raise invalid_input(["The Accept header is missing; send Accept: "
                             + ACCEPT_V2 + " (stand-in rule)"])
    offered = [part.replace(" ", "").lower() for part in value.split(",")]
    if ACCEPT_V2 not in offered:
        raise invalid_input(["The Accept header must be %s, not %r "
                             "(stand-in rule)" % (ACCEPT_V2, value)])


def _check_content_type(ex: Exchange) -> None:
    """Demand Content-Type: application/json (PUT and POST)."""
    value = ex.header("Content-Type") or ""
    if value.split(";")[0].strip().lower() != "application/json":
        # Required by schema and prose; the status and code are guesses.
        raise invalid_input(["Content-Type must be application/json"])


def _check_from(ex: Exchange) -> None:
    """Demand an email-shaped From header."""
    value = (ex.header("From") or "").strip()
    if not value:
        # Message observed from PagerDuty; the code is a guess (2011 is
        # documented as the old "specify a requester_id" error).
        raise RestError(400, FROM_MISSING, 2011, [FROM_MISSING])
    if _EMAIL.fullmatch(value) is None:
        raise RestError(400, 'Malformed "From" header', 1028,
                        ["From must be a user's email address, not %r"
                         % value])


def _json_object(ex: Exchange) -> Dict[str, Any]:
    """The request body as a JSON object (else 400 code 2001)."""
    if not ex.json_ok:
        raise invalid_input(["The request body is not valid JSON"])
    if not isinstance(ex.json, dict):
        raise invalid_input(["The request body must be a JSON object"])
    return ex.json


def _unknown_errors(obj: Dict[str, Any], allowed: Any,
                    prefix: str) -> List[str]:
    """Reject fields PagerDuty does not document (stand-in rule)."""
    return ["Unknown field '%s%s' (the stand-in rejects fields PagerDuty "
            "does not document)" % (prefix, name)
            for name in sorted(set(obj) - set(allowed))]


def _object_field(obj: Dict[str, Any], name: str, where: str,
                  errors: List[str]) -> Optional[Dict[str, Any]]:
    """Return obj[name] if it is an object, else note an error."""
    if name not in obj:
        errors.append("'%s' is required" % where)
        return None
    value = obj[name]
    if not isinstance(value, dict):
        errors.append("'%s' must be a JSON object" % where)
        return None
    return value


# ------------------------------------------------------- escalate (PUT)

def _type_errors(incident: Dict[str, Any]) -> List[str]:
    """Check incident.type: required, incident or incident_reference."""
    value = incident.get("type")
    if value in ("incident", "incident_reference"):
        return []
    return ["'incident.type' must be 'incident' or 'incident_reference'"]


def _level_errors(incident: Dict[str, Any]) -> List[str]:
    """Check incident.escalation_level: an integer >= 1.

    PagerDuty reportedly treats 0 like 1; the stand-in rejects it.  A PUT
    without escalation_level is rejected too: escalation is the only
    update the stand-in implements.
    """
    if "escalation_level" not in incident:
        return ["'incident.escalation_level' is required (the stand-in "
                "implements only escalation)"]
    level = incident["escalation_level"]
    if isinstance(level, bool) or not isinstance(level, int):
        return ["'incident.escalation_level' must be an integer"]
    if level < 1:
        return ["'incident.escalation_level' must be 1 or more"]
    return []


def _unsupported_errors(incident: Dict[str, Any]) -> List[str]:
    """Reject documented update fields the stand-in does not implement."""
    return ["'incident.%s' is documented by PagerDuty but not implemented "
            "by the stand-in" % name
            for name in sorted(set(incident) & UPDATE_FIELDS)
            if name not in ("type", "escalation_level")]


def escalate_errors(body: Dict[str, Any]) -> List[str]:
    """Check a PUT /incidents/{id} body; return readable errors."""
    errors = _unknown_errors(body, ("incident",), "")
    incident = _object_field(body, "incident", "incident", errors)
    if incident is None:
        return errors
    errors += _unknown_errors(incident, UPDATE_FIELDS, "incident.")
    errors += _unsupported_errors(incident)
    errors += _type_errors(incident)
    errors += _level_errors(incident)
    return errors


def _find_incident(rs: RestState, incident_id: str) -> Dict[str, Any]:
    """The incident with this id, else 404 code 2100."""
    incident = rs.incidents.get(incident_id)
    if incident is None:
        raise not_found("Incident %s not found" % incident_id)
    return incident


def _escalate(state: StandInState, ex: Exchange,
              level: int) -> Dict[str, Any]:
    """Move the incident to level and record it (state.lock held)."""
    rs = rest_state(state)
    incident = _find_incident(rs, ex.params["id"])
    if incident["status"] == "resolved":
        # Code 1001 is documented; that PUT answers it here is a guess.
        raise RestError(400, "Incident Already Resolved", 1001,
                        ["Incident %s is resolved" % incident["id"]])
    if level > incident["levels"]:
        # Undocumented; 1006 "Cannot Escalate" is the nearest code: guess.
        raise RestError(400, "Cannot Escalate", 1006, [
            "Escalation level %d is above the incident's escalation "
            "policy, which has %d levels" % (level, incident["levels"])])
    rs.escalations.append({
        "incident_id": incident["id"],
        "incident_key": incident["incident_key"],
        "from": incident["escalation_level"], "to": level,
        "requester": ex.header("From"), "request_seq": ex.seq,
        "time": time.monotonic()})
    incident["escalation_level"] = level
    incident["updated_at"] = _now()
    return incident


def handle_update_incident(state: StandInState, ex: Exchange) -> Reply:
    """Handle PUT /incidents/{id} (escalation only)."""
    _check_accept(ex)
    _check_content_type(ex)
    _check_from(ex)
    errors = escalate_errors(_json_object(ex))
    if errors:
        raise invalid_input(errors)
    level = ex.json["incident"]["escalation_level"]
    with state.lock:
        incident = incident_view(_escalate(state, ex, level))
    return json_reply(200, {"incident": incident})


# ------------------------------------------------------ list (GET)

def _query_params(raw: str, errors: List[str]) -> Dict[str, List[str]]:
    """Parse the query; note unknown or unsupported parameters."""
    params = parse_qs(raw, keep_blank_values=True)
    for name in sorted(set(params) - set(LIST_PARAMS)):
        # PagerDuty documents more filters; the stand-in refuses them
        # rather than ignore them silently (stand-in rule).
        errors.append("Unknown or unsupported query parameter '%s' (the "
                      "stand-in supports %s)" % (name, ", ".join(LIST_PARAMS)))
    return params


def _single(params: Dict[str, List[str]], name: str,
            errors: List[str]) -> Optional[str]:
    """The one value of a query parameter, or None if absent."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        errors.append("Query parameter '%s' was given more than once" % name)
    return values[0]


def _int_param(params: Dict[str, List[str]], name: str, default: int,
               bounds: Tuple[int, int], errors: List[str]) -> int:
    """An integer query parameter within bounds (else an error)."""
    text = _single(params, name, errors)
    if text is None:
        return default
    if _DIGITS.fullmatch(text) and bounds[0] <= int(text) <= bounds[1]:
        return int(text)
    errors.append("'%s' must be an integer from %d to %d"
                  % (name, bounds[0], bounds[1]))
    return default


def _statuses(params: Dict[str, List[str]], errors: List[str]) -> List[str]:
    """The statuses[] filter values (all statuses when absent)."""
    wanted = params.get("statuses[]", list(STATUSES))
    if any(value not in STATUSES for value in wanted):
        errors.append("'statuses[]' values must be triggered, "
                      "acknowledged or resolved")
    return wanted


def list_query(raw: str) -> Dict[str, Any]:
    """Check and decode the GET /incidents query string."""
    errors: List[str] = []
    params = _query_params(raw, errors)
    query = {
        "incident_key": _single(params, "incident_key", errors),
        "statuses": _statuses(params, errors),
        "limit": _int_param(params, "limit", DEFAULT_LIMIT,
                            (1, MAX_LIMIT), errors),
        "offset": _int_param(params, "offset", 0, (0, 10 ** 9), errors),
        "total": _single(params, "total", errors) or "false",
    }
    if query["total"] not in ("true", "false"):
        errors.append("'total' must be true or false")
    if errors:
        raise invalid_input(errors)
    return query


def _matches(incident: Dict[str, Any], query: Dict[str, Any]) -> bool:
    """Tell whether an incident passes the list filters."""
    key = query["incident_key"]
    if key is not None and incident["incident_key"] != key:
        return False
    return incident["status"] in query["statuses"]


def handle_list_incidents(state: StandInState, ex: Exchange) -> Reply:
    """Handle GET /incidents (incident_key and statuses[] filters)."""
    _check_accept(ex)
    query = list_query(ex.query)
    with state.lock:
        found = [incident_view(incident)
                 for incident in rest_state(state).incidents.values()
                 if _matches(incident, query)]
    start, limit = query["offset"], query["limit"]
    total = len(found) if query["total"] == "true" else None
    return json_reply(200, {
        "incidents": found[start:start + limit], "limit": limit,
        "offset": start, "more": start + limit < len(found),
        "total": total})


# ------------------------------------------- workflows, response plays

def _reference_errors(ref: Dict[str, Any], where: str) -> List[str]:
    """Check an incident reference {"id": ..., "type": ...}."""
    errors = _unknown_errors(ref, ("id", "type"), where + ".")
    ident = ref.get("id")
    if not isinstance(ident, str) or not ident.strip():
        errors.append("'%s.id' must be a non-blank string" % where)
    if ref.get("type") != "incident_reference":
        # The schema leaves type optional; the stand-in requires it.
        errors.append("'%s.type' must be 'incident_reference'" % where)
    return errors


def workflow_errors(body: Dict[str, Any]) -> List[str]:
    """Check a POST /incident_workflows/{id}/instances body."""
    where = "incident_workflow_instance"
    errors = _unknown_errors(body, (where,), "")
    instance = _object_field(body, where, where, errors)
    if instance is None:
        return errors
    errors += _unknown_errors(instance, ("id", "type", "incident"),
                              where + ".")
    if instance.get("type", where) != where:
        errors.append("'%s.type' must be '%s'" % (where, where))
    if not isinstance(instance.get("id", ""), str):
        errors.append("'%s.id' must be a string" % where)
    ref = _object_field(instance, "incident", where + ".incident", errors)
    if ref is not None:
        errors += _reference_errors(ref, where + ".incident")
    return errors


def _start_instance(state: StandInState, ex: Exchange,
                    incident_id: str) -> Dict[str, Any]:
    """Start and record a workflow instance (state.lock held).

    A new instance id is always generated; whether PagerDuty echoes an id
    given in the request is unknown.
    """
    rs = rest_state(state)
    workflow_id = ex.params["id"]
    if workflow_id not in rs.workflows:
        raise not_found("Incident workflow %s not found" % workflow_id)
    _find_incident(rs, incident_id)
    instance_id = new_id({i["id"] for i in rs.instances})
    rs.instances.append({
        "id": instance_id, "workflow_id": workflow_id,
        "incident_id": incident_id, "request_seq": ex.seq,
        "time": time.monotonic()})
    return {"id": instance_id, "type": "incident_workflow_instance",
            "incident": {"id": incident_id, "type": "incident_reference"}}


def handle_start_workflow(state: StandInState, ex: Exchange) -> Reply:
    """Handle POST /incident_workflows/{id}/instances (no From needed)."""
    _check_accept(ex)
    _check_content_type(ex)
    errors = workflow_errors(_json_object(ex))
    if errors:
        raise invalid_input(errors)
    incident_id = ex.json["incident_workflow_instance"]["incident"]["id"]
    with state.lock:
        instance = _start_instance(state, ex, incident_id)
    return json_reply(201, {"incident_workflow_instance": instance})


def handle_run_response_play(state: StandInState, ex: Exchange) -> Reply:
    """Handle POST /response_plays/{id}/run: removed, so always 404.

    Response Plays left the published API on 2025-09-09 (pagerduty.md
    section 3.2); what the live API answers now is unknown.
    """
    raise RestError(404, "Not Found", 2100)


# --------------------------------------------------------------- wiring

def rest_route(handler: Handler) -> Handler:
    """Wrap a REST handler: auth first, error bodies, rate-limit headers."""
    @functools.wraps(handler)
    def wrapped(state: StandInState, ex: Exchange) -> Reply:
        """Authenticate, run the handler, add ratelimit-* headers."""
        try:
            _check_auth(state, ex)
            reply = handler(state, ex)
        except RestError as error:
            reply = error.reply()
        reply.headers.update(RATELIMIT_HEADERS)
        return reply
    return wrapped


def _control_body(ex: Exchange, allowed: Tuple[str, ...]) -> Dict[str, Any]:
    """A control call's JSON object body with only allowed keys."""
    if not ex.json_ok or not isinstance(ex.json, dict):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(set(ex.json) - set(allowed))
    if unknown:
        raise ValueError("unknown keys %s (allowed: %s)"
                         % (unknown, ", ".join(allowed)))
    return ex.json


def _control_add_incident(state: StandInState, ex: Exchange) -> Any:
    """POST /_standin/incidents {incident_key?, status?, levels?, title?}."""
    body = _control_body(ex, ("incident_key", "status", "levels", "title"))
    return {"id": add_incident(state, **body)}


def _control_add_api_key(state: StandInState, ex: Exchange) -> Any:
    """POST /_standin/api_keys {"key": ...}."""
    add_api_key(state, _control_body(ex, ("key",)).get("key"))
    return {"status": "added"}


def _control_add_workflow(state: StandInState, ex: Exchange) -> Any:
    """POST /_standin/workflows {"id": ...}."""
    add_workflow(state, _control_body(ex, ("id",)).get("id"))
    return {"status": "added"}


def _control_default_levels(state: StandInState, ex: Exchange) -> Any:
    """POST /_standin/default_levels {"levels": N}."""
    set_default_levels(state, _control_body(ex, ("levels",)).get("levels"))
    return {"status": "set"}


def control_call(action: Any) -> Handler:
    """Wrap a control action: 200 with its result, 400 on ValueError."""
    def handler(state: StandInState, ex: Exchange) -> Reply:
        """Run the action and answer in JSON."""
        try:
            return json_reply(200, action(state, ex))
        except (ValueError, TypeError) as exc:
            return json_reply(400, {"error": str(exc)})
    return handler


def _control_routes(router: Router) -> None:
    """Add the REST control calls under /_standin/."""
    router.add_control("GET", "incidents",
                       control_call(lambda s, e: incidents(s)))
    router.add_control("GET", "escalations",
                       control_call(lambda s, e: escalations(s)))
    router.add_control("GET", "workflow_instances",
                       control_call(lambda s, e: workflow_instances(s)))
    router.add_control("POST", "incidents",
                       control_call(_control_add_incident))
    router.add_control("POST", "api_keys",
                       control_call(_control_add_api_key))
    router.add_control("POST", "workflows",
                       control_call(_control_add_workflow))
    router.add_control("POST", "default_levels",
                       control_call(_control_default_levels))


def rest_routes(router: Router) -> None:
    """Add the REST API v2 routes, control calls and hooks to router."""
    router.add("GET", "/incidents", rest_route(handle_list_incidents))
    router.add("PUT", "/incidents/{id}", rest_route(handle_update_incident))
    router.add("POST", "/incident_workflows/{id}/instances",
               rest_route(handle_start_workflow))
    router.add("POST", "/response_plays/{response_play_id}/run",
               rest_route(handle_run_response_play))
    router.add_fault_body(is_rest_path, rest_fault_body)
    router.alert_listeners.append(on_alert_change)
    _control_routes(router)
