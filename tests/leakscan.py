"""The secret values the tests use, and a scanner for everything they capture.

A notification handles an integration key, REST API keys and (in Rundeck)
secure option values; none may appear in anything a test sees: output,
logs, exception text, files. ``scan()`` checks one text; ``captured()``
registers what a test helper captured (subprocess output, a harness log)
so that conftest.py's autouse fixture scans it at the end of the test,
together with capfd/capsys and the files under the test's tmp_path.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import quote

# Every secret value a test hands the plugin, by where it is defined.
# test_properties.py checks this list against jobenv, rundeck_sim and every
# TOKEN/SECRET/KEY constant in tests/*.py, so a new one can't be missed.
VALUES: Dict[str, str] = {
    "jobenv.KEY (integration key)": "R0t3stK3yF0rPag3rDutyN0t1fy0001a",
    "REST API token (test_rest, test_entrypoint_rest, test_loader)":
        "y_NbAkKc66ryYTWUXYEu",
    "rundeck_sim.SECURE_VALUE (secure option)": "s3cr3t-Opt1on-V4lue",
    "test_rundeck.TOKEN (Rundeck API token)":
        "pdnotifyE2eT0ken0123456789abcdef",
    "test_rundeck.SECRET (secure option)": "Sup3r-S3cret-Opt1on",
    "test_properties proxy password": "Pr0xy-Passw0rd-4-Tests",
    "test_properties second integration key":
        "Zq7PropertyTestIntegrationKey042",
    "test_properties second REST token": "u+PropertyTestRestToken9",
}

FRAGMENT = 16
"""A run of this many characters of a secret counts as the secret: a key
cut short in a message is still a leak. Four (PagerDuty's own hint) is
not."""

Data = Union[str, bytes, None]


def _text(data: Data) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def _forms(value: str) -> List[str]:
    """The value as it could appear: raw, URL- or JSON-escaped, cut."""
    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    if len(value) > FRAGMENT:
        forms.update(value[i:i + FRAGMENT]
                     for i in range(len(value) - FRAGMENT + 1))
    return sorted(forms, key=len, reverse=True)


_FORMS = {name: _forms(value) for name, value in VALUES.items()}


def find(data: Data, extra: Optional[Dict[str, str]] = None
         ) -> List[Tuple[str, int, int]]:
    """(secret name, start, end) of each secret found in the data."""
    text = _text(data)
    if not text:
        return []
    found = []
    forms = dict(_FORMS)
    for name, value in (extra or {}).items():
        forms[name] = _forms(value)
    for name, candidates in forms.items():
        for form in candidates:
            at = text.find(form)
            if at >= 0:
                found.append((name, at, at + len(form)))
                break
    return found


def scan(data: Data, where: str,
         extra: Optional[Dict[str, str]] = None) -> None:
    """Raise AssertionError naming ``where`` if a secret is in the data.

    ``extra``: more secrets for this check only (name -> value), such as
    the key a generated example used. The message masks the secret.
    """
    hits = find(data, extra)
    if hits:
        raise AssertionError(describe(_text(data), where, hits))


def describe(text: str, where: str, hits: List[Tuple[str, int, int]]) -> str:
    """One line per secret found, with masked context."""
    lines = []
    for name, start, end in hits:
        before = text[max(start - 60, 0):start]
        after = text[end:end + 60]
        lines.append("secret %s appeared in %s at character %d: %r"
                     % (name, where, start,
                        before + "<" + name.split(" (")[0] + ">" + after))
    return "\n".join(lines)


# ----------------------------------------------------------- the registry

_CAPTURED: List[Tuple[str, Data]] = []


def captured(data: Data, where: str) -> Data:
    """Register captured output for the end-of-test scan; return it."""
    _CAPTURED.append((where, data))
    return data


def captured_error(err: BaseException, where: str) -> None:
    """Register an exception's text and any output it carries."""
    captured("%s\n%r" % (err, err), where + " (exception)")
    for attr in ("stdout", "stderr", "output"):
        value = getattr(err, attr, None)
        if isinstance(value, (str, bytes)):
            captured(value, "%s (exception %s)" % (where, attr))


def run_captured(where: str, *args: Any, **kwargs: Any
                 ) -> "subprocess.CompletedProcess[Any]":
    """subprocess.run, with its output and any exception registered."""
    try:
        result = subprocess.run(*args, **kwargs)
    except (subprocess.SubprocessError, OSError) as err:
        captured_error(err, where)
        raise
    captured(result.stdout, where + " stdout")
    captured(result.stderr, where + " stderr")
    return result


def drain() -> List[Tuple[str, Data]]:
    """What was registered since the last drain; the registry empties."""
    taken = list(_CAPTURED)
    del _CAPTURED[:]
    return taken


# ------------------------------------------------------------------ files
#
# Files under a test's tmp_path are scanned, except the few whose purpose
# is to hold a secret. Those are named in ALLOWED one by one, each with
# the secrets it may hold and the check that replaces the scan.


_OUTBOX_FOLDERS = ("sending", "rejected", "unreadable")


def _is_outbox(folder: Path) -> bool:
    return all((folder / sub).is_dir() for sub in _OUTBOX_FOLDERS)


def _in_outbox(path: Path, root: Path) -> bool:
    """True for a file of the outbox layout (outbox.py's docstring): in
    a folder that has sending/, rejected/ and unreadable/, or in one of
    those."""
    parent = path.parent
    if _is_outbox(parent):
        return True
    return parent.name in _OUTBOX_FOLDERS and _is_outbox(parent.parent)


def _private(path: Path) -> List[str]:
    """An outbox file holding the key: 0600, in a folder others can't write.

    The file's mode keeps the key; a folder others may write to would let
    them swap entries (the outbox refuses one). A folder the plugin made
    itself is 0700; one the administrator named keeps its mode."""
    problems = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        problems.append("%s holds a secret with mode %o, not 600"
                        % (path, mode))
    folder = stat.S_IMODE(path.parent.stat().st_mode)
    if folder & 0o022:
        problems.append("%s holds a secret in a folder with mode %o, "
                        "writable by others" % (path, folder))
    return problems


def _key_storage(path: Path) -> List[str]:
    """test_loader's Key Storage (--keys): only storage paths to values."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        return ["%s is not the Key Storage JSON: %s" % (path, err)]
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and k.startswith("keys/")
            and isinstance(v, str) for k, v in data.items()):
        return ["%s holds more than Key Storage entries" % path]
    return []


def _integration_key(name: str) -> bool:
    return "integration key" in name


# The allow-list: (why, the test files it applies to or None for any,
# which files, which secrets they may hold, the check instead of the scan).
ALLOWED = [
    ("the Key Storage the loader tests hand the harness (--keys): a test "
     "input, written by the test, so its mode is the test's choice",
     ("test_loader.py",),
     lambda path, root: path.parent == root and path.name == "keys.json",
     lambda name: True,
     _key_storage),
    ("outbox entries carry the event, and so its integration key, by "
     "design (outbox.py): a file that does must be 0600 in a 0700 folder; "
     "no other secret may be in it",
     None,
     lambda path, root: _in_outbox(path, root),
     _integration_key,
     _private),
]


def check_files(root: Path, test_file: str,
                extra: Optional[Dict[str, str]] = None) -> List[str]:
    """Problems with the files under root: a secret in a file outside the
    allow-list, or one the allow-list does not allow there; an allowed
    file that fails its check."""
    problems: List[str] = []
    for path in sorted(p for p in root.rglob("*")
                       if p.is_file() and not p.is_symlink()):
        try:
            data = path.read_bytes()
        except OSError as err:
            problems.append("%s could not be read to scan it: %s"
                            % (path, err))
            continue
        hits = find(data, extra)
        if not hits:
            continue
        rule = _rule(path, root, test_file)
        if rule is not None:
            allows, check = rule
            if all(allows(name) for name, _, _ in hits):
                problems.extend(check(path))
                continue
            hits = [hit for hit in hits if not allows(hit[0])]
        problems.append(describe(_text(data), "file %s" % path, hits))
    return problems


def _rule(path: Path, root: Path, test_file: str) -> Any:
    for _why, files, match, allows, check in ALLOWED:
        if files is not None and test_file not in files:
            continue
        if match(path, root):
            return allows, check
    return None


def scan_all(items: Iterable[Tuple[str, Data]]) -> List[str]:
    """Problems in a list of (where, data)."""
    problems = []
    for where, data in items:
        hits = find(data)
        if hits:
            problems.append(describe(_text(data), where, hits))
    return problems
