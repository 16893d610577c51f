"""Shared fixtures: a clean environment, the built jar, secrets to scan."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "contents"))
sys.path.insert(0, str(ROOT))

import leakscan  # noqa: E402
from rundeck_sim import extract_contents  # noqa: E402
from standin.server import StandIn  # noqa: E402

# A made-up integration key: 32 letters and digits, like a real one.
KEY = "R0t3stK3yF0rPag3rDutyN0t1fy0001a"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No test depends on the caller's RD_* or proxy variables."""
    for name in list(os.environ):
        if name.startswith("RD_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def jar() -> Path:
    """The artifact `make` wrote to dist/."""
    jars = sorted((ROOT / "dist").glob("*.jar"))
    if len(jars) != 1:
        pytest.fail("expected exactly one jar in dist/; run `make` first")
    return jars[0]


@pytest.fixture(scope="session")
def plugin_tree(jar, tmp_path_factory) -> Path:
    """The Python tree from the jar, as the loader extracts it."""
    target = tmp_path_factory.mktemp("extracted")
    extract_contents(jar, target)
    return target


@pytest.fixture(scope="module")
def standin():
    """A PagerDuty stand-in on 127.0.0.1 for the whole test module."""
    with StandIn() as server:
        yield server


# ------------------------------------------------------------ secret scan

_CAPTURE_FIXTURES = ("capsys", "capsysbinary", "capfdbinary")


@pytest.fixture(autouse=True)
def _no_secret_leaks(request):
    """After every test: no secret in what it captured (tests/secrets.py).

    Scans what capfd (or the capsys/...binary the test asked for) caught,
    stdout and stderr, including what the test itself read; everything
    helpers registered with leakscan.captured(); and the files under the
    test's tmp_path, with the narrow allow-list in leakscan.ALLOWED.
    """
    name = next((n for n in _CAPTURE_FIXTURES if n in request.fixturenames),
                "capfd")
    capture = request.getfixturevalue(name)
    tmp_path = None
    if "tmp_path" in request.fixturenames or "tmpdir" in request.fixturenames:
        tmp_path = request.getfixturevalue("tmp_path")
    leakscan.drain()
    read = []
    original = capture.readouterr

    def readouterr():
        result = original()
        read.append(result)
        return result

    capture.readouterr = readouterr
    yield
    del capture.readouterr
    # What the test left unread; pytest's report shows it all the same
    # (the capture fixture hands its output on at the end of each phase).
    rest = original()
    items = []
    for index, (out, err) in enumerate(read + [rest]):
        items += [("%s stdout (read %d)" % (name, index), out),
                  ("%s stderr (read %d)" % (name, index), err)]
    problems = leakscan.scan_all(items + leakscan.drain())
    if tmp_path is not None:
        problems += leakscan.check_files(tmp_path, request.path.name)
    if problems:
        pytest.fail("a secret leaked:\n" + "\n".join(problems),
                    pytrace=False)
