"""Send Event through main(): the exact JSON per trigger, and failures."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from jobenv import JOB_ID, KEY, SERVER, job_env
from pdnotify.cli import main

URL = "https://events.pagerduty.com/v2/enqueue"
ACCEPTED = {"status": "success", "message": "Event processed"}
DEDUP = "rundeck:infra:job:" + JOB_ID


def expected(trigger, action, severity, summary, status, ended=True):
    """The event the defaults describe for the sample job."""
    execution = {
        "id": "42",
        "status": status,
        "user": "alice",
        "started": "2026-12-04T10:00:00Z",
        "link": SERVER + "/project/infra/execution/show/42",
    }
    if ended:
        execution["ended"] = "2026-12-04T10:05:00Z"
    if trigger in ("failure", "retryablefailure"):
        execution["failed_nodes"] = "db1"
        execution["succeeded_nodes"] = "db2"
    return {
        "routing_key": KEY,
        "event_action": action,
        "dedup_key": DEDUP,
        "payload": {
            "summary": summary,
            "source": "rundeck.test",
            "severity": severity,
            "component": "ops/db/nightly backup",
            "group": "infra",
            "class": "rundeck job",
            "custom_details": {
                "trigger": trigger,
                "job": {
                    "id": JOB_ID,
                    "name": "nightly backup",
                    "group": "ops/db",
                    "project": "infra",
                    "link": SERVER + "/project/infra/job/show/" + JOB_ID,
                },
                "execution": execution,
                "options": {"version": "1.2.3"},
            },
            "timestamp": "2026-12-04T10:05:00Z" if ended
            else "2026-12-04T10:00:00Z",
        },
        "client": "Rundeck",
        "client_url": SERVER + "/",
        "links": [
            {"href": SERVER + "/project/infra/execution/show/42",
             "text": "Rundeck execution 42"},
            {"href": SERVER + "/project/infra/job/show/" + JOB_ID,
             "text": "Rundeck job ops/db/nightly backup"},
        ],
    }


def send_accepted(env):
    """main() with PagerDuty accepting the event; the event it sent."""
    responses.post(URL, status=202, json=ACCEPTED)
    assert main(["send-event"], env) == 0
    return json.loads(responses.calls[0].request.body)


JOB = "Rundeck job ops/db/nightly backup"
TRIGGERS = [
    ("failure", "trigger", "error", JOB + " failed", "failed", True),
    ("success", "resolve", "info", JOB + " succeeded", "succeeded", True),
    ("start", "trigger", "info", JOB + " started", "running", False),
    ("avgduration", "trigger", "warning",
     JOB + " is running longer than its average duration", "running", False),
    ("retryablefailure", "trigger", "warning",
     JOB + " failed and will be retried", "failed-with-retry", True),
]


@pytest.mark.parametrize(
    "trigger,action,severity,outcome,status,ended", TRIGGERS
)
@responses.activate(assert_all_requests_are_fired=True)
def test_send_event_each_trigger_sends_the_default_event(
    trigger, action, severity, outcome, status, ended
):
    summary = outcome + " (execution 42, project infra)"
    body = expected(trigger, action, severity, summary, status, ended)
    responses.post(
        URL, status=202, json=dict(ACCEPTED, dedup_key=DEDUP),
        match=[matchers.json_params_matcher(body, strict_match=True)],
    )
    assert main(["send-event"], job_env(trigger)) == 0


@responses.activate
def test_send_event_eu_region_uses_eu_host():
    responses.post("https://events.eu.pagerduty.com/v2/enqueue",
                   status=202, json=ACCEPTED)
    assert main(["send-event"], job_env(region="eu")) == 0


@responses.activate
def test_send_event_properties_override_defaults_and_render_templates():
    env = job_env(
        "failure",
        action="acknowledge",
        severity="critical",
        dedupe_key="backup-{{ job.project }}",
        summary="{{ job.name }} broke on {{ execution.failednodeliststring }}",
        source="db-cluster",
        images="https://img.test/a.png, ,https://img.test/b.png",
        custom_details='{"team": "dba", "job": {"tier": "{{ option.version }}"}}',
    )
    sent = send_accepted(env)
    assert sent["event_action"] == "acknowledge"
    assert sent["dedup_key"] == "backup-infra"
    assert sent["payload"]["summary"] == "nightly backup broke on db1"
    assert sent["payload"]["severity"] == "critical"
    assert sent["payload"]["source"] == "db-cluster"
    assert sent["images"] == [{"src": "https://img.test/a.png"},
                              {"src": "https://img.test/b.png"}]
    details = sent["payload"]["custom_details"]
    assert details["team"] == "dba"
    assert details["job"]["tier"] == "1.2.3"
    assert details["job"]["name"] == "nightly backup"


@responses.activate
def test_send_event_job_values_are_data_not_templates():
    env = job_env("failure", summary="{{ job.name }} failed")
    env["RD_JOB_NAME"] = "{{ 7*7 }} {% if true %}x{% endif %}"
    sent = send_accepted(env)
    assert sent["payload"]["summary"] == (
        "{{ 7*7 }} {% if true %}x{% endif %} failed"
    )


@responses.activate
def test_send_event_broken_template_sends_text_as_written(capfd):
    env = job_env("failure", summary="{{ job.nosuch }} failed")
    sent = send_accepted(env)
    assert sent["payload"]["summary"] == "{{ job.nosuch }} failed"
    assert "summary: template error on line 1" in capfd.readouterr().err


@responses.activate
def test_send_event_summary_over_limit_is_cut_on_a_character():
    responses.post(URL, status=202, json=ACCEPTED)
    assert main(["send-event"], job_env(summary="é" * 1100)) == 0
    summary = json.loads(responses.calls[0].request.body)["payload"]["summary"]
    assert len(summary) == 1024
    assert summary == "é" * 1023 + "\u2026"


@responses.activate
def test_send_event_long_dedup_key_is_shortened_the_same_each_time():
    responses.post(URL, status=202, json=ACCEPTED)
    for trigger in ("failure", "success"):
        assert main(["send-event"], job_env(trigger, dedupe_key="k" * 300)) == 0
    keys = [json.loads(c.request.body)["dedup_key"] for c in responses.calls]
    assert len(keys[0]) == 255
    assert keys[0] == keys[1]
    assert keys[0].startswith("k" * 100)


@responses.activate
def test_send_event_oversize_event_drops_custom_details_with_note():
    env = job_env(custom_details=json.dumps({"blob": "x" * 600000}))
    sent = send_accepted(env)
    assert "512 KB" in sent["payload"]["custom_details"]["note"]
    assert len(responses.calls[0].request.body) < 512000


@responses.activate
def test_send_event_400_fails_at_once_with_pagerduty_message(capfd):
    responses.post(URL, status=400, json={
        "status": "invalid event", "message": "Event object is invalid",
        "errors": ["'payload.source' is missing or blank"],
    })
    assert main(["send-event"], job_env()) == 3
    assert len(responses.calls) == 1
    err = capfd.readouterr().err
    assert "send event: PagerDuty rejected the request (status 400)" in err
    assert "'payload.source' is missing or blank" in err
    assert KEY not in err


@pytest.mark.parametrize("config,message", [
    ({"integration_key": ""}, "integration_key: is required"),
    ({"integration_key": "u+abcdefghijklmnopqr"},
     "integration_key: must be the 32-character"),
    ({"action": "explode"}, "action: 'explode' is not one of"),
    ({"severity": "loud"}, "severity: 'loud' is not one of"),
    ({"region": "mars"}, "region: 'mars' is not one of"),
    ({"events_url": "ftp://x"}, "events_url: must look like"),
    ({"events_url": "https://u:p@h.test"}, "events_url: must not contain"),
    ({"timeout": "soon"}, "timeout: 'soon' is not a whole number"),
    ({"timeout": "0"}, "timeout: 0 is outside"),
    ({"custom_details": "[1, 2]"}, "custom_details: must be a JSON object"),
    ({"custom_details": "{oops"}, "custom_details: not valid JSON"),
    ({"images": "http://img.test/a.png"}, "images: 'http://img.test/a.png'"),
    ({"custom_details": '{"x": NaN}'}, "custom_details: not valid JSON"),
    ({"custom_details": '{"x": -Infinity}'}, "custom_details: not valid"),
    ({"custom_details": "[" * 100000 + "]" * 100000},
     "custom_details: "),
    ({"source": "s" * 600000}, "source: the event is"),
    ({"events_url": "http://127.0.0.1:8080/v2/enqueue"},
     "events_url: give only scheme, host and port"),
    ({"events_url": "http://exa mple.test"}, "events_url: 'http://exa mple"),
    ({"events_url": "http://127.0.0.1:0"}, "events_url: 'http://127.0.0.1:0'"),
    ({"images": "https://"}, "images: 'https://' is not"),
    ({"images": "https://a b/c.png"}, "images: 'https://a b/c.png' is not"),
    ({"timeout": "1_0"}, "timeout: '1_0' is not a whole number"),
    ({"timeout": "\u0661\u0660"}, "is not a whole number"),
])
@responses.activate(assert_all_requests_are_fired=False)
def test_send_event_bad_property_fails_before_sending(config, message, capfd):
    env = job_env()
    env.update({"RD_CONFIG_" + k.upper(): v for k, v in config.items()})
    assert main(["send-event"], env) == 2
    assert len(responses.calls) == 0
    err = capfd.readouterr().err
    assert message in err
    assert KEY not in err
    assert "Traceback" not in err


def test_send_event_unknown_trigger_fails_clearly(capfd):
    env = job_env()
    env["RD_NOTIFICATION_TRIGGER"] = "onfailure"
    assert main(["send-event"], env) == 2
    assert "RD_NOTIFICATION_TRIGGER: 'onfailure'" in capfd.readouterr().err


def test_main_unknown_provider_fails_clearly(capfd):
    assert main(["page-everyone"], job_env()) == 2
    assert "usage: pagerduty_notify.py" in capfd.readouterr().err


@responses.activate
def test_send_event_value_rundeck_pasted_into_a_property_is_not_evaluated():
    # The job said summary "Deploy ${option.version} of {{ job.name }}";
    # Rundeck pasted the option's value before the plugin saw it.
    env = job_env("failure", summary="Deploy {{ 7*7 }} of {{ job.name }}")
    env["RD_OPTION_VERSION"] = "{{ 7*7 }}"
    sent = send_accepted(env)
    assert sent["payload"]["summary"] == "Deploy {{ 7*7 }} of nightly backup"


@responses.activate
def test_send_event_pasted_value_alone_is_sent_as_text():
    env = job_env("failure", summary="{% for x in range(9) %}{% endfor %}")
    env["RD_OPTION_VERSION"] = "{% for x in range(9) %}{% endfor %}"
    sent = send_accepted(env)
    assert sent["payload"]["summary"] == "{% for x in range(9) %}{% endfor %}"


@responses.activate
def test_send_event_sandbox_blocks_unsafe_attributes(capfd):
    responses.post(URL, status=202, json=ACCEPTED)
    text = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    assert main(["send-event"], job_env("failure", summary=text)) == 0
    sent = json.loads(responses.calls[0].request.body)
    assert sent["payload"]["summary"] == text
    assert "summary: template error" in capfd.readouterr().err


@responses.activate
def test_send_event_blank_text_properties_fall_back_to_defaults():
    env = job_env("failure", summary="   ", source=" ", action=" ")
    sent = send_accepted(env)
    assert sent["payload"]["summary"].startswith("Rundeck job ops/db/")
    assert sent["payload"]["source"] == "rundeck.test"
    assert sent["event_action"] == "trigger"


@responses.activate
def test_send_event_padded_key_is_masked_when_echoed(capfd):
    responses.post(URL, status=400, json={
        "status": "invalid event", "message": "bad key " + KEY})
    assert main(["send-event"], job_env(integration_key=" %s " % KEY)) == 3
    err = capfd.readouterr().err
    assert KEY not in err and "bad key ****" in err


def test_send_event_internal_error_is_reported_without_secrets(
    monkeypatch, capfd
):
    def broken(*args):
        raise RuntimeError("boom near " + KEY)

    monkeypatch.setattr("pdnotify.event.build", broken)
    assert main(["send-event"], job_env()) == 1
    err = capfd.readouterr().err
    assert "ERROR: internal error (please report this" in err
    assert "RuntimeError: boom near ****" in err
    assert KEY not in err


@responses.activate
def test_send_event_slow_template_sends_the_text(monkeypatch, capfd):
    monkeypatch.setattr("pdnotify.render.RENDER_SECONDS", 0.3)
    responses.post(URL, status=202, json=ACCEPTED)
    text = ("{% for a in range(100000) %}{% for b in range(100000) %}"
            "{% endfor %}{% endfor %}")
    assert main(["send-event"], job_env(summary=text)) == 0
    sent = json.loads(responses.calls[0].request.body)
    assert sent["payload"]["summary"] == text
    assert "summary: template took longer than 0.3 s" in capfd.readouterr().err
