"""Deepgram multichannel transcripts keep every channel, and the emulator answers the audio
intelligence options (summarize=v2, sentiment, topics, intents) itself, no queued fixture."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import llmkit
from llmkit.modalities.deepgram import Label, LabelledSegment, SentimentSegment, intelligence

STEREO = b"Hello from the left side.|I love the right side."


def _check_stereo(t: Any) -> None:
    assert t.text == "Hello from the left side.\nI love the right side."
    assert [(c.text, c.language, c.duration) for c in t.channels] == [
        ("Hello from the left side.", "en", 2.5),
        ("I love the right side.", "en", 2.5),
    ]
    assert [(w.text, w.channel) for w in t.channels[1].words] == [
        ("I", 1), ("love", 1), ("the", 1), ("right", 1), ("side.", 1),
    ]  # fmt: skip
    assert [w.channel for w in t.words] == [0] * 5 + [1] * 5
    assert [(s.text, s.channel, s.start, s.end) for s in t.segments] == [
        ("Hello from the left side.", 0, 0.0, 2.5),
        ("I love the right side.", 1, 0.0, 2.5),
    ]
    assert [[s.text for s in c.segments] for c in t.channels] == [
        ["Hello from the left side."],
        ["I love the right side."],
    ]
    assert t.raw["metadata"]["channels"] == 2


def test_multichannel_returns_every_channel(emu: Any, client: Any) -> None:
    t = client.transcribe(
        "deepgram/nova-3",
        STEREO,
        media_type="audio/wav",
        options={"multichannel": True, "utterances": True, "smart_format": True, "detect_language": True},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/listen")
    assert req.headers["authorization"] == "Token test-key" and req.headers["content-type"] == "audio/wav"
    assert req.query == {
        "model": "nova-3", "multichannel": "true", "utterances": "true", "smart_format": "true",
        "detect_language": "true",
    }  # fmt: skip
    assert req.body == STEREO
    _check_stereo(t)


def test_multichannel_async(emu: Any) -> None:
    async def run() -> Any:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as ac:
            return await ac.transcribe(
                "deepgram/nova-3",
                STEREO,
                media_type="audio/wav",
                options={"multichannel": True, "utterances": True, "smart_format": True, "detect_language": True},
            )

    _check_stereo(asyncio.run(run()))
    assert emu.last_request.query["multichannel"] == "true"


def test_one_channel_is_as_before(emu: Any, client: Any) -> None:
    t = client.transcribe("deepgram/nova-3", b"Just one voice.", options={"smart_format": True})
    assert t.text == "Just one voice." and t.channels == []
    assert [w.channel for w in t.words] == [None, None, None]


INTEL = {"summarize": "v2", "sentiment": True, "topics": True, "intents": True, "smart_format": True}
SPOKEN = b"I love this great phone. Cancel my broken order."


def _check_intel(intel: Any) -> None:
    assert intel.summary == "The speaker says: I love this great phone."
    assert intel.sentiments == [
        SentimentSegment(text="I love this great phone.", sentiment="positive", score=0.8, start_word=0, end_word=4),
        SentimentSegment(text="Cancel my broken order.", sentiment="negative", score=-0.5, start_word=5, end_word=8),
    ]
    assert (intel.sentiment, intel.sentiment_score) == ("neutral", 0.15)
    assert intel.topics == [
        LabelledSegment(text="I love this great phone.", labels=[Label(name="Great", confidence=0.8)], start_word=0, end_word=4),
        LabelledSegment(text="Cancel my broken order.", labels=[Label(name="Cancel", confidence=0.8)], start_word=5, end_word=8),
    ]  # fmt: skip
    assert intel.intents == [
        LabelledSegment(
            text="Cancel my broken order.",
            labels=[Label(name="Cancel order", confidence=0.9)],
            start_word=5,
            end_word=8,
        )
    ]


def test_the_emulator_answers_intelligence(emu: Any, client: Any) -> None:
    t = client.transcribe("deepgram/nova-3", SPOKEN, options=INTEL)
    assert emu.last_request.query == {
        "model": "nova-3", "summarize": "v2", "sentiment": "true", "topics": "true", "intents": "true",
        "smart_format": "true",
    }  # fmt: skip
    assert t.text == "I love this great phone. Cancel my broken order."
    _check_intel(intelligence(t))


def test_intelligence_async(emu: Any) -> None:
    async def run() -> Any:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as ac:
            return await ac.transcribe("deepgram/nova-3", SPOKEN, options=INTEL)

    _check_intel(intelligence(asyncio.run(run())))


def test_the_emulator_refuses_summarize_v1(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.BadRequestError, match="Invalid value for summarize: 'true'; use v2"):
        client.transcribe("deepgram/nova-3", SPOKEN, options={"summarize": True})
    r = httpx.post(
        emu.base_url("deepgram") + "/v1/listen?model=nova-3&summarize=v1",
        headers={"Authorization": "Token k", "Content-Type": "audio/wav"},
        content=b"x",
    )
    assert r.status_code == 400
    assert r.json() == {
        "err_code": "Bad Request",
        "err_msg": "Invalid value for summarize: 'v1'; use v2",
        "request_id": r.headers["dg-request-id"],
    }


def test_intelligence_refuses_other_transcriptions_typed() -> None:
    t = llmkit.Transcription(text="x", model="whisper-1", provider="openai", raw={"text": "x"})
    with pytest.raises(llmkit.UnsupportedFeatureError, match="reads Deepgram transcriptions, not 'openai' ones") as e:
        intelligence(t)
    assert e.value.provider == "openai"
