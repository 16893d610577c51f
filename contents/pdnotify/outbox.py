"""The outbox: Events API events that missed their time limit wait here.

The folder (0700; every file 0600, since events carry the integration key):

    .lock                  flock'd by whoever delivers what waits
    <entry>.json           events waiting, oldest name first
    sending/<entry>.json   a notification's own event while it is sent,
                           flock'd by that process until PagerDuty answers
    rejected/<entry>.json  refused by PagerDuty, with the reason
    unreadable/<entry>     files that were not a readable entry

Names are ``<time_ns, 20 digits>-<pid>-<random>-<alert hash>.json``: they
sort by enqueue time, and the hash of (routing_key, dedup_key) shows
whether an earlier event for the same alert waits without reading a file.
Every file is written to a temp file in its folder, fsync'd and renamed,
so readers see a whole entry or none.

Rules: only the holder of .lock delivers, rewrites, moves or drops
entries, so no entry goes out from two processes at once; others only add
new names. An entry is removed after PagerDuty accepted it, so a crash in
between sends that one event again, never loses it. Per alert, events go
out in name order: a notification whose alert has an earlier event
waiting queues its own behind it instead of sending it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import time
from typing import Any, Dict, Iterator, List, Optional, Set

from . import settings, spool
from .env import Invocation
from .errors import ConfigError, NotDeliveredError, QueuedError, RejectedError
from .settings import Network
from .transport import Sender

log = logging.getLogger(__name__)

MAX_ENTRIES = 1000
"""Most events that may wait; beyond it the oldest are dropped."""

MAX_AGE = 7 * 24 * 3600
"""Seconds (7 days) an event may wait; older ones are dropped."""

FLUSH_SHARE = 0.5
"""Share of a notification's time limit for what waits; the rest is its own."""

MIN_ENTRY_TIME = 0.5
"""Don't start delivering an entry with less time than this left."""


STALE_TEMP = 3600
"""Seconds after which a temp file is a crashed writer's and is removed."""

MAX_ENTRY_BYTES = 2 * 1024 * 1024
"""A larger file is no entry: events are at most 512 KB as JSON."""

FORMAT = 1
DEFAULT_DIR = ("var", "pagerduty-notify", "outbox")
_NAME = re.compile(r"(\d{20})-\d+-[0-9a-f]{6}-([0-9a-f]{12})\.json")


class _Unreadable(Exception):
    """A file in the outbox that is not a readable entry."""


@dataclasses.dataclass
class Entry:
    """One waiting event and its delivery history."""

    name: str
    url: str
    event: Dict[str, Any] = dataclasses.field(repr=False)  # holds the key
    queued: str
    attempts: int = 0
    last_error: str = ""

    @property
    def alert(self) -> str:
        """The event's action and dedup key, for log lines."""
        return "%s for dedup key %s" % (
            self.event["event_action"], self.event["dedup_key"])

    def data(self, **extra: Any) -> bytes:
        """The entry's file content."""
        body: Dict[str, Any] = {
            "format": FORMAT, "url": self.url, "queued": self.queued,
            "attempts": self.attempts, "last_error": self.last_error,
        }
        body.update(extra)
        body["event"] = self.event
        # ASCII escapes, as requests sends it: lossless even for the lone
        # surrogates that undecodable environment bytes turn into.
        return json.dumps(body).encode("ascii")


@dataclasses.dataclass
class Report:
    """What one flush did."""

    delivered: int = 0
    rejected: int = 0
    unreadable: int = 0
    dropped: int = 0
    recovered: int = 0
    waiting: int = 0

    def log(self, path: str) -> None:
        """One line about the flush, when there was anything to deliver."""
        tried = self.delivered + self.rejected + self.unreadable
        if tried or self.waiting:
            log.info(
                "outbox: delivered %d of %d waiting events (%d rejected, "
                "%d unreadable) from %s", self.delivered,
                tried + self.waiting, self.rejected, self.unreadable, path)


class Outbox:
    """One outbox folder; the module docstring has its rules."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.sending = os.path.join(self.path, "sending")
        self.rejected = os.path.join(self.path, "rejected")
        self.unreadable = os.path.join(self.path, "unreadable")
        self._ready = False

    @classmethod
    def configured(cls, inv: Invocation) -> Optional["Outbox"]:
        """The outbox outbox_dir or RD_RUNDECK_BASE names; None when off.

        A relative outbox_dir is taken under Rundeck's base folder.
        """
        path = (inv.config.get("outbox_dir") or "").strip()
        if inv.rundeck_base:
            path = os.path.join(inv.rundeck_base, path or os.path.join(
                *DEFAULT_DIR))
        if not path:
            return None
        if spool.fcntl is None:
            log.warning("outbox: not available here (no flock); not used")
            return None
        return cls(path)

    def prepare(self) -> None:
        """Create the folders, 0700; refuse folders another user owns."""
        if self._ready:
            return
        for folder in (self.path, self.sending, self.rejected,
                       self.unreadable):
            spool.private_dir(folder)
        self._ready = True

    def names(self) -> List[str]:
        """The waiting entries' file names, oldest first."""
        return spool.entry_names(self.path)

    def waiting_for(self, event: Dict[str, Any]) -> Optional[str]:
        """The newest entry of the event's alert waiting or being sent."""
        wanted = _alert_hash(event)
        try:
            found = [n for n in self.names() + spool.entry_names(self.sending)
                     if _hash_of(n) == wanted]
        except OSError:
            return None  # deliver_waiting() already said it can't be read
        return max(found) if found else None

    @contextlib.contextmanager
    def locked(self, deadline: float) -> Iterator[bool]:
        """Hold .lock for the block; yields False if not got in time."""
        self.prepare()
        fd = os.open(os.path.join(self.path, ".lock"),
                     os.O_RDWR | os.O_CREAT, 0o600)
        try:
            yield spool.flock_by(fd, deadline)
        finally:
            os.close(fd)  # releases the lock

    def deliver_waiting(
        self, deadline: float, network: Optional[Network] = None
    ) -> None:
        """Deliver what waits before a notification's own event."""
        try:
            if not self.names() and not spool.entry_names(self.sending):
                return
            with self.locked(deadline) as held:
                if not held:
                    log.info("outbox: another notification is delivering "
                             "what waits in %s", self.path)
                    return
                report = self.flush(deadline, network)
        except OSError as err:
            log.error("outbox: cannot use %s", spool.os_text(err))
            return
        report.log(self.path)

    def flush(
        self, deadline: float, network: Optional[Network] = None
    ) -> Report:
        """Deliver what waits, oldest first, until done or the deadline.

        Only with the lock held (locked()). ``network``: the running
        notification's ca_bundle and proxy, used for every entry.
        """
        report = Report()
        self._sweep_temp()
        self._recover(report)
        self._prune(report)
        sender = Sender("outbox", max(round(deadline - time.monotonic(), 1),
                                      MIN_ENTRY_TIME), network=network)
        # Alerts whose older event a live notification is sending now: their
        # entries wait, or they could overtake it should that send fail.
        busy = {_hash_of(n) for n in spool.entry_names(self.sending)}
        # Routing keys that could not be delivered now: their later entries
        # wait too, which keeps each alert's order (and PagerDuty's rate
        # limit is per routing key anyway).
        held: Set[str] = set()
        for name in self.names():
            if deadline - time.monotonic() < MIN_ENTRY_TIME:
                break
            if _hash_of(name) in busy:
                continue
            entry = self._load(name, report)
            if entry is None or entry.event["routing_key"] in held:
                continue
            if not self._deliver(sender, entry, report):
                held.add(entry.event["routing_key"])
        report.waiting = len(self.names())
        return report

    def begin(self, url: str, event: Dict[str, Any]) -> "InFlight":
        """Keep a copy in sending/ while the event is sent, flock'd."""
        self.prepare()
        entry = Entry(_new_name(event), url, event, _utc_now())
        fd = spool.write_new(self.sending, entry.name, entry.data(), lock=True)
        return InFlight(self, entry, fd)

    def queue(self, url: str, event: Dict[str, Any], error: str,
              earlier: Optional[str] = None) -> str:
        """Add an event, after ``earlier`` when given; return its name."""
        self.prepare()
        after = _ns_of(earlier) if earlier else 0
        entry = Entry(_new_name(event, after), url, event, _utc_now(),
                      0 if earlier else 1, error)
        spool.write_new(self.path, entry.name, entry.data())
        self.prune_if_free()
        return entry.name

    def prune_if_free(self) -> None:
        """Apply the bounds now if no other process holds the lock."""
        try:
            with self.locked(time.monotonic()) as held:
                if held:
                    self._prune(Report())
        except OSError as err:
            # The event is already safe on disk; the next flush prunes.
            log.debug("outbox: bounds not applied now: %s", spool.os_text(err))

    def _deliver(self, sender: Sender, entry: Entry, report: Report) -> bool:
        """Send one entry; False if it must wait for a later try."""
        sender.step = "outbox: deliver %s" % entry.name
        try:
            reply = sender.post(entry.url, entry.event)
        except RejectedError as err:
            self._reject(entry, err)
            report.rejected += 1
            return True
        except NotDeliveredError as err:
            self._retry_later(entry, err)
            return False
        except ConfigError as err:
            # The request could not be made (a proxy setting, say): not the
            # entry's fault, so it keeps its place and its count.
            log.error("%s; %s waits", _scrub(str(err), entry), entry.alert)
            return False
        # Removed only now that PagerDuty accepted it: a crash before this
        # line sends it once more next time, and PagerDuty folds the repeat
        # into the same alert by its dedup_key. Sent twice, never lost.
        spool.unlink(os.path.join(self.path, entry.name))
        spool.fsync_dir(self.path)
        report.delivered += 1
        log.info("outbox: delivered %s (%s, queued %s, status %d)",
                 entry.name, entry.alert, entry.queued, reply.status)
        return True

    def _reject(self, entry: Entry, err: RejectedError) -> None:
        """Move a refused entry to rejected/ with the reason; say so."""
        message = _scrub(str(err), entry)
        reason = {"time": _utc_now(), "status": err.status,
                  "message": message}
        spool.write_new(self.rejected, entry.name, entry.data(rejected=reason))
        spool.unlink(os.path.join(self.path, entry.name))
        spool.fsync_dir(self.path)
        log.error("%s; %s moved to %s, not retried", message, entry.alert,
                  os.path.join(self.rejected, entry.name))

    def _retry_later(self, entry: Entry, err: NotDeliveredError) -> None:
        """Count the failed try in the entry, which keeps its place."""
        entry.attempts += 1
        entry.last_error = _scrub(str(err), entry)
        spool.write_new(self.path, entry.name, entry.data())
        log.warning("%s; %s waits for a later notification (%d tries)",
                    entry.last_error, entry.alert, entry.attempts)

    def _load(self, name: str, report: Report) -> Optional[Entry]:
        """Read an entry; a bad one goes to unreadable/, with a line."""
        path = os.path.join(self.path, name)
        try:
            return _parse(name, _read(path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, _Unreadable) as err:
            reason = spool.os_text(err) if isinstance(err, OSError) else str(err)
        target = os.path.join(self.unreadable, name)
        os.replace(path, target)
        spool.fsync_dir(self.path)
        report.unreadable += 1
        log.error("outbox: %s is not a readable entry (%s); moved to %s",
                  name, reason, target)
        return None

    def _recover(self, report: Report) -> None:
        """Queue again own events of notifications that died sending."""
        for name in spool.entry_names(self.sending):
            path = os.path.join(self.sending, name)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                if not spool.orphaned(fd, path):
                    continue
                if os.path.exists(os.path.join(self.path, name)):
                    # It was queued; its notification died before it could
                    # remove this copy.
                    spool.unlink(path)
                    continue
                os.rename(path, os.path.join(self.path, name))
            finally:
                os.close(fd)
            spool.fsync_dir(self.sending)
            spool.fsync_dir(self.path)
            report.recovered += 1
            log.warning(
                "outbox: %s was being sent when its notification stopped; "
                "it waits again and may reach PagerDuty twice (PagerDuty "
                "folds repeats into one alert by dedup_key)", name)

    def _prune(self, report: Report) -> None:
        """Drop entries beyond the age and count bounds, oldest first."""
        names = self.names()
        oldest_ok = time.time_ns() - MAX_AGE * 10 ** 9
        old = [n for n in names if 0 < _ns_of(n) < oldest_ok]
        self._drop(old, report, "they waited more than %d days"
                   % (MAX_AGE // 86400))
        rest = [n for n in names if n not in set(old)]
        over = len(rest) - MAX_ENTRIES
        self._drop(rest[:max(over, 0)], report,
                   "the outbox keeps at most %d events" % MAX_ENTRIES)

    def _drop(self, names: List[str], report: Report, why: str) -> None:
        """Remove entries for good, with one WARNING line."""
        if not names:
            return
        for name in names:
            spool.unlink(os.path.join(self.path, name))
        spool.fsync_dir(self.path)
        report.dropped += len(names)
        log.warning("outbox: dropped the %d oldest waiting events, never "
                    "delivered, because %s (oldest %s)", len(names), why,
                    names[0])

    def _sweep_temp(self) -> None:
        """Remove temp files that crashed writers left behind."""
        limit = time.time() - STALE_TEMP
        for folder in (self.path, self.sending, self.rejected):
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    if name.startswith(".tmp-") and \
                            os.stat(path).st_mtime < limit:
                        os.unlink(path)


class InFlight:
    """A notification's own event on its way, kept until PagerDuty answers."""

    def __init__(self, box: Outbox, entry: Entry, fd: int) -> None:
        self.box = box
        self.entry = entry
        self.path = os.path.join(box.sending, entry.name)
        self._fd: Optional[int] = fd

    def done(self) -> None:
        """PagerDuty answered: remove the copy, then drop its lock."""
        try:
            spool.unlink(self.path)
            spool.fsync_dir(self.box.sending)
        finally:
            self._close()

    def keep(self, error: str) -> str:
        """Not delivered: queue it under its own name; return the name."""
        self.entry.attempts, self.entry.last_error = 1, error
        try:
            spool.write_new(self.box.path, self.entry.name, self.entry.data())
            spool.unlink(self.path)
        except OSError:
            # No room for the updated copy: queue the one already on disk.
            os.replace(self.path, os.path.join(self.box.path,
                                               self.entry.name))
        finally:
            self._close()
        spool.fsync_dir(self.box.sending)
        spool.fsync_dir(self.box.path)
        self.box.prune_if_free()
        return self.entry.name

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def run(inv: Invocation) -> int:
    """flush-outbox: deliver what waits now; 0 once nothing is left."""
    box = Outbox.configured(inv)
    if box is None:
        raise ConfigError(
            "flush-outbox: no outbox is configured: set outbox_dir "
            "(RD_CONFIG_OUTBOX_DIR) or RD_RUNDECK_BASE")
    limit = settings.timeout(inv.config)
    network = settings.network(inv.config)
    deadline = time.monotonic() + limit
    try:
        with box.locked(deadline) as held:
            report = box.flush(deadline, network) if held else None
    except OSError as err:
        raise ConfigError(
            "flush-outbox: cannot use the outbox %s" % spool.os_text(err)
        ) from None
    if report is None:
        raise QueuedError(
            "flush-outbox: another notification held %s for the whole %d s "
            "time limit; %d events wait" % (box.path, limit, len(box.names())))
    report.log(box.path)
    return _flush_status(box, report)


def _flush_status(box: Outbox, report: Report) -> int:
    """flush-outbox's exit: 3 if any were refused, 5 if any still wait."""
    if report.rejected or report.unreadable:
        raise RejectedError(
            "flush-outbox: %d events rejected by PagerDuty (moved to %s), "
            "%d unreadable (moved to %s); %d still wait" % (
                report.rejected, box.rejected, report.unreadable,
                box.unreadable, report.waiting))
    if report.waiting:
        raise QueuedError(
            "flush-outbox: %d events still wait in %s; a later notification "
            "or flush-outbox delivers them" % (report.waiting, box.path))
    log.info("flush-outbox: the outbox %s is empty", box.path)
    return 0














def _alert_hash(event: Dict[str, Any]) -> str:
    """12 hex digits naming the event's alert (routing + dedup key).

    A cut SHA-256 of a random 32-character key tells nothing about it.
    """
    raw = "%s\n%s" % (event.get("routing_key"), event.get("dedup_key"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]


def _new_name(event: Dict[str, Any], after: int = 0) -> str:
    """A fresh entry name that sorts after ``after`` (a time_ns)."""
    stamp = max(time.time_ns(), after + 1)
    return "%020d-%d-%s-%s.json" % (
        stamp, os.getpid(), secrets.token_hex(3), _alert_hash(event))


def _ns_of(name: str) -> int:
    """The enqueue time in a name; 0 for a name that is not an entry's."""
    match = _NAME.fullmatch(name)
    return int(match.group(1)) if match else 0


def _hash_of(name: str) -> Optional[str]:
    match = _NAME.fullmatch(name)
    return match.group(2) if match else None


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        raw = handle.read(MAX_ENTRY_BYTES + 1)
    if len(raw) > MAX_ENTRY_BYTES:
        raise _Unreadable("larger than %d bytes" % MAX_ENTRY_BYTES)
    return raw


def _parse(name: str, raw: bytes) -> Entry:
    """An entry from its file; _Unreadable says what is wrong with it."""
    if _hash_of(name) is None:
        raise _Unreadable("the file name is not an entry's")
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as err:
        raise _Unreadable("not JSON: %s" % str(err)[:100]) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Unreadable("not an entry of format %d" % FORMAT)
    url, event = data.get("url"), data.get("event")
    if not isinstance(url, str) or not url.startswith(("https://",
                                                       "http://")):
        raise _Unreadable("no events URL")
    if not isinstance(event, dict) or not all(
            isinstance(event.get(k), str)
            for k in ("routing_key", "dedup_key", "event_action")):
        raise _Unreadable("no event with routing_key, dedup_key and "
                          "event_action")
    if _alert_hash(event) != _hash_of(name):
        raise _Unreadable("its name does not match its event's alert")
    attempts = data.get("attempts")
    return Entry(name, url, event, str(data.get("queued") or "?"),
                 attempts if isinstance(attempts, int) else 0,
                 str(data.get("last_error") or ""))


def _scrub(text: str, entry: Entry) -> str:
    """An error line without the entry's key, should PagerDuty echo it."""
    key = entry.event["routing_key"]
    return text.replace(key, "****") if key else text




def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

