"""The plugin in a real Rundeck: make test-rundeck.

Needs a Rundeck 5.x war (tests/rundeck_war.py: RUNDECK_WAR, or Maven
Central). NOTE: this suite has not run yet: no war is reachable from this
project's machines (README, "What it does not do yet"). It fails, with that
reason, until one is; keep it honest when a war can be had.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import requests

from jobenv import KEY
from rundeck_war import find
from standin.server import StandIn

pytestmark = pytest.mark.rundeck

API = "/api/41"
TOKEN = "pdnotifyE2eT0ken0123456789abcdef"
SECRET = "Sup3r-S3cret-Opt1on"
JOB_YAML = """\
- name: pd-e2e
  group: tests
  loglevel: INFO
  options:
  - name: fail
    value: 'true'
  - name: secret
    secure: true
    valueExposed: true
  sequence:
    keepgoing: false
    strategy: node-first
    commands:
    - exec: test "${option.fail}" != "true"
  notification:
    onfailure:
      plugin: &pd
        type: pagerduty-send-event
        configuration:
          integration_key: %(key)s
          events_url: %(url)s
    onsuccess:
      plugin: *pd
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rundeck(jar, tmp_path_factory):
    """A Rundeck on 127.0.0.1 with the jar in libext and an API token."""
    war, why = find()
    if war is None:
        pytest.fail("no Rundeck war: " + why)
    base = tmp_path_factory.mktemp("rdeck")
    port = _free_port()
    url = "http://127.0.0.1:%d" % port
    java = ["java", "-Xmx1536m", "-Drdeck.base=%s" % base,
            "-Dserver.address=127.0.0.1", "-Dserver.http.host=127.0.0.1",
            "-Dserver.http.port=%d" % port, "-Dgrails.serverURL=" + url,
            "-jar", str(war)]
    subprocess.run(java + ["--installonly"], check=True, timeout=600)
    (base / "libext").mkdir(exist_ok=True)
    shutil.copy(jar, base / "libext" / jar.name)
    tokens = base / "etc" / "tokens.properties"
    tokens.write_text("admin: %s,admin\n" % TOKEN)
    with (base / "etc" / "framework.properties").open("a") as fh:
        fh.write("\nrundeck.tokens.file=%s\n" % tokens)
    log = (base / "rundeck.out").open("wb")
    proc = subprocess.Popen(java, stdout=log, stderr=subprocess.STDOUT)
    try:
        session = _wait_ready(url)
        yield url, session, base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_ready(url: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Rundeck-Auth-Token": TOKEN,
                            "Accept": "application/json"})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if session.get(url + API + "/system/info", timeout=5).ok:
                return session
        except requests.RequestException:
            pass
        print("rundeck: waiting for %s" % url, flush=True)
        time.sleep(5)
    pytest.fail("Rundeck did not answer within 10 minutes")


def _run(url, session, job_id, options):
    reply = session.post(url + API + "/job/%s/run" % job_id,
                         json={"options": options}, timeout=30)
    reply.raise_for_status()
    exec_id = reply.json()["id"]
    for _ in range(120):
        state = session.get(url + API + "/execution/%s" % exec_id,
                            timeout=10).json()
        if state["status"] != "running":
            return state["status"]
        time.sleep(1)
    pytest.fail("execution %s did not end" % exec_id)


def _wait_events(pd, count):
    for _ in range(120):
        seen = [r for r in pd.requests() if r["path"] == "/v2/enqueue"]
        if len(seen) >= count:
            return seen
        time.sleep(1)
    pytest.fail("the stand-in got %d of %d events" % (len(seen), count))


def test_rundeck_lists_the_provider_with_its_properties(rundeck):
    url, session, _ = rundeck
    detail = session.get(
        url + API + "/plugin/detail/Notification/pagerduty-send-event",
        timeout=30)
    assert detail.ok, detail.text[:500]
    names = [p["name"] for p in detail.json()["props"]]
    assert "integration_key" in names and "severity" in names


def test_rundeck_failing_then_succeeding_job_opens_then_resolves(rundeck):
    url, session, base = rundeck
    with StandIn() as pd:
        session.post(url + API + "/projects", json={"name": "pde2e"},
                     timeout=30)
        job = JOB_YAML % {"key": KEY, "url": pd.url}
        reply = session.post(
            url + API + "/project/pde2e/jobs/import",
            params={"fileformat": "yaml", "dupeOption": "update"},
            data=job.encode(), headers={"Content-Type": "application/yaml"},
            timeout=60)
        reply.raise_for_status()
        job_id = reply.json()["succeeded"][0]["id"]
        assert _run(url, session, job_id,
                    {"fail": "true", "secret": SECRET}) == "failed"
        _wait_events(pd, 1)
        assert _run(url, session, job_id,
                    {"fail": "false", "secret": SECRET}) == "succeeded"
        seen = _wait_events(pd, 2)
        events = [r["json"] for r in seen]
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        assert events[0]["dedup_key"] == events[1]["dedup_key"]
        assert [a["status"] for a in pd.alerts()] == ["resolved"]
        assert all(SECRET not in r["body"] for r in seen)
    server_log = (base / "rundeck.out").read_text(errors="replace")
    assert KEY not in server_log and SECRET not in server_log
