"""Tests for the stand-in's REST API v2 routes and the REST schema helper."""
from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.standin import schema  # noqa: E402
from tests.standin.server import StandIn  # noqa: E402

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
API_KEY = "y_standinRestKey0001"
WORKFLOW = "PWF0001"
ACCEPT = "application/vnd.pagerduty+json;version=2"
FROM = "oncall@example.com"
HEADERS = {"Authorization": "Token token=" + API_KEY, "Accept": ACCEPT,
           "From": FROM}
PD_ID = re.compile(r"P[A-Z0-9]{6}")
RATELIMIT = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
FROM_MISSING = ('You must specify a user\'s email address in the "From" '
                'header to perform this action')
OPEN = "statuses[]=triggered&statuses[]=acknowledged"
ESCALATE = {"incident": {"type": "incident_reference",
                         "escalation_level": 2}}


@pytest.fixture
def standin():
    """A stand-in with a known API key and workflow, for one test."""
    with StandIn() as server:
        server.add_api_key(API_KEY)
        server.add_workflow(WORKFLOW)
        yield server


def call(server, method, path, body=None, **headers):
    """Send a REST request; header=None leaves that header out."""
    merged = dict(HEADERS, **headers)
    sent = {name: value for name, value in merged.items()
            if value is not None}
    sent.setdefault("Accept", None)  # stop requests adding */*
    return requests.request(method, server.url + path, json=body,
                            headers=sent, timeout=5)


def trigger(server, dedup_key="srv01/disk", action="trigger"):
    """Send an Events API v2 alert event."""
    body = {"routing_key": ROUTING_KEY, "event_action": action,
            "dedup_key": dedup_key,
            "payload": {"summary": "Disk full on srv01", "source": "srv01",
                        "severity": "critical"}}
    response = requests.post(server.url + "/v2/enqueue", json=body,
                             timeout=5)
    assert response.status_code == 202
    return response


def escalate(server, incident_id, level=2, **headers):
    """PUT /incidents/{id} with an escalation body."""
    body = copy.deepcopy(ESCALATE)
    body["incident"]["escalation_level"] = level
    return call(server, "PUT", "/incidents/" + incident_id, body, **headers)


def start_workflow(server, incident_id, workflow=WORKFLOW, **headers):
    """POST /incident_workflows/{id}/instances for incident_id."""
    body = {"incident_workflow_instance": {
        "incident": {"id": incident_id, "type": "incident_reference"}}}
    path = "/incident_workflows/%s/instances" % workflow
    return call(server, "POST", path, body, From=None, **headers)


def find(server, incident_key, statuses=OPEN):
    """GET /incidents for incident_key; return the incidents list."""
    query = "incident_key=%s" % requests.utils.quote(incident_key, safe="")
    if statuses:
        query += "&" + statuses
    response = call(server, "GET", "/incidents?" + query)
    assert response.status_code == 200, response.text
    return response.json()["incidents"]


def assert_rest_error(response, status, code, message=None):
    """Check a REST error answer: status, PagerDuty shape, code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"message", "code", "errors"}
    assert isinstance(error["message"], str)
    assert error["code"] == code
    assert all(isinstance(e, str) for e in error.get("errors", []))
    if message is not None:
        assert error["message"] == message
    for name in RATELIMIT:
        assert name in response.headers
    return error


# ------------------------------------------------------- auth + headers

ROUTES = [("GET", "/incidents"), ("PUT", "/incidents/PABC123"),
          ("POST", "/incident_workflows/%s/instances" % WORKFLOW),
          ("POST", "/response_plays/PRP0001/run")]


@pytest.mark.parametrize("method,path", ROUTES,
                         ids=[route[1] for route in ROUTES])
def test_rest_auth_missing_returns_401_code_2006(standin, method, path):
    response = call(standin, method, path, ESCALATE, Authorization=None)
    assert_rest_error(response, 401, 2006)


@pytest.mark.parametrize("header", [
    "Bearer " + API_KEY, "Token " + API_KEY, "token token=" + API_KEY,
    "Token token=", "Token token=%s extra" % API_KEY, API_KEY,
])
def test_rest_auth_malformed_returns_401(standin, header):
    response = call(standin, "GET", "/incidents", Authorization=header)
    assert_rest_error(response, 401, 2006)


def test_rest_auth_unknown_key_returns_401(standin):
    response = call(standin, "GET", "/incidents",
                    Authorization="Token token=someOtherKey")
    assert_rest_error(response, 401, 2006)


@pytest.mark.parametrize("accept", [None, "application/json", "*/*",
                                    "application/vnd.pagerduty+json"])
def test_rest_accept_missing_or_wrong_returns_400(standin, accept):
    incident = standin.add_incident()
    response = escalate(standin, incident, Accept=accept)
    assert_rest_error(response, 400, 2001, "Invalid Input Provided")
    assert standin.incidents()[0]["escalation_level"] == 1


def test_rest_accept_with_space_accepted(standin):
    accept = "application/vnd.pagerduty+json; version=2"
    response = call(standin, "GET", "/incidents", Accept=accept)
    assert response.status_code == 200


def test_rest_content_type_missing_on_put_returns_400(standin):
    incident = standin.add_incident()
    response = requests.put(
        standin.url + "/incidents/" + incident, timeout=5,
        data=json.dumps(ESCALATE).encode("utf-8"), headers=HEADERS)
    error = assert_rest_error(response, 400, 2001)
    assert "Content-Type" in error["errors"][0]


def test_rest_content_type_text_on_workflow_returns_400(standin):
    incident = standin.add_incident()
    response = start_workflow(standin, incident,
                              **{"Content-Type": "text/plain"})
    assert_rest_error(response, 400, 2001)
    assert standin.workflow_instances() == []


def test_rest_every_response_has_ratelimit_headers(standin):
    incident = standin.add_incident()
    responses = [call(standin, "GET", "/incidents"),
                 escalate(standin, incident),
                 escalate(standin, incident, level="x"),
                 escalate(standin, "PNOPE00"),
                 call(standin, "GET", "/incidents", Authorization=None)]
    assert [r.status_code for r in responses] == [200, 200, 400, 404, 401]
    for response in responses:
        assert response.headers["ratelimit-limit"] == "960"
        assert int(response.headers["ratelimit-remaining"]) > 0
        assert int(response.headers["ratelimit-reset"]) > 0


# ------------------------------------------------------ GET /incidents

def test_list_incidents_by_key_finds_events_incident(standin):
    trigger(standin)
    found = find(standin, "srv01/disk")
    assert len(found) == 1
    incident = found[0]
    assert PD_ID.fullmatch(incident["id"])
    assert incident["type"] == "incident"
    assert incident["incident_key"] == "srv01/disk"
    assert incident["status"] == "triggered"
    assert incident["escalation_level"] == 1
    assert incident["title"] == "Disk full on srv01"


def test_list_incidents_response_matches_schema(standin):
    trigger(standin)
    response = call(standin, "GET", "/incidents?" + OPEN)
    assert schema.validate_rest_response(
        "GET", "/incidents", 200, response.json()) == []
    assert set(response.json()) >= {"incidents", "limit", "offset", "more"}


def test_list_incidents_ack_then_resolve_event_stops_finding(standin):
    trigger(standin)
    trigger(standin, action="acknowledge")
    assert find(standin, "srv01/disk")[0]["status"] == "acknowledged"
    trigger(standin, action="resolve")
    assert find(standin, "srv01/disk") == []
    everything = find(standin, "srv01/disk", statuses=None)
    assert [i["status"] for i in everything] == ["resolved"]


def test_list_incidents_trigger_after_resolve_opens_new_incident(standin):
    trigger(standin)
    trigger(standin, action="resolve")
    trigger(standin)
    everything = find(standin, "srv01/disk", statuses=None)
    assert [i["status"] for i in everything] == ["resolved", "triggered"]
    assert everything[0]["id"] != everything[1]["id"]


def test_list_incidents_repeat_trigger_keeps_one_incident(standin):
    trigger(standin)
    trigger(standin)
    assert len(standin.incidents()) == 1


def test_list_incidents_other_key_not_found(standin):
    trigger(standin)
    assert find(standin, "srv02/cpu") == []


def test_list_incidents_limit_offset_total_paginate(standin):
    for number in range(3):
        standin.add_incident("key-%d" % number)
    first = call(standin, "GET", "/incidents?limit=2&total=true").json()
    assert [i["incident_key"] for i in first["incidents"]] == [
        "key-0", "key-1"]
    assert (first["limit"], first["offset"], first["more"],
            first["total"]) == (2, 0, True, 3)
    rest = call(standin, "GET", "/incidents?limit=2&offset=2").json()
    assert [i["incident_key"] for i in rest["incidents"]] == ["key-2"]
    assert (rest["more"], rest["total"]) == (False, None)


@pytest.mark.parametrize("query", [
    "statuses[]=open", "status[]=triggered", "statuses=triggered",
    "limit=0", "limit=101", "limit=%C2%B2", "offset=-1", "total=yes",
    "incident_key=a&incident_key=b", "service_ids[]=PSVC001",
])
def test_list_incidents_bad_query_returns_400(standin, query):
    response = call(standin, "GET", "/incidents?" + query)
    assert_rest_error(response, 400, 2001, "Invalid Input Provided")


def test_list_incidents_without_content_type_accepted(standin):
    response = requests.get(standin.url + "/incidents", headers=HEADERS,
                            timeout=5)
    assert response.status_code == 200
    assert response.json()["incidents"] == []


# ------------------------------------------------ PUT /incidents/{id}

def test_escalate_valid_request_moves_level_and_records(standin):
    incident = standin.add_incident("job-42")
    response = escalate(standin, incident, 3)
    assert response.status_code == 200
    body = response.json()
    assert body["incident"]["id"] == incident
    assert body["incident"]["escalation_level"] == 3
    assert schema.validate_rest_response(
        "PUT", "/incidents/" + incident, 200, body) == []
    assert standin.incidents()[0]["escalation_level"] == 3
    moves = [(e["incident_id"], e["from"], e["to"], e["requester"])
             for e in standin.escalations()]
    assert moves == [(incident, 1, 3, FROM)]


def test_escalate_events_incident_found_by_key_moves_level(standin):
    trigger(standin)
    incident = find(standin, "srv01/disk")[0]["id"]
    assert escalate(standin, incident, 2).status_code == 200
    assert find(standin, "srv01/disk")[0]["escalation_level"] == 2


@pytest.mark.parametrize("kind", ["incident", "incident_reference"])
def test_escalate_both_types_accepted(standin, kind):
    incident = standin.add_incident()
    body = {"incident": {"type": kind, "escalation_level": 2}}
    response = call(standin, "PUT", "/incidents/" + incident, body)
    assert response.status_code == 200


def test_escalate_from_missing_returns_400_exact_message(standin):
    incident = standin.add_incident()
    response = escalate(standin, incident, From=None)
    assert_rest_error(response, 400, 2011, FROM_MISSING)
    assert standin.escalations() == []


@pytest.mark.parametrize("sender", ["oncall", "oncall@example",
                                    "On Call <oncall@example.com>",
                                    "a@b.com, c@d.com"])
def test_escalate_from_malformed_returns_400_code_1028(standin, sender):
    incident = standin.add_incident()
    response = escalate(standin, incident, From=sender)
    assert_rest_error(response, 400, 1028, 'Malformed "From" header')


def incident_body(**fields):
    """An escalation body whose incident fields are replaced or removed."""
    body = copy.deepcopy(ESCALATE)
    for name, value in fields.items():
        if value is None:
            body["incident"].pop(name)
        else:
            body["incident"][name] = value
    return body


INVALID_ESCALATIONS = [
    ("empty", {}, "'incident' is required"),
    ("incident_string", {"incident": "x"}, "must be a JSON object"),
    ("type_missing", incident_body(type=None), "incident.type"),
    ("type_unknown", incident_body(type="incident_ref"), "incident.type"),
    ("level_missing", incident_body(escalation_level=None),
     "escalation_level"),
    ("level_string", incident_body(escalation_level="2"), "integer"),
    ("level_float", incident_body(escalation_level=1.5), "integer"),
    ("level_bool", incident_body(escalation_level=True), "integer"),
    ("level_zero", incident_body(escalation_level=0), "1 or more"),
    ("level_negative", incident_body(escalation_level=-1), "1 or more"),
    ("unknown_field", incident_body(colour="red"), "incident.colour"),
    ("top_level_field", dict(ESCALATE, requester="x"), "'requester'"),
    ("status_not_implemented", incident_body(status="resolved"),
     "not implemented"),
    ("json_array", [ESCALATE], "JSON object"),
]


@pytest.mark.parametrize(
    "body,fragment", [case[1:] for case in INVALID_ESCALATIONS],
    ids=[case[0] for case in INVALID_ESCALATIONS])
def test_escalate_invalid_body_returns_400_code_2001(standin, body,
                                                     fragment):
    incident = standin.add_incident()
    response = call(standin, "PUT", "/incidents/" + incident, body)
    error = assert_rest_error(response, 400, 2001, "Invalid Input Provided")
    assert any(fragment in e for e in error["errors"]), error
    assert standin.incidents()[0]["escalation_level"] == 1


def test_escalate_invalid_json_returns_400_code_2001(standin):
    incident = standin.add_incident()
    headers = dict(HEADERS, **{"Content-Type": "application/json"})
    response = requests.put(standin.url + "/incidents/" + incident,
                            data=b'{"incident": ', headers=headers,
                            timeout=5)
    assert_rest_error(response, 400, 2001)


def test_escalate_unknown_incident_returns_404_code_2100(standin):
    response = escalate(standin, "PNOPE00")
    assert_rest_error(response, 404, 2100, "Not Found")
    assert schema.validate_rest_response(
        "PUT", "/incidents/PNOPE00", 404, response.json()) == []


def test_escalate_resolved_incident_returns_400_code_1001(standin):
    incident = standin.add_incident(status="resolved")
    response = escalate(standin, incident)
    assert_rest_error(response, 400, 1001, "Incident Already Resolved")
    assert standin.escalations() == []


def test_escalate_resolved_by_event_returns_400_code_1001(standin):
    trigger(standin)
    incident = find(standin, "srv01/disk")[0]["id"]
    trigger(standin, action="resolve")
    assert_rest_error(escalate(standin, incident), 400, 1001)


def test_escalate_above_policy_depth_returns_400_code_1006(standin):
    incident = standin.add_incident()
    assert escalate(standin, incident, 3).status_code == 200
    error = assert_rest_error(escalate(standin, incident, 4), 400, 1006)
    assert "3 levels" in error["errors"][0]
    assert standin.incidents()[0]["escalation_level"] == 3


def test_escalate_deeper_policy_accepts_higher_level(standin):
    incident = standin.add_incident(levels=5)
    assert escalate(standin, incident, 5).status_code == 200
    assert escalate(standin, incident, 6).status_code == 400


def test_escalate_default_levels_apply_to_events_incidents(standin):
    standin.set_default_levels(2)
    trigger(standin)
    incident = find(standin, "srv01/disk")[0]["id"]
    assert escalate(standin, incident, 2).status_code == 200
    assert_rest_error(escalate(standin, incident, 3), 400, 1006)


# -------------------------------------------------- response plays

def test_response_play_run_valid_request_returns_404(standin):
    incident = standin.add_incident()
    body = {"incident": {"id": incident, "type": "incident_reference"}}
    response = call(standin, "POST", "/response_plays/PRP0001/run", body)
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Not Found",
                                         "code": 2100}}
    assert response.headers["ratelimit-limit"] == "960"


def test_response_play_run_without_auth_returns_401(standin):
    response = call(standin, "POST", "/response_plays/PRP0001/run", {},
                    Authorization="Token token=wrong")
    assert_rest_error(response, 401, 2006)


# ------------------------------------------------- incident workflows

def test_workflow_instance_valid_request_returns_201_once(standin):
    incident = standin.add_incident()
    response = start_workflow(standin, incident)
    assert response.status_code == 201
    instance = response.json()["incident_workflow_instance"]
    assert PD_ID.fullmatch(instance["id"])
    assert response.json() == {"incident_workflow_instance": {
        "id": instance["id"], "type": "incident_workflow_instance",
        "incident": {"id": incident, "type": "incident_reference"}}}
    assert schema.validate_rest_response(
        "POST", "/incident_workflows/%s/instances" % WORKFLOW, 201,
        response.json()) == []
    started = standin.workflow_instances()
    assert [(s["id"], s["workflow_id"], s["incident_id"])
            for s in started] == [(instance["id"], WORKFLOW, incident)]


def test_workflow_instance_two_calls_record_two_instances(standin):
    incident = standin.add_incident()
    first = start_workflow(standin, incident).json()
    second = start_workflow(standin, incident).json()
    ids = [s["id"] for s in standin.workflow_instances()]
    assert ids == [first["incident_workflow_instance"]["id"],
                   second["incident_workflow_instance"]["id"]]
    assert ids[0] != ids[1]


def test_workflow_instance_official_example_shape_accepted(standin):
    incident = standin.add_incident()
    body = {"incident_workflow_instance": {
        "id": "P3SNKQS", "type": "incident_workflow_instance",
        "incident": {"id": incident, "type": "incident_reference"}}}
    path = "/incident_workflows/%s/instances" % WORKFLOW
    assert call(standin, "POST", path, body).status_code == 201


def test_workflow_instance_unknown_workflow_returns_404(standin):
    incident = standin.add_incident()
    response = start_workflow(standin, incident, workflow="PNOPE00")
    assert_rest_error(response, 404, 2100, "Not Found")
    assert standin.workflow_instances() == []


def test_workflow_instance_unknown_incident_returns_404(standin):
    response = start_workflow(standin, "PNOPE00")
    assert_rest_error(response, 404, 2100, "Not Found")
    assert standin.workflow_instances() == []


def workflow_body(**fields):
    """A workflow body whose incident reference fields are replaced."""
    ref = {"id": "PINC001", "type": "incident_reference"}
    for name, value in fields.items():
        if value is None:
            ref.pop(name)
        else:
            ref[name] = value
    return {"incident_workflow_instance": {"incident": ref}}


INVALID_WORKFLOWS = [
    ("empty", {}, "'incident_workflow_instance' is required"),
    ("instance_list", {"incident_workflow_instance": []}, "JSON object"),
    ("incident_missing", {"incident_workflow_instance": {}},
     "incident_workflow_instance.incident' is required"),
    ("incident_id_missing", workflow_body(id=None), "incident.id"),
    ("incident_id_number", workflow_body(id=7), "incident.id"),
    ("incident_type_missing", workflow_body(type=None), "incident.type"),
    ("incident_type_wrong", workflow_body(type="incident"),
     "incident.type"),
    ("incident_unknown_field", workflow_body(name="x"), "incident.name"),
    ("instance_type_wrong", {"incident_workflow_instance": dict(
        workflow_body()["incident_workflow_instance"], type="workflow")},
     "incident_workflow_instance.type"),
    ("top_level_field", dict(workflow_body(), incident={}), "'incident'"),
]


@pytest.mark.parametrize(
    "body,fragment", [case[1:] for case in INVALID_WORKFLOWS],
    ids=[case[0] for case in INVALID_WORKFLOWS])
def test_workflow_instance_invalid_body_returns_400_code_2001(
        standin, body, fragment):
    path = "/incident_workflows/%s/instances" % WORKFLOW
    response = call(standin, "POST", path, body)
    error = assert_rest_error(response, 400, 2001, "Invalid Input Provided")
    assert any(fragment in e for e in error["errors"]), error
    assert standin.workflow_instances() == []


# ---------------------------------------------------- faults on REST

def test_fault_ratelimit_reset_returns_429_with_headers(standin):
    incident = standin.add_incident()
    standin.add_faults([{"status": 429, "ratelimit_reset": 7,
                         "path": "/incidents/*"}])
    trigger(standin, "other")  # an Events path does not use the fault
    limited = escalate(standin, incident)
    assert limited.status_code == 429
    assert limited.json() == {"error": {"message": "Rate Limit Exceeded",
                                        "code": 2020}}
    assert (limited.headers["ratelimit-limit"],
            limited.headers["ratelimit-remaining"],
            limited.headers["ratelimit-reset"]) == ("960", "0", "7")
    assert escalate(standin, incident).status_code == 200
    assert standin.requests()[1]["fault"]["ratelimit_reset"] == 7


def test_fault_path_star_matches_prefix_only(standin):
    standin.add_faults([{"status": 503, "path": "/incidents/*"}])
    assert call(standin, "GET", "/incidents").status_code == 200
    assert escalate(standin, "PANY000").status_code == 503
    assert standin.faults() == []


def test_fault_429_without_reset_has_rest_body_no_headers(standin):
    standin.add_faults([{"status": 429, "path": "/incidents"}])
    response = call(standin, "GET", "/incidents")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == 2020
    assert "ratelimit-reset" not in response.headers


def test_fault_500_on_rest_path_returns_rest_error_shape(standin):
    standin.add_faults([{"status": 500, "path": "/incident_workflows/*"}])
    response = start_workflow(standin, standin.add_incident())
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == 2000
    assert isinstance(error["errors"][0], str)
    assert standin.workflow_instances() == []


@pytest.mark.parametrize("bad", [
    {"ratelimit_reset": 5}, {"hang": 1, "ratelimit_reset": 5},
    {"status": 429, "ratelimit_reset": -1},
    {"status": 429, "ratelimit_reset": "5"},
    {"status": 429, "ratelimit_reset": True},
    {"status": 429, "path": "/incidents/*/x"},
])
def test_add_faults_bad_ratelimit_form_raises_value_error(standin, bad):
    with pytest.raises(ValueError):
        standin.add_faults([bad])
    assert standin.faults() == []


# ----------------------------------------- control, recording, reset

def test_rest_requests_recorded_like_events_requests(standin):
    trigger(standin)
    incident = standin.incidents()[0]["id"]
    escalate(standin, incident)
    events, rest = standin.requests()
    assert set(events) == set(rest)
    assert (rest["method"], rest["path"], rest["status"]) == (
        "PUT", "/incidents/" + incident, 200)
    assert rest["json"] == ESCALATE
    assert rest["headers"]["From"] == FROM


def test_control_rest_calls_over_http_work(standin):
    base = standin.url + "/_standin/"
    post = lambda name, body: requests.post(  # noqa: E731
        base + name, json=body, timeout=5)
    assert post("api_keys", {"key": "otherKey"}).status_code == 200
    assert post("workflows", {"id": "PWF0002"}).status_code == 200
    assert post("default_levels", {"levels": 4}).status_code == 200
    made = post("incidents", {"incident_key": "k1", "levels": 2}).json()
    assert PD_ID.fullmatch(made["id"])
    response = start_workflow(standin, made["id"], workflow="PWF0002",
                              Authorization="Token token=otherKey")
    assert response.status_code == 201
    listed = requests.get(base + "incidents", timeout=5).json()
    assert [(i["id"], i["levels"]) for i in listed] == [(made["id"], 2)]
    started = requests.get(base + "workflow_instances", timeout=5).json()
    assert [s["workflow_id"] for s in started] == ["PWF0002"]
    assert requests.get(base + "escalations", timeout=5).json() == []
    trigger(standin)
    assert standin.incidents()[1]["levels"] == 4


@pytest.mark.parametrize("name,body", [
    ("incidents", {"status": "open"}), ("incidents", {"levels": 0}),
    ("incidents", {"colour": "red"}), ("incidents", []),
    ("api_keys", {"key": "has space"}), ("api_keys", {}),
    ("workflows", {"id": ""}), ("default_levels", {"levels": "3"}),
])
def test_control_rest_bad_body_returns_400(standin, name, body):
    response = requests.post(standin.url + "/_standin/" + name, json=body,
                             timeout=5)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_standin_reset_clears_rest_state(standin):
    incident = standin.add_incident()
    escalate(standin, incident)
    start_workflow(standin, incident)
    standin.set_default_levels(1)
    standin.reset()
    assert standin.incidents() == []
    assert standin.escalations() == []
    assert standin.workflow_instances() == []
    assert_rest_error(call(standin, "GET", "/incidents"), 401, 2006)
    standin.add_api_key(API_KEY)
    trigger(standin)
    assert standin.incidents()[0]["levels"] == 3


# ------------------------------------------------------ schema helper

SCHEMA_HEADERS = {"Accept": ACCEPT, "Content-Type": "application/json",
                  "From": FROM, "Authorization": "Token token=" + API_KEY}
WORKFLOW_PATH = "/incident_workflows/PWF0001/instances"
WORKFLOW_BODY = {"incident_workflow_instance": {
    "incident": {"id": "PINC001", "type": "incident_reference"}}}
PLAY_BODY = {"incident": {"id": "PINC001", "type": "incident_reference"}}


def test_schema_rest_valid_escalate_returns_no_errors():
    assert schema.validate_rest_request(
        "PUT", "/incidents/PINC001", SCHEMA_HEADERS, ESCALATE) == []


def test_schema_rest_valid_workflow_without_from_returns_no_errors():
    headers = {k: v for k, v in SCHEMA_HEADERS.items() if k != "From"}
    assert schema.validate_rest_request(
        "POST", WORKFLOW_PATH, headers, WORKFLOW_BODY) == []


def test_schema_rest_valid_response_play_returns_no_errors():
    assert schema.validate_rest_request(
        "POST", "https://api.pagerduty.com/response_plays/PRP1/run",
        SCHEMA_HEADERS, PLAY_BODY) == []


def test_schema_rest_list_incidents_query_returns_no_errors():
    path = "/incidents?incident_key=k&" + OPEN
    assert schema.validate_rest_request(
        "GET", path, {"Accept": ACCEPT}, None) == []


def test_schema_rest_malformed_escalate_returns_errors():
    body = {"incident": {"type": "bogus", "escalation_level": "2"}}
    headers = {"Accept": ACCEPT, "From": "not-an-email"}
    errors = schema.validate_rest_request(
        "PUT", "/incidents/PINC001", headers, body)
    assert any(e.startswith("header Content-Type") for e in errors)
    assert any(e.startswith("header From") for e in errors)
    assert any(e.startswith("incident.type") for e in errors)
    assert any(e.startswith("incident.escalation_level") for e in errors)


def test_schema_rest_escalate_without_from_returns_error():
    headers = {k: v for k, v in SCHEMA_HEADERS.items() if k != "From"}
    errors = schema.validate_rest_request(
        "PUT", "/incidents/PINC001", headers, ESCALATE)
    assert errors == ["header From: required but missing"]


def test_schema_rest_malformed_workflow_returns_errors():
    body = {"incident_workflow_instance": {"incident": {"type": "x"}}}
    errors = schema.validate_rest_request(
        "POST", WORKFLOW_PATH, SCHEMA_HEADERS, body)
    assert len(errors) == 2
    assert all(e.startswith("incident_workflow_instance.incident")
               for e in errors)


def test_schema_rest_malformed_response_play_returns_errors():
    errors = schema.validate_rest_request(
        "POST", "/response_plays/PRP1/run", SCHEMA_HEADERS, {})
    assert errors == ["(root): 'incident' is a required property"]


def test_schema_rest_bad_query_returns_errors():
    errors = schema.validate_rest_request(
        "GET", "/incidents?status[]=triggered&statuses[]=open",
        {"Accept": ACCEPT}, None)
    assert len(errors) == 2


def test_schema_rest_response_play_only_in_extract():
    full, extract = schema.load_rest_documents()
    run = "/response_plays/{response_play_id}/run"
    assert run not in full["paths"]
    assert run in extract["paths"]


def test_schema_rest_request_examples_are_valid():
    for method, path in [("PUT", "/incidents/PINC001"),
                         ("POST", WORKFLOW_PATH),
                         ("POST", "/response_plays/PRP1/run")]:
        _, operation = schema.find_rest_operation(method, path)
        content = operation["requestBody"]["content"]["application/json"]
        for example in content["examples"].values():
            assert schema.validate_rest_request(
                method, path, SCHEMA_HEADERS, example["value"]) == []


def test_schema_rest_unknown_operation_raises_value_error():
    with pytest.raises(ValueError):
        schema.validate_rest_request("POST", "/nothing/here", {}, {})
