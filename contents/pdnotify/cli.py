"""The entrypoint's logic: pick the provider, run it, map errors to exits."""

from __future__ import annotations

import logging
import sys
from typing import Callable, Dict, List, Mapping, Optional

from . import env, log as logsetup
from .errors import ConfigError, PluginError

log = logging.getLogger("pdnotify")

# Provider name in plugin.yaml's script-args -> its module's run();
# flush-outbox is no provider: an admin runs it to deliver what waits.
PROVIDERS = {
    "send-event": "send_event",
    "escalate-incident": "escalate",
    "run-response-play": "response_play",
    "start-incident-workflow": "workflow",
    "flush-outbox": "outbox",
}

# Config properties that hold secrets; never logged (see log.Redactor).
SECRET_PROPERTIES = ("integration_key", "api_key", "proxy")


def main(
    argv: Optional[List[str]] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> int:
    """Run one notification; return the exit status (README, "Exit")."""
    import os

    args = sys.argv[1:] if argv is None else argv
    inv = env.read(os.environ if environ is None else environ)
    logsetup.setup(inv.debug, _secrets(inv.config))
    try:
        return _provider(args)(inv)
    except PluginError as err:
        log.error("%s", err)
        return err.exit_code
    except Exception:  # a bug: report it, through the redacting log
        log.exception("internal error (please report this, with the lines "
                      "below)")
        return 1


def _provider(args: List[str]) -> Callable[[env.Invocation], int]:
    if len(args) != 1 or args[0] not in PROVIDERS:
        raise ConfigError(
            "usage: pagerduty_notify.py {%s}" % ",".join(sorted(PROVIDERS))
        )
    from importlib import import_module

    module = import_module("pdnotify." + PROVIDERS[args[0]])
    return module.run  # type: ignore[no-any-return]


def _secrets(config: Dict[str, str]) -> List[str]:
    return [config[k] for k in SECRET_PROPERTIES if config.get(k)]
