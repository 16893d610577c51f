"""The REST providers from the built jar against the stand-in: the
incident found by key, escalated, a workflow started exactly once, the
retired response play, and every request checked against the schema."""

from __future__ import annotations

import os
import sys

import pytest

from jobenv import KEY, job_env
from leakscan import run_captured
from standin.schema import validate_events_request, validate_rest_request

TOKEN = "y_NbAkKc66ryYTWUXYEu"
EMAIL = "oncall@example.test"


@pytest.fixture
def pd(standin):
    standin.reset()
    standin.add_api_key(TOKEN)
    standin.add_workflow("PSFEVL7")
    yield standin
    for seen in standin.requests():
        target = seen["path"] + ("?" + seen["query"] if seen["query"] else "")
        if seen["path"].startswith("/v2/"):
            assert validate_events_request(seen["json"], seen["path"]) == []
        else:
            assert validate_rest_request(
                seen["method"], target, seen["headers"], seen["json"]) == []


def run(tree, pd, provider, trigger="avgduration", **config):
    env = job_env(trigger)
    env.update({"PATH": os.environ["PATH"], "LANG": "C.UTF-8"})
    if provider != "send-event":
        del env["RD_CONFIG_INTEGRATION_KEY"]
        config.setdefault("api_key", TOKEN)
        config.setdefault("api_url", pd.url)
    else:
        config.setdefault("events_url", pd.url)
    env.update({"RD_CONFIG_" + k.upper(): v for k, v in config.items()})
    result = run_captured(
        "entrypoint " + provider,
        [sys.executable, "-S", str(tree / "pagerduty_notify.py"), provider],
        env=env, capture_output=True, timeout=120,
    )
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert TOKEN not in output and KEY not in output
    return result.returncode, output


def test_failure_event_then_escalate_by_incident_key(plugin_tree, pd):
    assert run(plugin_tree, pd, "send-event", "failure")[0] == 0
    code, output = run(
        plugin_tree, pd, "escalate-incident", email=EMAIL,
        escalation_level="2",
        incident_key="rundeck:{{ job.project }}:job:{{ job.id }}")
    assert code == 0, output
    [incident] = pd.incidents()
    assert incident["escalation_level"] == 2
    [escalation] = pd.escalations()
    assert escalation["requester"] == EMAIL
    assert "moved to escalation level 2" in output


def test_escalate_resolved_alert_is_not_found(plugin_tree, pd):
    assert run(plugin_tree, pd, "send-event", "failure")[0] == 0
    assert run(plugin_tree, pd, "send-event", "success")[0] == 0
    code, output = run(
        plugin_tree, pd, "escalate-incident", email=EMAIL,
        escalation_level="2",
        incident_key="rundeck:infra:job:5f3c1e2a-0b7d-4c1e-9a55-3f1d2c4b6e70")
    assert code == 3
    assert "no open incident has incident_key" in output
    assert pd.escalations() == []


def test_escalate_above_the_policy_fails_with_pagerduty_message(
    plugin_tree, pd
):
    incident = pd.add_incident(levels=3)
    code, output = run(plugin_tree, pd, "escalate-incident", email=EMAIL,
                       escalation_level="7", incident_id=incident)
    assert code == 3
    assert "(status 400)" in output and "Cannot Escalate" in output


def test_escalate_wrong_token_is_rejected_not_retried(plugin_tree, pd):
    incident = pd.add_incident()
    code, output = run(plugin_tree, pd, "escalate-incident", email=EMAIL,
                       escalation_level="2", incident_id=incident,
                       api_key="WrongTokenWrongToken")
    assert code == 3
    assert "(status 401)" in output
    assert len(pd.requests()) == 1


def test_escalate_rate_limited_then_applied(plugin_tree, pd):
    incident = pd.add_incident()
    pd.add_faults([{"status": 429, "ratelimit_reset": 1,
                    "path": "/incidents/*"}])
    code, output = run(plugin_tree, pd, "escalate-incident", email=EMAIL,
                       escalation_level="3", incident_id=incident)
    assert code == 0, output
    assert [r["status"] for r in pd.requests()] == [429, 200]
    assert pd.incidents()[0]["escalation_level"] == 3


def test_workflow_starts_once_by_incident_key(plugin_tree, pd):
    incident = pd.add_incident(incident_key="db-outage")
    code, output = run(plugin_tree, pd, "start-incident-workflow",
                       incident_key="db-outage", workflow_id="PSFEVL7")
    assert code == 0, output
    [instance] = pd.workflow_instances()
    assert instance["incident_id"] == incident
    assert instance["workflow_id"] == "PSFEVL7"


def test_workflow_after_a_5xx_is_not_started_twice(plugin_tree, pd):
    incident = pd.add_incident()
    pd.add_faults([{"status": 502, "path": "/incident_workflows/*"}])
    code, output = run(plugin_tree, pd, "start-incident-workflow",
                       incident_id=incident, workflow_id="PSFEVL7")
    assert code == 4
    assert "not retried, PagerDuty may have acted on it" in output
    assert len(pd.requests()) == 1


def test_response_play_names_its_replacement(plugin_tree, pd):
    incident = pd.add_incident()
    code, output = run(plugin_tree, pd, "run-response-play", email=EMAIL,
                       incident_id=incident, response_play_id="PRP0001")
    assert code == 3
    assert "retired Response Plays" in output
    assert "pagerduty-start-incident-workflow" in output
    assert len(pd.requests()) == 1
