"""PagerDuty notifications for Rundeck jobs.

The package behind ``pagerduty_notify.py``: it reads the environment the
loader exports, builds the PagerDuty request and sends it.
"""

__version__ = "0.1.0"
