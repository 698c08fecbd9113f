"""OpenAI embeddings, transcription, speech and images: exact requests on the wire, the
emulator's strictness, and the unified results."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit.testing import frozen_date
from llmkit.testing._media_emu import image_bytes, parse_multipart, vector
from tests.test_modal_types import AMClient, MClient, media_emu

EMB = "openai/text-embedding-3-small"


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    with MClient(providers=media_emu(emu).providers_config()) as c:
        yield c


def test_embed_asks_for_base64_and_decodes_it(emu: Any, mc: MClient) -> None:
    resp = mc.embed(EMB, ["hello world", "bye"], dimensions=4)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/embeddings")
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {
        "model": "text-embedding-3-small",
        "input": ["hello world", "bye"],
        "encoding_format": "base64",
        "dimensions": 4,
    }
    assert resp.vectors == [vector("hello world", 4), vector("bye", 4)]
    assert resp.usage.input_tokens == 3 and resp.model == "text-embedding-3-small" and resp.provider == "openai"
    assert resp.cost_usd == round(3 * 0.02 / 1_000_000, 10) and len(resp) == 2


def test_embed_reads_float_answers_and_sorts_by_index(emu: Any, mc: MClient) -> None:
    # An OpenAI-compatible server that ignores encoding_format answers with floats, maybe out of order.
    emu.queue_json(
        "openai",
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.5, -0.25]},
                {"object": "embedding", "index": 0, "embedding": [1, 0]},
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        },
    )
    resp = mc.embed(EMB, ["a", "b"])
    assert resp.vectors == [[1.0, 0.0], [0.5, -0.25]]


def test_embed_decodes_a_fixture_byte_for_byte(emu: Any, mc: MClient) -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.0023064255, -0.009327292, 1.5)).decode()
    emu.queue_json(
        "openai",
        {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": packed}], "model": "m"},
    )
    resp = mc.embed(EMB, "one")
    assert resp.vectors == [list(struct.unpack("<3f", base64.b64decode(packed)))]
    assert resp.vectors[0][2] == 1.5 and resp.usage.input_tokens is None and resp.cost_usd is None
    emu.queue_json("openai", {"object": "list", "data": [{"index": 0, "embedding": "AAA"}], "model": "m"})
    with pytest.raises(llmkit.LLMKitError, match="not valid base64"):
        mc.embed(EMB, "one")
    emu.queue_json("openai", {"object": "list", "data": [{"index": 0, "embedding": "AAAA"}], "model": "m"})
    with pytest.raises(llmkit.LLMKitError, match="3 bytes, not whole float32s"):
        mc.embed(EMB, "one")
    emu.queue_json("openai", {"object": "list", "data": [], "model": "m"})
    with pytest.raises(llmkit.LLMKitError, match="returned 0 embeddings for 1 inputs"):
        mc.embed(EMB, "one")


def test_long_input_lists_go_in_batches_in_order(emu: Any, mc: MClient) -> None:
    texts = [f"text number {i}" for i in range(5)]
    resp = mc.embed(EMB, texts, dimensions=2, batch_size=2)
    bodies = [r.json()["input"] for r in emu.requests]
    assert bodies == [texts[0:2], texts[2:4], texts[4:5]]
    assert resp.vectors == [vector(t, 2) for t in texts]
    assert resp.usage.input_tokens == 15 and len(resp.raw) == 3


def test_batches_respect_the_provider_limit(emu: Any, mc: MClient) -> None:
    texts = [f"t{i}" for i in range(2049)]
    resp = mc.embed(EMB, texts, dimensions=1)
    assert [len(r.json()["input"]) for r in emu.requests] == [2048, 1]
    assert len(resp.vectors) == 2049 and resp.vectors[2048] == vector("t2048", 1)


def test_embedding_errors_are_typed(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="text-embedding-ada-002 does not support dimensions"):
        mc.embed("openai/text-embedding-ada-002", ["a"], dimensions=8)
    with pytest.raises(llmkit.NotFoundError, match="text-embedding-9"):
        mc.embed("openai/text-embedding-9", ["a"])
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument supplied: colour"):
        mc.embed(EMB, ["a"], extra_body={"colour": "red"})
    emu.queue_error("openai", 429, "Rate limit reached")
    with pytest.raises(llmkit.RateLimitError, match="Rate limit reached"):
        mc.embed(EMB, ["a"])


def test_transcribe_sends_multipart_and_reads_json(emu: Any, mc: MClient, tmp_path: Any) -> None:
    path = tmp_path / "hello.wav"
    path.write_bytes(b"hello from the emulator")
    t = mc.transcribe("openai/gpt-4o-transcribe", str(path), language="en", prompt="greetings")
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/audio/transcriptions")
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {
        "model": ["gpt-4o-transcribe"],
        "language": ["en"],
        "prompt": ["greetings"],
        "response_format": ["json"],
    }
    assert form.files == {"file": ("hello.wav", "audio/x-wav", b"hello from the emulator")}
    assert t.text == "hello from the emulator" and t.model == "gpt-4o-transcribe" and t.provider == "openai"
    assert t.words == [] and t.segments == [] and t.raw["usage"]["output_tokens"] == 4


def test_transcribe_with_timestamps_gets_words_and_segments(emu: Any, mc: MClient) -> None:
    t = mc.transcribe("openai/whisper-1", b"one two three", timestamps=True, media_type="audio/mpeg")
    form = parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body)
    assert form.fields["response_format"] == ["verbose_json"]
    assert form.fields["timestamp_granularities[]"] == ["word", "segment"]
    assert form.files["file"][0] == "audio.mp3"
    assert t.text == "one two three" and t.language == "english" and t.duration == 1.5
    assert [(w.text, w.start, w.end) for w in t.words] == [("one", 0.0, 0.5), ("two", 0.5, 1.0), ("three", 1.0, 1.5)]
    assert [(s.text, s.start, s.end) for s in t.segments] == [("one two three", 0.0, 1.5)]


def test_transcribe_refusals_are_the_servers(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="gpt-4o-mini-transcribe does not support timestamps"):
        mc.transcribe("openai/gpt-4o-mini-transcribe", b"hi", timestamps=True, filename="a.wav")
    with pytest.raises(llmkit.BadRequestError, match="Invalid file format"):
        mc.transcribe("openai/whisper-1", b"\x00\x01", filename="notes.txt")
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument supplied: colour"):
        mc.transcribe("openai/whisper-1", b"hi", filename="a.wav", options={"colour": "red"})


def test_transcribe_retries_a_multipart_upload(emu: Any) -> None:
    media_emu(emu)
    with MClient(providers=emu.providers_config(max_retries=1)) as c:
        emu.queue_error("openai", 503, "overloaded", headers={"retry-after": "0"})
        t = c.transcribe("openai/whisper-1", b"again", filename="a.ogg", options={"temperature": "0"})
    assert t.text == "again" and len(emu.requests) == 2
    first, second = (parse_multipart(r.headers["content-type"], r.body) for r in emu.requests)
    assert first == second and first.files["file"] == ("a.ogg", "audio/ogg", b"again")


def test_speak_returns_audio_bytes(emu: Any, mc: MClient) -> None:
    s = mc.speak("openai/gpt-4o-mini-tts", "Hello there", voice="coral", format="wav", speed=1.25, instructions="calm")
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/audio/speech")
    assert req.headers["accept"] == "*/*"
    assert req.json() == {
        "model": "gpt-4o-mini-tts",
        "input": "Hello there",
        "voice": "coral",
        "response_format": "wav",
        "speed": 1.25,
        "instructions": "calm",
    }
    assert s.audio == b"EMU-AUDIO format=wav voice=coral\nHello there\n" * 4
    assert s.content_type == "audio/wav" and s.request_id == "req_emu_speech" and s.model == "gpt-4o-mini-tts"


def test_speak_stream_yields_chunks(emu: Any, mc: MClient) -> None:
    with mc.speak_stream("openai/tts-1", "Stream me", voice="alloy") as stream:
        assert stream.content_type == "audio/mpeg"
        chunks = list(stream)
    assert b"".join(chunks) == b"EMU-AUDIO format=mp3 voice=alloy\nStream me\n" * 4
    assert len(chunks) >= 2
    assert mc.speak_stream("openai/tts-1", "x", voice="alloy").read().startswith(b"EMU-AUDIO")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="openai/tts-1 does not support instructions"):
        mc.speak_stream("openai/tts-1", "x", voice="alloy", instructions="calm")
    with pytest.raises(llmkit.BadRequestError, match="Invalid value for 'voice'"):
        mc.speak("openai/tts-1", "x", voice="bob")


def test_generate_image_urls_and_bytes(emu: Any, mc: MClient) -> None:
    r = mc.generate_image("openai/dall-e-3", "a red fox", size="1024x1024", quality="hd")
    assert emu.last_request.json() == {"model": "dall-e-3", "prompt": "a red fox", "size": "1024x1024", "quality": "hd"}
    assert [(i.url, i.data, i.revised_prompt) for i in r.images] == [
        ("https://images.emulator.invalid/dall-e-3/0.png", None, "A detailed rendering of: a red fox")
    ]
    r = mc.generate_image("openai/dall-e-2", "a cat", n=2, response_format="b64_json")
    assert emu.last_request.json() == {"model": "dall-e-2", "prompt": "a cat", "n": 2, "response_format": "b64_json"}
    assert [(i.data, i.media_type, i.url) for i in r.images] == [
        (image_bytes("a cat", 0), "image/png", None),
        (image_bytes("a cat", 1), "image/png", None),
    ]
    with frozen_date("2026-10-01"):  # gpt-image-1 shut down on 2026-10-23
        r = mc.generate_image("openai/gpt-image-1", "a dog")
        assert r.images[0].data == image_bytes("a dog", 0) and r.raw["usage"]["output_tokens"] == 272
        with pytest.raises(llmkit.UnsupportedFeatureError, match="gpt-image-1 does not support response_format 'url'"):
            mc.generate_image("openai/gpt-image-1", "a dog", response_format="url")
    with pytest.raises(llmkit.ConfigError, match="openai/gpt-image-1 was retired on 2026-10-23"):
        mc.generate_image("openai/gpt-image-1", "a dog")


def test_async_twins(emu: Any) -> None:
    media_emu(emu)

    async def run() -> tuple[Any, ...]:
        async with AMClient(providers=emu.providers_config()) as ac:
            e = await ac.embed(EMB, [f"t{i}" for i in range(5)], dimensions=2, batch_size=2)
            t = await ac.transcribe("openai/whisper-1", b"async words", filename="a.mp3")
            s = await ac.speak("openai/tts-1", "hi", voice="nova", format="opus")
            stream = await ac.speak_stream("openai/tts-1", "hi", voice="nova")
            async with stream:
                chunks = [c async for c in stream]
            again = await (await ac.speak_stream("openai/tts-1", "yo", voice="nova")).read()
            i = await ac.generate_image("openai/dall-e-2", "a cow")
            return e, t, s, stream.content_type, b"".join(chunks), again, i

    e, t, s, ctype, streamed, again, i = asyncio.run(run())
    assert e.vectors == [vector(f"t{i}", 2) for i in range(5)]
    assert sorted(len(r.json()["input"]) for r in emu.requests if r.path.endswith("/embeddings")) == [1, 2, 2]
    assert t.text == "async words"
    assert (s.content_type, s.audio[:30]) == ("audio/ogg", b"EMU-AUDIO format=opus voice=no")
    assert ctype == "audio/mpeg" and streamed == b"EMU-AUDIO format=mp3 voice=nova\nhi\n" * 4
    assert again.startswith(b"EMU-AUDIO format=mp3 voice=nova\nyo")
    assert i.images[0].url == "https://images.emulator.invalid/dall-e-2/0.png"


def test_speech_errors_surface_before_streaming(emu: Any, mc: MClient) -> None:
    emu.queue_error("openai", 401, "Incorrect API key provided.")
    with pytest.raises(llmkit.AuthenticationError, match="Incorrect API key"):
        mc.speak_stream("openai/tts-1", "x", voice="alloy")
    emu.queue("openai", llmkit.testing.EmuResponse(status=200, headers={"content-type": "text/html"}, body=b"<html>"))
    with pytest.raises(llmkit.LLMKitError, match="not JSON"):
        mc.generate_image("openai/dall-e-2", "x")
    assert json.loads(emu.requests[-1].body)["prompt"] == "x"
