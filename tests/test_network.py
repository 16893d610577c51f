"""Network settings: TLS always verified, a CA bundle, a proxy property,
HTTP(S)_PROXY from the environment, and TLS failures within the limit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobenv import KEY, job_env
from standin.server import StandIn

# An address on loopback where nothing listens: reached only through a
# proxy, so a request that arrives proves the proxy was used.
UNREACHABLE = "http://127.0.0.2:9"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return str(cert), str(key)


@pytest.fixture(scope="module")
def tls_pd(certificate):
    with StandIn(tls=certificate) as server:
        yield server


@pytest.fixture
def pd():
    with StandIn() as server:
        yield server


def run(tree, provider, env, extra_env=None):
    full = dict(env, PATH=os.environ["PATH"], LANG="C.UTF-8")
    full.update(extra_env or {})
    result = subprocess.run(
        [sys.executable, "-S", str(tree / "pagerduty_notify.py"), provider],
        env=full, capture_output=True, timeout=120,
    )
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert KEY not in output
    return result.returncode, output


def test_tls_unknown_certificate_is_refused(plugin_tree, tls_pd):
    tls_pd.reset()
    env = job_env(events_url=tls_pd.url, timeout="2")
    code, output = run(plugin_tree, "send-event", env)
    assert code in (4, 5)
    assert "TLS error" in output and "CERTIFICATE_VERIFY_FAILED" in output
    assert tls_pd.requests() == []


def test_tls_ca_bundle_adds_trust(plugin_tree, tls_pd, certificate):
    tls_pd.reset()
    env = job_env(events_url=tls_pd.url, ca_bundle=certificate[0])
    code, output = run(plugin_tree, "send-event", env)
    assert code == 0, output
    assert len(tls_pd.requests()) == 1


def test_tls_ca_bundle_serves_rest_calls_too(plugin_tree, tls_pd, certificate):
    tls_pd.reset()
    tls_pd.add_api_key("y_NbAkKc66ryYTWUXYEu")
    incident = tls_pd.add_incident()
    env = job_env()
    del env["RD_CONFIG_INTEGRATION_KEY"]
    env.update({
        "RD_CONFIG_API_KEY": "y_NbAkKc66ryYTWUXYEu",
        "RD_CONFIG_API_URL": tls_pd.url,
        "RD_CONFIG_CA_BUNDLE": certificate[0],
        "RD_CONFIG_EMAIL": "oncall@example.test",
        "RD_CONFIG_INCIDENT_ID": incident,
        "RD_CONFIG_ESCALATION_LEVEL": "2",
    })
    code, output = run(plugin_tree, "escalate-incident", env)
    assert code == 0, output


def test_tls_against_a_plain_http_server_fails_inside_the_limit(
    plugin_tree, pd
):
    env = job_env(events_url=pd.url.replace("http:", "https:"), timeout="2")
    code, output = run(plugin_tree, "send-event", env)
    assert code in (4, 5)
    assert "TLS error" in output


def test_missing_ca_bundle_file_is_a_config_error(plugin_tree, pd):
    env = job_env(events_url=pd.url, ca_bundle="/nonexistent/ca.pem")
    code, output = run(plugin_tree, "send-event", env)
    assert code == 2
    assert "ca_bundle: '/nonexistent/ca.pem' is not a readable file" in output


def test_proxy_property_routes_the_request(plugin_tree, pd):
    env = job_env(events_url=UNREACHABLE, proxy=pd.url)
    code, output = run(plugin_tree, "send-event", env)
    assert code == 0, output
    [seen] = pd.requests()
    assert seen["headers"]["Host"] == "127.0.0.2:9"


def test_proxy_from_the_environment_is_honoured(plugin_tree, pd):
    env = job_env(events_url=UNREACHABLE)
    code, output = run(plugin_tree, "send-event", env,
                       {"HTTP_PROXY": pd.url, "NO_PROXY": ""})
    assert code == 0, output
    assert len(pd.requests()) == 1


def test_no_proxy_from_the_environment_is_honoured(plugin_tree, pd):
    env = job_env(events_url=pd.url)
    code, output = run(plugin_tree, "send-event", env,
                       {"HTTP_PROXY": UNREACHABLE, "NO_PROXY": "127.0.0.1"})
    assert code == 0, output
    assert len(pd.requests()) == 1


def test_bad_proxy_value_is_not_echoed(plugin_tree, pd):
    env = job_env(events_url=pd.url, proxy="user:Pr0xyPa55@proxy")
    code, output = run(plugin_tree, "send-event", env)
    assert code == 2
    assert "proxy: must look like http://host:port" in output
    assert "Pr0xyPa55" not in output
