"""Deepgram and ElevenLabs speech-to-text and text-to-speech on the wire, their error
shapes, and the non-chat dialects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit.testing._media_emu import audio_for, parse_multipart
from tests.test_modal_types import AMClient, MClient

VOICE = "21m00Tcm4TlvDq8ikWAM"


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    with MClient(providers=emu.providers_config()) as c:
        yield c


def test_deepgram_listen_sends_raw_audio_with_token_auth(emu: Any, mc: MClient) -> None:
    t = mc.transcribe(
        "deepgram/nova-3",
        b"Hello, world. Good day!",
        media_type="audio/wav",
        language="en",
        timestamps=True,
        options={"smart_format": True, "diarize": True, "keyterm": ["llmkit", "Deepgram"]},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/listen")
    assert req.headers["authorization"] == "Token test-key"
    assert req.headers["content-type"] == "audio/wav"
    assert req.body == b"Hello, world. Good day!"
    assert req.query == {
        "model": "nova-3",
        "language": "en",
        "utterances": "true",
        "smart_format": "true",
        "diarize": "true",
        "keyterm": "Deepgram",
    }
    # keyterm is repeatable: the emulator's dict keeps the last; the test below sees both.
    assert t.text == "Hello, world. Good day!" and t.duration == 2.0 and t.provider == "deepgram"
    assert [(w.text, w.start, w.end, w.speaker) for w in t.words] == [
        ("Hello,", 0.0, 0.5, "0"),
        ("world.", 0.5, 1.0, "0"),
        ("Good", 1.0, 1.5, "0"),
        ("day!", 1.5, 2.0, "0"),
    ]
    assert [(s.text, s.start, s.end, s.speaker) for s in t.segments] == [("Hello, world. Good day!", 0.0, 2.0, "0")]


def test_deepgram_repeated_query_values_all_go_on_the_wire(emu: Any, mc: MClient) -> None:
    mc.transcribe(
        "deepgram/nova-2", b"OggS", media_type="audio/ogg", options={"keyterm": ["a b", "c"], "punctuate": False}
    )
    req = emu.last_request
    assert req.raw_query == "model=nova-2&punctuate=false&keyterm=a+b&keyterm=c"
    assert req.headers["content-type"] == "audio/ogg" and req.body == b"OggS"


def test_deepgram_language_detection_and_errors(emu: Any, mc: MClient) -> None:
    t = mc.transcribe("deepgram/nova-3", b"bonjour", options={"detect_language": True})
    assert t.language == "en" and t.words[0].text == "bonjour" and t.segments == []
    with pytest.raises(llmkit.BadRequestError, match="Unknown query parameter: smartformat"):
        mc.transcribe("deepgram/nova-3", b"x", options={"smartformat": True})
    with pytest.raises(llmkit.UnsupportedFeatureError, match="keyterm"):
        mc.transcribe("deepgram/nova-3", b"x", prompt="names: llmkit")
    emu.queue_json(
        "deepgram", {"category": "INSUFFICIENT_PERMISSIONS", "message": "No access", "details": "key scope"}, 403
    )
    with pytest.raises(llmkit.AuthenticationError, match=r"No access \(key scope\)") as err:
        mc.transcribe("deepgram/nova-3", b"x")
    assert err.value.code == "INSUFFICIENT_PERMISSIONS"
    emu.queue_error("deepgram", 402, "Project does not have enough credits")
    with pytest.raises(llmkit.LLMKitError, match="enough credits") as err2:
        mc.transcribe("deepgram/nova-3", b"x")
    assert err2.value.status == 402 and err2.value.code == "ASR_PAYMENT_REQUIRED"


def test_deepgram_speak(emu: Any, mc: MClient) -> None:
    s = mc.speak("deepgram/aura-2-thalia-en", "Hi there", format="wav", speed=1.1)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/speak")
    assert req.query == {"model": "aura-2-thalia-en", "encoding": "linear16", "container": "wav", "speed": "1.1"}
    assert req.json() == {"text": "Hi there"}
    assert s.audio == audio_for("Hi there", "aura-2-thalia-en", "wav")[0] and s.content_type == "audio/wav"
    with mc.speak_stream("deepgram/aura-2-thalia-en", "Streamed", format="mp3") as stream:
        data = b"".join(stream)
    assert data == audio_for("Streamed", "aura-2-thalia-en", "mp3")[0] and stream.content_type == "audio/mpeg"
    with pytest.raises(llmkit.UnsupportedFeatureError, match="the Deepgram voice is the model id"):
        mc.speak("deepgram/aura-2-thalia-en", "x", voice="thalia")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="audio format 'ogg'"):
        mc.speak("deepgram/aura-2-thalia-en", "x", format="ogg")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support speech"):
        mc.speak("deepgram/nova-3", "x")


def test_elevenlabs_speak_puts_the_voice_in_the_path(emu: Any, mc: MClient) -> None:
    s = mc.speak("elevenlabs/eleven_multilingual_v2", "Hello", voice=VOICE, format="pcm", speed=0.9)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", f"/elevenlabs/v1/text-to-speech/{VOICE}")
    assert req.headers["xi-api-key"] == "test-key" and "authorization" not in req.headers
    assert req.query == {"output_format": "pcm_24000"}
    assert req.json() == {"text": "Hello", "model_id": "eleven_multilingual_v2", "voice_settings": {"speed": 0.9}}
    assert s.audio == audio_for("Hello", VOICE, "pcm_24000")[0] and s.content_type == "audio/pcm"
    assert s.request_id == "emu-el-tts"
    with mc.speak_stream("elevenlabs/eleven_flash_v2_5", "Chunks", voice=VOICE, format="mp3_44100_192") as st:
        chunks = list(st)
    assert emu.last_request.path == f"/elevenlabs/v1/text-to-speech/{VOICE}/stream"
    assert emu.last_request.query == {"output_format": "mp3_44100_192"}
    assert b"".join(chunks) == audio_for("Chunks", VOICE, "mp3_44100_192")[0] and len(chunks) > 1


def test_elevenlabs_errors(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.NotFoundError, match="voice_id nobody was not found") as err:
        mc.speak("elevenlabs/eleven_v3", "x", voice="nobody")
    assert err.value.code == "voice_not_found"
    with pytest.raises(llmkit.BadRequestError, match=r"query.output_format|output formats"):
        mc.speak("elevenlabs/eleven_v3", "x", voice=VOICE, format="mp3_1_1")
    emu.queue_error("elevenlabs", 401, "This request exceeds your quota.", "quota_exceeded")
    with pytest.raises(llmkit.AuthenticationError, match="exceeds your quota") as err2:
        mc.speak("elevenlabs/eleven_v3", "x", voice=VOICE)
    assert err2.value.code == "quota_exceeded"
    emu.queue_json("elevenlabs", {"detail": "plain message"}, 500)
    with pytest.raises(llmkit.ServerError, match="plain message"):
        mc.speak("elevenlabs/eleven_v3", "x", voice=VOICE)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="list_voices"):
        mc.speak("elevenlabs/eleven_v3", "x")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="audio format 'wav'"):
        mc.speak("elevenlabs/eleven_v3", "x", voice=VOICE, format="wav")


def test_elevenlabs_speech_to_text_is_multipart(emu: Any, mc: MClient) -> None:
    t = mc.transcribe(
        "elevenlabs/scribe_v1",
        b"one two",
        filename="clip.mp3",
        language="en",
        timestamps=True,
        options={"diarize": True},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/elevenlabs/v1/speech-to-text")
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {
        "model_id": ["scribe_v1"],
        "timestamps_granularity": ["word"],
        "language_code": ["en"],
        "diarize": ["true"],
    }
    assert form.files == {"file": ("clip.mp3", "audio/mpeg", b"one two")}
    assert t.text == "one two" and t.language == "en"
    assert [(w.text, w.start, w.end, w.speaker) for w in t.words] == [
        ("one", 0.0, 0.5, "speaker_0"),
        ("two", 0.5, 1.0, "speaker_0"),
    ]
    plain = mc.transcribe("elevenlabs/scribe_v1", b"no times")
    assert parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body).fields[
        "timestamps_granularity"
    ] == ["none"]
    assert plain.words == [] and plain.language == "eng"
    with pytest.raises(llmkit.BadRequestError, match="Extra inputs are not permitted: colour"):
        mc.transcribe("elevenlabs/scribe_v1", b"x", options={"colour": "red"})
    with pytest.raises(llmkit.UnsupportedFeatureError, match="a transcription prompt"):
        mc.transcribe("elevenlabs/scribe_v1", b"x", prompt="p")


def test_async_audio(emu: Any) -> None:
    async def run() -> tuple[Any, ...]:
        async with AMClient(providers=emu.providers_config()) as ac:
            t = await ac.transcribe("deepgram/nova-3", b"async audio", media_type="audio/mpeg")
            s = await ac.speak("elevenlabs/eleven_v3", "async", voice=VOICE)
            stream = await ac.speak_stream("deepgram/aura-asteria-en", "live")
            data = await stream.read()
            return t, s, data

    t, s, data = asyncio.run(run())
    assert t.text == "async audio" and t.words[1].text == "audio"
    assert s.audio == audio_for("async", VOICE, "mp3_44100_128")[0] and s.content_type == "audio/mpeg"
    assert data == audio_for("live", "aura-asteria-en", "mp3")[0]
