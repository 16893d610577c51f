"""Rundeck to PagerDuty notification entrypoint.

Run by the plugin's loader as ``python3 pagerduty_notify.py <provider>``
with the environment contract in README.md; runs the same by hand.
The bundled pure-Python dependencies live in ``vendor/`` beside this file.
"""

import os
import sys

if sys.version_info < (3, 8):
    sys.stderr.write(
        "ERROR: pagerduty-notify needs Python 3.8 or newer, this is %d.%d\n"
        % sys.version_info[:2]
    )
    sys.exit(2)

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "vendor")]

# A look at the folder, not an import: requests loads only when sending.
if not os.path.isdir(os.path.join(_HERE, "vendor", "requests")):
    sys.stderr.write(
        "ERROR: pagerduty-notify: its bundled dependencies are missing "
        "(vendor/ beside %s); run the copy inside the plugin jar\n"
        % os.path.basename(__file__)
    )
    sys.exit(2)

from pdnotify.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
