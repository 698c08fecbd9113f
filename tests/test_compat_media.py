"""Rerank, transcription and images of the OpenAI-compatible hosts, on the wire: Together's
/v1/rerank and /v1/images/generations, Groq's Whisper /openai/v1/audio/transcriptions."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

import llmkit
from llmkit.testing._media_emu import parse_multipart, relevance

DOCS = ["Llamas live in the Andes of Peru", "Pandas live in China", "Guanacos are found near Peru and Chile"]
QUERY = "What animals can I find near Peru?"


# -- Together rerank ---------------------------------------------------------------------------


def test_together_rerank_body_and_results(emu: Any, client: Any) -> None:
    resp = client.rerank("together/Salesforce/Llama-Rank-v1", QUERY, DOCS, top_n=2, return_documents=True)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/together/v1/rerank")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    assert req.json() == {"model": "Salesforce/Llama-Rank-v1", "query": QUERY, "documents": DOCS, "top_n": 2}
    scores = sorted(((relevance(QUERY, d), i) for i, d in enumerate(DOCS)), key=lambda s: -s[0])[:2]
    assert [(r.index, r.score) for r in resp.results] == [(i, s) for s, i in scores]
    assert [r.document for r in resp.results] == [DOCS[i] for _, i in scores]
    assert resp.input_tokens == resp.raw["usage"]["prompt_tokens"] > 0
    assert (resp.provider, resp.model) == ("together", "Salesforce/Llama-Rank-v1")


def test_together_rerank_is_strict_and_typed(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument: truncation"):
        client.rerank("together/Salesforce/Llama-Rank-v1", QUERY, DOCS, extra_body={"truncation": True})
    resp = client.rerank("together/Salesforce/Llama-Rank-v1", QUERY, DOCS, extra_body={"rank_fields": ["text"]})
    assert emu.last_request.json()["rank_fields"] == ["text"]
    assert len(resp.results) == 3 and all(r.document is None for r in resp.results)


def test_rerank_works_from_the_spec_operation_alone(emu: Any, client: Any) -> None:
    """vLLM's spec declares `rerank` (POST /rerank, RerankRequest): no adapter code names it."""
    resp = client.rerank("vllm/BAAI/bge-reranker-v2-m3", QUERY, DOCS, top_n=1)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/vllm/v1/rerank")
    assert req.json() == {"model": "BAAI/bge-reranker-v2-m3", "query": QUERY, "documents": DOCS, "top_n": 1}
    best = max(range(3), key=lambda i: relevance(QUERY, DOCS[i]))
    assert [(r.index, r.score) for r in resp.results] == [(best, relevance(QUERY, DOCS[best]))]


def test_rerank_fails_before_any_request_where_there_is_none(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support rerank"):
        client.rerank("together/BAAI/bge-large-en-v1.5", QUERY, DOCS)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support rerank"):
        client.rerank("fireworks/nomic-ai/nomic-embed-text-v1.5", QUERY, DOCS)
    with pytest.raises(llmkit.ConfigError, match="at least one document"):
        client.rerank("together/Salesforce/Llama-Rank-v1", QUERY, [])
    assert emu.requests == []


# -- Groq transcription ------------------------------------------------------------------------


def test_groq_transcription_multipart_form(emu: Any, client: Any) -> None:
    audio = b"the quick brown fox"
    tr = client.transcribe(
        "groq/whisper-large-v3-turbo", audio, filename="clip.m4a", media_type="audio/mp4", language="en", prompt="fox"
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/groq/openai/v1/audio/transcriptions")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {
        "model": ["whisper-large-v3-turbo"],
        "language": ["en"],
        "prompt": ["fox"],
        "response_format": ["json"],
    }
    assert form.files == {"file": ("clip.m4a", "audio/mp4", audio)}
    assert (tr.text, tr.provider, tr.model) == ("the quick brown fox", "groq", "whisper-large-v3-turbo")
    assert tr.raw["x_groq"] == {"id": "req_emu_transcribe"}


def test_groq_transcription_with_timestamps(emu: Any, client: Any) -> None:
    tr = client.transcribe("groq/whisper-large-v3", b"hello there world", filename="a.wav", timestamps=True)
    form = parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body)
    assert form.fields["response_format"] == ["verbose_json"]
    assert form.fields["timestamp_granularities[]"] == ["word", "segment"]
    assert [(w.text, w.start, w.end) for w in tr.words] == [
        ("hello", 0.0, 0.5),
        ("there", 0.5, 1.0),
        ("world", 1.0, 1.5),
    ]
    assert [(s.text, s.start, s.end) for s in tr.segments] == [("hello there world", 0.0, 1.5)]
    assert tr.duration == 1.5


def test_the_emulated_media_endpoints_check_credentials(emu: Any) -> None:
    for path in ("/groq/openai/v1/audio/transcriptions", "/together/v1/rerank", "/mistral/v1/embeddings"):
        resp = httpx.post(emu.url + path, json={})
        assert resp.status_code == 401, path
    assert httpx.post(emu.url + "/mistral/v1/embeddings", json={}).json() == {
        "message": "Unauthorized",
        "request_id": "emu",
    }
    assert emu.requests[-1].headers.get("authorization") is None


def test_groq_transcription_refusals(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="llama-4-scout-17b-16e-instruct is a chat model"):
        client.transcribe("groq/meta-llama/llama-4-scout-17b-16e-instruct", b"x", filename="a.wav")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support transcription"):
        client.transcribe("mistral/mistral-embed", b"x", filename="a.wav")
    assert emu.requests == []
    with pytest.raises(llmkit.BadRequestError, match="unknown parameter: diarize"):
        client.transcribe("groq/whisper-large-v3", b"x", filename="a.wav", options={"diarize": "true"})
    with pytest.raises(llmkit.BadRequestError, match="file must be one of"):
        client.transcribe("groq/whisper-large-v3", b"x", filename="notes.txt", media_type="text/plain")


def test_together_transcription_and_its_form(emu: Any, client: Any) -> None:
    tr = client.transcribe(
        "together/openai/whisper-large-v3", b"hola mundo", filename="a.wav", media_type="audio/wav", language="es",
        timestamps=True,
        options={"diarize": "true"},
    )  # fmt: skip
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/together/v1/audio/transcriptions")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {
        "model": ["openai/whisper-large-v3"],
        "language": ["es"],
        "response_format": ["verbose_json"],
        "timestamp_granularities[]": ["word", "segment"],
        "diarize": ["true"],
    }
    assert form.files == {"file": ("a.wav", "audio/wav", b"hola mundo")}
    assert tr.text == "hola mundo" and [w.text for w in tr.words] == ["hola", "mundo"]
    assert "x_groq" not in tr.raw  # Groq's extra is Groq's alone
    with pytest.raises(llmkit.BadRequestError, match="response_format must be one of json, verbose_json"):
        client.transcribe(
            "together/openai/whisper-large-v3", b"x", filename="a.wav", options={"response_format": "text"}
        )
    with pytest.raises(llmkit.BadRequestError, match="unknown parameter: url"):
        client.transcribe("together/openai/whisper-large-v3", b"x", filename="a.wav", options={"url": "https://x"})


def test_mistral_voxtral_form_has_no_response_format(emu: Any, client: Any) -> None:
    tr = client.transcribe(
        "mistral/voxtral-mini-latest", b"bonjour le monde", filename="a.mp3", media_type="audio/mpeg",
        language="fr", timestamps=True,
    )  # fmt: skip
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/mistral/v1/audio/transcriptions")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {
        "model": ["voxtral-mini-latest"],
        "language": ["fr"],
        "timestamp_granularities": ["segment"],
    }
    assert form.files == {"file": ("a.mp3", "audio/mpeg", b"bonjour le monde")}
    assert (tr.text, tr.language) == ("bonjour le monde", "fr")
    assert [(s.text, s.start, s.end) for s in tr.segments] == [("bonjour le monde", 0.0, 1.5)]
    assert tr.raw["usage"]["prompt_audio_seconds"] == 1
    plain = client.transcribe("mistral/voxtral-mini-2507", b"salut", filename="a.wav", media_type="audio/wav")
    assert parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body).fields == {
        "model": ["voxtral-mini-2507"]
    }
    assert plain.text == "salut" and plain.segments == []


def test_mistral_transcription_refusals(emu: Any, client: Any) -> None:
    n = len(emu.requests)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="transcription prompt"):
        client.transcribe("mistral/voxtral-mini-latest", b"x", filename="a.wav", prompt="names: Voxtral")
    assert len(emu.requests) == n
    with pytest.raises(llmkit.BadRequestError) as info:
        client.transcribe("mistral/voxtral-mini-latest", b"x", filename="a.wav", options={"response_format": "json"})
    assert info.value.status == 422
    assert info.value.body["message"]["detail"][0]["loc"] == ["body", "response_format"]
    with pytest.raises(llmkit.BadRequestError, match="should match pattern"):
        client.transcribe("mistral/voxtral-mini-latest", b"x", filename="a.wav", language="french")


# -- Together images ---------------------------------------------------------------------------


def test_together_images_size_becomes_width_and_height(emu: Any, client: Any) -> None:
    resp = client.generate_image(
        "together/black-forest-labs/FLUX.1-schnell", "a llama on the moon", size="512x768", n=2, extra_body={"steps": 4}
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/together/v1/images/generations")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    assert req.json() == {
        "model": "black-forest-labs/FLUX.1-schnell",
        "prompt": "a llama on the moon",
        "n": 2,
        "width": 512,
        "height": 768,
        "steps": 4,
    }
    assert [i.url for i in resp.images] == [
        "https://images.emulator.invalid/black-forest-labs/FLUX.1-schnell/0.jpg",
        "https://images.emulator.invalid/black-forest-labs/FLUX.1-schnell/1.jpg",
    ]
    assert all(i.data is None for i in resp.images)


def test_together_images_b64_json_is_asked_as_base64(emu: Any, client: Any) -> None:
    resp = client.generate_image(
        "together/black-forest-labs/FLUX.1.1-pro", "a red cube", response_format="b64_json",
        extra_body={"output_format": "png"},
    )  # fmt: skip
    assert emu.last_request.json() == {
        "model": "black-forest-labs/FLUX.1.1-pro",
        "prompt": "a red cube",
        "response_format": "base64",
        "output_format": "png",
    }
    (image,) = resp.images
    assert image.data == b"\x89PNG\r\n\x1a\n0:a red cube" and image.media_type == "image/png"
    assert base64.b64decode(resp.raw["data"][0]["b64_json"]) == image.data
    resp = client.generate_image("together/black-forest-labs/FLUX.1-schnell", "x", response_format="b64_json")
    assert resp.images[0].media_type == "image/jpeg"  # Together's default output is JPEG


def test_together_images_refusals(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="image quality"):
        client.generate_image("together/black-forest-labs/FLUX.1-schnell", "x", quality="hd")
    with pytest.raises(llmkit.ConfigError, match="WIDTHxHEIGHT"):
        client.generate_image("together/black-forest-labs/FLUX.1-schnell", "x", size="large")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support image generation"):
        client.generate_image("together/BAAI/bge-large-en-v1.5", "x")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support image generation"):
        client.generate_image("groq/whisper-large-v3", "x")
    assert emu.requests == []
    with pytest.raises(llmkit.BadRequestError, match="multiples of 8"):
        client.generate_image("together/black-forest-labs/FLUX.1-schnell", "x", size="1000x1001")
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument: style"):
        client.generate_image("together/black-forest-labs/FLUX.1-schnell", "x", extra_body={"style": "vivid"})


def test_media_async(emu: Any) -> None:
    async def run() -> tuple[Any, Any, Any]:
        async with emu.async_client() as ac:
            r = await ac.rerank("together/Salesforce/Llama-Rank-v1", QUERY, DOCS)
            t = await ac.transcribe("groq/whisper-large-v3", b"async audio", filename="a.mp3")
            i = await ac.generate_image("together/black-forest-labs/FLUX.1-schnell", "async", size="256x256")
            return r, t, i

    r, t, i = asyncio.run(run())
    assert [x.index for x in r.results] == sorted(range(3), key=lambda k: -relevance(QUERY, DOCS[k]))
    assert t.text == "async audio"
    assert emu.last_request.json()["width"] == 256 and i.images[0].url is not None
