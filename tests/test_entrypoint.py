"""The entrypoint from the built jar, run as the loader runs it, against
the stand-in: a job's life, faults, limits, and no secret in any output."""

from __future__ import annotations

import json
import os
import sys
from typing import Dict

import pytest

from jobenv import KEY, job_env
from leakscan import run_captured
from standin.schema import validate_events_request

PD_400 = json.dumps({
    "status": "invalid event", "message": "Event object is invalid",
    "errors": ["'payload.source' is missing or blank"],
})


@pytest.fixture
def pd(standin):
    """The stand-in, emptied; every request it saw is checked at the end."""
    standin.reset()
    yield standin
    for seen in standin.requests():
        if seen["json"] is not None:
            assert validate_events_request(seen["json"], seen["path"]) == []


def run(tree, pd, env: Dict[str, str], lang="C.UTF-8"):
    """python3 -S pagerduty_notify.py send-event, as the loader runs it.

    -S leaves out site-packages, so only the jar's bundled copies of
    requests and Jinja2 can be imported.
    """
    full = {"PATH": os.environ["PATH"], "LANG": lang, "LC_ALL": lang}
    full.update(env)
    full.setdefault("RD_CONFIG_EVENTS_URL", pd.url)
    result = run_captured(
        "entrypoint send-event",
        [sys.executable, "-S", str(tree / "pagerduty_notify.py"),
         "send-event"],
        env=full, capture_output=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert KEY.encode() not in output
    return result.returncode, output.decode("utf-8", "replace")


def events(pd):
    return [r["json"] for r in pd.requests() if r["path"] == "/v2/enqueue"]


def test_entrypoint_failure_then_success_opens_then_resolves(plugin_tree, pd):
    assert run(plugin_tree, pd, job_env("failure"))[0] == 0
    assert run(plugin_tree, pd, job_env("success"))[0] == 0
    sent = events(pd)
    assert [e["event_action"] for e in sent] == ["trigger", "resolve"]
    assert sent[0]["dedup_key"] == sent[1]["dedup_key"]
    [alert] = pd.alerts()
    assert alert["status"] == "resolved"


@pytest.mark.parametrize("trigger,action,severity", [
    ("start", "trigger", "info"),
    ("success", "resolve", "info"),
    ("failure", "trigger", "error"),
    ("avgduration", "trigger", "warning"),
    ("retryablefailure", "trigger", "warning"),
])
def test_entrypoint_each_trigger_is_accepted(
    plugin_tree, pd, trigger, action, severity
):
    code, output = run(plugin_tree, pd, job_env(trigger))
    assert code == 0, output
    [event] = events(pd)
    assert event["event_action"] == action
    assert event["payload"]["severity"] == severity


def test_entrypoint_long_summary_arrives_cut(plugin_tree, pd):
    code, output = run(plugin_tree, pd, job_env(summary="ü" * 1100))
    assert code == 0, output
    summary = events(pd)[0]["payload"]["summary"]
    assert len(summary) <= 1024
    assert summary.startswith("ü" * 1000)
    assert "summary: cut from 1100 to 1024 characters" in output


def test_entrypoint_429_then_202_delivers(plugin_tree, pd):
    pd.add_faults([{"status": 429, "retry_after": 1}])
    code, output = run(plugin_tree, pd, job_env())
    assert code == 0, output
    assert [r["status"] for r in pd.requests()] == [429, 202]
    assert "retrying in 1." in output


def test_entrypoint_dropped_connection_then_202_delivers(plugin_tree, pd):
    pd.add_faults([{"drop": True}, {"status": 503}])
    code, output = run(plugin_tree, pd, job_env())
    assert code == 0, output
    assert [r["outcome"] for r in pd.requests()] == ["drop", "reply", "reply"]


def test_entrypoint_400_fails_once_with_pagerduty_message(plugin_tree, pd):
    pd.add_faults([{"status": 400, "body": PD_400}])
    code, output = run(plugin_tree, pd, job_env())
    assert code == 3
    assert len(pd.requests()) == 1
    assert "(status 400): Event object is invalid" in output
    assert "'payload.source' is missing or blank" in output


def test_entrypoint_silent_server_cannot_hold_it_past_the_limit(
    plugin_tree, pd
):
    pd.add_faults([{"hang": 30, "times": 5}])
    code, output = run(plugin_tree, pd, job_env(timeout="3"))
    assert code == 4
    assert "not delivered within the 3 s time limit" in output
    assert "no reply within" in output


def test_entrypoint_refused_connection_fails_inside_the_limit(plugin_tree, pd):
    env = job_env(timeout="2", events_url="http://127.0.0.1:9")
    code, output = run(plugin_tree, pd, env)
    assert code == 4
    assert "connection failed" in output


def test_entrypoint_ascii_locale_with_non_ascii_job(plugin_tree, pd):
    env = job_env("failure")
    env["RD_JOB_NAME"] = "Sauvegarde nocturne – données 数据"
    code, output = run(plugin_tree, pd, env, lang="C")
    assert code == 0, output
    summary = events(pd)[0]["payload"]["summary"]
    assert "Sauvegarde nocturne – données 数据" in summary


def test_entrypoint_debug_level_logs_the_event_but_no_key(plugin_tree, pd):
    env = job_env("failure")
    env["RD_EXECUTION_LOGLEVEL"] = "DEBUG"
    code, output = run(plugin_tree, pd, env)
    assert code == 0
    assert "DEBUG: send event: event without its key" in output
