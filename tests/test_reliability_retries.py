"""Retries, for sync and async, plain and streamed calls: wait hints honoured exactly and
capped, backoff with jitter, max_retries respected to the request, client errors never
retried. Waits are recorded (the transport's sleep is replaced), never timed."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

import llmkit
from llmkit import _retry, _transport
from llmkit._transport import AsyncProviderTransport, ProviderTransport
from llmkit.dialects._base import WireRequest
from tests._faulty import MODES, FaultyServer, by_stream, call, openai_at, openai_body, openai_sse, respond, stream


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry policy's waits, as decided (whichever loop asks); nothing really sleeps."""
    recorded: list[float] = []
    policy = _transport._Base.should_retry

    def spy(self: _transport._Base, *args: object) -> float | None:
        wait = policy(self, *args)  # type: ignore[arg-type]
        if wait is not None:
            recorded.append(wait)
        return wait

    async def asleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(_transport._Base, "should_retry", spy)
    monkeypatch.setattr(_retry, "_sleep", lambda seconds: None)
    monkeypatch.setattr(_retry, "_asleep", asleep)
    return recorded


def ok() -> object:
    return by_stream(respond(200, openai_body("fine")), stream(openai_sse(["fi", "ne"])))


def error(status: int, headers: dict[str, str] | None = None, message: str = "busy") -> object:
    return respond(status, {"error": {"message": message, "type": "server_error", "code": None}}, headers)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ],
)
def test_429_waits_as_told_then_rate_limit_error(
    mode: str, headers: dict[str, str], expected: float, waits: list[float]
) -> None:
    with FaultyServer(lambda req: error(429, headers, "slow down")) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(llmkit.RateLimitError, match="slow down") as info:
            call(mode, openai_at(srv.url, max_retries=2), sleeps=[])
        assert srv.count() == 3
    assert waits == [expected, expected]
    assert info.value.retry_after == expected and info.value.status == 429


@pytest.mark.parametrize("mode", MODES)
def test_429_with_an_http_date(mode: str, waits: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    with FaultyServer(lambda req: error(429, {"retry-after": when})) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(llmkit.RateLimitError) as info:
            call(mode, openai_at(srv.url, max_retries=1), sleeps=[])
        assert srv.count() == 2
    assert len(waits) == 1 and 25 < waits[0] <= 30
    assert info.value.retry_after is not None and 25 < info.value.retry_after <= 30


@pytest.mark.parametrize("mode", MODES)
def test_gemini_retry_info_in_the_body(mode: str, waits: list[float]) -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}],
        }
    }
    with FaultyServer(lambda req: respond(429, body)) as srv:
        providers = {"gemini": {"api_key": "g-key", "base_url": srv.url + "/v1beta", "max_retries": 2}}
        with pytest.raises(llmkit.RateLimitError, match="Resource has been exhausted") as info:
            call(mode, providers, model="gemini/gemini-2.5-flash", sleeps=[])
        assert srv.count() == 3
    assert waits == [7.0, 7.0] and info.value.retry_after == 7.0


@pytest.mark.parametrize("mode", MODES)
def test_a_hint_past_the_cap_is_not_waited_for(mode: str, waits: list[float]) -> None:
    with FaultyServer(lambda req: error(429, {"retry-after": "120"})) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(llmkit.RateLimitError) as info:
            call(mode, openai_at(srv.url, max_retries=3), sleeps=[])
        assert srv.count() == 1
    assert waits == [] and info.value.retry_after == 120.0


def _transport_for(url: str, **settings: object) -> tuple[ProviderTransport, AsyncProviderTransport]:
    from llmkit._registry import dialect, provider_spec
    from llmkit._settings import resolve_settings

    spec = provider_spec("openai")
    resolved = resolve_settings(spec, openai_at(url, **settings)["openai"])
    return ProviderTransport(resolved, dialect("openai_chat")), AsyncProviderTransport(resolved, dialect("openai_chat"))


CHAT = WireRequest(method="POST", path="/chat/completions", body={"model": "gpt-4o-mini", "messages": []})


def test_transport_does_not_wait_past_the_total_deadline(waits: list[float]) -> None:
    """The transport's own loop (used by native clients) checks each wait against the deadline."""
    with FaultyServer(lambda req: error(503, {"retry-after": "30"})) as srv:  # type: ignore[arg-type,return-value]
        sync, async_ = _transport_for(srv.url, max_retries=3, total_timeout=10)
        with pytest.raises(llmkit.ServerError):
            sync.send(CHAT)
        with pytest.raises(llmkit.ServerError), sync.stream(CHAT):
            pass
        with pytest.raises(llmkit.ServerError):
            asyncio.run(async_.send(CHAT))
        assert srv.count() == 3
        assert waits == []
        # Without a deadline the same hint is waited for, max_retries times.
        sync, _ = _transport_for(srv.url, max_retries=2)
        with pytest.raises(llmkit.ServerError):
            sync.send(CHAT)
        assert srv.count() == 6 and waits == [30.0, 30.0]
        # One deadline shared by a caller's own retry loop: should_retry refuses a wait past it.
        d = sync.deadline(5)
        err = llmkit.ServerError("busy", status=503)
        err.retry_after = 4.0
        assert sync.should_retry(err, 0, 3, d) == 4.0
        err.retry_after = 6.0
        assert sync.should_retry(err, 0, 3, d) is None
        sync.close()


@pytest.mark.parametrize("mode", MODES)
def test_recovers_after_a_429(mode: str, waits: list[float]) -> None:
    with FaultyServer(ok()) as srv:  # type: ignore[arg-type]
        srv.queue(error(429, {"retry-after-ms": "10"}))  # type: ignore[arg-type]
        assert call(mode, openai_at(srv.url), sleeps=[]) == "fine"
        assert srv.count() == 2
    assert waits == [0.01]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504, 529])
def test_retryable_statuses_back_off_with_jitter(mode: str, status: int, waits: list[float]) -> None:
    with FaultyServer(lambda req: error(status)) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(llmkit.APIError) as info:
            call(mode, openai_at(srv.url, max_retries=3), sleeps=[])
        assert srv.count() == 4
    assert info.value.status == status
    assert len(waits) == 3
    for attempt, w in enumerate(waits):
        full = 0.5 * 2**attempt
        assert 0.75 * full <= w <= full, (attempt, w)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("retries", [0, 1, 4])
def test_max_retries_is_exact(mode: str, retries: int, waits: list[float]) -> None:
    with FaultyServer(lambda req: error(500)) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(llmkit.ServerError):
            call(mode, openai_at(srv.url, max_retries=retries), sleeps=[])
        assert srv.count() == retries + 1
    assert len(waits) == retries


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, llmkit.BadRequestError),
        (401, llmkit.AuthenticationError),
        (403, llmkit.AuthenticationError),
        (404, llmkit.NotFoundError),
        (422, llmkit.BadRequestError),
    ],
)
def test_client_errors_are_never_retried(mode: str, status: int, kind: type[Exception], waits: list[float]) -> None:
    with FaultyServer(lambda req: error(status, {"retry-after": "0"}, "nope")) as srv:  # type: ignore[arg-type,return-value]
        with pytest.raises(kind, match="nope"):
            call(mode, openai_at(srv.url, max_retries=5), sleeps=[])
        assert srv.count() == 1
    assert waits == []
