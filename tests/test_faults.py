"""The fault matrix: one row per server behaviour, each with its outcome.

The entrypoint from the jar sends one event to the stand-in (no outbox:
RD_RUNDECK_BASE is unset) with a 3-second limit. README, "Faults", lists
the same rows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobenv import KEY, job_env

PD_400 = json.dumps({"status": "invalid event",
                     "message": "Event object is invalid",
                     "errors": ["'payload.summary' is missing or blank"]})

# (row, faults, exit status, replies seen, words in the log)
MATRIX = [
    ("202 accepted", [], 0, ["reply"], "accepted trigger"),
    ("400 invalid event", [{"status": 400, "body": PD_400}], 3,
     ["reply"], "(status 400): Event object is invalid"),
    ("401 unauthorized", [{"status": 401}], 3, ["reply"], "(status 401)"),
    ("403 forbidden", [{"status": 403}], 3, ["reply"], "(status 403)"),
    ("404 not found", [{"status": 404}], 3, ["reply"], "(status 404)"),
    ("429 with Retry-After, then 202", [{"status": 429, "retry_after": 1}],
     0, ["reply", "reply"], "retrying in 1."),
    ("429 with ratelimit-reset, then 202",
     [{"status": 429, "ratelimit_reset": 1}], 0, ["reply", "reply"],
     "retrying in 1."),
    ("429 without a hint, then 202", [{"status": 429}], 0,
     ["reply", "reply"], "attempt 1 failed (status 429"),
    ("429 asking for longer than the limit",
     [{"status": 429, "retry_after": 120}], 4, ["reply"],
     "after 1 attempt; last: status 429"),
    ("500, then 202", [{"status": 500}], 0, ["reply", "reply"], "status 500"),
    ("502, then 202", [{"status": 502}], 0, ["reply", "reply"], "status 502"),
    ("503, then 202", [{"status": 503}], 0, ["reply", "reply"], "status 503"),
    ("504, then 202", [{"status": 504}], 0, ["reply", "reply"], "status 504"),
    ("503 until the limit", [{"status": 503, "times": 50}], 4, None,
     "not delivered within the 3 s time limit"),
    # The first attempt's read timeout is the whole time left.
    ("a reply that never comes", [{"hang": 30, "times": 10}], 4, ["hang"],
     "no reply within"),
    ("connection closed without a reply, then 202", [{"drop": True}], 0,
     ["drop", "reply"], "connection failed"),
    ("reply cut off mid-body, then 202",
     [{"status": 202, "body": '{"status": "success", "message": "x"}',
       "partial": True}], 0, ["reply", "reply"], "connection failed"),
    ("202 whose body is not JSON", [{"status": 202, "body": "accepted!",
                                     "content_type": "text/plain"}],
     0, ["reply"], "reply was not the usual JSON"),
    ("200 instead of 202", [{"status": 200, "body": "{}"}], 0, ["reply"],
     "accepted trigger"),
]


def run(tree, env):
    full = dict(env, PATH=os.environ["PATH"], LANG="C.UTF-8")
    result = subprocess.run(
        [sys.executable, "-S", str(tree / "pagerduty_notify.py"),
         "send-event"], env=full, capture_output=True, timeout=120)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert KEY not in output
    return result.returncode, output


@pytest.mark.parametrize("row,faults,status,seen,words", MATRIX,
                         ids=[row[0] for row in MATRIX])
def test_fault_matrix_row(plugin_tree, standin, row, faults, status, seen,
                          words):
    standin.reset()
    standin.add_faults(faults)
    env = job_env("failure", events_url=standin.url, timeout="3")
    code, output = run(plugin_tree, env)
    assert code == status, output
    assert words in output
    outcomes = [r["outcome"] for r in standin.requests()]
    if seen is not None:
        assert outcomes == seen
    else:
        assert len(outcomes) >= 2


def test_fault_connection_refused_fails_inside_the_limit(plugin_tree):
    env = job_env("failure", events_url="http://127.0.0.1:9", timeout="2")
    code, output = run(plugin_tree, env)
    assert code == 4
    assert "connection failed" in output
    assert "not delivered within the 2 s time limit" in output


@pytest.fixture
def trickle():
    """A server that answers 202 and then sends its body a byte at a time."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 202 Accepted\r\n"
                             b"Content-Length: 100000\r\n\r\n")
                for _ in range(200):
                    if stop.wait(0.5):
                        break
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=5)


def test_fault_reply_that_trickles_in_ends_inside_the_limit(
    plugin_tree, trickle
):
    env = job_env("failure", events_url=trickle, timeout="3")
    code, output = run(plugin_tree, env)
    assert code == 4
    assert "no complete reply within" in output


def test_source_tree_without_dependencies_says_so(tmp_path):
    env = {"PATH": os.environ["PATH"], "RD_NOTIFICATION_TRIGGER": "failure"}
    script = Path(__file__).resolve().parent.parent / "contents" / (
        "pagerduty_notify.py")
    result = subprocess.run([sys.executable, "-S", str(script), "send-event"],
                            env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "bundled dependencies are missing" in result.stderr
