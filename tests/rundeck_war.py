"""Finds a Rundeck war for the real-Rundeck suite.

``RUNDECK_WAR=/path/rundeck-5.x.war`` wins; otherwise the newest 5.x
``org.rundeck:rundeck`` war is resolved from Maven Central with ``mvn``.
``python3 tests/rundeck_war.py --check`` says which, exit 0 if one is found.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Optional, Tuple

CENTRAL = "https://repo.maven.apache.org/maven2/org/rundeck/rundeck/"
M2 = Path.home() / ".m2" / "repository" / "org" / "rundeck" / "rundeck"


def find() -> Tuple[Optional[Path], str]:
    """A war path, or None and the reason there is none."""
    given = os.environ.get("RUNDECK_WAR")
    if given:
        path = Path(given)
        if path.is_file():
            return path, "RUNDECK_WAR=%s" % path
        return None, "RUNDECK_WAR=%s is not a file" % given
    version, why = _newest_5x()
    if version is None:
        return None, why
    result = subprocess.run(
        ["mvn", "-q", "dependency:get", "-Dtransitive=false",
         "-Dartifact=org.rundeck:rundeck:%s:war" % version],
        capture_output=True, text=True,
    )
    war = M2 / version / ("rundeck-%s.war" % version)
    if result.returncode != 0 or not war.is_file():
        return None, "mvn could not fetch org.rundeck:rundeck:%s:war" % version
    return war, "org.rundeck:rundeck:%s from Maven Central" % version


def _newest_5x() -> Tuple[Optional[str], str]:
    try:
        with urllib.request.urlopen(CENTRAL + "maven-metadata.xml",
                                    timeout=30) as reply:
            text = reply.read().decode("utf-8")
    except OSError as err:
        return None, ("Maven Central has no org.rundeck:rundeck war metadata "
                      "reachable from here (%s)" % err)
    versions = re.findall(r"<version>(5\.[^<]+)</version>", text)
    if not versions:
        return None, "Maven Central lists no 5.x org.rundeck:rundeck war"
    return max(versions, key=_key), ""


def _key(version: str):
    return [int(p) if p.isdigit() else 0 for p in re.split(r"[.-]", version)]


def main() -> int:
    war, why = find()
    print("rundeck_war: %s" % (why if war is None else "using " + why),
          file=sys.stderr)
    return 0 if war else 1


if __name__ == "__main__":
    sys.exit(main())
