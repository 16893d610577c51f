"""Bounds a block of code in time, so no step can outlast the time limit.

Socket timeouts bound each read, not a reply that trickles in byte by
byte, and nothing bounds a slow template; SIGALRM bounds both. Where it
is missing (not the main thread, or no setitimer), the block runs
unbounded and the loader's own limit still ends the process.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class Overrun(BaseException):
    """The block ran past its time.

    A BaseException, so that a library's ``except Exception`` cannot
    swallow it on the way out.
    """


@contextlib.contextmanager
def limit(seconds: float) -> Iterator[None]:
    """Raise Overrun in the block once ``seconds`` have passed."""
    usable = (hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable or seconds <= 0:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _overrun(signum: int, frame: Any) -> None:
    raise Overrun()
