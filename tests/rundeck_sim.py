"""Runs the jar's notifications through the Java harness (rundeck-core).

The harness loads the jar with rundeck-core's own jar-plugin loader and
calls ``postNotification`` with the execution data Rundeck builds; this
module writes that data for a sample job and runs the harness.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from leakscan import run_captured

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "harness" / "target" / "harness.jar"

SERVER = "http://127.0.0.1:4440"
JOB_ID = "9f1c7d2e-3b4a-4c5d-8e6f-0a1b2c3d4e5f"
SECURE_VALUE = "s3cr3t-Opt1on-V4lue"
STATUS = {
    "start": "running", "success": "succeeded", "failure": "failed",
    "avgduration": "running", "retryablefailure": "failed-with-retry",
}


def execution_data(trigger: str, exec_id: int = 42) -> Dict[str, object]:
    """The execution data Rundeck hands a notification for a sample job."""
    data: Dict[str, object] = {
        "id": exec_id,
        "href": "%s/project/demo/execution/show/%d" % (SERVER, exec_id),
        "status": STATUS[trigger],
        "user": "alice",
        "dateStarted": "2026-12-04T10:00:00Z",
        "description": "Nightly database backup",
        "argstring": "-env prod",
        "project": "demo",
        "loglevel": "INFO",
        "abortedby": None,
        "projectHref": SERVER + "/project/demo/home",
        "job": {
            "id": JOB_ID, "href": SERVER + "/project/demo/job/show/" + JOB_ID,
            "name": "nightly backup", "group": "ops/db", "schedule": "",
            "project": "demo", "description": "Nightly database backup",
        },
        "context": {
            "job": {"name": "nightly backup", "group": "ops/db", "id": JOB_ID,
                    "execid": str(exec_id), "username": "alice",
                    "user.name": "alice", "project": "demo",
                    "serverUrl": SERVER + "/", "loglevel": "INFO"},
            "option": {"env": "prod", "db_password": SECURE_VALUE},
            "secureOption": {"db_password": SECURE_VALUE},
        },
    }
    if trigger not in ("start", "avgduration"):
        data["dateEnded"] = "2026-12-04T10:05:00Z"
        failed = trigger != "success"
        data["failedNodeListString"] = "db1" if failed else ""
        data["succeededNodeListString"] = "" if failed else "db1"
        data["failedNodeList"] = ["db1"] if failed else []
        data["succeededNodeList"] = [] if failed else ["db1"]
    return data


def notify(
    jar: Path, trigger: str, config: Dict[str, str],
    exec_id: int = 42, extra: Optional[List[str]] = None,
    props: Optional[Dict[str, str]] = None, timeout: float = 180,
    provider: str = "pagerduty-send-event",
    data: Optional[Dict[str, object]] = None,
) -> Tuple[bool, str]:
    """postNotification through the harness: (its result, its log).

    ``data`` replaces the sample job's execution data when given.
    """
    if data is None:
        data = execution_data(trigger, exec_id)
    with tempfile.TemporaryDirectory() as tmp:
        execution = Path(tmp, "execution.json")
        execution.write_text(json.dumps(data))
        cfg = Path(tmp, "config.json")
        cfg.write_text(json.dumps(config))
        cmd = ["java", "-jar", str(HARNESS), "notify", str(jar),
               provider, trigger, str(execution), str(cfg)]
        for flag, text in (props or {}).items():
            path = Path(tmp, flag.strip("-") + ".properties")
            path.write_text(text)
            cmd += [flag, str(path)]
        result = run_captured("harness notify " + provider,
                              cmd + (extra or []), capture_output=True,
                              text=True, timeout=timeout)
    if result.returncode not in (0, 1):
        raise RuntimeError("harness failed: " + result.stderr[-2000:])
    return "result=true" in result.stdout, result.stdout + result.stderr


def extract_contents(jar: Path, target: Path) -> Path:
    """The jar's Python tree in target, as the loader extracts it."""
    prefix = "pagerduty-notify/contents/"
    with zipfile.ZipFile(jar) as zf:
        for name in zf.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                path = target / name[len(prefix):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(zf.read(name))
    return target / "pagerduty_notify.py"


def describe(jar: Path) -> Dict[str, object]:
    """The Descriptions Rundeck would show for the jar's providers."""
    result = run_captured(
        "harness describe",
        ["java", "-jar", str(HARNESS), "describe", str(jar)],
        capture_output=True, text=True, timeout=180, check=True,
    )
    return json.loads(result.stdout)
