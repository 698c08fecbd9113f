"""Typed query options of the native methods, on the wire.

Each documented query option of an operation is a keyword argument with its spec type; these
tests check the exact query the emulator received (and, for repeated keys, the raw pairs in
wire order), the parsed answers, and that a value of the wrong type is a ConfigError naming
the option before any request is made.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit.testing import Emulator

AUTH = "Bearer test-key"


def _upload(openai: Any, n: int) -> list[str]:
    data = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
    ids = [openai.create_file(file=(f"f{i}.jsonl", data), purpose="fine-tune").id for i in range(n)]
    line = {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini"}}
    batch = (json.dumps(line) + "\n").encode()
    ids.append(openai.create_file(file=("batch.jsonl", batch), purpose="batch").id)
    return ids


def test_openai_list_files_sends_typed_options_and_pages(emu: Emulator, client: Any) -> None:
    openai = client.native("openai")
    ids = _upload(openai, 3)
    emu.reset()
    page = openai.list_files(purpose="fine-tune", limit=2, order="asc")
    req = emu.last_request
    assert (req.method, req.path) == ("GET", "/openai/v1/files")
    assert req.headers["authorization"] == AUTH
    assert req.query_items == [("purpose", "fine-tune"), ("limit", "2"), ("order", "asc")]
    assert [f.id for f in page.data] == sorted(ids[:3])[:2] and page.has_more is True
    rest = openai.list_files(purpose="fine-tune", order="asc", after=page.last_id)
    assert emu.last_request.query == {"purpose": "fine-tune", "order": "asc", "after": page.last_id}
    assert [f.id for f in rest.data] == sorted(ids[:3])[2:] and rest.has_more is False
    # None is left out; no options means no query at all.
    everything = openai.list_files(purpose=None, limit=None)
    assert emu.last_request.query_items == [] and len(everything.data) == 4


def test_extra_query_merges_on_top_of_typed_options(emu: Emulator, client: Any) -> None:
    openai = client.native("openai")
    openai.list_paginated_fine_tuning_jobs(limit=1, extra_query={"metadata[team]": "search"})
    assert emu.last_request.query_items == [("limit", "1"), ("metadata[team]", "search")]
    assert emu.last_request.path == "/openai/v1/fine_tuning/jobs"
    openai.list_files(limit=5, extra_query={"limit": "1"})  # the escape hatch wins
    assert emu.last_request.query_items == [("limit", "1")]


def test_openai_fine_tuning_events_and_checkpoints_page(emu: Emulator, client: Any) -> None:
    openai = client.native("openai")
    examples = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
        for i in range(10)
    ]
    data = "".join(json.dumps(e) + "\n" for e in examples).encode()
    training = openai.create_file(file=("t.jsonl", data), purpose="fine-tune")
    job = openai.create_fine_tuning_job(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = openai.retrieve_fine_tuning_job(job.id)
    assert job.status == "succeeded"
    events = openai.list_fine_tuning_events(job.id, limit=2)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("GET", f"/openai/v1/fine_tuning/jobs/{job.id}/events", {"limit": "2"})
    assert len(events.data) == 2 and events.has_more is True
    older = openai.list_fine_tuning_events(job.id, after=events.data[-1].id, limit=100)
    assert emu.last_request.query == {"after": events.data[-1].id, "limit": "100"}
    assert older.data and older.data[0].id != events.data[-1].id and older.has_more is False
    checkpoints = openai.list_fine_tuning_job_checkpoints(job.id, limit=1)
    assert emu.last_request.path == f"/openai/v1/fine_tuning/jobs/{job.id}/checkpoints"
    assert emu.last_request.query == {"limit": "1"} and len(checkpoints.data) == 1
    jobs = openai.list_paginated_fine_tuning_jobs(limit=1)
    assert [j.id for j in jobs.data] == [job.id]


def test_anthropic_list_models_pages_with_after_id(emu: Emulator, client: Any) -> None:
    anthropic = client.native("anthropic")
    first = anthropic.list_models(limit=2)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("GET", "/anthropic/v1/models", {"limit": "2"})
    assert req.headers["x-api-key"] == "test-key"
    assert len(first.data) == 2 and first.has_more is True
    second = anthropic.list_models(after_id=first.last_id, limit=1)
    assert emu.last_request.query_items == [("after_id", first.last_id), ("limit", "1")]
    assert len(second.data) == 1 and second.data[0].id not in {m.id for m in first.data}


def test_gemini_list_models_sends_camel_case_wire_names(emu: Emulator, client: Any) -> None:
    gemini = client.native("gemini")
    first = gemini.list_models(page_size=2)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("GET", "/gemini/v1beta/models", {"pageSize": "2"})
    assert req.headers["x-goog-api-key"] == "test-key"
    assert len(first.models) == 2 and first.next_page_token
    second = gemini.list_models(page_size=2, page_token=first.next_page_token)
    assert emu.last_request.query_items == [("pageSize", "2"), ("pageToken", first.next_page_token)]
    assert {m.name for m in second.models}.isdisjoint({m.name for m in first.models})


def test_gemini_list_cached_contents_pages(emu: Emulator, client: Any) -> None:
    cache = {
        "name": "cachedContents/a1",
        "model": "models/gemini-2.5-flash",
        "createTime": "2026-11-25T10:00:00.123456Z",
        "updateTime": "2026-11-25T10:00:00.123456Z",
        "expireTime": "2026-11-25T10:05:00.123456Z",
        "usageMetadata": {"totalTokenCount": 4096},
    }
    emu.queue_json("gemini", {"cachedContents": [cache], "nextPageToken": "tok2"})
    page = client.native("gemini").list_cached_contents(page_size=1, page_token="tok1")
    req = emu.last_request
    assert (req.method, req.path) == ("GET", "/gemini/v1beta/cachedContents")
    assert req.query_items == [("pageSize", "1"), ("pageToken", "tok1")]
    assert [c.name for c in page.cached_contents] == ["cachedContents/a1"] and page.next_page_token == "tok2"


def test_bedrock_control_plane_filters_and_paging(emu: Emulator, client: Any) -> None:
    bedrock = client.native("bedrock")
    embedders = bedrock.list_models(by_output_modality="EMBEDDING", by_provider="Amazon")
    req = emu.last_request
    assert (req.method, req.path) == ("GET", "/bedrock-control/foundation-models")
    assert req.query_items == [("byProvider", "Amazon"), ("byOutputModality", "EMBEDDING")]
    assert embedders.model_summaries
    assert all("EMBEDDING" in m.output_modalities for m in embedders.model_summaries)
    assert all(m.provider_name == "Amazon" for m in embedders.model_summaries)
    first = bedrock.list_inference_profiles(max_results=1, type_equals="SYSTEM_DEFINED")
    assert emu.last_request.path == "/bedrock-control/inference-profiles"
    assert emu.last_request.query_items == [("maxResults", "1"), ("type", "SYSTEM_DEFINED")]
    assert len(first.inference_profile_summaries) == 1 and first.next_token
    second = bedrock.list_inference_profiles(max_results=1, next_token=first.next_token)
    assert emu.last_request.query == {"maxResults": "1", "nextToken": first.next_token}
    assert second.inference_profile_summaries[0].inference_profile_id != (
        first.inference_profile_summaries[0].inference_profile_id
    )
    # The service's own check still answers for a value of the right type but out of range.
    with pytest.raises(llmkit.BadRequestError, match="maxResults"):
        bedrock.list_inference_profiles(max_results=5000)


def test_deepgram_listen_encodes_bools_numbers_and_repeated_keys(emu: Emulator, client: Any) -> None:
    dg = client.native("deepgram").listen(
        b"Hello there.",
        content_type="audio/wav",
        model="nova-3",
        smart_format=True,
        punctuate=False,
        utterances=True,
        utt_split=0.5,
        keyterm=["llmkit", "Deepgram"],
        tag=["docs"],
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/listen")
    assert req.headers["authorization"] == "Token test-key" and req.headers["content-type"] == "audio/wav"
    assert req.body == b"Hello there."
    assert req.query_items == [
        ("model", "nova-3"),
        ("smart_format", "true"),
        ("punctuate", "false"),
        ("utterances", "true"),
        ("utt_split", "0.5"),
        ("keyterm", "llmkit"),
        ("keyterm", "Deepgram"),
        ("tag", "docs"),
    ]
    assert dg.results.channels[0].alternatives[0].transcript == "Hello there."
    assert dg.results.utterances and dg.results.utterances[0].transcript == "Hello there."


def test_deepgram_speak_options(emu: Emulator, client: Any) -> None:
    audio = client.native("deepgram").speak(
        {"text": "Hi there"}, model="aura-2-thalia-en", encoding="linear16", container="wav", sample_rate=16000
    )
    req = emu.last_request
    assert (req.method, req.path, req.json()) == ("POST", "/deepgram/v1/speak", {"text": "Hi there"})
    assert req.query_items == [
        ("model", "aura-2-thalia-en"),
        ("encoding", "linear16"),
        ("container", "wav"),
        ("sample_rate", "16000"),
    ]
    assert isinstance(audio, bytes) and audio.startswith(b"EMU-AUDIO format=wav voice=aura-2-thalia-en")


def test_elevenlabs_output_format_on_both_tts_endpoints(emu: Emulator, client: Any) -> None:
    el = client.native("elevenlabs")
    voice = el.list_voices().voices[0].voice_id
    body = {"text": "Hello!", "model_id": "eleven_multilingual_v2"}
    audio = el.text_to_speech(voice, body, output_format="pcm_16000", enable_logging=False)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", f"/elevenlabs/v1/text-to-speech/{voice}")
    assert req.headers["xi-api-key"] == "test-key" and req.json() == body
    assert req.query_items == [("output_format", "pcm_16000"), ("enable_logging", "false")]
    assert isinstance(audio, bytes) and audio
    streamed = el.text_to_speech_stream(voice, body, output_format="mp3_22050_32")
    assert emu.last_request.path == f"/elevenlabs/v1/text-to-speech/{voice}/stream"
    assert emu.last_request.query_items == [("output_format", "mp3_22050_32")]
    assert isinstance(streamed, bytes) and streamed


def test_cohere_list_models_options(emu: Emulator, client: Any) -> None:
    listed = client.native("cohere").list_models(page_size=5, endpoint="embed", default_only=False)
    req = emu.last_request
    assert (req.method, req.path) == ("GET", "/cohere/v1/models")
    assert req.headers["authorization"] == AUTH
    assert req.query_items == [("page_size", "5"), ("endpoint", "embed"), ("default_only", "false")]
    assert listed.models and all(m.name for m in listed.models)
    client.native("cohere").list_models(page_token="tok-2")
    assert emu.last_request.query_items == [("page_token", "tok-2")]


def test_elevenlabs_list_voices_show_legacy(emu: Emulator, client: Any) -> None:
    voices = client.native("elevenlabs").list_voices(show_legacy=True)
    assert emu.last_request.path == "/elevenlabs/v1/voices"
    assert emu.last_request.query_items == [("show_legacy", "true")]
    assert voices.voices and voices.voices[0].voice_id


@pytest.mark.parametrize(
    ("provider", "call", "message"),
    [
        ("openai", lambda n: n.list_files(limit="3"), "list_files: `limit` must be an integer, got str '3'"),
        ("openai", lambda n: n.list_files(limit=True), "`limit` must be an integer, got bool True"),
        ("openai", lambda n: n.list_files(order="newest"), "`order` must be one of asc, desc, got 'newest'"),
        ("openai", lambda n: n.list_fine_tuning_events("ftjob-1", after=7), "`after` must be a string, got int"),
        ("gemini", lambda n: n.list_models(page_size=2.0), "`page_size` must be an integer, got float 2.0"),
        ("bedrock", lambda n: n.list_models(by_output_modality="VIDEO"), "`by_output_modality` must be one of"),
        (
            "deepgram",
            lambda n: n.listen(b"x", content_type="audio/wav", keyterm="llmkit"),
            "`keyterm` must be a list of strings, got str 'llmkit'",
        ),
        (
            "deepgram",
            lambda n: n.listen(b"x", content_type="audio/wav", keyterm=["a", 1]),
            "`keyterm` must be a list of strings",
        ),
        (
            "deepgram",
            lambda n: n.listen(b"x", content_type="audio/wav", smart_format="true"),
            "`smart_format` must be a bool",
        ),
        ("deepgram", lambda n: n.speak({"text": "x"}, speed=float("nan")), "`speed` must be a number, got float nan"),
        ("deepgram", lambda n: n.speak({"text": "x"}, sample_rate="16000"), "`sample_rate` must be an integer"),
    ],
)
def test_a_wrong_type_fails_before_any_request(
    emu: Emulator, client: Any, provider: str, call: Any, message: str
) -> None:
    with pytest.raises(llmkit.ConfigError) as info:
        call(client.native(provider))
    assert message in str(info.value)
    assert info.value.provider == provider
    assert emu.requests == []


def test_async_methods_send_the_same_query_and_check_types(emu: Emulator) -> None:
    async def run() -> None:
        async with emu.async_client() as aclient:
            dg = await aclient.native("deepgram").listen(
                b"Async hello.",
                content_type="audio/ogg",
                model="nova-2",
                language="en",
                diarize=True,
                keyterm=["a b", "c"],
            )
            assert dg.results.channels[0].alternatives[0].transcript == "Async hello."
            assert emu.last_request.query_items == [
                ("model", "nova-2"),
                ("language", "en"),
                ("diarize", "true"),
                ("keyterm", "a b"),
                ("keyterm", "c"),
            ]
            page = await aclient.native("anthropic").list_models(limit=1)
            assert emu.last_request.query == {"limit": "1"} and len(page.data) == 1
            emu.reset()
            with pytest.raises(llmkit.ConfigError, match="`limit` must be an integer"):
                await aclient.native("openai").list_files(limit="1")
            with pytest.raises(llmkit.ConfigError, match="`type_equals` must be one of SYSTEM_DEFINED, APPLICATION"):
                await aclient.native("bedrock").list_inference_profiles(type_equals="system_defined")
            assert emu.requests == []

    asyncio.run(run())
