"""The jar's Python tree on every interpreter this machine has.

Supported: 3.8 and newer, with only the bundled dependencies (-S). Older
ones get one clear line. Interpreters are found on this machine (pyenv's
and the system's); the current one is always among them.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from jobenv import KEY, job_env
from leakscan import run_captured
from standin.server import StandIn


def _interpreters():
    found = {sys.executable, "/usr/bin/python3"}
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found.update(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    return sorted(p for p in found if os.path.exists(p))


def _version(python):
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, timeout=30,
    )
    major, minor = out.stdout.strip().split(".")
    return int(major), int(minor)


PYTHONS = [(p, _version(p)) for p in _interpreters()]


@pytest.fixture(scope="module")
def pd():
    with StandIn() as server:
        yield server


def _run(python, tree, env):
    full = dict(env, PATH=os.environ["PATH"], LANG="C")
    result = run_captured(
        "entrypoint on " + python,
        [python, "-S", str(tree / "pagerduty_notify.py"), "send-event"],
        env=full, capture_output=True, timeout=120,
    )
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert KEY not in output
    return result.returncode, output


@pytest.mark.parametrize(
    "python,version", PYTHONS, ids=["%d.%d" % v for _, v in PYTHONS]
)
def test_entrypoint_runs_on_this_interpreter(plugin_tree, pd, python, version):
    pd.reset()
    env = job_env("failure", events_url=pd.url, summary="{{ job.name }}!")
    code, output = _run(python, plugin_tree, env)
    if version < (3, 8):
        assert code == 2
        assert "needs Python 3.8 or newer, this is %d.%d" % version in output
        assert pd.requests() == []
        return
    assert code == 0, output
    [seen] = pd.requests()
    assert seen["json"]["payload"]["summary"] == "nightly backup!"
