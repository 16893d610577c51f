"""A Rundeck job's notification environment, as the loader exports it."""

from __future__ import annotations

from typing import Dict

KEY = "R0t3stK3yF0rPag3rDutyN0t1fy0001a"
SERVER = "http://rundeck.test:4440"
JOB_ID = "5f3c1e2a-0b7d-4c1e-9a55-3f1d2c4b6e70"

STATUS = {
    "start": "running",
    "success": "succeeded",
    "failure": "failed",
    "avgduration": "running",
    "retryablefailure": "failed-with-retry",
}


def job_env(trigger: str = "failure", **config: str) -> Dict[str, str]:
    """The RD_* variables for one notification of the sample job."""
    env = {
        "RD_NOTIFICATION_TRIGGER": trigger,
        "RD_CONFIG_INTEGRATION_KEY": KEY,
        "RD_JOB_ID": JOB_ID,
        "RD_JOB_NAME": "nightly backup",
        "RD_JOB_GROUP": "ops/db",
        "RD_JOB_PROJECT": "infra",
        "RD_JOB_HREF": SERVER + "/project/infra/job/show/" + JOB_ID,
        "RD_JOB_SERVERURL": SERVER + "/",
        "RD_JOB_USERNAME": "alice",
        "RD_JOB_EXECID": "42",
        "RD_EXECUTION_ID": "42",
        "RD_EXECUTION_HREF": SERVER + "/project/infra/execution/show/42",
        "RD_EXECUTION_STATUS": STATUS[trigger],
        "RD_EXECUTION_USER": "alice",
        "RD_EXECUTION_PROJECT": "infra",
        "RD_EXECUTION_LOGLEVEL": "INFO",
        "RD_EXECUTION_DATESTARTEDW3C": "2026-12-04T10:00:00Z",
        "RD_OPTION_VERSION": "1.2.3",
    }
    if trigger not in ("start", "avgduration"):
        env["RD_EXECUTION_DATEENDEDW3C"] = "2026-12-04T10:05:00Z"
    if trigger in ("failure", "retryablefailure"):
        env["RD_EXECUTION_FAILEDNODELISTSTRING"] = "db1"
        env["RD_EXECUTION_SUCCEEDEDNODELISTSTRING"] = "db2"
    for name, value in config.items():
        env["RD_CONFIG_" + name.upper()] = value
    return env
