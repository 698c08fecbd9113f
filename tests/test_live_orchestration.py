"""`aclient.transcribe_stream` is one call of the client's orchestration, like every other call:
the budget refuses it before connecting, the handshake waits for the rate limiter, hooks see
kind "transcribe_stream" and operation "listen", an OpenTelemetry span covers it, and it is
booked once (an unpriced request) when the stream ends, or as a failure when it breaks.
Against the real local WebSocket emulator; waits come from an injected clock, never slept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import llmkit
from llmkit.testing._deepgram_live_emu import DeepgramLiveEmulator
from tests.test_orchestration_limits import _frozen

pytest.importorskip("websockets")

MODEL = "deepgram/nova-3"


def _client(live: DeepgramLiveEmulator, **options: Any) -> llmkit.AsyncClient:
    config = {"deepgram": {"api_key": "emu-key", "base_url": live.base_url, "max_retries": 0}}
    return llmkit.AsyncClient(providers=config, **options)


def _hooked(c: llmkit.AsyncClient) -> list[llmkit.HookEvent]:
    events: list[llmkit.HookEvent] = []

    async def note(e: llmkit.HookEvent) -> None:
        events.append(e)

    for name in ("before_request", "after_response", "on_retry", "on_error"):
        c.on(name, note)
    return events


def _live(body: Callable[[DeepgramLiveEmulator], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with DeepgramLiveEmulator() as live:
            return await body(live)

    return asyncio.run(run())


def test_a_live_stream_is_one_call_booked_once_when_it_ends() -> None:
    async def body(live: DeepgramLiveEmulator) -> tuple[Any, ...]:
        async with _client(live) as c:
            events = _hooked(c)
            stream = c.transcribe_stream(MODEL, [b"hello there", b"general kenobi"], interim_results=True)
            assert events == [] and live.handshakes == []  # nothing happens before iteration
            seen: list[tuple[str, int]] = []
            async for event in stream:
                seen.append((event.text, len(events)))
            return events, seen, stream, c.usage, live

    events, seen, stream, usage, live = _live(body)
    assert len(live.handshakes) == 1 and live.handshakes[0].headers["authorization"] == "Token emu-key"
    # before_request came before the first event; after_response only once the stream ended.
    assert seen[0] == ("hello there", 1) and seen[-1] == ("hello there general kenobi", 1)
    assert [(e.name, e.kind, e.operation, e.model, e.stream, e.attempt) for e in events] == [
        ("before_request", "transcribe_stream", "listen", MODEL, True, 0),
        ("after_response", "transcribe_stream", "listen", MODEL, True, 0),
    ]
    assert events[-1].result is stream.metadata and stream.metadata["duration"] == 2.0
    assert (usage.total.requests, usage.total.unpriced_requests, usage.total_cost_usd) == (1, 1, 0.0)
    assert usage.by_model[MODEL].requests == 1 and usage.by_model[MODEL].input_tokens == 0


def test_the_budget_refuses_a_live_stream_before_connecting() -> None:
    async def body(live: DeepgramLiveEmulator) -> tuple[Any, ...]:
        async with _client(live, budget_usd=0.01) as c:
            events = _hooked(c)
            assert c._orch.budget is not None
            await c._orch.budget.aadjust(0.01)  # earlier calls spent the whole budget
            stream = c.transcribe_stream(MODEL, [b"hello"])
            with pytest.raises(llmkit.BudgetExceededError, match="deepgram/nova-3") as info:
                await stream.__anext__()
            return info.value, events, c.usage, live

    err, events, usage, live = _live(body)
    assert err.provider == "deepgram" and "raise budget_usd" in str(err)
    assert live.handshakes == [] and live.frames == []  # no socket was opened
    assert events == [] and usage.total.requests == 0


def test_the_handshake_waits_for_the_rate_limiter() -> None:
    async def body(live: DeepgramLiveEmulator) -> tuple[Any, ...]:
        async with _client(live, rate_limits={"deepgram": {"rpm": 1}}) as c:
            _, waits = _frozen(c)
            first = [e.text async for e in c.transcribe_stream(MODEL, [b"one"])]
            second = [e.text async for e in c.transcribe_stream(MODEL, [b"two"])]
            return first, second, waits, c.usage, live

    first, second, waits, usage, live = _live(body)
    assert first == ["one"] and second == ["two"]
    assert waits == [60.0]  # the second handshake waited a full minute of the rpm bucket
    assert len(live.handshakes) == 2 and usage.by_model[MODEL].requests == 2


def test_a_broken_live_stream_fires_on_error_and_books_nothing() -> None:
    async def body(live: DeepgramLiveEmulator) -> tuple[Any, ...]:
        async with _client(live) as c:
            events = _hooked(c)
            with pytest.raises(llmkit.BadRequestError) as info:
                async for _ in c.transcribe_stream(MODEL, [b"fine words", b"CORRUPT \x00"], interim_results=True):
                    pass
            with pytest.raises(llmkit.AuthenticationError) as auth:
                async with llmkit.AsyncClient(
                    providers={"deepgram": {"api_key": "wrong", "base_url": live.base_url, "max_retries": 0}}
                ) as bad:
                    bad_events = _hooked(bad)
                    async for _ in bad.transcribe_stream(MODEL, [b"x"]):
                        pass
            return info.value, events, c.usage, auth.value, bad_events, bad.usage

    err, events, usage, auth, bad_events, bad_usage = _live(body)
    assert err.code == "DATA-0000"
    assert [(e.name, e.kind, e.operation) for e in events] == [
        ("before_request", "transcribe_stream", "listen"),
        ("on_error", "transcribe_stream", "listen"),
    ]
    assert events[-1].error is err and usage.total.requests == 0
    # A refused handshake is the call's failure too: before_request, then on_error, nothing booked.
    assert [e.name for e in bad_events] == ["before_request", "on_error"] and bad_events[-1].error is auth
    assert auth.status == 401 and bad_usage.total.requests == 0


def test_a_stream_stopped_early_is_still_booked_once() -> None:
    async def body(live: DeepgramLiveEmulator) -> tuple[Any, ...]:
        async with _client(live) as c:
            events = _hooked(c)
            stream = c.transcribe_stream(MODEL, [b"first words", b"more words"], interim_results=True)
            first = await stream.__anext__()
            await stream.aclose()
            await stream.aclose()  # a second close changes nothing
            return first, events, c.usage

    first, events, usage = _live(body)
    assert first.text == "first words"
    assert [e.name for e in events] == ["before_request", "after_response"]
    assert usage.by_model[MODEL].requests == 1


def test_a_live_stream_is_an_otel_span() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    async def body(live: DeepgramLiveEmulator) -> Any:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        async with _client(live) as c:
            c._orch.tracer = provider.get_tracer("test")
            [e async for e in c.transcribe_stream(MODEL, [b"hello"])]
            with pytest.raises(llmkit.BadRequestError):
                [e async for e in c.transcribe_stream(MODEL, [b"CORRUPT"])]
        return exporter.get_finished_spans()

    spans = _live(body)
    assert [s.name for s in spans] == ["transcribe_stream nova-3", "transcribe_stream nova-3"]
    ok = dict(spans[0].attributes)
    assert ok["gen_ai.operation.name"] == "transcribe_stream" and ok["gen_ai.provider.name"] == "deepgram"
    assert ok["gen_ai.request.model"] == "nova-3" and ok["llmkit.kind"] == "transcribe_stream"
    assert dict(spans[1].attributes)["error.type"] == "BadRequestError"
    assert spans[1].status.status_code.name == "ERROR"


def test_a_refused_connection_is_retried_like_any_request() -> None:
    from tests._faulty import closed_port

    async def run() -> tuple[Exception, list[llmkit.HookEvent], list[float]]:
        base_url = f"http://127.0.0.1:{closed_port()}"
        config = {"deepgram": {"api_key": "emu-key", "base_url": base_url, "max_retries": 2}}
        async with llmkit.AsyncClient(providers=config) as c:
            events = _hooked(c)
            waits: list[float] = []

            async def sleep(s: float) -> None:
                waits.append(s)

            c._sleep = sleep
            with pytest.raises(llmkit.ConnectionError) as info:
                [e async for e in c.transcribe_stream(MODEL, [b"hello"])]
            return info.value, events, waits

    err, events, waits = asyncio.run(run())
    assert "could not open the deepgram live socket" in str(err)
    assert [(e.name, e.attempt) for e in events] == [
        ("before_request", 0),
        ("on_retry", 0),
        ("before_request", 1),
        ("on_retry", 1),
        ("before_request", 2),
        ("on_error", 0),
    ]
    assert len(waits) == 2 and all(w >= 0 for w in waits)  # the transport's backoff, recorded not slept
    assert all(e.kind == "transcribe_stream" for e in events) and events[-1].error is err
