"""Logging for Rundeck's log: one line per record on stderr, no secrets."""

from __future__ import annotations

import logging
import sys
from typing import Iterable, List

MASK = "****"


class Redactor(logging.Filter):
    """Replaces each known secret in a formatted record with ****.

    A second line of defence: no code path logs a key on purpose.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # The raw value and the trimmed one the code uses.
        values = {v for s in secrets for v in (s, s.strip())}
        self.secrets: List[str] = sorted(
            {v for v in values if len(v) >= 4}, key=len, reverse=True
        )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            # A traceback is text like any other: redact it too.
            message += "\n" + logging.Formatter().formatException(
                record.exc_info)
            record.exc_info, record.exc_text = None, None
        for secret in self.secrets:
            message = message.replace(secret, MASK)
        record.msg, record.args = message, None
        return True


def setup(debug: bool, secrets: Iterable[str]) -> None:
    """Send the package's records to stderr, DEBUG when the job asks."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger("pdnotify")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if debug else logging.INFO)
