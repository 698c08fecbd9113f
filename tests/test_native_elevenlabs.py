"""ElevenLabs voices through the generated native client: list, get, clone (multipart), delete,
and binary (audio) answers from an operation without a response model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit.generated.wire import elevenlabs as wire
from llmkit.testing._media_emu import parse_multipart


def _parts(req: Any) -> list[tuple[str, str | None, str, bytes]]:
    """Every multipart part in order: (name, filename, content type, bytes)."""
    import email.parser
    import email.policy

    head = f"Content-Type: {req.headers['content-type']}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    return [
        (
            str(p.get_param("name", header="content-disposition")),
            p.get_filename(),
            p.get_content_type(),
            bytes(p.get_payload(decode=True) or b""),
        )
        for p in msg.iter_parts()
    ]


def test_clone_a_voice_from_samples_then_use_and_delete_it(emu: Any, client: Any) -> None:
    el = client.native("elevenlabs")
    created = el.add_voice(
        name="Narrator",
        files=[("take1.mp3", b"ID3 sample one", "audio/mpeg"), ("take2.wav", b"RIFF sample two", "audio/wav")],
        description="calm, warm",
        labels={"accent": "American"},
        remove_background_noise=False,
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/elevenlabs/v1/voices/add")
    assert req.headers["xi-api-key"] == emu.api_key and "authorization" not in req.headers
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sorted(_parts(req)) == sorted(
        [
            ("name", None, "text/plain", b"Narrator"),
            ("description", None, "text/plain", b"calm, warm"),
            ("labels", None, "text/plain", b'{"accent":"American"}'),
            ("remove_background_noise", None, "text/plain", b"false"),
            ("files", "take1.mp3", "audio/mpeg", b"ID3 sample one"),
            ("files", "take2.wav", "audio/wav", b"RIFF sample two"),
        ]
    )
    assert parse_multipart(req.headers["content-type"], req.body).one("name") == "Narrator"
    assert isinstance(created, wire.AddVoiceResponse)
    assert created.requires_verification is False

    voice = el.get_voice(created.voice_id)
    assert emu.last_request.path == f"/elevenlabs/v1/voices/{created.voice_id}"
    assert isinstance(voice, wire.Voice)
    assert (voice.name, voice.category, voice.labels) == ("Narrator", "cloned", {"accent": "American"})
    listed = el.list_voices()
    assert created.voice_id in [v.voice_id for v in listed.voices]

    audio = el.text_to_speech(created.voice_id, {"text": "Hello", "model_id": "eleven_multilingual_v2"})
    assert isinstance(audio, bytes) and audio.startswith(b"EMU-AUDIO format=mp3_44100_128")

    gone = el.delete_voice(created.voice_id)
    assert (emu.last_request.method, emu.last_request.path) == ("DELETE", f"/elevenlabs/v1/voices/{created.voice_id}")
    assert emu.last_request.body == b""
    assert gone == wire.VoiceStatusResponse(status="ok")
    with pytest.raises(llmkit.NotFoundError, match="was not found"):
        el.get_voice(created.voice_id)


def test_bare_bytes_samples_get_a_filename_and_validation_errors_are_typed(emu: Any, client: Any) -> None:
    el = client.native("elevenlabs")
    el.add_voice(wire.AddVoiceRequest(name="Raw", files=[b"first", b"second"]))
    files = [p for p in _parts(emu.last_request) if p[0] == "files"]
    assert files == [
        ("files", "files-0", "application/octet-stream", b"first"),
        ("files", "files-1", "application/octet-stream", b"second"),
    ]
    with pytest.raises(llmkit.BadRequestError) as info:
        el.add_voice(name="", files=[b"x"])
    assert info.value.status == 422
    with pytest.raises(llmkit.BadRequestError, match="Premade voices cannot be deleted"):
        el.delete_voice("21m00Tcm4TlvDq8ikWAM")


def test_async_clone_and_delete(emu: Any) -> None:
    async def run() -> tuple[Any, Any]:
        async with emu.async_client() as aclient:
            el = aclient.native("elevenlabs")
            created = await el.add_voice(name="Async", files=[("a.mp3", b"ID3", "audio/mpeg")])
            return created, await el.delete_voice(created.voice_id)

    created, gone = asyncio.run(run())
    assert created.voice_id.startswith("emuVoice") and gone.status == "ok"
    assert [(r.method, r.path) for r in emu.requests[-2:]] == [
        ("POST", "/elevenlabs/v1/voices/add"),
        ("DELETE", f"/elevenlabs/v1/voices/{created.voice_id}"),
    ]
