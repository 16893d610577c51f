"""make demo: a job fails, then succeeds; show what PagerDuty received.

Starts the PagerDuty stand-in on 127.0.0.1, runs the job's On Failure and
On Success notifications through the built jar inside rundeck-core's
plugin loader (the harness), prints the events and the alert's state, and
stops everything. Exit 0 only if the alert opened and then resolved.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jobenv import KEY  # noqa: E402
from rundeck_sim import notify  # noqa: E402
from standin.server import StandIn  # noqa: E402


def main() -> int:
    [jar] = sorted((Path(__file__).resolve().parent.parent / "dist").glob("*.jar"))
    with StandIn() as pd:
        print("demo: PagerDuty stand-in listening on %s" % pd.url)
        config = {"integration_key": KEY, "events_url": pd.url}
        for exec_id, trigger in ((101, "failure"), (102, "success")):
            print("demo: job 'ops/db/nightly backup' execution %d: %s"
                  % (exec_id, trigger))
            ok, log = notify(jar, trigger, config, exec_id=exec_id)
            for line in log.splitlines():
                if "pagerduty-notify" in line:
                    print("  rundeck log: " + line.split(" - ", 1)[-1])
            print("  notification %s" % ("succeeded" if ok else "FAILED"))
        print("demo: PagerDuty received:")
        for seen in pd.requests():
            event = seen["json"] or {}
            print("  %s %s -> %s  %-8s dedup_key=%s\n      summary: %s" % (
                seen["method"], seen["path"], seen["status"],
                event.get("event_action"), event.get("dedup_key"),
                event.get("payload", {}).get("summary")))
        alerts = pd.alerts()
        for alert in alerts:
            print("demo: alert %s: %s" % (
                alert["dedup_key"], " -> ".join(alert["history"])))
    done = [a["history"] for a in alerts] == [["triggered", "resolved"]]
    print("demo: %s" % ("opened, then resolved" if done else "UNEXPECTED"))
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
