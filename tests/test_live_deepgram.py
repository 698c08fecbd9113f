"""Live transcription over Deepgram's WebSocket listen API, against a real local WebSocket server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import llmkit
from llmkit._live import LiveMixin, SpeechStartedEvent, TranscriptEvent, UtteranceEndEvent, parse_message
from llmkit.testing._deepgram_live_emu import DeepgramLiveEmulator

pytest.importorskip("websockets")


LiveClient = llmkit.AsyncClient
assert issubclass(LiveClient, LiveMixin)


def _client(live: DeepgramLiveEmulator, key: str = "emu-key") -> LiveClient:
    return LiveClient(providers={"deepgram": {"api_key": key, "base_url": live.base_url, "max_retries": 0}})


async def _collect(stream: Any) -> list[Any]:
    return [event async for event in stream]


def test_interim_and_final_events_keepalive_and_closestream() -> None:
    async def run() -> tuple[list[Any], DeepgramLiveEmulator, Any]:
        async with DeepgramLiveEmulator() as live:

            async def audio() -> AsyncIterator[bytes]:
                yield b"hello there"
                await live.keepalive_seen.wait()  # the source goes idle until a KeepAlive went out
                yield b"general kenobi"

            async with _client(live) as aclient:
                stream = aclient.transcribe_stream(
                    "deepgram/nova-3", audio(), keepalive_interval=0.01, interim_results=True, diarize=True,
                    utterance_end_ms=1000, encoding="linear16", sample_rate=16000,
                )  # fmt: skip
                events = await _collect(stream)
            return events, live, stream

    events, live, stream = asyncio.run(run())
    hs = live.handshakes[0]
    assert hs.path == "/v1/listen"
    assert hs.query == [
        ("model", "nova-3"), ("interim_results", "true"), ("diarize", "true"), ("utterance_end_ms", "1000"),
        ("encoding", "linear16"), ("sample_rate", "16000"),
    ]  # fmt: skip
    assert hs.headers["authorization"] == "Token emu-key"
    assert hs.headers["user-agent"].startswith("llmkit/")
    kinds = [f[0] for f in live.frames]
    assert live.frames[0] == ("binary", b"hello there")
    keepalive_at = live.frames.index(("text", {"type": "KeepAlive"}))
    assert keepalive_at > 0
    assert live.frames.index(("binary", b"general kenobi")) > keepalive_at
    assert live.frames[-1] == ("text", {"type": "CloseStream"})
    assert kinds.count("binary") == 2

    transcripts = [e for e in events if isinstance(e, TranscriptEvent)]
    assert [(e.text, e.is_final) for e in transcripts] == [
        ("hello there", False),
        ("hello there general kenobi", False),
        ("hello there general kenobi", True),
    ]
    final = transcripts[-1]
    assert final.speech_final is True
    assert [(w.text, w.start, w.end, w.speaker) for w in final.words][:2] == [
        ("hello", 0.0, 0.5, "0"),
        ("there", 0.5, 1.0, "0"),
    ]
    assert isinstance(events[-1], UtteranceEndEvent) and events[-1].text == "" and events[-1].is_final
    assert stream.metadata is not None and stream.metadata["duration"] == 2.0
    assert stream.request_id == "6b1d1f5e-0000-4000-8000-00000000e0a1"


def test_sync_iterable_and_bytes_sources() -> None:
    async def run() -> tuple[list[Any], list[Any], DeepgramLiveEmulator]:
        async with DeepgramLiveEmulator() as live:
            async with _client(live) as aclient:
                a = await _collect(aclient.transcribe_stream("deepgram/nova-3", [b"one", b"", b"two"]))
                b = await _collect(aclient.transcribe_stream("deepgram/nova-3", b"three"))
            return a, b, live

    a, b, live = asyncio.run(run())
    assert [(e.text, e.is_final) for e in a] == [("one two", True)]  # no interim_results asked: finals only
    assert [(e.text, e.is_final) for e in b] == [("three", True)]
    assert ("binary", b"") not in live.frames  # an empty frame would close the stream on old servers


def test_error_frame_raises_typed_error_and_stops() -> None:
    async def run() -> tuple[Exception, list[Any], DeepgramLiveEmulator]:
        async with DeepgramLiveEmulator() as live:
            seen: list[Any] = []
            async with _client(live) as aclient:
                with pytest.raises(llmkit.BadRequestError) as info:
                    async for event in aclient.transcribe_stream(
                        "deepgram/nova-3", [b"fine words", b"CORRUPT \x00\x01"], interim_results=True
                    ):
                        seen.append(event)
            return info.value, seen, live

    err, seen, _ = asyncio.run(run())
    assert [e.text for e in seen] == ["fine words"]
    assert err.provider == "deepgram" and err.code == "DATA-0000"
    assert err.message == "Failed to decode the audio: the payload is not valid audio."


def test_refused_handshake_is_a_typed_error_before_any_audio() -> None:
    async def run() -> tuple[Exception, Exception, DeepgramLiveEmulator]:
        async with DeepgramLiveEmulator() as live:
            async with _client(live, key="wrong") as aclient:
                with pytest.raises(llmkit.AuthenticationError) as auth:
                    await _collect(aclient.transcribe_stream("deepgram/nova-3", [b"x"]))
            async with _client(live) as aclient:
                with pytest.raises(llmkit.BadRequestError) as bad:
                    await _collect(aclient.transcribe_stream("deepgram/nova-3", [b"x"], no_such_option=True))
            return auth.value, bad.value, live

    auth, bad, live = asyncio.run(run())
    assert auth.status == 401 and auth.message == "Invalid credentials." and auth.code == "INVALID_AUTH"
    assert auth.request_id == "6b1d1f5e-0000-4000-8000-00000000e0a1"
    assert "wrong" not in str(auth) and "wrong" not in repr(auth)
    assert bad.status == 400 and bad.message == "Unknown query parameter: no_such_option"
    assert live.frames == []


def test_failing_audio_source_stops_the_stream_with_its_error() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"some words"
        raise OSError("microphone unplugged")

    async def run() -> None:
        async with DeepgramLiveEmulator() as live, _client(live) as aclient:
            with pytest.raises(OSError, match="microphone unplugged"):
                await _collect(aclient.transcribe_stream("deepgram/nova-3", broken()))

    asyncio.run(run())


def test_only_deepgram_and_transcription_models_are_accepted_before_any_io() -> None:
    async def run() -> None:
        async with LiveClient(providers={"openai": {"api_key": "k"}, "deepgram": {"api_key": "k"}}) as aclient:
            with pytest.raises(llmkit.UnsupportedFeatureError, match="no live transcription"):
                aclient.transcribe_stream("openai/whisper-1", [b"x"])
            with pytest.raises(llmkit.UnsupportedFeatureError):
                aclient.transcribe_stream("deepgram/aura-2-thalia-en", [b"x"])
            with pytest.raises(llmkit.ConfigError, match="keepalive_interval"):
                aclient.transcribe_stream("deepgram/nova-3", [b"x"], keepalive_interval=0)

    asyncio.run(run())


def test_parse_message_documented_shapes() -> None:
    speech = parse_message({"type": "SpeechStarted", "channel": [0, 1], "timestamp": 1.25})
    assert isinstance(speech, SpeechStartedEvent) and speech.timestamp == 1.25 and speech.is_final is False
    assert parse_message({"type": "Metadata", "request_id": "r"}) is None
    raw = json.loads(
        '{"type":"Results","channel_index":[1,2],"duration":1.0,"start":2.0,"is_final":true,"speech_final":false,'
        '"channel":{"alternatives":[{"transcript":"hi","confidence":0.9,"words":[{"word":"hi","start":2.0,'
        '"end":2.4,"confidence":0.9,"speaker":1}]}]}}'
    )
    event = parse_message(raw)
    assert isinstance(event, TranscriptEvent)
    assert (event.text, event.is_final, event.speech_final, event.channel, event.start) == ("hi", True, False, 1, 2.0)
    assert event.words[0].speaker == "1" and event.words[0].text == "hi"
