"""Tests for the local PagerDuty stand-in and the schema helper."""
from __future__ import annotations

import copy
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.standin import schema  # noqa: E402
from tests.standin.server import StandIn, is_iso8601_datetime  # noqa: E402

SERVER_SCRIPT = REPO_ROOT / "tests" / "standin" / "server.py"
KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
ROUTING_KEY_ERROR = (
    "Length of 'routing_key' is incorrect (should be 32 characters)")

TRIGGER = {
    "routing_key": KEY,
    "event_action": "trigger",
    "dedup_key": "srv01/disk",
    "payload": {
        "summary": "Disk at 99% on srv01",
        "source": "srv01.example.com",
        "severity": "critical",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "custom_details": {"job": {"id": "42", "tags": ["a", "b"]}},
    },
    "client": "Rundeck",
    "client_url": "https://rundeck.example.com/job/42",
    "links": [{"href": "https://rundeck.example.com/e/1", "text": "run"}],
    "images": [{"src": "https://example.com/chart.png", "alt": "chart"}],
}
CHANGE = {
    "routing_key": KEY,
    "payload": {
        "summary": "Deployed build 220",
        "source": "rundeck",
        "timestamp": "2015-07-17T08:42:58Z",
        "custom_details": {"build": "220"},
    },
    "links": [{"href": "https://rundeck.example.com/e/2"}],
}


@pytest.fixture
def standin():
    """A stand-in server running for one test."""
    with StandIn() as server:
        yield server


def event(**changes):
    """A deep copy of TRIGGER with top-level fields replaced or removed."""
    body = copy.deepcopy(TRIGGER)
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def with_payload(**changes):
    """A deep copy of TRIGGER with payload fields replaced or removed."""
    body = copy.deepcopy(TRIGGER)
    for name, value in changes.items():
        if value is None:
            body["payload"].pop(name, None)
        else:
            body["payload"][name] = value
    return body


def post(server, body, path="/v2/enqueue", **kwargs):
    """POST body as JSON to the stand-in."""
    kwargs.setdefault("timeout", 5)
    return requests.post(server.url + path, json=body, **kwargs)


def assert_invalid(response, fragment):
    """Check a 400 'invalid event' answer mentioning fragment."""
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert all(isinstance(error, str) for error in body["errors"])
    assert any(fragment in error for error in body["errors"]), body


# ------------------------------------------------------------ validation

INVALID_EVENTS = [
    ("routing_key_missing", event(routing_key=None), ROUTING_KEY_ERROR),
    ("routing_key_short", event(routing_key="abc"), ROUTING_KEY_ERROR),
    ("routing_key_long", event(routing_key=KEY + "x"), ROUTING_KEY_ERROR),
    ("routing_key_number", event(routing_key=12), "routing_key"),
    ("action_missing", event(event_action=None), "event_action"),
    ("action_unknown", event(event_action="escalate"), "event_action"),
    ("payload_missing", event(payload=None), "'payload' is missing"),
    ("payload_not_object", event(payload="x"), "'payload' must be"),
    ("summary_missing", with_payload(summary=None), "payload.summary"),
    ("summary_blank", with_payload(summary="  "), "payload.summary"),
    ("source_missing", with_payload(source=None), "payload.source"),
    ("source_blank", with_payload(source=""), "payload.source"),
    ("severity_missing", with_payload(severity=None), "payload.severity"),
    ("severity_unknown", with_payload(severity="fatal"),
     "payload.severity"),
    ("summary_too_long", with_payload(summary="x" * 1025), "too long"),
    ("dedup_key_too_long", event(dedup_key="k" * 256), "dedup_key"),
    ("dedup_key_number", event(dedup_key=7), "dedup_key"),
    ("ack_without_dedup_key",
     event(event_action="acknowledge", dedup_key=None), "dedup_key"),
    ("resolve_without_dedup_key",
     event(event_action="resolve", dedup_key=None), "dedup_key"),
    ("link_without_href", event(links=[{"text": "x"}]), "links[0].href"),
    ("links_not_list", event(links={"href": "x"}), "'links'"),
    ("image_without_src", event(images=[{"alt": "x"}]), "images[0].src"),
    ("unknown_top_level_field", event(severity="critical"),
     "Unknown field 'severity'"),
    ("custom_details_not_object", with_payload(custom_details="x"),
     "custom_details"),
    ("timestamp_not_iso", with_payload(timestamp="yesterday"),
     "timestamp"),
    ("component_not_string", with_payload(component=3), "component"),
]


@pytest.mark.parametrize(
    "body,fragment", [case[1:] for case in INVALID_EVENTS],
    ids=[case[0] for case in INVALID_EVENTS])
def test_enqueue_invalid_event_returns_400(standin, body, fragment):
    assert_invalid(post(standin, body), fragment)
    assert standin.alerts() == []


def test_enqueue_missing_routing_key_returns_exact_pagerduty_body(standin):
    response = post(standin, event(routing_key=None))
    assert response.json() == {
        "status": "invalid event", "message": "Event object is invalid",
        "errors": [ROUTING_KEY_ERROR]}


def test_enqueue_invalid_json_returns_unrecognized_object(standin):
    response = requests.post(
        standin.url + "/v2/enqueue", data=b'{"routing_key": ',
        headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400
    assert response.json() == {
        "status": "Unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"]}


def test_enqueue_json_array_returns_unrecognized_object(standin):
    response = post(standin, [TRIGGER])
    assert response.status_code == 400
    assert response.json()["status"] == "Unrecognized object"


def test_enqueue_wrong_content_type_returns_400(standin):
    response = requests.post(
        standin.url + "/v2/enqueue", data=b"routing_key=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5)
    assert response.status_code == 400
    assert "Content-Type" in response.json()["errors"][0]


def test_enqueue_body_over_512kb_returns_400(standin):
    body = with_payload(custom_details={"blob": "x" * 512000})
    response = post(standin, body)
    assert_invalid(response, "too large")
    assert standin.requests()[-1]["body_size"] > 512000


def test_enqueue_summary_1024_multibyte_chars_accepted(standin):
    response = post(standin, with_payload(summary="\u00e9" * 1024))
    assert response.status_code == 202


def test_enqueue_summary_1025_multibyte_chars_rejected(standin):
    assert_invalid(post(standin, with_payload(summary="\u00e9" * 1025)),
                   "too long")


def test_enqueue_dedup_key_255_chars_accepted(standin):
    response = post(standin, event(dedup_key="k" * 255))
    assert response.json()["dedup_key"] == "k" * 255


@pytest.mark.parametrize("stamp", [
    "2015-07-17T08:42:58.315+0000", "2015-07-17T08:42:58Z",
    "2015-07-17T08:42:58.315+02:00", "2015-07-17T08:42:58",
])
def test_enqueue_iso_timestamps_accepted(standin, stamp):
    assert post(standin, with_payload(timestamp=stamp)).status_code == 202


@pytest.mark.parametrize("stamp", [
    "2015-13-17T08:42:58Z", "2015-07-17", "1437122578", "17/07/2015 08:42",
])
def test_iso8601_check_bad_values_rejected(stamp):
    assert not is_iso8601_datetime(stamp)


def test_enqueue_chunked_body_accepted(standin):
    import json

    data = json.dumps(TRIGGER).encode("utf-8")
    chunks = iter([data[:10], data[10:]])
    response = requests.post(
        standin.url + "/v2/enqueue", data=chunks, timeout=5,
        headers={"Content-Type": "application/json"})
    assert response.status_code == 202
    assert standin.requests()[0]["headers"].get("Transfer-Encoding")


def test_enqueue_unknown_path_returns_404(standin):
    response = post(standin, TRIGGER, path="/v2/enqueue/extra")
    assert response.status_code == 404


def test_enqueue_get_method_returns_405(standin):
    response = requests.get(standin.url + "/v2/enqueue", timeout=5)
    assert response.status_code == 405


# ------------------------------------------------------- success + state

def test_enqueue_valid_trigger_returns_202_echoing_dedup_key(standin):
    response = post(standin, TRIGGER)
    assert response.status_code == 202
    assert response.json() == {"status": "success",
                               "message": "Event processed",
                               "dedup_key": "srv01/disk"}


def test_enqueue_trigger_without_dedup_key_generates_one(standin):
    response = post(standin, event(dedup_key=None))
    key = response.json()["dedup_key"]
    assert response.status_code == 202
    assert len(key) >= 16
    assert standin.alerts()[0]["dedup_key"] == key


def test_enqueue_trigger_ack_resolve_moves_alert_state(standin):
    statuses = []
    for action in ("trigger", "acknowledge", "resolve"):
        response = post(standin, event(event_action=action))
        assert response.status_code == 202
        assert response.json()["dedup_key"] == "srv01/disk"
        statuses.append(standin.alerts()[0]["status"])
    assert statuses == ["triggered", "acknowledged", "resolved"]
    moves = [(t["from"], t["to"]) for t in standin.transitions()]
    assert moves == [(None, "triggered"), ("triggered", "acknowledged"),
                     ("acknowledged", "resolved")]


def test_enqueue_ack_only_for_valid_body_accepted(standin):
    post(standin, TRIGGER)
    body = {"routing_key": KEY, "event_action": "acknowledge",
            "dedup_key": "srv01/disk"}
    assert post(standin, body).status_code == 202
    assert standin.alerts()[0]["status"] == "acknowledged"


def test_enqueue_resolve_with_full_payload_accepted(standin):
    post(standin, TRIGGER)
    response = post(standin, event(event_action="resolve"))
    assert response.status_code == 202
    assert standin.alerts()[0]["status"] == "resolved"


def test_enqueue_ack_after_resolve_keeps_resolved(standin):
    for action in ("trigger", "resolve", "acknowledge"):
        assert post(standin, event(event_action=action)).status_code == 202
    assert standin.alerts()[0]["status"] == "resolved"
    assert len(standin.transitions()) == 2


def test_enqueue_ack_unknown_alert_creates_nothing(standin):
    response = post(standin, event(event_action="acknowledge"))
    assert response.status_code == 202
    assert standin.alerts() == []


def test_enqueue_same_dedup_key_other_routing_key_separate_alert(standin):
    post(standin, TRIGGER)
    post(standin, event(routing_key=OTHER_KEY))
    post(standin, event(event_action="resolve"))
    status = {a["routing_key"]: a["status"] for a in standin.alerts()}
    assert status == {KEY: "resolved", OTHER_KEY: "triggered"}


def test_change_enqueue_valid_returns_202(standin):
    response = post(standin, CHANGE, path="/v2/change/enqueue")
    assert response.status_code == 202
    assert response.json()["status"] == "success"


@pytest.mark.parametrize("body,fragment", [
    ({k: v for k, v in CHANGE.items() if k != "payload"}, "payload"),
    (dict(CHANGE, payload={"source": "x"}), "payload.summary"),
    (dict(CHANGE, event_action="trigger"), "Unknown field"),
    (dict(CHANGE, routing_key="short"), ROUTING_KEY_ERROR),
], ids=["no_payload", "no_summary", "event_action", "short_key"])
def test_change_enqueue_invalid_returns_400(standin, body, fragment):
    assert_invalid(post(standin, body, path="/v2/change/enqueue"), fragment)


# ---------------------------------------------------------------- faults

def test_fault_429_returns_retry_after_then_recovers(standin):
    standin.add_faults([{"status": 429, "retry_after": 1}])
    first = post(standin, TRIGGER)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert set(first.json()) >= {"status", "message", "errors"}
    assert post(standin, TRIGGER).status_code == 202


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_fault_5xx_returns_status_with_error_shape(standin, status):
    standin.add_faults([{"status": status}])
    response = post(standin, TRIGGER)
    assert response.status_code == status
    assert isinstance(response.json()["errors"][0], str)
    assert standin.alerts() == []


def test_fault_times_repeats_then_stops(standin):
    standin.add_faults([{"status": 503, "times": 2}])
    codes = [post(standin, TRIGGER).status_code for _ in range(3)]
    assert codes == [503, 503, 202]


def test_fault_path_only_matches_that_path(standin):
    standin.add_faults([{"status": 500, "path": "/v2/change/enqueue"}])
    assert post(standin, TRIGGER).status_code == 202
    change = post(standin, CHANGE, path="/v2/change/enqueue")
    assert change.status_code == 500


def test_fault_raw_body_returns_non_json(standin):
    standin.add_faults([{"status": 202, "body": "not json"}])
    response = post(standin, TRIGGER)
    assert response.status_code == 202
    assert response.text == "not json"
    with pytest.raises(ValueError):
        response.json()


def test_fault_drop_client_gets_connection_error(standin):
    standin.add_faults([{"drop": True}])
    with pytest.raises(requests.exceptions.ConnectionError):
        post(standin, TRIGGER)
    assert standin.requests()[0]["outcome"] == "drop"
    assert post(standin, TRIGGER).status_code == 202


def wait_for_requests(server, count):
    """Poll until the server has recorded count requests."""
    deadline = time.monotonic() + 5
    while len(server.requests()) < count:
        assert time.monotonic() < deadline, "request never arrived"
        time.sleep(0.01)


def test_fault_hang_client_read_timeout_fires(standin):
    standin.add_faults([{"hang": 1.5}])
    errors = []

    def hanging_client():
        try:
            post(standin, TRIGGER, timeout=1.0)
        except requests.exceptions.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=hanging_client)
    thread.start()
    wait_for_requests(standin, 1)
    assert post(standin, TRIGGER).status_code == 202  # not blocked
    thread.join(timeout=5)
    assert len(errors) == 1
    assert isinstance(errors[0], requests.exceptions.ReadTimeout)
    assert standin.requests()[0]["outcome"] == "hang"


def test_standin_stop_during_hang_returns_promptly():
    server = StandIn()
    server.start()
    server.add_faults([{"hang": 60}])
    client_errors = []

    def hanging_client():
        try:
            post(server, TRIGGER, timeout=30)
        except requests.exceptions.RequestException as exc:
            client_errors.append(exc)

    client = threading.Thread(target=hanging_client, daemon=True)
    client.start()
    wait_for_requests(server, 1)
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive()
    client.join(timeout=10)
    assert len(client_errors) == 1


def test_standin_stop_closes_keepalive_connections():
    server = StandIn()
    server.start()
    with requests.Session() as session:
        first = session.post(server.url + "/v2/enqueue", json=TRIGGER,
                             timeout=5)
        assert first.status_code == 202
        server.stop()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.post(server.url + "/v2/enqueue", json=TRIGGER,
                         timeout=5)


def test_rate_limit_exceeded_returns_429_with_retry_after(standin):
    standin.add_faults([{"rate_limit": {"per_key": 2, "window": 60}}])
    codes = [post(standin, TRIGGER).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    limited = post(standin, TRIGGER)
    assert int(limited.headers["Retry-After"]) >= 1
    other = post(standin, event(routing_key=OTHER_KEY))
    assert other.status_code == 202


def test_rate_limit_set_none_switches_off(standin):
    standin.set_rate_limit(1, 60)
    post(standin, TRIGGER)
    assert post(standin, TRIGGER).status_code == 429
    standin.set_rate_limit(None)
    assert post(standin, TRIGGER).status_code == 202


@pytest.mark.parametrize("bad", [
    {"status": "500"}, {"hang": 1, "drop": True}, {"drop": False},
    {"status": 500, "times": 0}, {"status": 500, "colour": "red"},
    {"rate_limit": {"per_key": 0, "window": 1}}, "500",
])
def test_add_faults_bad_form_raises_value_error(standin, bad):
    with pytest.raises(ValueError):
        standin.add_faults([bad])
    assert standin.faults() == []


# ------------------------------------------------- recording + control

def test_requests_recorded_with_all_fields(standin):
    post(standin, TRIGGER, headers={"User-Agent": "test-agent"})
    post(standin, {"routing_key": 1})
    first, second = standin.requests()
    assert first["method"] == "POST"
    assert first["path"] == "/v2/enqueue"
    assert first["headers"]["User-Agent"] == "test-agent"
    assert first["json"] == TRIGGER
    assert '"srv01/disk"' in first["body"]
    assert first["status"] == 202
    assert isinstance(first["time"], float)
    assert (first["seq"], second["seq"]) == (1, 2)
    assert second["status"] == 400


def test_reset_clears_everything(standin):
    post(standin, TRIGGER)
    standin.add_faults([{"status": 500}])
    standin.set_rate_limit(1, 60)
    standin.reset()
    assert standin.requests() == []
    assert standin.alerts() == []
    assert standin.transitions() == []
    assert standin.faults() == []
    assert post(standin, TRIGGER).status_code == 202
    assert post(standin, TRIGGER).status_code == 202


def test_control_api_over_http_works_and_is_not_recorded(standin):
    base = standin.url + "/_standin/"
    queued = requests.post(base + "faults", json=[{"status": 502}], timeout=5)
    assert queued.json() == {"queued": 1}
    assert post(standin, TRIGGER).status_code == 502
    assert post(standin, TRIGGER).status_code == 202
    recorded = requests.get(base + "requests", timeout=5).json()
    assert [r["status"] for r in recorded] == [502, 202]
    alerts = requests.get(base + "alerts", timeout=5).json()
    assert alerts[0]["status"] == "triggered"
    assert requests.post(base + "reset", timeout=5).status_code == 200
    assert requests.get(base + "requests", timeout=5).json() == []
    assert requests.get(base + "alerts", timeout=5).json() == []


def test_control_faults_not_a_list_returns_400(standin):
    url = standin.url + "/_standin/faults"
    response = requests.post(url, json={"status": 500}, timeout=5)
    assert response.status_code == 400
    assert "list" in response.json()["error"]


def test_control_unknown_endpoint_returns_404(standin):
    response = requests.get(standin.url + "/_standin/nope", timeout=5)
    assert response.status_code == 404


def test_standin_non_loopback_host_refused():
    for host in ("0.0.0.0", "192.0.2.1", "::1", "example.com"):
        with pytest.raises(ValueError):
            StandIn(host=host)


def test_standin_start_returns_loopback_url():
    with StandIn() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port > 0


def wait_for_port_file(proc, port_file):
    """Poll until the CLI server wrote its port file; return the port."""
    deadline = time.monotonic() + 10
    while not port_file.exists():
        assert proc.poll() is None, "server exited early"
        assert time.monotonic() < deadline, "port file never appeared"
        time.sleep(0.02)
    return int(port_file.read_text())


def test_cli_port_file_written_and_server_answers(tmp_path):
    port_file = tmp_path / "port"
    command = [sys.executable, str(SERVER_SCRIPT), "--port", "0",
               "--port-file", str(port_file)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as proc:
        try:
            port = wait_for_port_file(proc, port_file)
            url = "http://127.0.0.1:%d/v2/enqueue" % port
            response = requests.post(url, json=TRIGGER, timeout=5)
            assert response.status_code == 202
        finally:
            proc.terminate()
            returncode = proc.wait(timeout=10)
    assert returncode == 0


def test_cli_non_loopback_host_exits_with_error():
    result = subprocess.run(
        [sys.executable, str(SERVER_SCRIPT), "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "loopback" in result.stderr


# ---------------------------------------------------------- schema helper

def test_schema_valid_trigger_returns_no_errors():
    assert schema.validate_events_request(TRIGGER, "/v2/enqueue") == []


def test_schema_valid_change_event_returns_no_errors():
    assert schema.validate_events_request(CHANGE, "/v2/change/enqueue") == []


def test_schema_missing_routing_key_returns_error():
    errors = schema.validate_events_request(event(routing_key=None),
                                            "/v2/enqueue")
    assert any("routing_key" in error for error in errors)


def test_schema_bad_event_action_returns_error():
    errors = schema.validate_events_request(event(event_action="boom"),
                                            "/v2/enqueue")
    assert any(error.startswith("event_action") for error in errors)


def test_schema_bad_severity_and_timestamp_return_errors():
    body = with_payload(severity="fatal", timestamp="yesterday")
    errors = schema.validate_events_request(body, "/enqueue")
    assert len(errors) == 2
    assert all(isinstance(error, str) for error in errors)


def test_schema_openapi_examples_are_valid():
    document = schema.load_events_document()
    for path, item in document["paths"].items():
        content = item["post"]["requestBody"]["content"]
        for example in content["application/json"]["examples"].values():
            assert schema.validate_events_request(example["value"], path) \
                == []


def test_schema_unknown_path_raises_value_error():
    with pytest.raises(ValueError):
        schema.validate_events_request(TRIGGER, "/v2/nothing")


def test_schema_shared_dir_env_override_used(monkeypatch, tmp_path):
    monkeypatch.setenv("PD_SHARED_DIR", str(tmp_path))
    assert schema.events_schema_path().parent.parent == tmp_path
    with pytest.raises(FileNotFoundError):
        schema.validate_events_request(TRIGGER, "/v2/enqueue")


def test_schema_default_shared_dir_next_to_repo(monkeypatch):
    monkeypatch.delenv("PD_SHARED_DIR", raising=False)
    assert schema.shared_dir() == REPO_ROOT.parent / "shared"
