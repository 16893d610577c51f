"""The outbox: events not delivered in time wait on disk for a later
notification, go out oldest first, in order per alert, never twice."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
import requests
import responses

from jobenv import KEY, job_env
from pdnotify import log as logsetup
from pdnotify import outbox, spool
from pdnotify.cli import main
from standin.schema import validate_events_request
from standin.server import StandIn

URL = "https://events.pagerduty.com/v2/enqueue"
PD_400 = {"status": "invalid event", "message": "Event object is invalid",
          "errors": ["'payload.source' is missing or blank"]}
PD_503 = {"status": "error", "message": "Server error"}


# ------------------------------------------------------------- helpers

def send(box: Path, trigger: str = "failure", **config: str) -> int:
    """One Send Event notification through main(), with this outbox."""
    config.setdefault("timeout", "2")
    config.setdefault("outbox_dir", str(box))
    return main(["send-event"], job_env(trigger, **config))


def flush(box: Path, timeout: str = "5") -> int:
    """flush-outbox through main()."""
    return main(["flush-outbox"], {"RD_CONFIG_OUTBOX_DIR": str(box),
                                   "RD_CONFIG_TIMEOUT": timeout})


def waiting(box: Path) -> List[dict]:
    """The waiting entries, oldest first."""
    return [json.loads((box / n).read_text("utf-8"))
            for n in sorted(os.listdir(box)) if n.endswith(".json")]


def files(folder: Path) -> List[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".json"))


def sent() -> List[Tuple[str, str]]:
    """(action, dedup key) of each request `responses` saw, in order."""
    return [(b["event_action"], b["dedup_key"])
            for b in (json.loads(c.request.body) for c in responses.calls)]


def accept_unless(refuse: Dict[Tuple[str, str], int]) -> None:
    """Answer 202, or the status given for an (action, dedup key)."""
    def answer(request):
        body = json.loads(request.body)
        status = refuse.get((body["event_action"], body["dedup_key"]))
        if status is None:
            status = refuse.get(("*", body["dedup_key"]), 202)
        reply = {400: PD_400, 503: PD_503}.get(status, {
            "status": "success", "message": "Event processed",
            "dedup_key": body["dedup_key"]})
        return status, {}, json.dumps(reply)
    responses.add_callback(responses.POST, URL, callback=answer)


def event(dedup: str, action: str = "trigger") -> dict:
    """A small valid Events API event for the sample key."""
    return {"routing_key": KEY, "event_action": action, "dedup_key": dedup,
            "payload": {"summary": "test " + dedup, "source": "test",
                        "severity": "error"}}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------ queued when not delivered

@pytest.mark.parametrize("fault,last", [
    ({"status": 503, "json": PD_503}, "status 503: Server error"),
    ({"status": 429, "headers": {"Retry-After": "30"},
      "json": {"status": "throttle event", "message": "Too many requests"}},
     "status 429: Too many requests"),
    ({"body": requests.exceptions.ConnectionError("refused")},
     "connection failed: refused"),
])
@responses.activate
def test_not_delivered_event_is_queued_private_and_whole(
    tmp_path, capfd, fault, last
):
    box = tmp_path / "outbox"
    responses.post(URL, **fault)
    assert send(box) == 5
    err = capfd.readouterr().err
    assert "queued in the outbox %s as " % box in err
    assert KEY not in err
    [name] = files(box)
    assert mode(box) == 0o700
    assert mode(box / name) == 0o600
    [entry] = waiting(box)
    assert entry["event"] == json.loads(responses.calls[0].request.body)
    assert entry["url"] == URL
    assert entry["attempts"] == 1
    assert last in entry["last_error"]
    assert entry["queued"].endswith("Z")
    assert files(box / "sending") == []
    assert [n for n in os.listdir(box) if n.startswith(".tmp-")] == []


@responses.activate
def test_undecodable_job_text_is_kept_and_sent_unchanged(tmp_path):
    box = tmp_path / "outbox"
    env = job_env(timeout="2", outbox_dir=str(box))
    env["RD_JOB_NAME"] = "backup \udc80 é 数据"  # bytes that weren't UTF-8
    responses.post(URL, status=503, json=PD_503)
    assert main(["send-event"], env) == 5
    first = responses.calls[0].request.body
    responses.reset()
    accept_unless({})
    assert flush(box) == 0
    assert responses.calls[0].request.body == first


@responses.activate
def test_default_outbox_is_under_rundeck_base(tmp_path):
    responses.post(URL, status=503, json=PD_503)
    env = job_env(timeout="2")
    env["RD_RUNDECK_BASE"] = str(tmp_path)
    assert main(["send-event"], env) == 5
    box = tmp_path / "var" / "pagerduty-notify" / "outbox"
    assert len(files(box)) == 1
    assert mode(box) == 0o700


@responses.activate
def test_without_outbox_old_behaviour_exit_4_and_one_line(capfd):
    responses.post(URL, status=503, json=PD_503)
    assert main(["send-event"], job_env(timeout="2")) == 4
    err = capfd.readouterr().err
    assert err.count("no outbox is configured") == 1
    assert "not delivered within the 2 s time limit" in err


@responses.activate
def test_rest_actions_are_never_queued(tmp_path):
    responses.put("https://api.pagerduty.com/incidents/PWL7QXS",
                  status=503, json={"error": {"message": "down"}})
    env = job_env("avgduration", timeout="2", api_key="y_NbAkKc66ryYTWUXYEu",
                  email="oncall@example.test", escalation_level="2",
                  incident_id="PWL7QXS")
    del env["RD_CONFIG_INTEGRATION_KEY"]
    env["RD_RUNDECK_BASE"] = str(tmp_path)
    assert main(["escalate-incident"], env) == 4
    assert not (tmp_path / "var").exists()


# ------------------------------------------------------ delivered later

@responses.activate
def test_next_notification_delivers_what_waits_oldest_first(tmp_path):
    box = tmp_path / "outbox"
    responses.post(URL, status=503, json=PD_503)
    for key in ("k1", "k2", "k3"):
        assert send(box, dedupe_key=key) == 5
    responses.reset()
    accept_unless({})
    assert send(box, dedupe_key="k4") == 0
    assert sent() == [("trigger", k) for k in ("k1", "k2", "k3", "k4")]
    assert waiting(box) == []


@responses.activate
def test_resolve_waits_behind_its_trigger_that_cannot_go_yet(tmp_path):
    box = tmp_path / "outbox"
    accept_unless({("trigger", "k1"): 503})
    assert send(box, dedupe_key="k1") == 5
    # The resolve would be accepted, but its trigger still can't go:
    # it must wait behind it, not overtake it.
    assert send(box, "success", dedupe_key="k1") == 5
    assert ("resolve", "k1") not in sent()
    [first, second] = waiting(box)
    assert first["event"]["event_action"] == "trigger"
    assert second["event"]["event_action"] == "resolve"
    assert second["last_error"].startswith("waits behind ")
    responses.reset()
    accept_unless({})
    assert send(box, dedupe_key="k2") == 0
    assert sent() == [("trigger", "k1"), ("resolve", "k1"), ("trigger", "k2")]
    assert waiting(box) == []


@responses.activate
def test_other_alert_goes_out_while_one_waits_and_says_so(tmp_path, capfd):
    box = tmp_path / "outbox"
    accept_unless({("*", "k1"): 503})
    assert send(box, dedupe_key="k1") == 5
    capfd.readouterr()
    assert send(box, dedupe_key="k2") == 0
    assert sent()[-1] == ("trigger", "k2")
    assert "1 earlier event still waits in %s" % box in capfd.readouterr().err
    assert [e["event"]["dedup_key"] for e in waiting(box)] == ["k1"]
    assert waiting(box)[0]["attempts"] == 2


# ------------------------------------------------ rejected and unreadable

@responses.activate
def test_rejected_entry_is_moved_with_reason_and_reported(tmp_path, capfd):
    box = tmp_path / "outbox"
    responses.post(URL, status=503, json=PD_503)
    assert send(box, dedupe_key="bad") == 5
    [name] = files(box)
    responses.reset()
    accept_unless({("trigger", "bad"): 400})
    capfd.readouterr()
    assert send(box, dedupe_key="good") == 0
    err = capfd.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("ERROR:"))
    assert name in line
    assert "(status 400): Event object is invalid" in line
    assert str(box / "rejected" / name) in line
    assert KEY not in err
    assert waiting(box) == []
    kept = json.loads((box / "rejected" / name).read_text("utf-8"))
    assert kept["rejected"]["status"] == 400
    assert "'payload.source' is missing or blank" in \
        kept["rejected"]["message"]
    assert kept["event"]["dedup_key"] == "bad"
    assert mode(box / "rejected" / name) == 0o600


@responses.activate
def test_flush_outbox_exit_3_when_an_entry_is_rejected(tmp_path):
    box = tmp_path / "outbox"
    responses.post(URL, status=503, json=PD_503)
    assert send(box, dedupe_key="bad") == 5
    responses.reset()
    responses.post(URL, status=400, json=PD_400)
    assert flush(box) == 3
    assert waiting(box) == [] and len(files(box / "rejected")) == 1


@responses.activate
def test_corrupt_entry_is_moved_to_unreadable_and_reported(tmp_path, capfd):
    box = tmp_path / "outbox"
    outbox.Outbox(str(box)).prepare()
    broken = "%020d-1-abcdef-0123456789ab.json" % time.time_ns()
    (box / broken).write_bytes(b'{"format": 1, "url": "http://x", "ev')
    (box / "notes.json").write_text("hello")
    accept_unless({})
    assert flush(box) == 3
    err = capfd.readouterr().err
    assert "ERROR: outbox: %s is not a readable entry (not JSON" % broken \
        in err
    assert "ERROR: outbox: notes.json is not a readable entry" in err
    assert sorted(os.listdir(box / "unreadable")) == [broken, "notes.json"]
    assert len(responses.calls) == 0
    assert flush(box) == 0


# ----------------------------------------------------------- bounds

def test_over_the_count_bound_the_oldest_are_dropped(
    tmp_path, capfd, monkeypatch
):
    monkeypatch.setattr(outbox, "MAX_ENTRIES", 3)
    logsetup.setup(False, [])
    box = outbox.Outbox(str(tmp_path / "outbox"))
    for n in range(5):
        box.queue(URL, event("k%d" % n), "test")
    kept = waiting(tmp_path / "outbox")
    assert [e["event"]["dedup_key"] for e in kept] == ["k2", "k3", "k4"]
    err = capfd.readouterr().err
    assert err.count("WARNING: outbox: dropped the 1 oldest waiting events, "
                     "never delivered, because the outbox keeps at most 3 "
                     "events") == 2


@responses.activate
def test_entries_older_than_the_age_bound_are_dropped(tmp_path, capfd):
    box = outbox.Outbox(str(tmp_path / "outbox"))
    box.prepare()
    for age_days, key in ((8, "old"), (6, "young")):
        stamp = time.time_ns() - age_days * 86400 * 10 ** 9
        name = "%020d-1-abcdef-%s.json" % (stamp, outbox._alert_hash(
            event(key)))
        entry = outbox.Entry(name, URL, event(key), "then")
        spool.write_new(box.path, entry.name, entry.data())
    accept_unless({})
    assert flush(tmp_path / "outbox") == 0
    assert sent() == [("trigger", "young")]
    assert "dropped the 1 oldest waiting events, never delivered, because " \
        "they waited more than 7 days" in capfd.readouterr().err


# -------------------------------------------------- crashes mid-delivery

@responses.activate
def test_event_of_a_crashed_notification_is_sent_again(tmp_path, capfd):
    box = outbox.Outbox(str(tmp_path / "outbox"))
    flight = box.begin(URL, event("k1"))
    flight._close()  # the process died: its lock went with it
    accept_unless({})
    assert flush(tmp_path / "outbox") == 0
    assert sent() == [("trigger", "k1")]
    assert files(tmp_path / "outbox" / "sending") == []
    assert "was being sent when its notification stopped" in \
        capfd.readouterr().err


@responses.activate
def test_live_send_is_neither_taken_over_nor_overtaken(tmp_path):
    path = tmp_path / "outbox"
    box = outbox.Outbox(str(path))
    flight = box.begin(URL, event("rundeck:infra:job:x"))
    accept_unless({})
    # A resolve for the alert being sent waits behind it...
    assert send(path, "success", dedupe_key="rundeck:infra:job:x") == 5
    assert flush(path) == 5
    assert sent() == []
    assert len(files(path / "sending")) == 1
    # ...and goes out after it, once that send failed and was queued.
    flight.keep("test: not delivered")
    assert flush(path) == 0
    assert sent() == [("trigger", "rundeck:infra:job:x"),
                      ("resolve", "rundeck:infra:job:x")]


# ------------------------------------------------------ flush-outbox

@responses.activate
def test_flush_outbox_exit_5_while_entries_wait_then_0(tmp_path, capfd):
    box = tmp_path / "outbox"
    responses.post(URL, status=503, json=PD_503)
    assert send(box) == 5
    assert flush(box, timeout="2") == 5
    assert "flush-outbox: 1 events still wait in" in capfd.readouterr().err
    responses.reset()
    accept_unless({})
    assert flush(box) == 0
    assert flush(box) == 0


def test_flush_outbox_without_outbox_is_a_config_error(capfd):
    assert main(["flush-outbox"], {}) == 2
    assert "no outbox is configured" in capfd.readouterr().err


# ---------------------------------------- the jar's tree, many processes

def entrypoint(tree: Path, args: Sequence[str], env: Dict[str, str],
               timeout: float = 60) -> Tuple[int, str]:
    """python3 -S pagerduty_notify.py ..., as the loader runs it."""
    full = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8"}
    full.update(env)
    result = subprocess.run(
        [sys.executable, "-S", str(tree / "pagerduty_notify.py"), *args],
        env=full, capture_output=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert KEY.encode() not in output
    return result.returncode, output.decode("utf-8", "replace")


def notify(tree: Path, url: str, box: Path, trigger: str, key: str,
           timeout: str = "2") -> Tuple[int, str]:
    """One Send Event notification from the jar's tree."""
    env = job_env(trigger, timeout=timeout, dedupe_key=key,
                  events_url=url, outbox_dir=str(box))
    return entrypoint(tree, ["send-event"], env)


def flush_outbox(tree: Path, box: Path, timeout: str = "20"):
    env = {"RD_CONFIG_OUTBOX_DIR": str(box), "RD_CONFIG_TIMEOUT": timeout}
    return entrypoint(tree, ["flush-outbox"], env)


def accepted(pd: StandIn) -> List[Tuple[str, str]]:
    """(dedup key, action) of each event the stand-in accepted, in order."""
    seen = pd.requests()
    for r in seen:
        assert validate_events_request(r["json"], r["path"]) == []
    return [(r["json"]["dedup_key"], r["json"]["event_action"])
            for r in seen if r["path"] == "/v2/enqueue"
            and r["status"] == 202]


def per_key(events: List[Tuple[str, str]]) -> Dict[str, List[str]]:
    """Each dedup key's actions in the order they were accepted."""
    found: Dict[str, List[str]] = {}
    for key, action in events:
        found.setdefault(key, []).append(action)
    return found


def test_processes_flushing_at_once_deliver_each_entry_once(
    plugin_tree, tmp_path
):
    path = tmp_path / "outbox"
    with StandIn() as pd:
        box = outbox.Outbox(str(path))
        for n in range(30):
            box.queue(pd.url + "/v2/enqueue", event("q%02d" % n), "test")
        jobs = [("flush", None)] * 6 + [("send", "s%d" % n) for n in range(4)]
        barrier = threading.Barrier(len(jobs))

        def one(job):
            barrier.wait(timeout=30)
            if job[0] == "flush":
                return flush_outbox(plugin_tree, path, "20")
            return notify(plugin_tree, pd.url, path, "failure", job[1], "20")

        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(one, jobs, timeout=120))
        assert [code for code, _ in results] == [0] * len(jobs), results
        got = accepted(pd)
    keys = ["q%02d" % n for n in range(30)] + ["s%d" % n for n in range(4)]
    assert sorted(k for k, _ in got) == sorted(keys)
    queued = [k for k, _ in got if k.startswith("q")]
    assert queued == sorted(queued)  # oldest first
    assert files(path) == [] and files(path / "sending") == []


def test_acceptance_pagerduty_down_then_back_loses_nothing(
    plugin_tree, tmp_path
):
    path = tmp_path / "outbox"
    with StandIn() as probe:
        port = probe.port  # nothing listens here until it is back
    url = "http://127.0.0.1:%d" % port
    plan = {"a": ["failure", "success", "failure"],
            "b": ["failure", "success"], "c": ["failure"]}

    def life(key):
        return [notify(plugin_tree, url, path, trigger, key)
                for trigger in plan[key]]

    with ThreadPoolExecutor(len(plan)) as pool:
        lives = list(pool.map(life, plan, timeout=120))
    for runs in lives:
        assert [code for code, _ in runs] == [5] * len(runs), runs
    assert len(files(path)) == 6
    with StandIn(port=port) as pd:
        code, output = notify(plugin_tree, pd.url, path, "failure", "d",
                              "10")
        assert code == 0, output
        got = accepted(pd)
    assert per_key(got) == {
        "a": ["trigger", "resolve", "trigger"],
        "b": ["trigger", "resolve"], "c": ["trigger"], "d": ["trigger"]}
    assert len(got) == 7
    assert files(path) == []


@responses.activate
def test_existing_outbox_folder_keeps_its_mode(tmp_path):
    box = tmp_path / "shared"
    box.mkdir()
    box.chmod(0o750)
    responses.post(URL, status=503, json=PD_503)
    assert send(box) == 5
    assert mode(box) == 0o750
    assert [mode(box / name) for name in files(box)] == [0o600]


@pytest.mark.parametrize("kind", ["writable by others", "a file"])
@responses.activate
def test_unusable_outbox_folder_is_refused_and_left_alone(
    tmp_path, capfd, kind
):
    box = tmp_path / "box"
    if kind == "a file":
        box.write_text("not a folder")
        box.chmod(0o644)
    else:
        box.mkdir()
        box.chmod(0o1777)
    before = mode(box)
    responses.post(URL, status=503, json=PD_503)
    assert send(box) == 4
    assert mode(box) == before
    err = capfd.readouterr().err
    assert "outbox" in err and str(box) in err
    assert "Traceback" not in err
