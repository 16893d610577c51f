"""File primitives of the outbox: private folders, whole-or-nothing
writes, bounded flock waits. No knowledge of events here."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import stat
import time
from typing import List

try:
    import fcntl
except ImportError:  # not on Windows: without flock there is no outbox
    fcntl = None  # type: ignore[assignment]

LOCK_POLL = 0.05
"""About this many seconds between tries while another process holds a lock."""


def private_dir(folder: str) -> None:
    """Make a folder only its owner can enter, or check an existing one.

    An existing folder is never changed: outbox_dir may name a folder the
    administrator uses for other things too.
    """
    try:
        os.makedirs(folder, 0o700)
    except FileExistsError:
        pass
    else:
        os.chmod(folder, 0o700)  # whatever the umask
        return
    info = os.stat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", folder)
    if info.st_uid != os.geteuid():
        # Files another user would write here, Rundeck could not read.
        raise PermissionError(
            errno.EPERM, "belongs to uid %d, not to this user (uid %d)"
            % (info.st_uid, os.geteuid()), folder)
    if info.st_mode & 0o022:
        # Others could add or swap entries in it.
        raise PermissionError(
            errno.EPERM, "others may write to it (mode %o); give the outbox "
            "a folder of its own" % (info.st_mode & 0o7777), folder)


def write_new(folder: str, name: str, data: bytes,
               lock: bool = False) -> int:
    """Write a file whole or not at all: temp file, fsync, rename.

    ``lock``: the file is flock'd before its name appears, and the open
    descriptor (holding the lock) is returned; else -1.
    """
    temp = os.path.join(folder, ".tmp-" + name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(temp, flags, 0o600)
    except FileExistsError:
        # A writer killed mid-write left it. New names are unique, so only
        # a rewrite under the outbox lock meets one: it is ours to replace.
        os.unlink(temp)
        fd = os.open(temp, flags, 0o600)
    try:
        if lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.replace(temp, os.path.join(folder, name))
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(folder)
    if lock:
        return fd
    os.close(fd)
    return -1


def fsync_dir(folder: str) -> None:
    """Make a rename in the folder survive a power cut, where possible."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse it; the rename is atomic anyway
    finally:
        os.close(fd)


def flock_by(fd: int, deadline: float) -> bool:
    """Take an exclusive flock, trying until the deadline (not forever)."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, LOCK_POLL * (0.5 + random.random())))


def orphaned(fd: int, path: str) -> bool:
    """True if no live process holds this sending/ file any more."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its notification is still sending it
    try:
        # Its owner may have removed it between our open and our lock.
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def entry_names(folder: str) -> List[str]:
    """Entry-like file names in a folder, oldest first."""
    try:
        found = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(n for n in found
                  if n.endswith(".json") and not n.startswith("."))


def unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def os_text(err: OSError) -> str:
    """'<path>: <reason>' for an OSError, without a traceback."""
    reason = err.strerror or str(err)
    return "%s: %s" % (err.filename, reason) if err.filename else reason
