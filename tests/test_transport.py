"""The retry policy: which statuses retry, waits, and the time limit."""

from __future__ import annotations

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from pdnotify.errors import ConfigError, NotDeliveredError, RejectedError
from pdnotify.transport import Sender, backoff, retryable, wait_hint

URL = "https://events.test/v2/enqueue"


class FakeTime:
    """A clock that only moves when the code sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def sender(limit=60.0):
    fake = FakeTime()
    return Sender("send event", limit, fake.clock, fake.sleep), fake


@pytest.mark.parametrize("status,expected", [
    (400, False), (401, False), (403, False), (404, False), (413, False),
    (429, True), (500, True), (502, True), (503, True), (504, True),
])
def test_retryable_status_table(status, expected):
    assert retryable(status) is expected


@responses.activate(registry=OrderedRegistry)
def test_sender_429_then_202_delivers_after_the_servers_wait():
    responses.post(URL, status=429, headers={"Retry-After": "3"},
                   json={"status": "throttled"})
    responses.post(URL, status=202, json={"status": "success"})
    send, fake = sender()
    assert send.post(URL, {"a": 1}).status == 202
    assert 3.0 <= fake.sleeps[0] <= 3.3 and len(fake.sleeps) == 1


@responses.activate(registry=OrderedRegistry)
def test_sender_ratelimit_reset_header_is_a_wait_hint():
    responses.put(URL, status=429, headers={"ratelimit-reset": "2"},
                  json={"error": {"message": "Rate Limit Exceeded"}})
    responses.put(URL, status=200, json={})
    send, fake = sender()
    assert send.request("PUT", URL, {}).status == 200
    assert 2.0 <= fake.sleeps[0] <= 2.2 and len(fake.sleeps) == 1


@responses.activate(registry=OrderedRegistry)
def test_sender_5xx_then_network_error_then_202_backs_off():
    responses.post(URL, status=503, body="unavailable")
    responses.post(URL, body=requests.exceptions.ConnectionError("reset"))
    responses.post(URL, status=202, json={"status": "success"})
    send, fake = sender()
    assert send.post(URL, {}).status == 202
    assert len(fake.sleeps) == 2
    assert 0.5 <= fake.sleeps[0] <= 1.0
    assert 1.0 <= fake.sleeps[1] <= 2.0


@responses.activate
def test_sender_400_is_final_with_pagerduty_message():
    responses.post(URL, status=400, json={
        "status": "invalid event", "message": "Event object is invalid",
        "errors": ["Length of 'routing_key' is incorrect"]})
    send, fake = sender()
    with pytest.raises(RejectedError) as caught:
        send.post(URL, {})
    assert str(caught.value) == (
        "send event: PagerDuty rejected the request (status 400): "
        "Event object is invalid: Length of 'routing_key' is incorrect"
    )
    assert fake.sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_sender_rest_error_body_message_is_shown():
    responses.put(URL, status=404, json={"error": {
        "message": "Not Found", "code": 2100}})
    send, _ = sender()
    with pytest.raises(RejectedError, match=r"\(status 404\): Not Found"):
        send.request("PUT", URL, {})


@responses.activate
def test_sender_always_503_gives_up_inside_the_limit():
    responses.post(URL, status=503, json={"status": "unavailable"})
    send, fake = sender(limit=30.0)
    with pytest.raises(NotDeliveredError) as caught:
        send.post(URL, {})
    assert fake.now <= 30.0
    assert "not delivered within the 30 s time limit" in str(caught.value)
    assert "last: status 503: unavailable" in str(caught.value)
    assert len(responses.calls) == len(fake.sleeps) + 1 >= 4


@responses.activate
def test_sender_wait_hint_past_the_limit_gives_up_now():
    responses.post(URL, status=429, headers={"Retry-After": "120"},
                   json={"status": "throttled"})
    send, fake = sender(limit=60.0)
    with pytest.raises(NotDeliveredError, match="after 1 attempt;"):
        send.post(URL, {})
    assert fake.sleeps == []


@responses.activate
def test_sender_redirect_is_not_followed():
    responses.post(URL, status=301, headers={"Location": "http://evil.test/"})
    send, _ = sender()
    with pytest.raises(RejectedError, match=r"status 301"):
        send.post(URL, {})
    assert len(responses.calls) == 1


def test_backoff_grows_and_stays_capped():
    for attempt in range(1, 12):
        ceiling = min(16.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= backoff(attempt) <= ceiling


@pytest.mark.parametrize("headers,expected", [
    ({}, None), ({"Retry-After": "5"}, 5.0), ({"retry-after": "x"}, None),
    ({"ratelimit-reset": "7"}, 7.0), ({"Retry-After": "-1"}, None),
])
def test_wait_hint_reads_retry_after_and_ratelimit_reset(headers, expected):
    assert wait_hint(headers) == expected


@responses.activate(registry=OrderedRegistry)
def test_sender_retry_after_zero_still_backs_off():
    responses.post(URL, status=429, headers={"Retry-After": "0"},
                   json={"status": "throttled"})
    responses.post(URL, status=202, json={"status": "success"})
    send, fake = sender()
    assert send.post(URL, {}).status == 202
    assert 0.5 <= fake.sleeps[0] <= 1.0


@responses.activate
def test_sender_network_error_names_the_innermost_reason():
    responses.post(URL, body=requests.exceptions.ConnectionError(
        "HTTPConnectionPool(host='x', port=9): Max retries exceeded"))
    send, _ = sender(limit=1.0)
    with pytest.raises(NotDeliveredError, match="connection failed: "):
        send.post(URL, {})


@responses.activate
def test_sender_request_that_cannot_be_built_is_not_retried():
    responses.post(URL, body=requests.exceptions.InvalidJSONError("nan"))
    send, fake = sender()
    with pytest.raises(ConfigError, match="request cannot be sent"):
        send.post(URL, {})
    assert fake.sleeps == []
