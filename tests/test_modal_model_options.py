"""Per-model request options from the catalog (spec `options`): a model narrower than its
operation's schema is refused before any request, naming the model and the option, and the
emulator refuses the same combinations on the wire as OpenAI does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import llmkit
from llmkit import models
from llmkit._spec import ModelOptions
from llmkit.testing import frozen_date
from llmkit.testing._media_emu import image_bytes, parse_multipart
from tests.test_modal_types import AMClient, MClient, media_emu

# (call, model, args, kwargs, the refusal's text)
# gpt-image-1 shut down on 2026-10-23 (specs/providers/openai.yaml); its options are checked on
# a day it was still served, since a retired model fails its lifecycle check first.
GPT_IMAGE_1_SERVED = "2026-10-01"

REFUSED: list[tuple[str, str, tuple[Any, ...], dict[str, Any], str]] = [
    (
        "transcribe",
        "openai/gpt-4o-transcribe",
        (b"hi",),
        {"timestamps": True, "filename": "a.wav"},
        "openai/gpt-4o-transcribe does not support timestamps (response_format verbose_json); it takes json",
    ),
    (
        "transcribe",
        "openai/gpt-4o-mini-transcribe",
        (b"hi",),
        {"filename": "a.wav", "options": {"response_format": "verbose_json"}},
        "openai/gpt-4o-mini-transcribe does not support response_format 'verbose_json'; it takes json",
    ),
    (
        "speak",
        "openai/tts-1",
        ("hello",),
        {"voice": "alloy", "instructions": "calm"},
        "openai/tts-1 does not support instructions; voice instructions need gpt-4o-mini-tts",
    ),
    (
        "speak",
        "openai/tts-1-hd",
        ("hello",),
        {"voice": "alloy", "instructions": "calm"},
        "openai/tts-1-hd does not support instructions",
    ),
    (
        "generate_image",
        "openai/dall-e-3",
        ("a fox",),
        {"n": 2},
        "openai/dall-e-3 does not support n=2 images per request; it makes at most 1",
    ),
    (
        "generate_image",
        "openai/gpt-image-1",
        ("a fox",),
        {"response_format": "url"},
        "openai/gpt-image-1 does not support response_format 'url'; it always returns base64 images",
    ),
    (
        "embed",
        "openai/text-embedding-ada-002",
        (["a"],),
        {"dimensions": 256},
        "openai/text-embedding-ada-002 does not support dimensions",
    ),
]
REFUSED += [
    (
        "transcribe",
        "openai/gpt-4o-transcribe",
        (b"hi",),
        {"filename": "a.wav", "options": {"response_format": fmt}},
        f"openai/gpt-4o-transcribe does not support response_format '{fmt}'; it takes json",
    )
    for fmt in ("text", "srt", "vtt")
]


def _ids() -> list[str]:
    return [f"{c}-{m.split('/')[1]}-{sorted(k)[-1]}" for c, m, _a, k, _t in REFUSED]


@pytest.mark.parametrize(("call", "model", "args", "kwargs", "text"), REFUSED, ids=_ids())
def test_refused_before_any_request(emu: Any, call: str, model: str, args: Any, kwargs: Any, text: str) -> None:
    media_emu(emu)
    with (
        frozen_date(GPT_IMAGE_1_SERVED),
        MClient(providers=emu.providers_config()) as c,
        pytest.raises(llmkit.UnsupportedFeatureError) as info,
    ):
        getattr(c, call)(model, *args, **kwargs)
    assert text in str(info.value) and info.value.provider == "openai"
    assert emu.requests == []


@pytest.mark.parametrize(("call", "model", "args", "kwargs", "text"), REFUSED, ids=_ids())
def test_refused_before_any_request_async(emu: Any, call: str, model: str, args: Any, kwargs: Any, text: str) -> None:
    media_emu(emu)

    async def run() -> None:
        async with AMClient(providers=emu.providers_config()) as ac:
            await getattr(ac, call)(model, *args, **kwargs)

    with (
        frozen_date(GPT_IMAGE_1_SERVED),
        pytest.raises(llmkit.UnsupportedFeatureError, match="does not support") as info,
    ):
        asyncio.run(run())
    assert text in str(info.value)
    assert emu.requests == []


PLAIN = {
    "text": "one two three",
    "srt": "1\n00:00:00,000 --> 00:00:01,500\none two three\n\n",
    "vtt": "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\none two three\n\n",
}


@pytest.mark.parametrize("fmt", sorted(PLAIN))
def test_text_srt_and_vtt_transcripts_come_back_as_text(emu: Any, fmt: str) -> None:
    media_emu(emu)
    with MClient(providers=emu.providers_config()) as c:
        t = c.transcribe("openai/whisper-1", b"one two three", filename="a.mp3", options={"response_format": fmt})
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/audio/transcriptions")
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {"model": ["whisper-1"], "response_format": [fmt]}
    assert form.files == {"file": ("a.mp3", "audio/mpeg", b"one two three")}
    body = PLAIN[fmt] + ("\n" if fmt == "text" else "")
    assert (t.text, t.raw, t.provider, t.model) == (body.strip(), body, "openai", "whisper-1")
    assert t.words == [] and t.segments == []


def test_text_transcripts_async(emu: Any) -> None:
    media_emu(emu)

    async def run() -> Any:
        async with AMClient(providers=emu.providers_config()) as ac:
            return await ac.transcribe(
                "openai/whisper-1", b"one two three", filename="a.wav", options={"response_format": "srt"}
            )

    t = asyncio.run(run())
    assert t.text == PLAIN["srt"].strip() and t.raw == PLAIN["srt"]
    assert parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body).fields[
        "response_format"
    ] == ["srt"]


def test_the_catalog_carries_the_options() -> None:
    by_id = {m.id: m for m in models("openai")}
    assert by_id["gpt-4o-transcribe"].options == ModelOptions(response_formats=("json",))
    assert by_id["whisper-1"].options == ModelOptions(response_formats=("json", "text", "srt", "verbose_json", "vtt"))
    assert by_id["tts-1"].options == ModelOptions(instructions=False)
    assert by_id["gpt-4o-mini-tts"].options is None
    assert by_id["dall-e-3"].options == ModelOptions(max_n=1)
    assert by_id["gpt-image-1"].options == ModelOptions(response_formats=())
    assert by_id["text-embedding-ada-002"].options == ModelOptions(dimensions=False, max_request_tokens=300_000)
    assert by_id["text-embedding-3-small"].options == ModelOptions(max_request_tokens=300_000)


def test_what_the_models_do_take_goes_out_exactly(emu: Any) -> None:
    media_emu(emu)
    with MClient(providers=emu.providers_config()) as c:
        r = c.generate_image("openai/dall-e-3", "a fox", n=1, response_format="b64_json")
        assert emu.last_request.json() == {
            "model": "dall-e-3",
            "prompt": "a fox",
            "n": 1,
            "response_format": "b64_json",
        }
        assert r.images[0].data == image_bytes("a fox", 0)
        # gpt-image-1 answers base64 anyway: b64_json is honoured by leaving the field out.
        with frozen_date(GPT_IMAGE_1_SERVED):
            r = c.generate_image("openai/gpt-image-1", "a dog", response_format="b64_json", n=2)
        assert emu.last_request.json() == {"model": "gpt-image-1", "prompt": "a dog", "n": 2}
        assert [i.data for i in r.images] == [image_bytes("a dog", 0), image_bytes("a dog", 1)]
        t = c.transcribe("openai/whisper-1", b"one two", filename="a.wav", options={"response_format": "verbose_json"})
        form = parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body)
        assert form.fields == {"model": ["whisper-1"], "response_format": ["verbose_json"]}
        assert t.text == "one two" and t.duration == 1.0
        s = c.speak("openai/gpt-4o-mini-tts", "hi", voice="coral", instructions="calm")
        assert emu.last_request.json()["instructions"] == "calm" and s.audio.startswith(b"EMU-AUDIO")
    assert len(emu.requests) == 4


def _raw(emu: Any, path: str, **kw: Any) -> httpx.Response:
    return httpx.post(emu.base_url("openai") + path, headers={"Authorization": "Bearer test-key"}, **kw)


def _form(model: str, fmt: str) -> dict[str, Any]:
    return {"data": {"model": model, "response_format": fmt}, "files": {"file": ("a.wav", b"one two", "audio/wav")}}


@pytest.mark.parametrize(
    ("path", "kwargs", "message", "param"),
    [
        (
            "/audio/transcriptions",
            _form("gpt-4o-transcribe", "verbose_json"),
            "response_format 'verbose_json' is not compatible with model 'gpt-4o-transcribe'. Use 'json' instead.",
            "response_format",
        ),
        (
            "/audio/transcriptions",
            _form("gpt-4o-mini-transcribe", "srt"),
            "response_format 'srt' is not compatible with model 'gpt-4o-mini-transcribe'. Use 'json' instead.",
            "response_format",
        ),
        (
            "/audio/speech",
            {"json": {"model": "tts-1-hd", "input": "x", "voice": "alloy", "instructions": "calm"}},
            "instructions are not supported for tts-1 and tts-1-hd.",
            "instructions",
        ),
        (
            "/images/generations",
            {"json": {"model": "dall-e-3", "prompt": "x", "n": 2}},
            "You must provide n=1 for this model.",
            "n",
        ),
        (
            "/images/generations",
            {"json": {"model": "gpt-image-1", "prompt": "x", "response_format": "url"}},
            "Unknown parameter: 'response_format'.",
            "response_format",
        ),
        (
            "/embeddings",
            {"json": {"model": "text-embedding-ada-002", "input": ["a"], "dimensions": 8}},
            "This model does not support specifying dimensions.",
            "dimensions",
        ),
    ],
    ids=["4o-verbose", "4o-mini-srt", "tts-instructions", "dalle3-n", "gpt-image-url", "ada-dimensions"],
)
def test_the_emulator_refuses_as_openai_does(
    emu: Any, path: str, kwargs: dict[str, Any], message: str, param: str
) -> None:
    media_emu(emu)
    r = _raw(emu, path, **kwargs)
    assert r.status_code == 400
    assert r.json() == {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def test_the_emulator_answers_text_srt_and_vtt_as_plain_text(emu: Any) -> None:
    media_emu(emu)
    plain = {fmt: _raw(emu, "/audio/transcriptions", **_form("whisper-1", fmt)) for fmt in ("text", "srt", "vtt")}
    assert {k: (v.status_code, v.headers["content-type"]) for k, v in plain.items()} == {
        k: (200, "text/plain") for k in plain
    }
    assert plain["text"].text == "one two\n"
    assert plain["srt"].text == "1\n00:00:00,000 --> 00:00:01,000\none two\n\n"
    assert plain["vtt"].text == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\none two\n\n"
    bad = _raw(emu, "/audio/transcriptions", **_form("whisper-1", "xml"))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "response_format"
