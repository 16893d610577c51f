"""Reads the environment the loader exports, once, into plain data.

The contract (README, "Environment"): ``RD_CONFIG_*`` holds the provider's
properties, ``RD_NOTIFICATION_TRIGGER`` the trigger, ``RD_JOB_*``,
``RD_EXECUTION_*``, ``RD_OPTION_*``, ``RD_EXPORT_*`` and ``RD_GLOBALS_*``
the notification's context, ``RD_RUNDECK_BASE`` Rundeck's base folder (the
outbox's default home). Nothing else in the package reads os.environ.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Mapping

from .errors import ConfigError

TRIGGERS = ("start", "success", "failure", "avgduration", "retryablefailure")

# Context groups: environment prefix -> name in the template context.
GROUPS = {
    "RD_JOB_": "job",
    "RD_EXECUTION_": "execution",
    "RD_OPTION_": "option",
    "RD_EXPORT_": "export",
    "RD_GLOBALS_": "globals",
}


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One notification: its trigger, properties and context."""

    trigger: str
    config: Dict[str, str]
    job: Dict[str, str]
    execution: Dict[str, str]
    option: Dict[str, str]
    export: Dict[str, str]
    globals: Dict[str, str]
    rundeck_base: str = ""

    @property
    def debug(self) -> bool:
        """True when the job runs at Rundeck's DEBUG log level."""
        level = self.execution.get("loglevel") or self.job.get("loglevel")
        return (level or "").upper() == "DEBUG"

    def checked_trigger(self) -> str:
        """The trigger, or a ConfigError when it is not one of Rundeck's."""
        if self.trigger not in TRIGGERS:
            raise ConfigError(
                "RD_NOTIFICATION_TRIGGER: %r is not one of %s"
                % (self.trigger[:40], ", ".join(TRIGGERS))
            )
        return self.trigger

    def context(self) -> Dict[str, object]:
        """The data templates see: no property values, so no secrets."""
        return {
            "trigger": self.trigger,
            "job": dict(self.job),
            "execution": dict(self.execution),
            "option": dict(self.option),
            "export": dict(self.export),
            "globals": dict(self.globals),
        }


def read(environ: Mapping[str, str]) -> Invocation:
    """Collect the contract's variables from an environment mapping."""
    groups: Dict[str, Dict[str, str]] = {g: {} for g in GROUPS.values()}
    config: Dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith("RD_"):
            continue
        # Bytes that were not UTF-8 arrive as lone surrogates; they would
        # fail later, in a hash or a header. Replace them once, here.
        value = raw.encode("utf-8", "surrogatepass").decode(
            "utf-8", "replace")
        if name.startswith("RD_CONFIG_"):
            config[name[len("RD_CONFIG_"):].lower()] = value
            continue
        for prefix, group in GROUPS.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                groups[group][name[len(prefix):].lower()] = value
                break
    trigger = environ.get("RD_NOTIFICATION_TRIGGER", "").strip().lower()
    base = environ.get("RD_RUNDECK_BASE", "").strip()
    return Invocation(
        trigger=trigger, config=config, rundeck_base=base, **groups
    )
