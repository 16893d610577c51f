"""Shared fixtures: a clean environment, the built jar, secrets to scan."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "contents"))
sys.path.insert(0, str(ROOT))

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
    prefix = "pagerduty-notify/contents/"
    with zipfile.ZipFile(jar) as zf:
        for name in zf.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                path = target / name[len(prefix):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(zf.read(name))
    return target
