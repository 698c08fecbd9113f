"""A speech stream whose body breaks mid-read is a failed call, not a short success: the
reader gets a typed StreamError, the `on_error` hook fires (no `after_response`), and
`client.usage` books nothing. Sync and async, against a server that cuts the body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from tests._faulty import FaultyServer, body_then, openai_at

AUDIO = b"ID3" + b"\x00mp3-frame" * 400  # what the server promises (content-length) ...
CUT = 1000  # ... and how much of it arrives before the connection closes
WIRE = {"model": "tts-1", "input": "Say it", "voice": "alloy"}


def _events(c: Any, sync: bool) -> list[llmkit.HookEvent]:
    events: list[llmkit.HookEvent] = []

    def note(e: llmkit.HookEvent) -> None:
        events.append(e)

    async def anote(e: llmkit.HookEvent) -> None:
        events.append(e)

    for name in ("before_request", "after_response", "on_error"):
        c.on(name, note if sync else anote)
    return events


def _check(srv: FaultyServer, events: list[llmkit.HookEvent], err: Exception, c: Any) -> None:
    req = srv.requests[0]
    assert len(srv.requests) == 1  # a broken body is never retried: bytes already reached the reader
    assert (req.method, req.path) == ("POST", "/v1/audio/speech")
    assert req.headers["authorization"] == "Bearer sk-test-0123456789"
    assert req.json() == WIRE
    assert isinstance(err, llmkit.StreamError) and err.provider == "openai"
    assert "broke" in str(err)
    assert [(e.name, e.kind) for e in events] == [("before_request", "speak"), ("on_error", "speak")]
    assert events[-1].error is err and events[-1].stream is True
    assert c.usage.total.requests == 0 and "openai/tts-1" not in c.usage.by_model


def test_sync_speech_stream_cut_mid_body_is_booked_as_an_error() -> None:
    with (
        FaultyServer(body_then(200, AUDIO, CUT, end="close")) as srv,
        llmkit.Client(providers=openai_at(srv.url, max_retries=2)) as c,
    ):
        events = _events(c, True)
        got: list[bytes] = []
        with (
            pytest.raises(llmkit.StreamError) as info,
            c.speak_stream("openai/tts-1", "Say it", voice="alloy") as stream,
        ):
            got.extend(stream)
        assert 0 < len(b"".join(got)) <= CUT and AUDIO.startswith(b"".join(got))
        _check(srv, events, info.value, c)


def test_sync_speech_stream_read_cut_mid_body_fails() -> None:
    with FaultyServer(body_then(200, AUDIO, CUT, end="reset")) as srv, llmkit.Client(providers=openai_at(srv.url)) as c:
        events = _events(c, True)
        with pytest.raises(llmkit.StreamError) as info:
            c.speak_stream("openai/tts-1", "Say it", voice="alloy").read()
        _check(srv, events, info.value, c)


def test_async_speech_stream_cut_mid_body_is_booked_as_an_error() -> None:
    async def run(srv: FaultyServer) -> tuple[list[llmkit.HookEvent], Exception, Any, bytes]:
        async with llmkit.AsyncClient(providers=openai_at(srv.url, max_retries=2)) as c:
            events = _events(c, False)
            got: list[bytes] = []
            with pytest.raises(llmkit.StreamError) as info:
                stream = await c.speak_stream("openai/tts-1", "Say it", voice="alloy")
                async with stream:
                    async for chunk in stream:
                        got.append(chunk)
            return events, info.value, c, b"".join(got)

    with FaultyServer(body_then(200, AUDIO, CUT, end="close")) as srv:
        events, err, c, got = asyncio.run(run(srv))
        assert 0 < len(got) <= CUT and AUDIO.startswith(got)
        _check(srv, events, err, c)


def test_async_speech_stream_read_cut_mid_body_fails() -> None:
    async def run(srv: FaultyServer) -> tuple[list[llmkit.HookEvent], Exception, Any]:
        async with llmkit.AsyncClient(providers=openai_at(srv.url)) as c:
            events = _events(c, False)
            with pytest.raises(llmkit.StreamError) as info:
                await (await c.speak_stream("openai/tts-1", "Say it", voice="alloy")).read()
            return events, info.value, c

    with FaultyServer(body_then(200, AUDIO, CUT, end="reset")) as srv:
        _check(srv, *asyncio.run(run(srv)))
