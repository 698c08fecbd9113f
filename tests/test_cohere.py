"""Cohere v2 chat on the wire: request mapping, response and SSE event shapes, tools, citations, errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    StreamError,
    UnsupportedFeatureError,
)
from llmkit._events import FinishEvent, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmkit._types import ImagePart, Message, ReasoningPart, TextPart, Usage
from llmkit.dialects.cohere_v2 import Citation, citations
from tests.conftest import split_every

MODEL = "cohere/command-a-03-2025"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# The response and stream examples of wire-facts-core.md §7.
RESPONSE = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "finish_reason": "COMPLETE",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello! How can I help?"}]},
    "usage": {
        "billed_units": {"input_tokens": 5, "output_tokens": 8},
        "tokens": {"input_tokens": 71, "output_tokens": 8},
        "cached_tokens": 0,
    },
}
STREAM = b"""event: message-start
data: {"id":"5c1f","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}

event: content-start
data: {"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}

event: content-delta
data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hola"}}}}

event: content-end
data: {"type":"content-end","index":0}

event: message-end
data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":5,"output_tokens":2},"tokens":{"input_tokens":70,"output_tokens":2}}}}

"""
TOOL_STREAM = b"""event: message-start
data: {"id":"7a1b","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}

event: tool-plan-delta
data: {"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will look up the weather."}}}

event: tool-call-start
data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"get_weather_x1","type":"function","function":{"name":"get_weather","arguments":""}}}}}

event: tool-call-delta
data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\\"city\\":"}}}}}

event: tool-call-delta
data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"\\"Tokyo\\"}"}}}}}

event: tool-call-end
data: {"type":"tool-call-end","index":0}

event: message-end
data: {"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":20,"output_tokens":9},"tokens":{"input_tokens":90,"output_tokens":9}}}}

"""


def test_request_mapping_is_exact(emu, client) -> None:
    client.chat(
        MODEL,
        [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        max_tokens=50,
        temperature=0.3,
        top_p=0.8,
        seed=3,
        stop=["END"],
        provider_options={"safety_mode": "STRICT", "k": 40},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/cohere/v2/chat")
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.json() == {
        "model": "command-a-03-2025",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        "max_tokens": 50,
        "temperature": 0.3,
        "p": 0.8,
        "seed": 3,
        "stop_sequences": ["END"],
        "stream": False,
        "safety_mode": "STRICT",
        "k": 40,
    }


def test_recorded_response_fixture(emu, client) -> None:
    emu.queue_json("cohere", RESPONSE)
    resp = client.chat(MODEL, "hi")
    assert resp.text == "Hello! How can I help?"
    assert (resp.id, resp.finish_reason, resp.raw_finish_reason) == (RESPONSE["id"], "stop", "COMPLETE")
    assert resp.usage == Usage(input_tokens=5, output_tokens=8)  # billed units, not template tokens
    assert resp.cost_usd == pytest.approx((5 * 2.5 + 8 * 10.0) / 1e6)


def test_recorded_stream_split_anywhere(emu, client) -> None:
    emu.queue_stream("cohere", split_every(STREAM, 11))
    with client.chat(MODEL, "hi", stream=True) as s:
        events = list(s)
        final = s.get_final_response()
    assert emu.last_request.json()["stream"] is True
    assert events == [
        TextDelta(text="Hola"),
        UsageEvent(usage=Usage(input_tokens=5, output_tokens=2)),
        FinishEvent(finish_reason="stop", raw_finish_reason="COMPLETE"),
    ]
    assert (final.id, final.text) == ("5c1f", "Hola")


def test_recorded_tool_stream(emu, client) -> None:
    emu.queue_stream("cohere", [TOOL_STREAM])
    with client.chat(MODEL, "weather?", tools=[WEATHER], stream=True) as s:
        events = list(s)
        final = s.get_final_response()
    assert events[:4] == [
        TextDelta(text="I will look up the weather."),
        ToolCallStart(index=0, id="get_weather_x1", name="get_weather"),
        ToolCallDelta(index=0, arguments='{"city":'),
        ToolCallDelta(index=0, arguments='"Tokyo"}'),
    ]
    assert isinstance(events[4], ToolCallEnd) and events[4].tool_call.arguments == {"city": "Tokyo"}
    assert (final.finish_reason, final.raw_finish_reason) == ("tool_calls", "TOOL_CALL")
    assert final.usage == Usage(input_tokens=20, output_tokens=9)


def test_message_end_error_raises(emu, client) -> None:
    failed = STREAM.replace(
        b'{"finish_reason":"COMPLETE","usage"', b'{"finish_reason":"ERROR","error":"internal model failure","usage"'
    )
    emu.queue_stream("cohere", [failed])
    with pytest.raises(APIError, match="internal model failure"), client.chat(MODEL, "x", stream=True) as s:
        list(s)


def test_stream_cut_before_message_end(emu, client) -> None:
    emu.queue_stream("cohere", [STREAM.split(b"event: message-end")[0]])
    with pytest.raises(StreamError, match="message-end"), client.chat(MODEL, "x", stream=True) as s:
        list(s)


def test_tool_round_trip_with_tool_plan(emu, client) -> None:
    history: list[Any] = [{"role": "user", "content": "What's the weather in Paris?"}]
    resp = client.chat(MODEL, history, tools=[WEATHER], tool_choice="required")
    body = emu.last_request.json()
    assert body["tools"] == [WEATHER] and body["tool_choice"] == "REQUIRED"
    call = resp.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("get_weather_0", "get_weather", {"city": "Paris"})
    assert resp.text == "I will call get_weather." and resp.finish_reason == "tool_calls"
    history += [resp.message, {"role": "tool", "tool_call_id": call.id, "content": "18C"}]
    final = client.chat(MODEL, history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"]
    assert sent[1] == {
        "role": "assistant",
        "tool_plan": "I will call get_weather.",
        "tool_calls": [
            {
                "id": "get_weather_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "get_weather_0", "content": "18C"}
    assert final.text == "The tool returned: 18C"


def test_emulated_stream_tool_call(emu, client) -> None:
    with client.chat(MODEL, "Weather in Lyon?", tools=[WEATHER], stream=True) as s:
        final = s.get_final_response()
    assert final.tool_calls[0].arguments == {"city": "Lyon"} and final.text == "I will call get_weather."


def test_tool_choice_none_and_unsupported_choices(emu, client) -> None:
    client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="none")
    assert emu.last_request.json()["tool_choice"] == "NONE"
    n = len(emu.requests)
    with pytest.raises(UnsupportedFeatureError, match="cannot force one named tool"):
        client.chat(MODEL, "x", tools=[WEATHER], tool_choice="get_weather")
    with pytest.raises(UnsupportedFeatureError, match="no `user` field"):
        client.chat(MODEL, "x", user="u1")
    with pytest.raises(UnsupportedFeatureError, match="parallel tool calls"):
        client.chat(MODEL, "x", tools=[WEATHER], parallel_tool_calls=True)
    with pytest.raises(UnsupportedFeatureError, match="image or document input"):
        client.chat(MODEL, [Message(role="user", content=[ImagePart(url="https://x/y.png")])])
    with pytest.raises(UnsupportedFeatureError, match="reasoning"):
        client.chat(MODEL, "x", reasoning_effort="high")
    assert len(emu.requests) == n


def test_vision_model_gets_image_url_parts(emu, client) -> None:
    msg = Message(role="user", content=[TextPart(text="What is it?"), ImagePart(url="https://example.com/a.png")])
    resp = client.chat("cohere/command-a-vision-07-2025", [msg])
    assert emu.last_request.json()["messages"][0]["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    assert resp.text.endswith("(I see 1 image.)")


def test_json_schema_and_thinking(emu, client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    resp = client.chat(
        "cohere/command-a-reasoning-08-2025", "A city like Oslo", response_format=rf, reasoning_budget=512
    )
    body = emu.last_request.json()
    assert body["response_format"] == {"type": "json_object", "json_schema": schema}
    assert body["thinking"] == {"type": "enabled", "token_budget": 512}
    assert json.loads(resp.text) == {"city": "Oslo"} and resp.reasoning
    client.chat(MODEL, "x", response_format={"type": "json_object"})
    assert emu.last_request.json()["response_format"] == {"type": "json_object"}


def test_thinking_history_goes_back_as_content_items(emu, client) -> None:
    prior = Message(role="assistant", content=[ReasoningPart(text="hmm"), TextPart(text="Hi")])
    client.chat(MODEL, [{"role": "user", "content": "a"}, prior, {"role": "user", "content": "b"}])
    assert emu.last_request.json()["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Hi"}],
    }


def test_documents_and_citations_plain_and_streamed(emu, client) -> None:
    docs = [{"id": "doc-1", "data": {"title": "Paris", "text": "Capital of France"}}]
    resp = client.chat(MODEL, "Tell me about Paris", provider_options={"documents": docs})
    assert emu.last_request.json()["documents"] == docs
    expected = [
        Citation(
            start=0,
            end=3,
            text="You",
            source_ids=("doc-1",),
            sources=({"type": "document", "id": "doc-1", "document": docs[0]["data"]},),
        )
    ]
    assert citations(resp) == expected
    with client.chat(MODEL, "Tell me about Paris", stream=True, provider_options={"documents": docs}) as s:
        assert citations(s.get_final_response()) == expected
    assert citations(client.chat(MODEL, "no docs")) == []


def test_finish_reasons(emu, client) -> None:
    for raw, unified in (("MAX_TOKENS", "length"), ("STOP_SEQUENCE", "stop"), ("TIMEOUT", "error"), ("NEW", "other")):
        emu.queue_json("cohere", {**RESPONSE, "finish_reason": raw})
        resp = client.chat(MODEL, "x")
        assert (resp.finish_reason, resp.raw_finish_reason) == (unified, raw)


def test_errors_are_typed(emu, client) -> None:
    emu.queue_error("cohere", 498, "blocked as unsafe")
    with pytest.raises(BadRequestError, match="blocked as unsafe") as blocked:
        client.chat(MODEL, "x")
    assert (blocked.value.status, blocked.value.code) == (498, "content_filter")
    with pytest.raises(NotFoundError, match="model 'command-z' not found"):
        client.chat("cohere/command-z", "x")
    with pytest.raises(BadRequestError, match="unknown field 'top_p'"):
        client.chat(MODEL, "x", extra_body={"top_p": 0.5})
    strict = llmkit.Client(
        providers={"cohere": {"api_key": "wrong", "base_url": emu.base_url("cohere"), "max_retries": 0}}
    )
    emu.require_key = "right"
    with pytest.raises(AuthenticationError, match="invalid api token") as info:
        strict.chat(MODEL, "x")
    assert info.value.status == 401 and info.value.body["message"] == "invalid api token"
    strict.close()


def test_native_models_listing(emu, client) -> None:
    native = client.native("cohere")
    listing = native.list_models()
    assert "command-a-03-2025" in [m.name for m in listing.models] and listing.next_page_token is None
    one = native.get_model("command-r-08-2024")
    assert emu.last_request.path == "/cohere/v1/models/command-r-08-2024" and one.context_length == 128000.0


def test_async_chat_and_stream(emu) -> None:
    async def run() -> tuple[str, str]:
        async with emu.async_client() as ac:
            plain = await ac.chat(MODEL, "hello async")
            stream = await ac.chat(MODEL, "hello stream", stream=True)
            final = await stream.get_final_response()
            return plain.text, final.text

    assert asyncio.run(run()) == ("You said: hello async", "You said: hello stream")
