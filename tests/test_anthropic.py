"""Anthropic Messages on the wire: exact requests, real response and stream shapes, errors."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

import llmkit
from llmkit._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamError,
    UnsupportedFeatureError,
)
from llmkit._events import FinishEvent, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmkit._types import Message, ReasoningPart, Usage
from llmkit.dialects.anthropic_messages import JSON_TOOL
from llmkit.testing._anthropic_emu import signature_for
from tests.conftest import split_every

MODEL = "anthropic/claude-sonnet-4-5"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
WEATHER_WIRE = {"name": "get_weather", "description": "Weather now", "input_schema": WEATHER["function"]["parameters"]}

# Verbatim from anthropic-sdk-python tests/lib/streaming/fixtures/basic_response.txt (wire-facts-core.md §3).
BASIC_STREAM = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK","type":"message","role":"assistant","content":[],"model":"claude-3-opus-latest","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}

event: message_stop
data: {"type":"message_stop"}

"""
# The tool-use response example of the facts (text + tool_use together, stop_reason tool_use).
TOOL_RESPONSE = {
    "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [
        {"type": "text", "text": "I'll check the current weather in Paris for you."},
        {
            "type": "tool_use",
            "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
            "name": "get_weather",
            "input": {"location": "Paris"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 377, "output_tokens": 66, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}


def sse(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, ensure_ascii=False)}\n\n"


def message(content: list, stop_reason: str | None = "end_turn", usage: dict | None = None) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


START = sse("message_start", {"message": message([], None, {"input_tokens": 9, "output_tokens": 1})})


# --- requests on the wire ------------------------------------------------------------------------


def test_plain_chat_exact_wire(emu, client) -> None:
    resp = client.chat(MODEL, [{"role": "user", "content": "Hi"}])
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/anthropic/v1/messages")
    assert req.headers["x-api-key"] == "test-key"
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["content-type"] == "application/json"
    assert "authorization" not in req.headers
    # max_tokens is required by Anthropic: defaults to the catalog's max output for the model.
    assert req.json() == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64000,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert resp.text == "You said: Hi"
    assert (resp.finish_reason, resp.raw_finish_reason) == ("stop", "end_turn")
    assert resp.provider == "anthropic" and resp.model == "claude-sonnet-4-5-20250929"
    assert resp.usage == Usage(input_tokens=1, output_tokens=3)
    assert resp.cost_usd == pytest.approx((1 * 3.0 + 3 * 15.0) / 1e6)


def test_sampling_params_and_stop_sequences(emu, client) -> None:
    resp = client.chat(
        MODEL,
        "one two END three",
        max_tokens=20,
        temperature=0.2,
        top_p=0.9,
        stop="END",
        user="u1",
        extra_body={"top_k": 5},
    )
    assert emu.last_request.json() == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "one two END three"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u1"},
        "top_k": 5,
    }
    assert resp.text == "You said: one two "
    assert (resp.finish_reason, resp.raw_finish_reason) == ("stop", "stop_sequence")
    assert resp.raw["stop_sequence"] == "END"


def test_system_and_developer_go_top_level(emu, client) -> None:
    client.chat(MODEL, [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}])
    assert emu.last_request.json()["system"] == "Be terse."
    assert emu.last_request.json()["messages"] == [{"role": "user", "content": "Hi"}]
    client.chat(
        MODEL,
        [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": "Use French."},
            {"role": "user", "content": "Hi"},
        ],
    )
    assert emu.last_request.json()["system"] == [
        {"type": "text", "text": "Be terse."},
        {"type": "text", "text": "Use French."},
    ]


def test_tools_and_tool_choice_mapping(emu, client) -> None:
    resp = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)
    body = emu.last_request.json()
    assert body["tools"] == [WEATHER_WIRE]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert resp.finish_reason == "tool_calls" and resp.raw_finish_reason == "tool_use"
    assert resp.tool_calls[0].name == "get_weather" and resp.tool_calls[0].arguments == {"location": "Paris"}
    for choice, wire in (
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ):
        client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice=choice)
        assert emu.last_request.json()["tool_choice"] == wire
    client.chat(MODEL, "Weather?", tools=[WEATHER], parallel_tool_calls=False)
    assert emu.last_request.json()["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tool_use_response_fixture(emu, client) -> None:
    emu.queue_json("anthropic", TOOL_RESPONSE)
    resp = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER])
    assert resp.text == "I'll check the current weather in Paris for you."
    call = resp.tool_calls[0]
    assert (call.id, call.name, call.arguments) == (
        "toolu_01NRLabsLyVHZPKxbKvkfSMn",
        "get_weather",
        {"location": "Paris"},
    )
    assert resp.finish_reason == "tool_calls"
    assert resp.usage == Usage(input_tokens=377, output_tokens=66)
    assert resp.raw == TOOL_RESPONSE


def test_tool_result_turns_merge_into_one_user_message(emu, client) -> None:
    history = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking both.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "15°C, sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "no data", "is_error": True},
    ]
    resp = client.chat(MODEL, history, tools=[WEATHER])
    assert emu.last_request.json()["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"location": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15°C, sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no data", "is_error": True},
            ],
        },
    ]
    assert resp.text == "The tool returned: 15°C, sunny no data"


def test_image_and_document_blocks(emu, client) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        llmkit.DocumentPart(data=b"%PDF-1.4", media_type="application/pdf"),
    ]
    resp = client.chat(MODEL, [{"role": "user", "content": content}])
    assert emu.last_request.json()["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}},
    ]
    assert resp.text == "You said: What is this? (I see 2 images.)"


def test_thinking_signature_echoed_on_next_turn(emu, client) -> None:
    first = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], reasoning_budget=2048)
    assert emu.last_request.json()["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    reasoning = first.message.content[0]
    assert isinstance(reasoning, ReasoningPart) and reasoning.signature == signature_for(reasoning.text)
    call = first.tool_calls[0]
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        first.message,
        {"role": "tool", "tool_call_id": call.id, "content": "15°C"},
    ]
    second = client.chat(MODEL, history, tools=[WEATHER], reasoning_budget=2048)
    assert emu.last_request.json()["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature},
            {"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"location": "Paris"}},
        ],
    }
    assert second.text == "The tool returned: 15°C"
    forged = Message(
        role="assistant", content=[ReasoningPart(text=reasoning.text, signature="forged")], tool_calls=[call]
    )
    with pytest.raises(BadRequestError, match="Invalid `signature`"):
        client.chat(MODEL, [history[0], forged, history[2]], tools=[WEATHER], reasoning_budget=2048)
    redacted = Message(
        role="assistant", content=[ReasoningPart(redacted="EmwKAhgB"), ReasoningPart(text="no signature")]
    )
    emu.queue_json("anthropic", message([{"type": "text", "text": "ok"}]))
    client.chat(MODEL, [{"role": "user", "content": "Hi"}, redacted, {"role": "user", "content": "Again"}])
    assert emu.last_request.json()["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "redacted_thinking", "data": "EmwKAhgB"}],
    }


def test_convert_messages_orders_thinking_first_and_drops_empty_text() -> None:
    from llmkit._types import TextPart, ToolCall
    from llmkit.dialects.anthropic_messages import convert_messages

    turn = Message(
        role="assistant",
        content=[TextPart(text="Answer."), ReasoningPart(text="Think.", signature="sig")],
        tool_calls=[ToolCall(id="t1", name="f", arguments={"a": 1})],
    )
    user = Message(role="user", content=[TextPart(text=""), TextPart(text="Go")])
    assert convert_messages([user, turn]) == (
        None,
        [
            {"role": "user", "content": [{"type": "text", "text": "Go"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Think.", "signature": "sig"},
                    {"type": "text", "text": "Answer."},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                ],
            },
        ],
    )


def test_reasoning_effort_budgets_and_max_tokens_defaults(emu, client) -> None:
    client.chat(MODEL, "Hi", reasoning_effort="high")
    assert emu.last_request.json()["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert emu.last_request.json()["max_tokens"] == 64000
    with pytest.raises(NotFoundError, match="model: claude-future-9"):
        client.chat("anthropic/claude-future-9", "Hi", reasoning_effort="medium")
    assert emu.last_request.json()["max_tokens"] == 4096 + 4096  # unknown model: 4096, raised above the budget
    assert emu.last_request.json()["thinking"] == {"type": "enabled", "budget_tokens": 4096}


def test_cache_control_passthrough_and_cache_usage(emu, client) -> None:
    ephemeral = {"type": "ephemeral"}
    messages = [
        {
            "role": "system",
            "content": [{"type": "text", "text": "You are a careful assistant.", "cache_control": ephemeral}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Long shared context here.", "cache_control": ephemeral},
                {"type": "text", "text": "Question one?"},
            ],
        },
    ]
    tool = {**WEATHER, "cache_control": ephemeral}
    first = client.chat(MODEL, messages, tools=[tool], tool_choice="none")
    body = emu.last_request.json()
    assert body["system"] == [{"type": "text", "text": "You are a careful assistant.", "cache_control": ephemeral}]
    assert body["messages"][0]["content"][0] == {
        "type": "text",
        "text": "Long shared context here.",
        "cache_control": ephemeral,
    }
    assert body["tools"] == [{**WEATHER_WIRE, "cache_control": ephemeral}]
    assert first.usage.cache_write_tokens > 0 and first.usage.cached_input_tokens == 0
    second = client.chat(MODEL, messages, tools=[tool], tool_choice="none")
    assert second.usage.cached_input_tokens == first.usage.cache_write_tokens
    assert second.usage.input_tokens == first.usage.input_tokens
    assert second.raw["usage"]["input_tokens"] == 2  # "Question one?" is all that was not cached


def test_usage_normalisation_and_cost(emu, client) -> None:
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0},
        "service_tier": "standard",
    }
    emu.queue_json("anthropic", message([{"type": "text", "text": "ok"}], usage=usage))
    resp = client.chat(MODEL, "Hi")
    assert resp.usage == Usage(input_tokens=1300, output_tokens=50, cached_input_tokens=1000, cache_write_tokens=200)
    assert resp.cost_usd == pytest.approx((100 * 3.0 + 50 * 15.0 + 1000 * 0.3 + 200 * 3.75) / 1e6)


def test_unknown_block_and_stop_reason_are_kept(emu, client) -> None:
    body = message(
        [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "text", "text": "Found it", "citations": None},
        ],
        stop_reason="brand_new_reason",
    )
    emu.queue_json("anthropic", body)
    resp = client.chat(MODEL, "Search")
    assert resp.text == "Found it"
    assert (resp.finish_reason, resp.raw_finish_reason) == ("other", "brand_new_reason")
    assert resp.raw["content"][0]["type"] == "server_tool_use"


def test_structured_output_via_forced_tool(emu, client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    rf = {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    resp = client.chat(MODEL, "Name a city like Paris", response_format=rf)
    body = emu.last_request.json()
    assert body["tools"] == [
        {
            "name": JSON_TOOL,
            "description": "Answer by calling this tool; its input is the JSON response.",
            "input_schema": schema,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": JSON_TOOL}
    assert json.loads(resp.text) == {"city": "Paris"}
    assert resp.tool_calls == [] and (resp.finish_reason, resp.raw_finish_reason) == ("stop", "tool_use")
    stream = client.chat(MODEL, "Name a city like Paris", response_format=rf, stream=True)
    assert json.loads("".join(stream.text_stream)) == {"city": "Paris"}
    assert stream.get_final_response().finish_reason == "stop"


def test_unsupported_features_raise_before_any_request(emu, client) -> None:
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    cases = [
        dict(seed=7),
        dict(response_format=rf, tools=[WEATHER]),
        dict(response_format=rf, reasoning_effort="low"),
        dict(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}}),
    ]
    for kwargs in cases:
        with pytest.raises(UnsupportedFeatureError):
            client.chat(MODEL, "Hi", **kwargs)
    with pytest.raises(ConfigError, match="thinking budget"):
        client.chat(MODEL, "Hi", max_tokens=1000, reasoning_budget=2048)
    with pytest.raises(ConfigError, match=r"retired on 2026-02-19; use anthropic/claude-haiku-4-5"):
        client.chat("anthropic/claude-3-5-haiku-20241022", "Hi")
    assert emu.requests == []


# --- streams ----------------------------------------------------------------------------------


def test_basic_stream_fixture_split_mid_line(emu, client) -> None:
    emu.queue_stream("anthropic", split_every(BASIC_STREAM, 5))
    stream = client.chat(MODEL, "Hi", stream=True)
    assert list(stream) == [
        UsageEvent(usage=Usage(input_tokens=11, output_tokens=1)),
        TextDelta(text="Hello"),
        UsageEvent(usage=Usage(input_tokens=11, output_tokens=6)),
        FinishEvent(finish_reason="stop", raw_finish_reason="end_turn"),
    ]
    final = stream.get_final_response()
    assert (final.id, final.model, final.text) == (
        "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
        "claude-3-opus-latest",
        "Hello",
    )
    assert final.usage == Usage(input_tokens=11, output_tokens=6)
    assert final.cost_usd == pytest.approx((11 * 3.0 + 6 * 15.0) / 1e6)
    assert emu.last_request.json()["stream"] is True
    assert emu.last_request.headers["accept"] == "text/event-stream"


def test_stream_split_mid_utf8_with_pings_and_unknown_events(emu, client) -> None:
    data = BASIC_STREAM.replace(b'"text":"Hello"', '"text":"Héllo 🌍"'.encode()).replace(
        b"event: content_block_stop",
        b'event: ping\ndata: {"type": "ping"}\n\n: comment\n\n'
        b'event: brand_new\ndata: {"type":"brand_new","x":1}\n\nevent: content_block_stop',
    )
    emu.queue_stream("anthropic", split_every(data, 3))
    assert "".join(client.chat(MODEL, "Hi", stream=True).text_stream) == "Héllo 🌍"


def test_stream_error_event_overloaded(emu, client) -> None:
    emu.queue_stream(
        "anthropic",
        [
            START,
            sse("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
            sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
            'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        ],
    )
    stream = client.chat(MODEL, "Hi", stream=True)
    seen = []
    with pytest.raises(ServerError) as info:
        for ev in stream:
            seen.append(ev)
    assert TextDelta(text="Hel") in seen
    assert (info.value.message, info.value.code, info.value.status) == ("Overloaded", "overloaded_error", None)


def test_stream_cut_before_message_stop(emu, client) -> None:
    emu.queue_stream("anthropic", [BASIC_STREAM.split(b"event: message_stop")[0]])
    stream = client.chat(MODEL, "Hi", stream=True)
    with pytest.raises(StreamError, match="message_stop"):
        stream.get_final_response()


def test_stream_tool_use_and_thinking_deltas(emu, client) -> None:
    tool_start = {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather", "input": {}}
    events = [
        START,
        sse(
            "content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
        ),
        sse("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "Need weather."}}),
        sse("content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "EqQBsig"}}),
        sse("content_block_stop", {"index": 0}),
        sse("content_block_start", {"index": 1, "content_block": {"type": "text", "text": ""}}),
        sse("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": "Checking."}}),
        sse("content_block_delta", {"index": 1, "delta": {"type": "citations_delta", "citation": {"type": "x"}}}),
        sse("content_block_stop", {"index": 1}),
        sse("content_block_start", {"index": 2, "content_block": tool_start}),
        *(
            sse("content_block_delta", {"index": 2, "delta": {"type": "input_json_delta", "partial_json": p}})
            for p in ("", '{"location": "Pa', 'ris"}')
        ),
        sse("content_block_stop", {"index": 2}),
        sse(
            "message_delta",
            {
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"input_tokens": 9, "cache_read_input_tokens": 4, "output_tokens": 40},
            },
        ),
        sse("message_stop", {}),
    ]
    emu.queue_stream("anthropic", events)
    out = list(client.chat(MODEL, "Weather?", tools=[WEATHER], stream=True))
    assert [e for e in out if isinstance(e, ReasoningDelta)] == [
        ReasoningDelta(text="Need weather."),
        ReasoningDelta(signature="EqQBsig"),
    ]
    assert ToolCallStart(index=2, id="toolu_01NRLabsLyVHZPKxbKvkfSMn", name="get_weather") in out
    assert [e.arguments for e in out if isinstance(e, ToolCallDelta)] == ['{"location": "Pa', 'ris"}']
    end = next(e for e in out if isinstance(e, ToolCallEnd))
    assert end.tool_call.arguments == {"location": "Paris"}
    assert out[-2:] == [
        UsageEvent(usage=Usage(input_tokens=13, output_tokens=40, cached_input_tokens=4)),
        FinishEvent(finish_reason="tool_calls", raw_finish_reason="tool_use"),
    ]


def test_emulator_stream_round_trip(emu, client) -> None:
    stream = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], reasoning_effort="low", stream=True)
    final = stream.get_final_response()
    assert final.tool_calls[0].arguments == {"location": "Paris"}
    assert final.message.content[0].signature == signature_for(final.reasoning)
    plain = client.chat(MODEL, "Hello world", stream=True).get_final_response()
    assert plain.text == "You said: Hello world" and plain.usage == Usage(input_tokens=2, output_tokens=4)


# --- errors, token counting, native and async ---------------------------------------------------


def test_error_mapping(emu, client) -> None:
    emu.queue_error("anthropic", 401, "invalid x-api-key")
    with pytest.raises(AuthenticationError) as auth:
        client.chat(MODEL, "Hi")
    assert auth.value.status == 401 and auth.value.message == "invalid x-api-key"
    assert auth.value.request_id == auth.value.body["request_id"] and auth.value.code == "authentication_error"
    with pytest.raises(NotFoundError, match="model: claude-nope"):
        client.chat("anthropic/claude-nope", "Hi")
    emu.queue_error(
        "anthropic",
        429,
        "Number of request tokens has exceeded your per-minute rate limit",
        headers={"retry-after": "7"},
    )
    with pytest.raises(RateLimitError) as rate:
        client.chat(MODEL, "Hi")
    assert rate.value.retry_after == 7.0 and rate.value.code == "rate_limit_error"
    emu.queue_error("anthropic", 529, "Overloaded")
    with pytest.raises(ServerError) as over:
        client.chat(MODEL, "Hi")
    assert over.value.status == 529 and over.value.code == "overloaded_error"
    with pytest.raises(BadRequestError, match="foo: Extra inputs are not permitted"):
        client.chat(MODEL, "Hi", extra_body={"foo": 1})


def test_emulator_is_strict_on_headers_and_body(emu) -> None:
    url = emu.base_url("anthropic") + "/v1/messages"
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    no_key = httpx.post(url, json=body, headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    assert no_key.headers["request-id"] == no_key.json()["request_id"]
    assert (
        httpx.post(url, json=body, headers={"x-api-key": "k"}).json()["error"]["message"]
        == "anthropic-version: header is required"
    )
    bearer = httpx.post(url, json=body, headers={"authorization": "Bearer k", "anthropic-version": "2023-06-01"})
    assert bearer.status_code == 200 and bearer.json()["content"] == [{"type": "text", "text": "You said: Hi"}]
    h = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    for bad, message in (
        ({k: v for k, v in body.items() if k != "max_tokens"}, "max_tokens: Field required"),
        ({**body, "messages": [{"role": "system", "content": "x"}]}, 'Unexpected role "system"'),
        ({**body, "max_tokens": 70000}, "70000 > 64000"),
        (
            {**body, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}]},
            "unexpected `tool_use_id`",
        ),
    ):
        r = httpx.post(url, json=bad, headers=h)
        assert r.status_code == 400 and message in r.json()["error"]["message"], r.json()


def test_count_tokens(emu, client) -> None:
    n = client.count_tokens(
        MODEL,
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello there"}],
        tools=[WEATHER],
        max_tokens=50,
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/anthropic/v1/messages/count_tokens")
    assert req.json() == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hello there"}],
        "system": "Be terse.",
        "tools": [WEATHER_WIRE],
    }
    assert n == 4 + len(
        json.dumps(
            {"name": "get_weather", "description": "Weather now", "input_schema": WEATHER["function"]["parameters"]}
        ).split()
    )
    emu.queue_json("anthropic", {"input_tokens": 14})
    assert client.count_tokens(MODEL, "Hi") == 14


def test_native_client(emu, client) -> None:
    native = client.native("anthropic")
    msg = native.create_message(
        {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert msg.content[0].text == "You said: Hi" and msg.model == "claude-haiku-4-5-20251001"
    assert msg.usage.input_tokens == 1 and msg.stop_reason == "end_turn"
    events = list(
        native.create_message_stream(
            {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
        )
    )
    assert [e.type for e in events][:3] == ["message_start", "content_block_start", "ping"]
    assert events[-1].type == "message_stop"
    assert (
        native.count_tokens(
            {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "a b c"}]}
        ).input_tokens
        == 3
    )
    assert "claude-haiku-4-5-20251001" in [m.id for m in native.list_models().data]
    assert native.retrieve_model("claude-opus-4-5").display_name == "Claude Opus 4.5"
    assert emu.last_request.path == "/anthropic/v1/models/claude-opus-4-5"


def test_async_chat_and_stream(emu) -> None:
    async def run() -> tuple:
        async with emu.async_client() as aclient:
            resp = await aclient.chat(MODEL, "Hi")
            emu.queue_stream("anthropic", split_every(BASIC_STREAM, 7))
            stream = await aclient.chat(MODEL, "Hi", stream=True)
            texts = [ev.text async for ev in stream if isinstance(ev, TextDelta)]
            final = await stream.get_final_response()
            n = await aclient.count_tokens(MODEL, "one two three")
            return resp, texts, final, n

    resp, texts, final, n = asyncio.run(run())
    assert resp.text == "You said: Hi" and resp.finish_reason == "stop"
    assert texts == ["Hello"] and final.usage == Usage(input_tokens=11, output_tokens=6)
    assert n == 3
