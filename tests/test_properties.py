"""Property tests: any config and context, through main(), in-process.

Hypothesis generates RD_CONFIG_* values for every property plugin.yaml
lists for each provider, and RD_JOB_* / RD_EXECUTION_* / RD_OPTION_* /
RD_EXPORT_* / RD_GLOBALS_* values and RD_NOTIFICATION_TRIGGER: empty,
whitespace, long, non-ASCII, control characters, JSON that is no object,
numbers, templates good and bad, sandbox escapes, URLs of every shape.
PagerDuty is a `responses` callback that records each request and answers
like PagerDuty. Whatever the input:

- main() returns an int, one of the documented exit statuses;
- status 2 means nothing was sent; no traceback on stderr; no secret;
- every request is valid under PagerDuty's schema and goes to the
  configured base URL with headers http.client can send;
- job values are data: template syntax in them is never evaluated.

PagerDuty here always answers at once and with success, so the only
outcomes that fit are 0, 2 and (REST, no open incident) 3; anything else
means the plugin could not even build its request, which is a bug.

The end of the file tests the secret scanner (tests/leakscan.py) itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import requests
import responses
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

import build
import jobenv
import rundeck_sim
import leakscan
from pdnotify import transport
from pdnotify.cli import main
from standin.schema import validate_events_request, validate_rest_request

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------ plugin.yaml

PROVIDERS = {
    p["script-args"]: [c["name"] for c in p["config"]]
    for p in build.load_meta()["providers"]
}
REST_PROVIDERS = sorted(p for p in PROVIDERS if p != "send-event")
TRIGGERS = ["start", "success", "failure", "avgduration", "retryablefailure"]
DOCUMENTED = {0, 2, 3, 4, 5}

# A template only job data carries. Its value is distinctive (unlike 49),
# so finding it in a request can only mean job data was evaluated.
MARKER = "{{ 104729*1299709 }}"
MARKER_VALUE = str(104729 * 1299709)

KEY, KEY2 = jobenv.KEY, "Zq7PropertyTestIntegrationKey042"
TOKEN, TOKEN2 = "y_NbAkKc66ryYTWUXYEu", "u+PropertyTestRestToken9"
PROXY_PASSWORD = "Pr0xy-Passw0rd-4-Tests"
CA_FILE = "<a CA bundle file>"  # replaced by a real file per example
OUTBOX = "<the example's outbox folder>"  # likewise

# ------------------------------------------------------------- strategies

NO_NUL = st.characters(blacklist_characters="\x00",
                       blacklist_categories=("Cs",))
ODD = st.sampled_from(list(
    "\u200b\u200d\u200e\u202e\u2066\ufeff\u2028\u2029\u0301\u0338"
    "\U0001f525\U0001f3f3\ufe0f\ue000\ue001\u00a0\u3000\uffff\ufffd"
    "\U0010ffff\u00e9\u00df\u0130\u03a3\u05d0\u0627\u4e2d\u1100"))
CONTROL = st.characters(min_codepoint=1, max_codepoint=0x1F) | st.sampled_from(
    ["\x7f", "\x85", "\x9b"])
# What Python makes of bytes that are not UTF-8 in os.environ.
SURROGATE_ESCAPE = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
CHARS = st.one_of(NO_NUL, NO_NUL, ODD, CONTROL, SURROGATE_ESCAPE)


def texts(max_size: int):
    """Text from CHARS (st.text would drop the surrogate escapes)."""
    return st.lists(CHARS, max_size=max_size).map("".join)


WHITESPACE = st.text(st.sampled_from(
    " \t\n\r\x0b\x0c\u00a0\u2003\u3000\u2028\u0085"), max_size=6)
LONG = st.builds(
    lambda unit, size: (unit * (size // len(unit) + 1))[:size],
    st.text(st.one_of(NO_NUL, ODD), min_size=1, max_size=6),
    st.sampled_from([256, 1025, 5000, 40000, 100000]),
)
NUMBERS = st.one_of(
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.floats().map(repr),
    st.sampled_from(["0", "-1", "1e3", "1_0", "\u0663", "0x10", " 7 ",
                     "+5", "5.0", "600", "601", "nan", "Infinity", "08"]),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | texts(10),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(texts(6), inner, max_size=3),
    max_leaves=8,
)


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


JSON_TEXT = st.one_of(
    JSON_VALUE.map(json.dumps),
    st.sampled_from([
        "[1, 2]", "null", '"text"', "42", "true", "{", "{}", "[]",
        '{"a": NaN}', '{"a": Infinity}', '{"a": 1e999}', '{"job": null}',
        '{"job": {"name": {"x": 1}}}', '{"trigger": [1]}',
        '{"a": 1, "a": 2}', '{"\\ud800": "lone"}', '{"a": "\\u0000"}',
        '{"options": "x"}', '{"execution": []}',
        _nested(20), _nested(900), _nested(3000),
    ]),
)
TEMPLATES = st.sampled_from([
    "{{ job.name }}", "{{ 7*7 }}", "{{ job.name", "{% if %}", "{{ }}",
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__ }}",
    "{{ self._TemplateReference__context }}", "{{ job.__class__ }}",
    "{{ job|attr('__class__') }}", "{{ job.update({'a': 1}) }}",
    "{{ job.nosuch }}", "{{ nosuch }}", "{{ option }}", "{{ 1/0 }}",
    "{{ range(100001)|list|length }}", "{# comment #}", "{# unclosed",
    "{% raw %}{{ x }}{% endraw %}", "{{ execution.id|int + 1 }}",
    "{{ '%s'|format(job) }}", "{{ job.items()|list }}", "{{ trigger }}",
    "{{ export }}", "{{ globals.x }}", "{{ job.name ~ '{{ 7*7 }}' }}",
    "{% for k, v in option.items() %}{{ k }}={{ v }},{% endfor %}",
    "\ue0000\ue001", "{{ '\ue0000\ue001' }}", "{{ job.name }}\ue0000\ue001",
    "{% set x = 'a' %}{{ x }}", "{{ option.pa ~ option.pb }}",
])
URLS = st.one_of(
    st.builds(
        lambda scheme, host, port, path: "%s://%s%s%s" % (
            scheme, host, port, path),
        st.sampled_from(["https", "http", "HTTPS", "ftp", "file", "", "h"]),
        st.sampled_from([
            "events.pagerduty.com", "127.0.0.1", "[::1]", "localhost",
            "\u00fc.example", "xn--bcher-kva.example", "exa mple.com",
            "a..b", "-bad-.example", "h_o.st", "", "1.2.3.4.5", "[::1",
            "user:pw@host", "[fe80::1%25eth0]", "x" * 70 + ".example",
            "\u4e2d\u6587.example", "a\u200b.example", "host\t",
        ]) | st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True),
        st.sampled_from(["", ":0", ":443", ":65535", ":65536", ":99999",
                         ":-1", ":abc", ":"]),
        st.sampled_from(["", "/", "/v2", "/proxy/", "/a b", "/%2e%2e/",
                         "/\u00fc", "//x", "/?x=1", "#frag", "?q",
                         "/\\x", "/{{ 7*7 }}"]),
    ),
    st.sampled_from(["javascript:alert(1)", "file:///etc/passwd",
                     "//events.pagerduty.com", "https://", "https:///x",
                     "events.pagerduty.com", "mailto:a@b.c"]),
)
JUNK = st.one_of(
    st.just(""), WHITESPACE, texts(40), LONG, NUMBERS,
    JSON_TEXT, TEMPLATES, URLS,
    st.builds(lambda a, t, b: a + t + b, texts(8),
              TEMPLATES, texts(8)),
)
SPACE = st.sampled_from(["", "", " ", "\n", "\t"])


def _padded(values):
    return st.builds(lambda pre, v, post: pre + v + post, SPACE,
                     st.sampled_from(values), SPACE)


def _mutations(secret: str) -> List[str]:
    """Near misses of a secret: a log line must not echo them either."""
    return [secret[:-1], secret + "x", secret.lower(), secret[::-1][:12],
            secret[:16] + " " + secret[16:], "Token token=" + secret,
            secret + "\x01", "keys/project/infra/" + secret]


PD_ID = st.from_regex(r"P[A-Z0-9]{6}", fullmatch=True)
GOOD_URL_EVENTS = st.sampled_from([
    "https://events.pagerduty.com", "http://127.0.0.1:9",
    "https://pd-proxy.example.test:8443/",
    "HTTPS://Events.PagerDuty.com", " https://events.eu.pagerduty.com/ ",
])
GOOD_URL_API = st.sampled_from([
    "https://api.pagerduty.com", "http://127.0.0.1:9",
    "https://pd-proxy.example.test:8443/",
    "HTTPS://API.PagerDuty.com", " https://api.eu.pagerduty.com/ ",
])
GOOD_TEXT = st.one_of(
    texts(30), TEMPLATES, LONG, NUMBERS,
    st.sampled_from(["rundeck:{{ job.project }}:job:{{ job.id }}",
                     "{{ job.name }} failed on "
                     "{{ execution.failednodeliststring }}"]),
)
GOOD_DETAILS = st.dictionaries(
    texts(8),
    JSON_VALUE | TEMPLATES | st.dictionaries(
        st.sampled_from(["name", "tier", "id"]), JSON_VALUE | TEMPLATES,
        max_size=2),
    max_size=4,
).map(json.dumps)
GOOD_IMAGES = st.lists(
    st.sampled_from(["https://img.test/a.png", " ", "",
                     "https://img.test/{{ job.id }}.png",
                     "HTTPS://IMG.TEST/B.PNG"]), min_size=1, max_size=4,
).map(",".join)

# Property -> values a careful administrator may give (None: unset).
GOOD = {
    "integration_key": _padded([KEY, KEY2]),
    "api_key": _padded([TOKEN, TOKEN2]),
    "action": st.none() | _padded(["auto", "trigger", "acknowledge",
                                   "resolve", "Resolve"]),
    "severity": st.none() | _padded(["auto", "critical", "error", "warning",
                                     "info", "INFO"]),
    "region": st.none() | _padded(["us", "eu", "EU"]),
    "events_url": st.none() | GOOD_URL_EVENTS,
    "api_url": st.none() | GOOD_URL_API,
    "ca_bundle": st.none() | st.sampled_from(["", CA_FILE]),
    "proxy": st.none() | st.sampled_from([
        "", "http://127.0.0.1:3128", "https://proxy.example.test:8443",
        "http://pduser:%s@127.0.0.1:3128" % PROXY_PASSWORD]),
    "outbox_dir": st.none() | st.sampled_from(["", " ", OUTBOX]),
    "timeout": st.none() | st.integers(1, 600).map(str),
    "interpreter": st.none() | JUNK,
    "images": st.none() | GOOD_IMAGES,
    "custom_details": st.none() | GOOD_DETAILS,
    "email": st.sampled_from(["oncall@example.test"]) | st.emails(),
    "incident_id": st.none() | PD_ID,
    "incident_key": st.none() | GOOD_TEXT,
    "escalation_level": st.integers(1, 20).map(str),
    "workflow_id": PD_ID,
    "response_play_id": PD_ID,
}
for _name in ("dedupe_key", "summary", "source", "component", "group",
              "class"):
    GOOD[_name] = st.none() | GOOD_TEXT

# Property -> values that are wrong in a way typical of that property.
SPECIFIC_JUNK = {
    "integration_key": _mutations(KEY) + [TOKEN, "keys/project/x/pd"],
    "api_key": _mutations(TOKEN) + [KEY, "keys/project/x/pd"],
    "proxy": ["http://pduser:%s@" % PROXY_PASSWORD,
              "socks5://pduser:%s@127.0.0.1:1080" % PROXY_PASSWORD,
              "http://pduser:%s@127.0.0.1:99999" % PROXY_PASSWORD],
    "email": ["a,b@c.de", "a<b@c.de", "a;b@c.de", "\u7528@\u4f8b.\u516c",
              "a@b", "@b.c", "a@b.c.", "a@@b.cd", "a b@c.de",
              "ops@example.test, boss@example.test"],
    "incident_id": ["../../users", "a/b", "P%2F", "-P", "P" * 65, "\u00fc",
                    "{{ execution.id }}", "{{ job.name }}"],
    "escalation_level": ["0", "-1", "1.5", "\u0663", "1_0", "999999999999"],
    "ca_bundle": ["/nonexistent/ca.pem", "/", "."],
}
SPECIFIC_JUNK["workflow_id"] = SPECIFIC_JUNK["response_play_id"] = (
    SPECIFIC_JUNK["incident_id"])


def bad(name: str):
    """Any value for a property, most of them wrong."""
    if name == "outbox_dir":  # a wrong folder would be made on this disk
        return GOOD[name]
    extra = SPECIFIC_JUNK.get(name)
    if extra:
        return st.one_of(st.none(), JUNK, st.sampled_from(extra),
                         st.sampled_from(extra), GOOD[name])
    return st.none() | JUNK | GOOD[name]


JOB_KEYS = ["NAME", "GROUP", "ID", "EXECID", "SERVERURL", "URL",
            "USERNAME", "USER_NAME", "PROJECT", "LOGLEVEL", "HREF",
            "DESCRIPTION", "AVERAGEDURATION", "SCHEDULE"]
EXECUTION_KEYS = ["ID", "HREF", "STATUS", "USER", "PROJECT", "ARGSTRING",
                  "LOGLEVEL", "DATESTARTEDW3C", "DATEENDEDW3C",
                  "DATESTARTEDUNIXTIME", "ABORTEDBY",
                  "FAILEDNODELISTSTRING", "SUCCEEDEDNODELISTSTRING",
                  "DESCRIPTION", "PROJECTHREF"]
LOGLEVELS = st.sampled_from(["DEBUG", "debug", " Debug ", "INFO", "VERBOSE",
                             "ERROR", ""])
CONTEXT_JUNK = st.one_of(
    JUNK, st.just(MARKER),
    st.builds(lambda a, b: a + MARKER + b, texts(5),
              texts(5)),
)


@st.composite
def contexts(draw) -> Dict[str, str]:
    """RD_NOTIFICATION_TRIGGER and the job's RD_* context."""
    trigger = draw(st.sampled_from(TRIGGERS))
    env = {k: v for k, v in jobenv.job_env(trigger).items()
           if not k.startswith("RD_CONFIG_")}
    env["RD_NOTIFICATION_TRIGGER"] = draw(st.one_of(
        st.just(trigger), _padded([trigger.upper(), trigger.title()]),
        st.sampled_from(["onfailure", "", "fail", "success,failure"]), JUNK,
    ) if draw(st.integers(0, 9)) == 0 else st.just(trigger))
    chaos = draw(st.booleans())
    for group, keys in (("RD_JOB_", JOB_KEYS),
                        ("RD_EXECUTION_", EXECUTION_KEYS)):
        for key in keys:
            name = group + key
            if key == "LOGLEVEL":
                env[name] = draw(LOGLEVELS)
            elif chaos or key in ("NAME", "GROUP", "DESCRIPTION"):
                choice = draw(st.integers(0, 3))
                if choice == 0:
                    env.pop(name, None)
                elif choice == 1:
                    env[name] = draw(CONTEXT_JUNK)
    options = draw(st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True),
        CONTEXT_JUNK, max_size=3))
    for name, value in options.items():
        env["RD_OPTION_" + name] = value
    if draw(st.booleans()):  # MARKER cut in two: each half alone is safe
        cut = draw(st.integers(1, len(MARKER) - 1))
        env["RD_OPTION_PA"], env["RD_OPTION_PB"] = MARKER[:cut], MARKER[cut:]
    for group in ("RD_EXPORT_", "RD_GLOBALS_"):
        for name, value in draw(st.dictionaries(
                st.sampled_from(["X", "TIER", "A_B"]), CONTEXT_JUNK,
                max_size=2)).items():
            env[group + name] = value
    return env


def _context_values(env: Dict[str, str]) -> List[str]:
    return [v for k, v in sorted(env.items())
            if k.startswith(("RD_JOB_", "RD_EXECUTION_", "RD_OPTION_",
                             "RD_EXPORT_", "RD_GLOBALS_"))]


PASTABLE = ("dedupe_key", "summary", "source", "component", "group",
            "class", "incident_key", "incident_id", "custom_details")


@st.composite
def invocations(draw, provider: str) -> Dict[str, str]:
    """A whole environment for one notification of the provider."""
    env = draw(contexts())
    mode = draw(st.sampled_from(["careful", "careful", "one wrong",
                                 "anything"]))
    names = PROVIDERS[provider]
    wrong = draw(st.sampled_from(names)) if mode == "one wrong" else None
    config: Dict[str, Optional[str]] = {}
    for name in names:
        careful = mode == "careful" or (mode == "one wrong" and name != wrong)
        config[name] = draw(GOOD[name] if careful else bad(name))
    if provider != "send-event" and mode == "careful" and not (
            config.get("incident_id") or config.get("incident_key")):
        config["incident_id"] = draw(PD_ID)
    # Rundeck expands ${option.x} and friends before the plugin runs: job
    # values arrive pasted into properties, alone or side by side.
    values = _context_values(env)
    for name in names:
        if name in PASTABLE and draw(st.integers(0, 3)) == 0:
            parts = draw(st.lists(
                st.sampled_from(values) | texts(4)
                | TEMPLATES, min_size=1, max_size=3))
            if draw(st.booleans()) and "RD_OPTION_PA" in env:
                parts.append(env["RD_OPTION_PA"] + env["RD_OPTION_PB"])
            config[name] = "".join(parts)
    for name, value in config.items():
        if value is not None:
            env["RD_CONFIG_" + name.upper()] = value
    return env


# ------------------------------------------------------------ the harness


class FakeTime:
    """transport's clock: sleeping moves it, so retries take no time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class PagerDuty:
    """The responses callback: records each request, answers like PD."""

    def __init__(self, open_incident: bool) -> None:
        self.open_incident = open_incident
        self.seen: List[requests.PreparedRequest] = []

    def __call__(self, request: requests.PreparedRequest):
        self.seen.append(request)
        path = urlsplit(request.url).path
        body = _json(request.body)
        if path.endswith("/v2/enqueue"):
            key = body.get("dedup_key") if isinstance(body, dict) else None
            return _reply(202, {"status": "success",
                                "message": "Event processed",
                                "dedup_key": key or "generated"})
        if request.method == "GET" and path.endswith("/incidents"):
            query = parse_qs(urlsplit(request.url).query)
            found = [{"id": "PABC123", "type": "incident",
                      "incident_key": query.get("incident_key", [""])[0]}]
            return _reply(200, {"incidents": found if self.open_incident
                                else [], "limit": 25, "offset": 0,
                                "more": False})
        if request.method == "PUT" and "/incidents/" in path:
            return _reply(200, {"incident": {"id": path.rsplit("/", 1)[1],
                                             "type": "incident"}})
        if request.method == "POST" and path.endswith("/instances"):
            return _reply(201, {"incident_workflow_instance": {
                "id": "PWFI123", "type": "incident_workflow_instance"}})
        if request.method == "POST" and path.endswith("/run"):
            return _reply(200, {"status": "ok"})
        return _reply(404, {"error": {"message": "Not Found", "code": 2100}})


def _reply(status: int, body: Any):
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _json(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw)


@contextlib.contextmanager
def pagerduty(open_incident: bool = True):
    """PagerDuty, mocked for every URL and method; retries take no time."""
    pd = PagerDuty(open_incident)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            mock.add_callback(method, re.compile(r".*"), callback=pd)
        with _patched(transport, "time", FakeTime()):
            yield pd


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any):
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def notify(provider: str, env: Dict[str, str], folder: str,
           open_incident: bool = True):
    """main() in-process: (exit status, stderr, requests seen)."""
    env = {k: v.replace(CA_FILE, os.path.join(folder, "ca.pem"))
           .replace(OUTBOX, os.path.join(folder, "outbox"))
           for k, v in env.items()}
    Path(folder, "ca.pem").write_text("not a certificate\n")
    stderr = io.StringIO()
    with pagerduty(open_incident) as pd, \
            contextlib.redirect_stderr(stderr):
        try:
            code = main([provider], env)
        except BaseException as err:  # noqa: B036 - reported as a failure
            raise AssertionError(
                "main() raised %s: %s" % (type(err).__name__, err)) from err
    return code, stderr.getvalue(), pd.seen, env


def _expected_base(provider: str, config: Dict[str, str]) -> Optional[str]:
    """Where the requests must go: the override, or the region's host."""
    name = "events_url" if provider == "send-event" else "api_url"
    override = config.get(name, "").strip()
    if override:
        base = override.rstrip("/")
    else:
        region = (config.get("region") or "").strip().lower() or "us"
        if region not in ("us", "eu"):
            return None
        base = "https://%s.%spagerduty.com" % (
            "events" if provider == "send-event" else "api",
            "eu." if region == "eu" else "")
    prepared = requests.models.PreparedRequest()
    try:
        prepared.prepare_url(base, None)
    except requests.exceptions.RequestException:
        return None
    return prepared.url.rstrip("/")


def check_example(provider: str, env: Dict[str, str], code: Any,
                  stderr: str, seen: List[requests.PreparedRequest],
                  open_incident: bool = True) -> None:
    """Every property the module docstring promises, for one run."""
    assert isinstance(code, int) and not isinstance(code, bool), code
    event("exit %d, %d request(s)" % (code, len(seen)))
    if code == 2:
        why = re.search(r"ERROR: ([^:\s]+)", stderr)
        event("exit 2 for " + (why.group(1) if why else "?"))
    leakscan.scan(stderr, "stderr of main([%r])" % provider)
    assert code in DOCUMENTED, "exit status %r\n%s" % (code, stderr[-3000:])
    assert "Traceback" not in stderr, stderr[-3000:]
    if code == 2:
        assert seen == [], "status 2, yet %d requests" % len(seen)
    config = {k[len("RD_CONFIG_"):].lower(): v for k, v in env.items()
              if k.startswith("RD_CONFIG_")}
    base = _expected_base(provider, config)
    for request in seen:
        _check_request(provider, request, base, env)
    # PagerDuty answered everything at once with success.
    fitting = {0, 2} if provider == "send-event" or open_incident \
        else {0, 2, 3}
    assert code in fitting, (
        "status %d though PagerDuty accepted everything:\n%s"
        % (code, stderr[-3000:]))
    if code == 0:
        assert seen, "status 0 without a request"


def _check_request(provider: str, request: requests.PreparedRequest,
                   base: Optional[str], env: Dict[str, str]) -> None:
    url = request.url
    assert base is not None and url.startswith(base), (
        "request to %r, not under the configured %r" % (url, base))
    for name, value in request.headers.items():
        try:
            value.encode("latin-1")  # what http.client does to each header
        except UnicodeEncodeError:
            raise AssertionError(
                "header %s: %r cannot be sent (http.client encodes headers "
                "as Latin-1)" % (name, value)) from None
    assert url.isascii(), url
    text = url + "\n" + (request.body.decode("utf-8")
                         if isinstance(request.body, bytes)
                         else request.body or "")
    assert MARKER_VALUE not in text, (
        "job data was evaluated:\n" + text[:2000])
    body = _json(request.body)
    if provider == "send-event":
        assert urlsplit(url).path.endswith("/v2/enqueue"), url
        assert _events_errors(body) == []
    else:
        relative = url[len(base):]
        headers = dict(request.headers)
        assert validate_rest_request(request.method, relative, headers,
                                     body) == []


# ---------------------------------------------------------- regressions
#
# Product bugs these tests found, each with its reproducer below.


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _events_errors(body: Any) -> List[str]:
    """validate_events_request, but a URL its checker cannot even split
    (standin.schema._is_url raises ValueError on "https://[") is reported
    as an error of the field it sits in, as the checker should."""
    try:
        return validate_events_request(body, "/v2/enqueue")
    except ValueError as err:
        fields = [("links.%d.href" % i, link.get("href"))
                  for i, link in enumerate(body.get("links") or [])]
        fields += [("client_url", body.get("client_url"))]
        fields += [("images.%d.src" % i, image.get("src"))
                   for i, image in enumerate(body.get("images") or [])]
        broken = [name for name, value in fields
                  if isinstance(value, str) and not _is_url(value)]
        if not broken:
            raise
        return ["%s: the schema checker raised %s" % (name, err)
                for name in broken]


def _outbox_files_private(folder: str) -> None:
    problems = leakscan.check_files(Path(folder), Path(__file__).name)
    assert problems == [], "\n".join(problems)


# PROPERTY_EXAMPLES=10 runs ten times as many examples (exploring).
SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
SETTINGS = dict(
    deadline=None,  # one example may build a 100 KB value; no timing
    database=None,  # nothing written into the work tree
)


@settings(max_examples=300 * SCALE, **SETTINGS)
@given(env=invocations("send-event"))
def test_send_event_any_input(env):
    with tempfile.TemporaryDirectory(prefix="pdnotify-prop-") as folder:
        code, stderr, seen, env = notify("send-event", env, folder)
        note("exit %r; stderr:\n%s" % (code, stderr[-2000:]))
        check_example("send-event", env, code, stderr, seen)
        _outbox_files_private(folder)


@pytest.mark.parametrize("provider", REST_PROVIDERS)
@settings(max_examples=120 * SCALE, **SETTINGS)
@given(data=st.data())
def test_rest_provider_any_input(provider, data):
    env = data.draw(invocations(provider), label="env")
    open_incident = data.draw(st.booleans(), label="open incident")
    with tempfile.TemporaryDirectory(prefix="pdnotify-prop-") as folder:
        code, stderr, seen, env = notify(provider, env, folder,
                                         open_incident)
        note("exit %r; stderr:\n%s" % (code, stderr[-2000:]))
        check_example(provider, env, code, stderr, seen, open_incident)


TEXT_PROPERTIES = ("dedupe_key", "summary", "source", "component", "group",
                   "class")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_job_value_7_times_7_is_never_evaluated(provider, tmp_path):
    """A job name of {{ 7*7 }} reaches PagerDuty as written: through a
    template, pasted whole into every text property, in the defaults."""
    env = jobenv.job_env("failure")
    env["RD_JOB_NAME"] = "{{ 7*7 }}"
    env["RD_OPTION_NOTE"] = "{% if true %}{{ 7*7 }}{% endif %}"
    if provider == "send-event":
        config = {name: "{{ job.name }} / {{ 7*8 }} / {{ job.name }}"
                  for name in TEXT_PROPERTIES}
        config["summary"] = env["RD_JOB_NAME"]  # ${job.name}, expanded
        config["source"] = env["RD_OPTION_NOTE"] + " at {{ 7*8 }}"
        config["custom_details"] = json.dumps(
            {"name": "{{ job.name }}", "note": env["RD_OPTION_NOTE"]})
    else:
        env = rest_env(**DEBUG_CONFIG[provider])
        env.update(RD_JOB_NAME="{{ 7*7 }}", RD_JOB_ID="{{ 7*7 }}")
        env.pop("RD_CONFIG_INCIDENT_ID", None)
        env["RD_CONFIG_INCIDENT_KEY"] = "{{ job.id }} {{ 7*8 }}"
        config = {}
    env.update({"RD_CONFIG_" + k.upper(): v for k, v in config.items()})
    code, stderr, seen, _ = notify(provider, env, str(tmp_path))
    assert code == 0, stderr
    sent = "\n".join(unquote_plus(r.url) + "\n" + (
        r.body.decode() if isinstance(r.body, bytes) else r.body or "")
        for r in seen)
    assert "56" in sent  # the administrator's own template ran
    assert "49" not in sent
    assert "{{ 7*7 }}" in sent


# ------------------------------------------------ known bugs: reproducers

ACCEPTED = {"status": "success", "message": "Event processed"}


def _send(env: Dict[str, str], tmp_path: Path):
    code, stderr, seen, _ = notify("send-event", env, str(tmp_path))
    return code, stderr, [_json(r.body) for r in seen]


@pytest.mark.parametrize("name,value", [
    ("RD_EXECUTION_DATEENDEDW3C", "yesterday"),
    ("RD_EXECUTION_HREF", "execution 42"),
    ("RD_JOB_SERVERURL", "rundeck.test:4440"),
])
def test_regression_context_sent_unchecked(name, value, tmp_path):
    env = jobenv.job_env("failure")
    env[name] = value
    code, stderr, sent = _send(env, tmp_path)
    assert code == 0, stderr
    assert validate_events_request(sent[0], "/v2/enqueue") == []


def test_regression_values_pasted_side_by_side(tmp_path):
    env = jobenv.job_env("failure")
    # summary=${option.a}${option.b}, as Rundeck hands it over expanded
    env.update(RD_OPTION_A="{", RD_OPTION_B="{ 7*7 }}",
               RD_CONFIG_SUMMARY="{" + "{ 7*7 }}")
    code, stderr, sent = _send(env, tmp_path)
    assert code == 0, stderr
    assert sent[0]["payload"]["summary"] == "{{ 7*7 }}"


@pytest.mark.parametrize("dedupe_key,outbox", [
    ('db-{{ "\\udce9" }}', True),  # ASCII text; the template makes \udce9
    ("k" * 300 + '{{ "\\udce9" }}', False),
], ids=["outbox entry name", "long key shortened"])
def test_regression_surrogate_in_dedup_key(dedupe_key, outbox, tmp_path):
    env = jobenv.job_env("failure", dedupe_key=dedupe_key)
    if outbox:
        env["RD_CONFIG_OUTBOX_DIR"] = str(tmp_path / "outbox")
    code, stderr, sent = _send(env, tmp_path)
    assert "Traceback" not in stderr
    assert code in (0, 2), stderr


def test_regression_surrogate_in_incident_key(tmp_path):
    env = rest_env(incident_key="db\udce9", escalation_level="2",
                   email="oncall@example.test")
    code, stderr, _, _ = notify("escalate-incident", env, str(tmp_path))
    assert "Traceback" not in stderr
    assert code in DOCUMENTED, stderr


def test_regression_email_not_latin_1(capfd):
    from standin.server import StandIn

    with StandIn() as server:
        server.add_api_key(TOKEN)
        incident = server.add_incident()
        env = rest_env(incident_id=incident, escalation_level="2",
                       email="\u7528\u6237@\u4f8b\u5b50.\u516c\u53f8",
                       api_url=server.url)
        code = main(["escalate-incident"], env)
        seen = server.requests()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert code == 2, err
    assert seen == []


def rest_env(**config: str) -> Dict[str, str]:
    env = jobenv.job_env("failure")
    del env["RD_CONFIG_INTEGRATION_KEY"]
    config.setdefault("api_key", TOKEN)
    env.update({"RD_CONFIG_" + k.upper(): v for k, v in config.items()})
    return env


# ------------------------------------------------------- DEBUG, no secret


DEBUG_CONFIG = {
    "send-event": dict(
        integration_key=KEY, summary="{{ job.name }}",
        custom_details='{"who": "{{ execution.user }}"}',
        proxy="http://pduser:%s@127.0.0.1:3128" % PROXY_PASSWORD),
    "escalate-incident": dict(
        api_key=TOKEN, email="oncall@example.test", escalation_level="2",
        incident_key="rundeck:{{ job.project }}:job:{{ job.id }}",
        proxy="http://pduser:%s@127.0.0.1:3128" % PROXY_PASSWORD),
    "start-incident-workflow": dict(
        api_key=TOKEN2, workflow_id="PSFEVL7", incident_id="PWL7QXS"),
    "run-response-play": dict(
        api_key=TOKEN, email="oncall@example.test",
        response_play_id="PRP0001", incident_key="db-outage"),
}


@pytest.mark.parametrize("provider", sorted(DEBUG_CONFIG))
def test_debug_level_logs_no_secret(provider, capfd, tmp_path):
    """A DEBUG run, in-process: its log lines reach capfd, which the
    autouse scan reads too; scanned here as well to fail right here."""
    env = {k: v for k, v in jobenv.job_env("failure").items()
           if not k.startswith("RD_CONFIG_")}
    env["RD_EXECUTION_LOGLEVEL"] = "DEBUG"
    env["RD_CONFIG_OUTBOX_DIR"] = str(tmp_path / "outbox")
    env.update({"RD_CONFIG_" + k.upper(): v
                for k, v in DEBUG_CONFIG[provider].items()})
    with pagerduty() as pd:
        code = main([provider], env)
    err = capfd.readouterr().err
    assert code == 0, err
    assert len(pd.seen) >= 1
    if provider == "send-event":
        assert "DEBUG: send event: event without its key" in err
        # The key did go out, in the request: the scan is not vacuous.
        assert _json(pd.seen[0].body)["routing_key"] == KEY
    else:
        assert pd.seen[-1].headers["Authorization"].endswith(
            DEBUG_CONFIG[provider]["api_key"])
    leakscan.scan(err, "DEBUG stderr of " + provider)


# ------------------------------------------------- the scanner, tested


def test_scanner_knows_every_secret_the_tests_use():
    values = set(leakscan.VALUES.values())
    assert {jobenv.KEY, rundeck_sim.SECURE_VALUE, KEY2, TOKEN, TOKEN2,
            PROXY_PASSWORD} <= values
    # Every TOKEN/SECRET/SECURE_VALUE/KEY constant in a suite that runs the
    # plugin (the stand-in's own suites test the stand-in, not it).
    pattern = re.compile(r'^(?:\w*TOKEN|\w*SECRET\w*|SECURE_VALUE|KEY|'
                         r'API_KEY)\s*=\s*"([^"]+)"', re.M)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.name.startswith("test_standin"):
            continue
        for value in pattern.findall(path.read_text(encoding="utf-8")):
            assert value in values, "%s: %r is not in leakscan.VALUES" % (
                path.name, value[:4] + "...")


@pytest.mark.parametrize("shape", [
    lambda s: s,
    lambda s: "Authorization: Token token=%s\n" % s,
    lambda s: ("log line %s end" % s).encode(),
    lambda s: "cut: " + s[3:3 + leakscan.FRAGMENT],
    lambda s: "url: https://h.test/?k=" + requests.utils.quote(s, safe=""),
    lambda s: json.dumps({"k": s}),
], ids=["raw", "header", "bytes", "cut", "url-encoded", "json"])
@pytest.mark.parametrize("name", sorted(leakscan.VALUES))
def test_scanner_catches_a_leak(name, shape):
    secret = leakscan.VALUES[name]
    with pytest.raises(AssertionError) as caught:
        leakscan.scan(shape(secret), "the test's stderr")
    message = str(caught.value)
    assert "the test's stderr" in message and name in message
    assert secret not in message  # the report does not leak it again


def test_scanner_lets_clean_text_pass():
    for text in ("", None, b"", "INFO: accepted trigger for dedup key x",
                 "****", "Token token=****", KEY[:8], TOKEN[-4:]):
        leakscan.scan(text, "clean")


def test_scanner_checks_files_with_a_narrow_allow_list():
    # Not in tmp_path: these files leak on purpose, and tmp_path is scanned.
    with tempfile.TemporaryDirectory(prefix="pdnotify-scan-") as folder:
        _check_files_in(Path(folder))


def _check_files_in(root: Path) -> None:
    (root / "log.txt").write_text("sent with key " + KEY)
    outbox = root / "outbox"
    for sub in ("sending", "rejected", "unreadable"):
        (outbox / sub).mkdir(parents=True, mode=0o700)
    outbox.chmod(0o700)
    private = outbox / "00000000000000000001-1-abcdef-0123456789ab.json"
    private.write_text(json.dumps({"event": {"routing_key": KEY}}))
    private.chmod(0o600)
    public = outbox / "rejected" / private.name
    public.write_text(private.read_text())
    public.chmod(0o644)
    (outbox / "sending" / "note.txt").write_text("no secret here")
    token = outbox / "sending" / private.name  # 0600, but not the key
    token.write_text(json.dumps({"headers": "Token token=" + TOKEN}))
    token.chmod(0o600)
    (root / "keys.json").write_text(json.dumps({"keys/a": TOKEN}))

    problems = leakscan.check_files(root, "test_other.py")
    assert len(problems) == 4, problems
    assert any(str(token) in p and "REST API token" in p for p in problems)
    assert any("log.txt" in p and "jobenv.KEY" in p for p in problems)
    assert any(str(public) in p and "mode 644" in p for p in problems)
    assert any("keys.json" in p for p in problems)  # not test_loader's
    assert all(KEY not in p and TOKEN not in p for p in problems)
    # keys.json is allowed only where test_loader.py writes it.
    problems = leakscan.check_files(root, "test_loader.py")
    assert not any("keys.json" in p for p in problems)
    # A folder others may write to fails the entries in it.
    (outbox / "rejected").chmod(0o757)
    problems = leakscan.check_files(root, "test_loader.py")
    assert any("folder with mode 757" in p for p in problems)


def test_scanner_registry_and_subprocess_helper():
    leakscan.drain()
    result = leakscan.run_captured(
        "echo", [sys.executable, "-c", "print('hello'); import sys; "
                 "sys.stderr.write('fine')"], capture_output=True, text=True)
    assert result.stdout == "hello\n"
    with pytest.raises(subprocess.TimeoutExpired):
        leakscan.run_captured(
            "sleeper", [sys.executable, "-c", "print('partial', flush=True);"
                        "import time; time.sleep(30)"],
            capture_output=True, timeout=1)
    taken = leakscan.drain()
    wheres = [where for where, _ in taken]
    assert wheres[:2] == ["echo stdout", "echo stderr"]
    assert "sleeper (exception)" in wheres
    assert leakscan.scan_all(taken) == []
    leakscan.captured("x " + TOKEN, "a harness log")
    [problem] = leakscan.scan_all(leakscan.drain())
    assert "a harness log" in problem


LEAKY_TESTS = """
import sys

import leakscan

SECRET = leakscan.VALUES[sorted(leakscan.VALUES)[0]]


def test_prints_it():
    print("key:", SECRET)


def test_logs_it_and_reads_it_back(capfd):
    sys.stderr.write("key: %s\\n" % SECRET)
    assert SECRET in capfd.readouterr().err


def test_registers_it():
    leakscan.captured("harness log: " + SECRET, "a harness log")


def test_writes_it(tmp_path):
    (tmp_path / "out.log").write_text(SECRET)


def test_clean(tmp_path, capfd):
    print("nothing to hide")
    (tmp_path / "out.log").write_text("nothing")
"""


def test_scanner_fails_a_test_that_leaks(tmp_path):
    """The autouse fixture, end to end: a pytest run of five tests, four
    of which leak one way each, with this conftest.py as a plugin."""
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS)
    basetemp = tempfile.mkdtemp(prefix="pdnotify-leaky-")  # not tmp_path:
    try:  # its files leak on purpose, and tmp_path is scanned
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-p", "conftest", "--basetemp", basetemp, "-rA",
             str(tmp_path / "test_leaky.py")],
            cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).parent)))
    finally:
        import shutil
        shutil.rmtree(basetemp, ignore_errors=True)
    # Its output holds the secret (the leaks): kept out of our own output.
    report = result.stdout
    summary = report.strip().splitlines()[-1]
    # Each test passes its call, then the scan fails its teardown.
    assert "5 passed, 4 errors" in summary, summary[:300]
    for test in ("test_prints_it", "test_logs_it_and_reads_it_back",
                 "test_registers_it", "test_writes_it"):
        assert re.search(r"ERROR .*::%s - Failed: a secret leaked" % test,
                         report), test
    assert "::test_clean - " not in report
