"""The unified surface beyond chat: client classes with the modality mixins, capability
checks before any request, embedding batches, and the result types."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit._async_modalities import AsyncModalitiesMixin
from llmkit._modal_types import (
    EmbeddingUsage,
    GeneratedImage,
    RerankResponse,
    RerankResult,
    SpeechResponse,
    TokenCount,
)
from llmkit._modalities import ModalitiesMixin
from llmkit._spec import AuthSpec, Capabilities, ProviderSpec
from llmkit._types import ChatRequest, Message
from llmkit.dialects._base import CallContext
from llmkit.dialects.deepgram import DIALECT as DEEPGRAM
from llmkit.dialects.elevenlabs import DIALECT as ELEVENLABS
from llmkit.modalities._base import audio_bytes, upload_name
from llmkit.modalities._plan import sorted_rerank, split_batches
from llmkit.testing._openai_media_emu import with_media

MClient = llmkit.Client
AMClient = llmkit.AsyncClient
assert issubclass(MClient, ModalitiesMixin) and issubclass(AMClient, AsyncModalitiesMixin)


def media_emu(emu: Any) -> Any:
    """The emulator with OpenAI's embeddings, audio and images routes switched on."""
    emu._handlers["openai"] = with_media(emu._handlers["openai"])
    return emu


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    media_emu(emu)
    c = MClient(providers=emu.providers_config())
    yield c
    c.close()


def test_chat_models_and_missing_features_fail_before_any_request(emu: Any, mc: MClient) -> None:
    cases = [
        (lambda: mc.embed("openai/gpt-4o-mini", ["a"]), "openai/gpt-4o-mini is a chat model"),
        (lambda: mc.embed("anthropic/claude-sonnet-4-5", ["a"]), "does not support embeddings"),
        (lambda: mc.rerank("openai/text-embedding-3-small", "q", ["d"]), "does not support rerank"),
        (lambda: mc.speak("openai/whisper-1", "hi", voice="alloy"), "does not support speech"),
        (lambda: mc.transcribe("openai/tts-1", b"x"), "does not support transcription"),
        (lambda: mc.generate_image("openai/tts-1", "a cat"), "does not support image generation"),
        (lambda: mc.generate_image("gemini/gemini-2.5-flash", "a cat"), "does not support image generation"),
        (lambda: mc.embed("openai/text-embedding-3-small", ["a"], input_type="query"), "does not support input_type"),
        (lambda: mc.speak("openai/tts-1", "hi"), "pass voice="),
        (lambda: mc.speak("openai/tts-1", "hi", voice="alloy", format="ogg"), "audio format 'ogg'"),
    ]
    for call, message in cases:
        with pytest.raises(llmkit.UnsupportedFeatureError, match=message):
            call()
    assert emu.requests == []


def test_bad_arguments_are_config_errors(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.ConfigError, match="at least one input"):
        mc.embed("openai/text-embedding-3-small", [])
    with pytest.raises(llmkit.ConfigError, match=r"inputs\[1\] must be a string"):
        mc.embed("openai/text-embedding-3-small", ["a", 3])  # type: ignore[list-item]
    with pytest.raises(llmkit.ConfigError, match="batch_size must be a positive integer"):
        mc.embed("openai/text-embedding-3-small", ["a"], batch_size=0)
    with pytest.raises(llmkit.ConfigError, match="audio file '/nope.wav' does not exist"):
        mc.transcribe("openai/whisper-1", "/nope.wav")
    with pytest.raises(llmkit.ConfigError, match="non-empty text"):
        mc.speak("openai/tts-1", "", voice="alloy")
    with pytest.raises(llmkit.ConfigError, match="non-empty prompt"):
        mc.generate_image("openai/dall-e-2", "")
    assert emu.requests == []


def test_split_batches_keeps_order_and_caps_at_the_limit() -> None:
    items = [str(i) for i in range(7)]
    assert split_batches(items, 3, None) == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert split_batches(items, 3, 2) == [["0", "1"], ["2", "3"], ["4", "5"], ["6"]]
    assert split_batches(items, 3, 100) == [["0", "1", "2"], ["3", "4", "5"], ["6"]]


def test_rerank_results_sort_by_score_keeping_ties_in_order() -> None:
    resp = RerankResponse(
        results=[
            RerankResult(index=0, score=0.2),
            RerankResult(index=2, score=0.9),
            RerankResult(index=1, score=0.2, document="stale"),
        ],
        model="m",
        provider="p",
    )
    out = sorted_rerank(resp, ["a", "b", "c"], return_documents=True)
    assert [(r.index, r.score, r.document) for r in out.results] == [(2, 0.9, "c"), (0, 0.2, "a"), (1, 0.2, "b")]
    bad = RerankResponse(results=[RerankResult(index=5, score=1.0)], model="m", provider="p")
    with pytest.raises(llmkit.LLMKitError, match="rerank index 5 for 3 documents"):
        sorted_rerank(bad, ["a", "b", "c"], return_documents=False)


def test_token_count_behaves_like_its_int() -> None:
    tc = TokenCount(count=14, exact=True, model="m", provider="p")
    assert tc == 14 and int(tc) == 14 and [0] * TokenCount(count=2, exact=False, model="m", provider="p") == [0] * 2
    assert tc != 15 and tc != TokenCount(count=14, exact=False, model="m", provider="p")
    assert (tc == "14") is False and hash(tc) == hash(14)


def test_result_types_hide_bytes_in_repr(tmp_path: Any) -> None:
    s = SpeechResponse(audio=b"x" * 10, content_type="audio/mpeg", model="tts-1", provider="openai")
    assert "<10 bytes>" in repr(s)
    s.save(str(tmp_path / "a.mp3"))
    assert (tmp_path / "a.mp3").read_bytes() == b"x" * 10
    assert "<3 bytes>" in repr(GeneratedImage(data=b"png"))
    assert EmbeddingUsage(input_tokens=2) + EmbeddingUsage(input_tokens=None) == EmbeddingUsage(input_tokens=2)
    assert EmbeddingUsage() + EmbeddingUsage() == EmbeddingUsage(input_tokens=None)


def test_audio_input_forms(tmp_path: Any) -> None:
    path = tmp_path / "talk.mp3"
    path.write_bytes(b"ID3hello")
    assert audio_bytes(str(path), None, None) == (b"ID3hello", "talk.mp3", "audio/mpeg")
    with open(path, "rb") as f:
        assert audio_bytes(f, None, None) == (b"ID3hello", "talk.mp3", "audio/mpeg")
    wav = b"RIFF\x00\x00\x00\x00WAVEfmt "
    assert audio_bytes(wav, None, None) == (wav, "audio", "audio/wav")
    assert audio_bytes(b"OggS..", "x", "audio/ogg") == (b"OggS..", "x", "audio/ogg")
    assert audio_bytes(b"\x00\x01", None, None)[2] == "application/octet-stream"
    assert upload_name("audio", "audio/wav") == "audio.wav" and upload_name("a.flac", "audio/wav") == "a.flac"
    with pytest.raises(llmkit.ConfigError, match="empty"):
        audio_bytes(b"", None, None)
    with pytest.raises(llmkit.ConfigError, match="binary mode"), open(path, encoding="latin-1") as f:
        audio_bytes(f, None, None)  # type: ignore[arg-type]


def test_async_client_fails_before_any_request_too(emu: Any) -> None:
    async def run() -> None:
        async with AMClient(providers=emu.providers_config()) as ac:
            with pytest.raises(llmkit.UnsupportedFeatureError, match="is a chat model"):
                await ac.embed("openai/gpt-4o", "a")

    asyncio.run(run())
    assert emu.requests == []


def test_non_chat_dialects_refuse_chat_and_read_errors() -> None:
    spec = ProviderSpec(
        id="deepgram",
        name="Deepgram",
        dialect="deepgram",
        base_url=None,
        auth=AuthSpec(scheme="none"),
        settings=(),
        headers=(),
        operations={},
        capabilities=Capabilities(chat=False),
    )
    ctx = CallContext(spec=spec, model="nova-3")
    req = ChatRequest(model="nova-3", messages=[Message(role="user", content="hi")])
    for call in (
        lambda: DEEPGRAM.chat_request(req, ctx),
        lambda: DEEPGRAM.parse_chat({}, ctx),
        lambda: DEEPGRAM.stream_decoder(ctx),
    ):
        with pytest.raises(llmkit.UnsupportedFeatureError, match="Deepgram offers no chat endpoint"):
            call()
    with pytest.raises(llmkit.UnsupportedFeatureError, match="no token counting"):
        DEEPGRAM.count_tokens_request(req, ctx)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="no token counting"):
        DEEPGRAM.parse_count_tokens({}, ctx)
    assert DEEPGRAM.error_info(400, {"err_code": "Bad Request", "err_msg": "corrupt"}).message == "corrupt"
    assert DEEPGRAM.error_info(500, ["odd"]).message == '["odd"]'
    info = ELEVENLABS.error_info(422, {"detail": [{"loc": ["body", "text"], "msg": "Field required"}, "x"]})
    assert (info.message, info.type) == ("body.text: Field required; x", "validation_error")
    assert ELEVENLABS.error_info(400, {"message": "flat"}).message == "flat"
    assert ELEVENLABS.error_info(400, {"detail": {"msg": "m"}}).message == "m"
    assert ELEVENLABS.error_info(400, [1]).message == "[1]"
