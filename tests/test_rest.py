"""The REST providers through main(): exact requests, lookup, retries."""

from __future__ import annotations


import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from jobenv import KEY, job_env
from pdnotify.cli import main

API = "https://api.pagerduty.com"
TOKEN = "y_NbAkKc66ryYTWUXYEu"
HEADERS = {
    "Authorization": "Token token=" + TOKEN,
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Content-Type": "application/json",
}
DEDUP = "rundeck:infra:job:5f3c1e2a-0b7d-4c1e-9a55-3f1d2c4b6e70"


def rest_env(trigger="avgduration", **config):
    env = job_env(trigger)
    del env["RD_CONFIG_INTEGRATION_KEY"]
    config.setdefault("api_key", TOKEN)
    for name, value in config.items():
        env["RD_CONFIG_" + name.upper()] = value
    return env


def escalate_env(**config):
    base = {"email": "oncall@example.test", "escalation_level": "2"}
    base.update(config)
    return rest_env(**base)


def lookup(*incidents):
    responses.get(
        API + "/incidents",
        match=[matchers.query_param_matcher({
            "incident_key": DEDUP,
            "statuses[]": ["triggered", "acknowledged"]})],
        json={"incidents": list(incidents), "limit": 25, "offset": 0,
              "more": False},
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_escalate_by_id_sends_put_with_from_and_level():
    responses.put(
        API + "/incidents/PWL7QXS", json={"incident": {"id": "PWL7QXS"}},
        match=[
            matchers.json_params_matcher({"incident": {
                "type": "incident_reference", "escalation_level": 2}}),
            matchers.header_matcher(dict(HEADERS,
                                         From="oncall@example.test")),
        ],
    )
    assert main(["escalate-incident"], escalate_env(incident_id="PWL7QXS")) == 0


@responses.activate(registry=OrderedRegistry,
                    assert_all_requests_are_fired=True)
def test_escalate_by_incident_key_finds_the_open_incident():
    lookup({"id": "POTHER1", "incident_key": "other"},
           {"id": "PABC123", "incident_key": DEDUP})
    responses.put(API + "/incidents/PABC123", json={"incident": {}})
    env = escalate_env(
        incident_key="rundeck:{{ job.project }}:job:{{ job.id }}")
    assert main(["escalate-incident"], env) == 0


@responses.activate
def test_escalate_no_open_incident_fails_clearly(capfd):
    lookup()
    assert main(["escalate-incident"], escalate_env(incident_key=DEDUP)) == 3
    err = capfd.readouterr().err
    assert "escalate incident: no open incident has incident_key" in err
    assert len(responses.calls) == 1


@responses.activate(registry=OrderedRegistry)
def test_escalate_is_retried_after_5xx_and_429(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    responses.put(API + "/incidents/PWL7QXS", status=502, body="bad gateway")
    responses.put(API + "/incidents/PWL7QXS", status=429,
                  headers={"ratelimit-reset": "1"},
                  json={"error": {"message": "Rate Limit Exceeded",
                                  "code": 2020}})
    responses.put(API + "/incidents/PWL7QXS", json={"incident": {}})
    assert main(["escalate-incident"], escalate_env(incident_id="PWL7QXS")) == 0
    assert len(responses.calls) == 3


@responses.activate(assert_all_requests_are_fired=True)
def test_workflow_starts_an_instance_on_the_incident():
    responses.post(
        API + "/incident_workflows/PSFEVL7/instances", status=201,
        json={"incident_workflow_instance": {"id": "P3SNKQS"}},
        match=[
            matchers.json_params_matcher({"incident_workflow_instance": {
                "incident": {"id": "PWL7QXS",
                             "type": "incident_reference"}}}),
            matchers.header_matcher(HEADERS),
        ],
    )
    env = rest_env(incident_id="PWL7QXS", workflow_id="PSFEVL7")
    assert main(["start-incident-workflow"], env) == 0
    assert "From" not in responses.calls[0].request.headers


@pytest.mark.parametrize("first", [
    {"status": 502, "body": "bad gateway"},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": requests.exceptions.ConnectionError("reset by peer")},
])
@responses.activate(registry=OrderedRegistry)
def test_workflow_is_never_started_twice(first, capfd):
    url = API + "/incident_workflows/PSFEVL7/instances"
    responses.post(url, **first)
    responses.post(url, status=201, json={})
    env = rest_env(incident_id="PWL7QXS", workflow_id="PSFEVL7")
    assert main(["start-incident-workflow"], env) == 4
    assert len(responses.calls) == 1
    assert "not retried, PagerDuty may have acted on it" in (
        capfd.readouterr().err)


@pytest.mark.parametrize("first", [
    {"status": 429, "headers": {"ratelimit-reset": "0"},
     "json": {"error": {"message": "Rate Limit Exceeded", "code": 2020}}},
    {"body": requests.exceptions.ConnectTimeout("no connection")},
])
@responses.activate(registry=OrderedRegistry)
def test_workflow_is_retried_when_pagerduty_surely_did_not_act(
    first, monkeypatch
):
    monkeypatch.setattr("time.sleep", lambda s: None)
    url = API + "/incident_workflows/PSFEVL7/instances"
    responses.post(url, **first)
    responses.post(url, status=201, json={})
    env = rest_env(incident_id="PWL7QXS", workflow_id="PSFEVL7")
    assert main(["start-incident-workflow"], env) == 0
    assert len(responses.calls) == 2


@responses.activate
def test_response_play_404_says_it_is_retired(capfd):
    responses.post(API + "/response_plays/PRP0001/run", status=404,
                   json={"error": {"message": "Not Found", "code": 2100}})
    env = rest_env(incident_id="PWL7QXS", response_play_id="PRP0001",
                   email="oncall@example.test")
    assert main(["run-response-play"], env) == 3
    err = capfd.readouterr().err
    assert "(status 404): Not Found" in err
    assert "retired Response Plays" in err
    assert "pagerduty-start-incident-workflow" in err


@responses.activate
def test_response_play_sends_the_published_request():
    responses.post(
        API + "/response_plays/PRP0001/run", json={"status": "ok"},
        match=[matchers.json_params_matcher({"incident": {
            "id": "PWL7QXS", "type": "incident_reference"}})],
    )
    env = rest_env(incident_id="PWL7QXS", response_play_id="PRP0001",
                   email="oncall@example.test")
    assert main(["run-response-play"], env) == 0
    assert responses.calls[0].request.headers["From"] == "oncall@example.test"


@responses.activate
def test_eu_region_uses_the_eu_host():
    responses.put("https://api.eu.pagerduty.com/incidents/PWL7QXS", json={})
    env = escalate_env(incident_id="PWL7QXS", region="eu")
    assert main(["escalate-incident"], env) == 0


BAD = [
    ("escalate-incident", {"api_key": ""}, "api_key: is required"),
    ("escalate-incident", {"api_key": KEY}, "looks like an Events API"),
    ("escalate-incident", {"api_key": "abc def ghi jkl"},
     "api_key: is not a PagerDuty REST API key"),
    ("escalate-incident", {"api_key": "keys/project/infra/pd"},
     "api_key: holds a Key Storage path"),
    ("escalate-incident", {"email": ""}, "email: is required"),
    ("escalate-incident", {"email": "oncall"}, "email: 'oncall' does not"),
    ("escalate-incident", {"escalation_level": ""},
     "escalation_level: is required"),
    ("escalate-incident", {"escalation_level": "two"},
     "escalation_level: 'two' is not a whole number"),
    ("escalate-incident", {"escalation_level": "0"}, "is below 1"),
    ("escalate-incident", {"incident_id": "../../users"},
     "incident_id: '../../users' is not a PagerDuty ID"),
    ("escalate-incident", {"incident_id": ""},
     "incident_id: give an incident ID, or an incident_key"),
    ("escalate-incident", {"region": "moon"}, "region: 'moon' is not"),
    ("escalate-incident", {"api_url": "api.pagerduty.com"},
     "api_url: must look like"),
    ("start-incident-workflow", {"workflow_id": ""},
     "workflow_id: is required"),
    ("start-incident-workflow", {"workflow_id": "a/b"},
     "workflow_id: 'a/b' is not a PagerDuty ID"),
    ("run-response-play", {"response_play_id": ""},
     "response_play_id: is required"),
]


@pytest.mark.parametrize("provider,config,message", BAD)
@responses.activate(assert_all_requests_are_fired=False)
def test_rest_bad_input_fails_before_sending(provider, config, message, capfd):
    base = {"incident_id": "PWL7QXS", "workflow_id": "PSFEVL7",
            "response_play_id": "PRP0001"}
    base.update(config)
    env = escalate_env(**base)
    assert main([provider], env) == 2
    assert len(responses.calls) == 0
    err = capfd.readouterr().err
    assert message in err
    assert "Traceback" not in err
    if env.get("RD_CONFIG_API_KEY"):
        assert env["RD_CONFIG_API_KEY"] not in err
