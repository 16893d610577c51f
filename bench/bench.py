#!/usr/bin/env python3
"""make bench: what one notification costs, next to the floor.

Runs side by side, in one run, against the loopback stand-in: the
entrypoint sending one event, a minimal standard-library program posting
the same JSON, and curl; the entrypoint's peak memory; a burst of events
for one routing key against a per-key rate limit; and the loader's own
overhead inside rundeck-core's plugin loader (the harness). Prints a
table and writes it, with the machine and the import profile, to
BENCHMARKS.md. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from jobenv import job_env  # noqa: E402
from rundeck_sim import HARNESS, execution_data  # noqa: E402
from rundeck_sim import extract_contents  # noqa: E402
from standin.server import StandIn  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "21"))
BURST = int(os.environ.get("BENCH_BURST", "40"))
# Events per routing key per window (seconds): PagerDuty allows about 120
# a minute; a 10-second window keeps the run short and Retry-After's
# whole seconds small against it.
BURST_LIMIT = (10, 10.0)

BASELINE = (
    "import sys, urllib.request as u\n"
    "body = open(sys.argv[1], 'rb').read()\n"
    "req = u.Request(sys.argv[2], body, "
    "{'Content-Type': 'application/json'})\n"
    "u.urlopen(req, timeout=10).read()\n"
)
PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
GOALS = {"ratio": 1.3, "memory_mb": 30.0, "burst": 1.2, "loader_s": 0.5}


def timed(cmd: List[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def send_env(url: str, **config: str) -> Dict[str, str]:
    env = job_env("failure", events_url=url, **config)
    env["PATH"] = os.environ["PATH"]
    return env


def overhead(script: Path, pd: StandIn, work: Path) -> Dict[str, float]:
    """Medians of the three ways to send one event, interleaved."""
    env = send_env(pd.url)
    entry = [sys.executable, str(script), "send-event"]
    subprocess.run(entry, env=env, check=True, capture_output=True)
    body = work / "body.json"
    body.write_text(pd.requests()[-1]["body"])
    url = pd.url + "/v2/enqueue"
    ways = {
        "entrypoint": entry,
        "stdlib": [sys.executable, "-c", BASELINE, str(body), url],
        "curl": ["curl", "-sf", "-o", "/dev/null", "-H",
                 "Content-Type: application/json", "--data-binary",
                 "@" + str(body), url],
    }
    times: Dict[str, List[float]] = {name: [] for name in ways}
    for _ in range(RUNS):
        for name, cmd in ways.items():
            times[name].append(timed(cmd, env))
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory_mb(script: Path, pd: StandIn) -> float:
    env = send_env(pd.url)
    out = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, str(script),
         "send-event"], env=env, check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024.0


def burst(script: Path, pd: StandIn, work: Path) -> Dict[str, float]:
    """BURST jobs end at once: one trigger each, one routing key."""
    pd.reset()
    pd.set_rate_limit(*BURST_LIMIT)
    outbox = work / "outbox"
    start = time.perf_counter()
    procs = []
    for index in range(BURST):
        env = send_env(pd.url, dedupe_key="burst-%03d" % index,
                       outbox_dir=str(outbox), timeout="60")
        procs.append(subprocess.Popen(
            [sys.executable, str(script), "send-event"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    codes = [p.wait(timeout=300) for p in procs]
    elapsed = time.perf_counter() - start
    pd.set_rate_limit(None)
    accepted = [r["json"]["dedup_key"] for r in pd.requests()
                if r["status"] == 202]
    per_key, window = BURST_LIMIT
    floor = (-(-BURST // per_key) - 1) * window
    return {
        "seconds": elapsed, "floor": floor,
        "ratio": elapsed / floor if floor else float("nan"),
        "delivered": len(set(accepted)),
        "duplicated": len(accepted) - len(set(accepted)),
        "failed_runs": sum(1 for c in codes if c != 0),
        "requests": len(pd.requests()),
    }


def loader(jar: Path, pd: StandIn, work: Path, entry_s: float) -> Dict:
    """postNotification timings in one JVM: first call, then warm calls."""
    data = work / "execution.json"
    data.write_text(json.dumps(execution_data("failure")))
    config = work / "config.json"
    config.write_text(json.dumps({
        "integration_key": job_env()["RD_CONFIG_INTEGRATION_KEY"],
        "events_url": pd.url}))
    # The same interpreter as the entrypoint runs (not a PATH shim).
    framework = work / "framework.properties"
    framework.write_text(
        "framework.plugin.Notification.pagerduty-send-event.interpreter=%s\n"
        % sys.executable)
    out = subprocess.run(
        ["java", "-jar", str(HARNESS), "notify", str(jar),
         "pagerduty-send-event", "failure", str(data), str(config),
         "--repeat", str(RUNS + 1), "--rdeck-base", str(work / "rdeck"),
         "--framework-props", str(framework)],
        capture_output=True, text=True, timeout=600, check=True)
    calls = [float(line.split("=")[1]) / 1000 for line in
             out.stdout.splitlines() if line.startswith("call_ms=")]
    warm = statistics.median(calls[1:])
    return {"first_s": calls[0], "warm_s": warm,
            "overhead_s": warm - entry_s}


def import_profile(script: Path, pd: StandIn, top: int = 8) -> List[str]:
    """The slowest imports of one run (python -X importtime)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "send-event"],
        env=send_env(pd.url), capture_output=True, text=True, check=True)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us, cumulative, name = line[12:].split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name[1:]))
    # Nested imports are indented under the one that pulled them in.
    total = sum(t for t, name in rows if not name.startswith(" "))
    lines = ["%7.1f ms  %s" % (t / 1000, name.strip())
             for t, name in sorted(rows, reverse=True)[:top]]
    return ["all top-level imports: %.1f ms" % (total / 1000)] + lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True,
                          text=True).stderr.splitlines()[0]
    return "%s, %d cores, %s, Python %s, %s" % (
        cpu, os.cpu_count() or 0, platform.platform(),
        platform.python_version(), java)


def table(o: Dict, mem: float, b: Dict, ld: Dict) -> List[Tuple]:
    ratio = o["entrypoint"] / o["stdlib"]
    return [
        ("one event, entrypoint (median of %d)" % RUNS,
         "%.0f ms" % (o["entrypoint"] * 1000), ""),
        ("one event, stdlib urllib program", "%.0f ms" % (o["stdlib"] * 1000),
         ""),
        ("one event, curl", "%.0f ms" % (o["curl"] * 1000), ""),
        ("overhead ratio (entrypoint / stdlib)", "%.2f" % ratio,
         _goal(ratio <= GOALS["ratio"], "≤ %.1f" % GOALS["ratio"])),
        ("peak memory of the entrypoint", "%.1f MB" % mem,
         _goal(mem <= GOALS["memory_mb"], "≤ %d MB" % GOALS["memory_mb"])),
        ("burst: %d events, limit %d per %g s" % ((BURST,) + BURST_LIMIT),
         "%.1f s (floor %.1f s)" % (b["seconds"], b["floor"]), ""),
        ("burst time / rate-limit floor", "%.2f" % b["ratio"],
         _goal(b["ratio"] <= GOALS["burst"], "≤ %.1f" % GOALS["burst"])),
        ("burst delivered / duplicated / failed runs",
         "%d / %d / %d" % (b["delivered"], b["duplicated"], b["failed_runs"]),
         _goal(b["delivered"] == BURST and not b["duplicated"],
               "%d / 0 / -" % BURST)),
        ("harness: first call (extracts the tree)",
         "%.0f ms" % (ld["first_s"] * 1000), ""),
        ("harness: warm call", "%.0f ms" % (ld["warm_s"] * 1000), ""),
        ("loader overhead (warm call - entrypoint)",
         "%.0f ms" % (ld["overhead_s"] * 1000),
         _goal(ld["overhead_s"] <= GOALS["loader_s"],
               "≤ %.1f s" % GOALS["loader_s"])),
    ]


def _goal(met: bool, goal: str) -> str:
    return "%s %s" % (goal, "met" if met else "MISSED")


def report(rows: List[Tuple], profile: List[str]) -> str:
    lines = ["| measure | figure | goal |", "| --- | --- | --- |"]
    lines += ["| %s | %s | %s |" % row for row in rows]
    return "\n".join(lines) + "\n\nImport profile of one entrypoint run " \
        "(`python -X importtime`):\n\n```\n" + "\n".join(profile) + "\n```\n"


def main() -> int:
    jars = sorted((ROOT / "dist").glob("*.jar"))
    if len(jars) != 1:
        print("bench: run make first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, StandIn() as pd:
        work = Path(tmp)
        script = extract_contents(jars[0], work / "tree")
        print("bench: %d runs each, interleaved" % RUNS, file=sys.stderr)
        o = overhead(script, pd, work)
        mem = peak_memory_mb(script, pd)
        print("bench: burst of %d" % BURST, file=sys.stderr)
        b = burst(script, pd, work)
        print("bench: loader in the harness", file=sys.stderr)
        ld = loader(jars[0], pd, work, o["entrypoint"])
        profile = import_profile(script, pd)
    text = report(table(o, mem, b, ld), profile)
    print(text)
    notes_file = ROOT / "bench" / "NOTES.md"
    notes = notes_file.read_text() if notes_file.exists() else ""
    (ROOT / "BENCHMARKS.md").write_text(
        "# Benchmarks\n\nWritten by `make bench` on %s.\n\nMachine: %s.\n\n"
        "%s\n%s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    machine(), text, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
