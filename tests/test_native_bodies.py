"""Native methods send what their endpoint takes: raw audio (`body: raw`), a multipart form
(a request model holding a file), a free-form JSON body (`body: json`), or nothing (`body:
none`); and a spec cannot leave a POST's body unsaid."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import llmkit
from codegen.spec import SpecError, load_provider_specs, load_wire_schemas
from llmkit.testing._media_emu import parse_multipart
from tests.test_codegen import _edit_spec, repo  # noqa: F401  (the fixture)


def test_deepgram_listen_sends_the_raw_bytes_with_their_media_type(emu: Any, client: Any) -> None:
    out = client.native("deepgram").listen(
        b"Native raw audio.", content_type="audio/wav", extra_query={"model": "nova-3", "smart_format": "true"}
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/listen")
    assert req.query == {"model": "nova-3", "smart_format": "true"}
    assert req.headers["authorization"] == "Token test-key"
    assert req.headers["content-type"] == "audio/wav"
    assert req.body == b"Native raw audio."
    assert out.results.channels[0].alternatives[0].transcript == "Native raw audio."


def test_deepgram_listen_async(emu: Any) -> None:
    async def go() -> str:
        async with emu.async_client() as ac:
            out = await ac.native("deepgram").listen(
                b"Async raw audio.", content_type="audio/mpeg", extra_query={"model": "nova-3"}
            )
            return str(out.results.channels[0].alternatives[0].transcript)

    assert asyncio.run(go()) == "Async raw audio."
    assert emu.last_request.headers["content-type"] == "audio/mpeg"
    assert emu.last_request.body == b"Async raw audio."


@pytest.mark.parametrize(
    ("content", "content_type", "match"),
    [
        ("text, not bytes", "audio/wav", "content must be bytes"),
        (b"x", "wav", "content_type must be a media type"),
        (b"x", "audio/wav\r\nX-Evil: 1", "content_type must be a media type"),
    ],
)
def test_bad_raw_body_is_refused_before_any_request(emu: Any, client: Any, content: Any, content_type: str, match: str) -> None:
    with pytest.raises(llmkit.ConfigError, match=match):
        client.native("deepgram").listen(content, content_type=content_type)
    assert emu.requests == []


def test_openai_transcription_native_sends_the_multipart_form(emu: Any, client: Any) -> None:
    out = client.native("openai").create_transcription(
        {"file": ("clip.wav", b"Native form audio.", "audio/wav"), "model": "whisper-1", "response_format": "json"}
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/audio/transcriptions")
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {"model": ["whisper-1"], "response_format": ["json"]}
    assert form.files == {"file": ("clip.wav", "audio/wav", b"Native form audio.")}
    assert out.text == "Native form audio."


def test_vertex_raw_predict_native_sends_the_free_form_json_body(emu: Any) -> None:
    settings = {"base_url": emu.base_url("vertex"), "project": "proj-1", "location": "us-east5", "access_token": "tok"}
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
    with llmkit.Client(providers={"vertex": settings}) as c:
        out = c.native("vertex").raw_predict("proj-1", "us-east5", "claude-sonnet-4-5@20250929", body)
    req = emu.last_request
    # A path parameter is percent-encoded whole (`@` as %40, which Vertex decodes like `@`).
    assert req.path == (
        "/vertex/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict"
    )
    assert req.headers["authorization"] == "Bearer tok"
    assert req.json() == body
    assert out.type == "message" and out.content[0].text == "You said: Hi"  # typed: an Anthropic Message


def test_a_body_none_operation_sends_no_body(emu: Any, client: Any) -> None:
    native = client.native("openai")
    assert "body" not in native.cancel_batch.__code__.co_varnames
    with pytest.raises(llmkit.NotFoundError):
        native.cancel_batch("batch_missing")
    req = emu.last_request
    assert (req.method, req.path, req.body) == ("POST", "/openai/v1/batches/batch_missing/cancel", b"")


def test_a_post_must_say_what_body_it_takes(repo: Path) -> None:  # noqa: F811
    _edit_spec(repo, "deepgram", lambda d: d["operations"]["listen"].pop("body"))
    with pytest.raises(SpecError) as info:
        load_provider_specs(repo, load_wire_schemas(repo))
    assert info.value.path == "operations.listen"
    assert "a POST operation needs `request` (a wire model) or `body` (json, raw or none)" in info.value.reason


def test_request_and_body_together_are_refused(repo: Path) -> None:  # noqa: F811
    _edit_spec(repo, "openai", lambda d: d["operations"]["create_transcription"].update(body="raw"))
    with pytest.raises(SpecError) as info:
        load_provider_specs(repo, load_wire_schemas(repo))
    assert info.value.path == "operations.create_transcription.body"
    assert "not both" in info.value.reason


def test_body_kind_is_validated_by_the_schema(repo: Path) -> None:  # noqa: F811
    _edit_spec(repo, "deepgram", lambda d: d["operations"]["listen"].update(body="xml"))
    with pytest.raises(SpecError) as info:
        load_provider_specs(repo, load_wire_schemas(repo))
    assert "'xml' is not one of ['json', 'raw', 'none']" in info.value.reason
