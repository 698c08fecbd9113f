"""Ollama's native API on the wire: /api/chat bodies, NDJSON streams, tools, errors, model management."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

import llmkit
from llmkit._errors import APIError, BadRequestError, NotFoundError, StreamError, UnsupportedFeatureError
from llmkit._events import FinishEvent, ReasoningDelta, TextDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmkit._streaming import ChatStream
from llmkit._types import ImagePart, Message, ReasoningPart, TextPart, ToolCall
from llmkit.generated.wire import ollama as wire
from tests.conftest import split_every

MODEL = "ollama/llama3.2"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# The two lines of wire-facts-core.md §10 (first delta, final done line), then a tool-call line.
FIRST = (
    b'{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00",'
    b'"message":{"role":"assistant","content":"The","images":null},"done":false}\n'
)
LAST = (
    b'{"model":"llama3.2","created_at":"2025-07-07T20:22:19.19314Z","message":{"role":"assistant","content":""},'
    b'"done_reason":"stop","done":true,"total_duration":182242375,"load_duration":41295167,"prompt_eval_count":169,'
    b'"prompt_eval_duration":24573166,"eval_count":15,"eval_duration":115959084}\n'
)
TOOL_LINE = (
    b'{"model":"llama3.2","created_at":"2025-07-07T20:22:19.19314Z","message":{"role":"assistant","content":"",'
    b'"tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Tokyo"}}}]},"done":false}\n'
)
NDJSON = "application/x-ndjson"


def _stream(client: Any, messages: Any, model: str = MODEL, **params: Any) -> ChatStream:
    """A unified ChatStream over the real HTTP response, with the dialect's own decoder."""
    provider, spec, d, ctx, _req, w = client._prepare(model, messages, {"stream": True, **params})
    return ChatStream(client._transport(provider, spec).stream(w), d.stream_decoder(ctx), provider)


# -- requests -------------------------------------------------------------------------------


def test_chat_body_maps_sampling_into_options_and_says_stream_false(emu, client) -> None:
    resp = client.chat(
        MODEL,
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["\n\n"],
        provider_options={"num_ctx": 8192, "keep_alive": "30m", "repeat_penalty": 1.1},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/ollama/api/chat")
    assert req.json() == {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        "stream": False,
        "keep_alive": "30m",
        "options": {
            "temperature": 0.2,
            "top_p": 0.9,
            "seed": 7,
            "num_predict": 50,
            "stop": ["\n\n"],
            "num_ctx": 8192,
            "repeat_penalty": 1.1,
        },
    }
    assert req.headers["authorization"] == "Bearer test-key"
    assert resp.text == "You said: hello there"
    assert (resp.finish_reason, resp.raw_finish_reason, resp.id) == ("stop", "stop", None)
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (4, 4)


def test_no_key_needed_and_keep_alive_setting(emu) -> None:
    cfg = {"base_url": emu.base_url("ollama"), "max_retries": 0, "keep_alive": "0"}
    with llmkit.Client(providers={"ollama": cfg}) as c:
        c.chat(MODEL, "hi")
    req = emu.last_request
    assert "authorization" not in req.headers
    assert req.json()["keep_alive"] == 0  # a bare number is seconds: 0 unloads at once


def test_default_base_url_is_localhost() -> None:
    from llmkit._settings import resolve_settings
    from llmkit.generated.providers.ollama import SPEC

    assert resolve_settings(SPEC, {}).base_url == "http://localhost:11434"


def test_images_go_as_bare_base64(emu, client) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    b64 = base64.b64encode(png).decode()
    msg = Message(
        role="user",
        content=[
            TextPart(text="What is this?"),
            ImagePart(data=png, media_type="image/png"),
            ImagePart(url=f"data:image/png;base64,{b64}"),
        ],
    )
    resp = client.chat("ollama/llava", [msg])
    sent = emu.last_request.json()["messages"][0]
    assert sent == {"role": "user", "content": "What is this?", "images": [b64, b64]}
    assert resp.text == "You said: What is this? (I see 2 images.)"


def test_image_url_is_refused_before_any_request(emu, client) -> None:
    msg = Message(role="user", content=[ImagePart(url="https://example.com/cat.png")])
    with pytest.raises(UnsupportedFeatureError, match="does not fetch URLs") as info:
        client.chat("ollama/llava", [msg])
    assert info.value.code == "image_url"
    assert emu.requests == []


def test_vision_on_a_text_model_is_refused(emu, client) -> None:
    msg = Message(role="user", content=[ImagePart(data=b"x", media_type="image/png")])
    with pytest.raises(UnsupportedFeatureError, match="image or document input"):
        client.chat(MODEL, [msg])
    assert emu.requests == []


def test_tool_choice_and_parallel_calls_are_refused_before_any_request(emu, client) -> None:
    with pytest.raises(UnsupportedFeatureError, match="no tool_choice control"):
        client.chat(MODEL, "x", tools=[WEATHER], tool_choice="required")
    with pytest.raises(UnsupportedFeatureError, match="parallel tool calls"):
        client.chat(MODEL, "x", tools=[WEATHER], parallel_tool_calls=True)
    assert emu.requests == []
    client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="none")
    assert "tools" not in emu.last_request.json()  # "none" is said by offering no tools


def test_structured_output_and_thinking_fields(emu, client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    rf = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    resp = client.chat("ollama/qwen3", "Name a city like Lisbon", response_format=rf, reasoning_effort="high")
    body = emu.last_request.json()
    assert body["format"] == schema and body["think"] == "high"
    assert json.loads(resp.text) == {"city": "Lisbon"}
    assert resp.reasoning.startswith("The user wrote")
    client.chat("ollama/qwen3", "x", response_format={"type": "json_object"})
    assert emu.last_request.json()["format"] == "json"


# -- tools ----------------------------------------------------------------------------------


def test_tool_call_round_trip_with_object_arguments(emu, client) -> None:
    history: list[Any] = [{"role": "user", "content": "What's the weather in Paris?"}]
    resp = client.chat(MODEL, history, tools=[WEATHER])
    assert emu.last_request.json()["tools"] == [WEATHER]
    call = resp.tool_calls[0]
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert (resp.finish_reason, resp.raw_finish_reason) == ("tool_calls", "stop")
    history += [resp.message, {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"}]
    final = client.chat(MODEL, history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    }
    assert sent[2] == {"role": "tool", "content": "18C and sunny", "tool_name": "get_weather", "tool_call_id": call.id}
    assert final.text == "The tool returned: 18C and sunny"


def test_reasoning_history_goes_back_as_thinking(emu, client) -> None:
    prior = Message(role="assistant", content=[ReasoningPart(text="hmm"), TextPart(text="Hi!")])
    client.chat("ollama/qwen3", [{"role": "user", "content": "a"}, prior, {"role": "user", "content": "b"}])
    assert emu.last_request.json()["messages"][1] == {"role": "assistant", "content": "Hi!", "thinking": "hmm"}


def test_old_server_tool_calls_without_id_get_stable_ids(emu, client) -> None:
    body = json.loads(TOOL_LINE)
    body.update(json.loads(LAST))
    body["message"] = json.loads(TOOL_LINE)["message"]
    emu.queue_json("ollama", body)
    resp = client.chat(MODEL, "x", tools=[WEATHER])
    assert resp.tool_calls == [
        ToolCall(id="call_0", name="get_weather", arguments={"city": "Tokyo"}, raw_arguments='{"city": "Tokyo"}')
    ]
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (169, 15)


def test_fully_cached_prompt_omits_prompt_eval_count(emu, client) -> None:
    body = json.loads(LAST)
    del body["prompt_eval_count"]
    body["message"]["content"] = "ok"
    emu.queue_json("ollama", body)
    resp = client.chat(MODEL, "x")
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.text) == (0, 15, "ok")


def test_length_and_load_done_reasons(emu, client) -> None:
    resp = client.chat(MODEL, "one two three four five", max_tokens=2)
    assert (resp.finish_reason, resp.raw_finish_reason) == ("length", "length")
    body = json.loads(LAST)
    body["done_reason"] = "load"
    emu.queue_json("ollama", body)
    resp = client.chat(MODEL, "x")
    assert (resp.finish_reason, resp.raw_finish_reason) == ("other", "load")


# -- streams --------------------------------------------------------------------------------


def test_recorded_stream_split_anywhere(emu, client) -> None:
    emu.queue_stream("ollama", split_every(FIRST + LAST, 7), content_type=NDJSON)
    with _stream(client, "hi") as s:
        events = list(s)
        final = s.get_final_response()
    assert emu.last_request.json()["stream"] is True
    assert events == [
        TextDelta(text="The"),
        UsageEvent(usage=llmkit.Usage(input_tokens=169, output_tokens=15)),
        FinishEvent(finish_reason="stop", raw_finish_reason="stop"),
    ]
    assert (final.text, final.model, final.usage.output_tokens) == ("The", "llama3.2", 15)


def test_emulated_stream_text_thinking_and_tools(emu, client) -> None:
    with _stream(client, "hello there big world") as s:
        assert "".join(s.text_stream) == "You said: hello there big world"
    with _stream(client, "Weather in Paris?", "ollama/qwen3", tools=[WEATHER], reasoning_effort="low") as s:
        events = list(s)
        final = s.get_final_response()
    assert isinstance(events[0], ReasoningDelta)
    kinds = [type(e) for e in events if not isinstance(e, ReasoningDelta)]
    assert kinds[:2] == [ToolCallStart, llmkit.ToolCallDelta] and ToolCallEnd in kinds
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert end.tool_call.arguments == {"city": "Paris"}
    assert final.finish_reason == "tool_calls" and final.tool_calls[0].name == "get_weather"


def test_error_line_under_200_raises_typed(emu, client) -> None:
    emu.queue_stream(
        "ollama", [FIRST, b'{"error":"an error was encountered while running the model"}\n'], content_type=NDJSON
    )
    with pytest.raises(APIError, match="an error was encountered while running the model"), _stream(client, "x") as s:
        list(s)


def test_stream_cut_before_done_raises(emu, client) -> None:
    emu.queue_stream("ollama", [FIRST], content_type=NDJSON)
    with pytest.raises(StreamError, match="done: true"), _stream(client, "x") as s:
        list(s)


def test_client_stream_uses_ndjson_framing(emu, client) -> None:
    """client.chat(stream=True) must frame by the decoder's `framing`; the pipeline's
    TimedDecoder wrapper has to pass that attribute through (see the report on issue 5)."""
    emu.queue_stream("ollama", [FIRST, LAST], content_type=NDJSON)
    with client.chat(MODEL, "x", stream=True) as s:
        assert s.get_final_response().text == "The"


# -- errors ---------------------------------------------------------------------------------


def test_model_not_pulled_is_not_found(emu, client) -> None:
    with pytest.raises(NotFoundError, match="try pulling it first") as info:
        client.chat("ollama/llama9", "x")
    assert info.value.status == 404 and info.value.body == {"error": 'model "llama9" not found, try pulling it first'}


def test_queued_error_shape(emu, client) -> None:
    emu.queue_error("ollama", 400, "invalid options")
    with pytest.raises(BadRequestError, match="invalid options"):
        client.chat(MODEL, "x")


# -- native model management ----------------------------------------------------------------


def test_native_pull_stream_yields_typed_progress(emu, client) -> None:
    native = client.native("ollama")
    events = list(native.pull_stream(model="qwen3:8b"))
    assert emu.last_request.json() == {"model": "qwen3:8b", "stream": True}
    assert all(isinstance(e, wire.ProgressEvent) for e in events)
    statuses = [e.status for e in events]
    assert statuses[0] == "pulling manifest" and statuses[-3:] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layer = [e for e in events if e.digest]
    assert layer[0].completed is None and layer[-1].completed == layer[-1].total
    assert layer[0].status == f"pulling {layer[0].digest[7:19]}"


def test_native_pull_waits_with_stream_false(emu, client) -> None:
    assert client.native("ollama").pull(model="llama3.1").status == "success"
    assert emu.last_request.json() == {"model": "llama3.1", "stream": False}


def test_native_pull_failure_line_raises(emu, client) -> None:
    with pytest.raises(APIError, match="file does not exist"):
        list(client.native("ollama").pull_stream(model="no-such-model"))
    with pytest.raises(llmkit.ServerError, match="file does not exist"):
        client.native("ollama").pull(model="no-such-model")


def test_native_model_lifecycle(emu, client) -> None:
    native = client.native("ollama")
    assert native.version().version == "0.12.6"
    names = [m.name for m in native.list_models().models]
    assert "llama3.2:latest" in names and "mine:latest" not in names
    assert native.copy(source="llama3.2", destination="mine") is None
    assert emu.last_request.json() == {"source": "llama3.2", "destination": "mine"}
    assert "mine:latest" in [m.name for m in native.list_models().models]
    shown = native.show(model="mine")
    assert shown.details.format == "gguf" and shown.model_info["llama.context_length"] == 131072
    assert native.delete(model="mine") is None
    req = emu.last_request
    assert (req.method, req.path, req.json()) == ("DELETE", "/ollama/api/delete", {"model": "mine"})
    with pytest.raises(NotFoundError, match="'mine' not found"):
        native.delete(model="mine")
    client.chat(MODEL, "warm up")
    running = native.ps().models
    assert [m.name for m in running] == ["llama3.2:latest"] and running[0].expires_at


def test_native_chat_stream_and_body_or_kwargs(emu, client) -> None:
    native = client.native("ollama")
    lines = list(native.chat_stream({"model": "llama3.2", "messages": [{"role": "user", "content": "hi you"}]}))
    assert lines[-1].done is True and lines[-1].eval_count == 4
    assert "".join(x.message.content or "" for x in lines) == "You said: hi you"
    one = native.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert emu.last_request.json()["stream"] is False and one.done is True
    with pytest.raises(llmkit.ConfigError, match="needs a request body"):
        native.show()


def test_async_native_pull_stream(emu) -> None:
    async def run() -> list[str]:
        async with emu.async_client() as ac:
            return [e.status async for e in ac.native("ollama").pull_stream(model="gemma3")]

    statuses = asyncio.run(run())
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
