"""The jar as Rundeck loads it: rundeck-core's jar-plugin loader, the
descriptions the job form shows, and notifications end to end."""

from __future__ import annotations

import json
import re

import pytest

import build
from jobenv import KEY
from rundeck_sim import SECURE_VALUE, describe, execution_data, notify

SEND = "pagerduty-send-event"


@pytest.fixture
def pd(standin):
    standin.reset()
    return standin


def config(pd, **more):
    return dict({"integration_key": KEY, "events_url": pd.url}, **more)


def events(pd):
    return [r["json"] for r in pd.requests()]


def test_loader_descriptions_match_plugin_yaml(jar):
    shown = {p["name"]: p for p in describe(jar)["providers"]}
    for provider in build.load_meta()["providers"]:
        desc = shown[provider["name"]]
        assert desc["title"] == provider["title"]
        assert desc["description"] == provider["description"]
        props = [p["name"] for p in desc["properties"]]
        assert props == [c["name"] for c in provider["config"]]
        for declared, seen in zip(provider["config"], desc["properties"]):
            assert seen["type"] == declared["type"]
            assert seen["title"] == declared["title"]
            assert seen["required"] == (declared.get("required") == "true")
            assert seen["defaultValue"] == declared.get("default")
            assert (seen["values"] or []) == build._values(declared)
            assert seen["scope"] == declared.get("scope")
            assert (seen["renderingOptions"] or {}) == declared.get(
                "renderingOptions", {})


def test_loader_failure_then_success_opens_then_resolves(jar, pd):
    ok, log = notify(jar, "failure", config(pd), exec_id=41)
    assert ok, log
    ok, log = notify(jar, "success", config(pd), exec_id=42)
    assert ok, log
    sent = events(pd)
    assert [e["event_action"] for e in sent] == ["trigger", "resolve"]
    assert sent[0]["dedup_key"] == sent[1]["dedup_key"]
    assert [a["status"] for a in pd.alerts()] == ["resolved"]
    assert KEY not in log


@pytest.mark.parametrize("trigger,action,severity,words", [
    ("start", "trigger", "info", "started"),
    ("success", "resolve", "info", "succeeded"),
    ("failure", "trigger", "error", "failed"),
    ("avgduration", "trigger", "warning", "longer than its average"),
    ("retryablefailure", "trigger", "warning", "will be retried"),
])
def test_loader_each_trigger_sends_the_default_event(
    jar, pd, trigger, action, severity, words
):
    ok, log = notify(jar, trigger, config(pd))
    assert ok, log
    [event] = events(pd)
    assert event["event_action"] == action
    assert event["payload"]["severity"] == severity
    assert words in event["payload"]["summary"]
    assert event["payload"]["custom_details"]["execution"]["id"] == "42"
    assert event["client_url"] == "http://127.0.0.1:4440/"


def test_loader_secure_option_value_never_leaves(jar, pd):
    ok, log = notify(jar, "failure", config(pd))
    assert ok, log
    [seen] = pd.requests()
    assert SECURE_VALUE not in seen["body"]
    assert SECURE_VALUE not in log
    assert seen["json"]["payload"]["custom_details"]["options"] == {
        "env": "prod"}


def test_loader_project_level_property_applies(jar, pd):
    project = "project.plugin.Notification.%s.severity=critical\n" % SEND
    ok, log = notify(jar, "failure", config(pd),
                     props={"--project-props": project})
    assert ok, log
    assert events(pd)[0]["payload"]["severity"] == "critical"


def test_loader_python_failure_fails_the_notification(jar, pd):
    ok, log = notify(jar, "failure", config(pd, integration_key="short"))
    assert not ok
    assert "integration_key: must be the 32-character" in log
    assert "%s: notification failed (exit status 2)" % SEND in log
    assert pd.requests() == []


def test_loader_missing_interpreter_is_one_clear_line(jar, pd):
    framework = "framework.plugin.Notification.%s.interpreter=python9\n" % SEND
    ok, log = notify(jar, "failure", config(pd),
                     props={"--framework-props": framework})
    assert not ok
    assert "python9" in log and "3.8" in log
    assert "Exception" not in log


def test_loader_kills_a_notification_past_its_bound(jar, pd):
    # The interpreter here ignores the script and sleeps: only the loader's
    # own bound (timeout + 15 s) can end it.
    framework = ("framework.plugin.Notification.%s.interpreter="
                 "sh -c 'sleep 600'\n" % SEND)
    # timeout has Project scope: Rundeck ignores it in a job's own config.
    project = "project.plugin.Notification.%s.timeout=1\n" % SEND
    ok, log = notify(jar, "failure", config(pd, timeout="999"),
                     props={"--framework-props": framework,
                            "--project-props": project}, timeout=120)
    assert not ok
    assert "timed out after 16 s" in log


TOKEN = "y_NbAkKc66ryYTWUXYEu"
EVENTS_PATH = "keys/project/demo/pagerduty/events-key"
API_PATH = "keys/project/demo/pagerduty/api-key"


@pytest.fixture
def keys(tmp_path):
    """A Key Storage holding both keys as password entries."""
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({EVENTS_PATH: KEY + "\n", API_PATH: TOKEN}))
    return ["--keys", str(path)]


def test_loader_reads_the_integration_key_from_key_storage(jar, pd, keys):
    ok, log = notify(jar, "failure", config(pd, integration_key=EVENTS_PATH),
                     extra=keys)
    assert ok, log
    assert [r["json"]["routing_key"] for r in pd.requests()] == [KEY]
    assert KEY not in log


def test_loader_unreadable_key_path_sends_nothing(jar, pd, keys):
    missing = "keys/project/demo/pagerduty/nope"
    ok, log = notify(jar, "failure", config(pd, integration_key=missing),
                     extra=keys)
    assert not ok
    assert 'integration_key: cannot read Key Storage path "%s"' % missing in log
    assert "nothing was sent" in log
    assert pd.requests() == []


def test_loader_avgduration_escalates_what_failure_opened(jar, pd, keys):
    """Issue 3's job: On Failure sends an event; On Average Duration of
    the next run escalates that incident by its key, with the REST key
    read from Key Storage."""
    pd.add_api_key(TOKEN)
    ok, log = notify(jar, "failure", config(pd), exec_id=41, extra=keys)
    assert ok, log
    escalate = {
        "api_key": API_PATH, "email": "oncall@example.test",
        "incident_key": "rundeck:{{ job.project }}:job:{{ job.id }}",
        "escalation_level": "2", "api_url": pd.url,
    }
    ok, log = notify(jar, "avgduration", escalate, exec_id=42, extra=keys,
                     provider="pagerduty-escalate-incident")
    assert ok, log
    [incident] = pd.incidents()
    assert incident["escalation_level"] == 2
    assert incident["incident_key"] == pd.requests()[0]["json"]["dedup_key"]
    assert TOKEN not in log and KEY not in log


@pytest.mark.parametrize("provider,extra_config", [
    ("pagerduty-start-incident-workflow", {"workflow_id": "PSFEVL7"}),
    ("pagerduty-run-response-play", {"response_play_id": "PRP0001",
                                     "email": "oncall@example.test"}),
])
def test_loader_runs_each_rest_provider(jar, pd, keys, provider, extra_config):
    pd.add_api_key(TOKEN)
    pd.add_workflow("PSFEVL7")
    incident = pd.add_incident()
    cfg = dict(extra_config, api_key=API_PATH, incident_id=incident,
               api_url=pd.url)
    ok, log = notify(jar, "failure", cfg, extra=keys, provider=provider)
    if provider.endswith("workflow"):
        assert ok, log
        assert len(pd.workflow_instances()) == 1
    else:
        assert not ok
        assert "pagerduty-start-incident-workflow" in log
    assert TOKEN not in log


def log_lines(log, text):
    """The log lines that contain ``text``."""
    return [line for line in log.splitlines() if text in line]


def test_loader_delivers_with_values_past_the_kernel_limit(jar, pd):
    """Linux refuses any environment string over 128 KB: such values are
    cut to 32,000 characters, each with a WARN line naming it."""
    data = execution_data("failure")
    nodes = ["db-%04d.eu-west-1.example.internal" % i for i in range(5000)]
    data["failedNodeListString"] = ",".join(nodes)
    data["failedNodeList"] = nodes
    notes = "release-notes " * 10000
    data["context"]["option"]["notes"] = notes
    ok, log = notify(jar, "failure", config(pd, summary="S" * 140000),
                     data=data)
    assert ok, log[-3000:]
    [event] = events(pd)
    details = event["payload"]["custom_details"]
    for sent in (details["options"]["notes"],
                 details["execution"]["failed_nodes"]):
        assert len(sent) == 32000 and sent.endswith("\u2026")
    assert len(event["payload"]["summary"]) == 1024
    for name in ("RD_EXECUTION_FAILEDNODELISTSTRING", "RD_OPTION_NOTES",
                 "RD_CONFIG_SUMMARY"):
        [line] = log_lines(log, name)
        assert line.startswith("WARN") and "32000" in line
    assert notes[:200] not in log and "SSSSSSSS" not in log


def test_loader_bounds_the_whole_environment(jar, pd):
    """Values under the cap may still add up past what exec accepts: the
    largest options are left out first, named in one WARN line."""
    data = execution_data("failure")
    # 100 options of 30,000 characters: 3 MB, past Linux's 2 MB in all.
    options = {"opt%02d" % i: ("v%02d " % i) * 7500 for i in range(100)}
    data["context"]["option"].update(options)
    ok, log = notify(jar, "failure", config(pd), data=data)
    assert ok, log[-3000:]
    [event] = events(pd)
    assert event["event_action"] == "trigger"
    [line] = log_lines(log, "left out")
    assert line.startswith("WARN")
    left_out = set(re.findall(r"RD_OPTION_OPT\d\d", line))
    assert 60 < len(left_out) < 100
    assert "RD_OPTION_ENV" not in line
    assert "v01 v01" not in log


def test_loader_masks_a_secure_option_pasted_into_a_property(jar, pd):
    ok, log = notify(jar, "failure",
                     config(pd, dedupe_key="x-${option.db_password}"))
    assert ok, log
    [seen] = pd.requests()
    assert seen["json"]["dedup_key"] == "x-[secure]"
    assert SECURE_VALUE not in seen["body"]
    assert SECURE_VALUE not in log


def test_loader_leaves_secret_properties_and_short_values_alone(jar, pd):
    """integration_key is meant to hold a secret; a value under four
    characters would mangle ordinary text."""
    fragment = KEY[8:20]
    data = execution_data("failure")
    secure = {"db_password": SECURE_VALUE, "pin": "ab1", "part": fragment}
    data["context"]["secureOption"] = secure
    data["context"]["option"].update(secure)
    cfg = config(pd, dedupe_key="x-${option.pin}-${option.part}")
    ok, log = notify(jar, "failure", cfg, data=data)
    assert ok, log
    [seen] = pd.requests()
    assert seen["json"]["routing_key"] == KEY
    assert seen["json"]["dedup_key"] == "x-ab1-[secure]"
    assert fragment not in log


def test_loader_continuation_lines_keep_the_level_of_their_record(jar, pd):
    script = ("echo ERROR: first >&2; echo Traceback line >&2; "
              'echo "  third" >&2; echo INFO: fine >&2; echo after info >&2; '
              "echo plain out; exit 3")
    framework = ("framework.plugin.Notification.%s.interpreter=sh -c '%s'\n"
                 % (SEND, script))
    ok, log = notify(jar, "failure", config(pd),
                     props={"--framework-props": framework})
    assert not ok

    def level(text):
        [line] = log_lines(log, "%s: %s" % (SEND, text))
        return line.split()[0]

    assert level("ERROR: first") == "ERROR"
    assert level("Traceback line") == "ERROR"
    assert level("  third") == "ERROR"
    assert level("INFO: fine") == "INFO"
    assert level("after info") == "INFO"
    assert level("plain out") == "INFO"
    assert level("notification failed (exit status 3)") == "ERROR"


def test_loader_reads_only_ascii_digits_as_the_timeout(jar, pd):
    """Integer.parseInt takes "+1" (and other scripts' digits); Python
    does not. Read as the default 60 s, a 17 s script is not killed."""
    framework = ("framework.plugin.Notification.%s.interpreter="
                 "sh -c 'sleep 17'\n" % SEND)
    project = "project.plugin.Notification.%s.timeout=+1\n" % SEND
    ok, log = notify(jar, "failure", config(pd),
                     props={"--framework-props": framework,
                            "--project-props": project}, timeout=120)
    assert ok, log
    assert "timed out" not in log


def test_loader_masks_secure_values_in_execution_data(jar, pd):
    data = execution_data("failure")
    data["argstring"] = "-env prod -db_password " + SECURE_VALUE
    summary = "args {{ execution.argstring }}"
    ok, log = notify(jar, "failure", config(pd, summary=summary), data=data)
    assert ok, log
    [seen] = pd.requests()
    assert seen["json"]["payload"]["summary"] == (
        "args -env prod -db_password [secure]")
    assert SECURE_VALUE not in seen["body"] and SECURE_VALUE not in log
