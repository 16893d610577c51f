"""The plugin's exceptions, each with the exit status it ends in."""

from __future__ import annotations

from typing import Optional


class PluginError(Exception):
    """A failure reported as one line and an exit status."""

    exit_code = 1


class ConfigError(PluginError, ValueError):
    """A property or context value is unusable; nothing was sent."""

    exit_code = 2


class RejectedError(PluginError):
    """PagerDuty answered that the request is wrong; retrying won't help."""

    exit_code = 3

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class NotDeliveredError(PluginError):
    """PagerDuty could not be reached or kept failing within the time limit."""

    exit_code = 4


class QueuedError(PluginError):
    """Not delivered now; kept in the outbox for a later notification."""

    exit_code = 5
