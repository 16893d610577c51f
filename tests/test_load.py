"""Fifty notifications at once against a rate-limited stand-in: every event
arrives, none twice, none out of order per dedup key."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

from standin.server import StandIn
from test_outbox import accepted, files, flush_outbox, notify, per_key

KEYS = ["load-%02d" % n for n in range(25)]

# 10 events per 2 s for the one routing key: the first wave of 25 triggers
# already runs into it, so some wait in the outbox in between.
RATE_PER_KEY = 10
RATE_WINDOW = 2.0
NOTIFY_TIMEOUT = "4"
FLUSH_TIMEOUT = "40"


def test_fifty_notifications_at_once_all_arrive_once_in_order(
    plugin_tree, tmp_path
):
    box = tmp_path / "outbox"
    with StandIn() as pd:
        pd.set_rate_limit(RATE_PER_KEY, RATE_WINDOW)

        def job_life(key: str) -> List[Tuple[int, str]]:
            # The resolve starts only once its trigger's notification ended,
            # as Rundeck's On Success follows an earlier On Failure.
            return [notify(plugin_tree, pd.url, box, trigger, key,
                           NOTIFY_TIMEOUT)
                    for trigger in ("failure", "success")]

        with ThreadPoolExecutor(len(KEYS)) as pool:
            lives = list(pool.map(job_life, KEYS, timeout=120))
        codes = [code for runs in lives for code, _ in runs]
        assert set(codes) <= {0, 5}, [r for runs in lives for r in runs
                                      if r[0] not in (0, 5)]
        code, output = flush_outbox(plugin_tree, box, FLUSH_TIMEOUT)
        assert code == 0, output
        got = accepted(pd)
    assert per_key(got) == {key: ["trigger", "resolve"] for key in KEYS}
    assert len(got) == 2 * len(KEYS)
    assert all(a["status"] == "resolved" for a in pd.alerts())
    assert files(box) == [] and files(box / "sending") == []
    assert os.listdir(box / "rejected") == []
