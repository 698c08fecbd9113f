"""Writer on the wire: chat on /v1/chat, tools both ways, streams (non-Latin text split
anywhere), `prompt_token_details` usage, Writer's error body and its `event: error` in a stream,
and what is refused before any request. Fixtures follow wire-facts-regional.md §7."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._events import ToolCallEnd
from llmkit.testing._server import Emulator
from tests.conftest import split_every

MODEL = "writer/palmyra-x5"
HI = [{"role": "user", "content": "Hello, 世界 and Привет"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def writer(emu: Emulator) -> llmkit.Client:
    return llmkit.Client(
        providers={"writer": {"api_key": "wr-key", "base_url": emu.base_url("writer"), "max_retries": 0}}
    )


def test_chat_request_on_v1_chat(emu: Emulator) -> None:
    with writer(emu) as c:
        resp = c.chat(MODEL, [{"role": "developer", "content": "Be brief"}, *HI], max_tokens=40, temperature=0.3)
    req = emu.last_request
    assert (req.method, req.path, req.headers["authorization"]) == ("POST", "/writer/v1/chat", "Bearer wr-key")
    assert req.json() == {
        "model": "palmyra-x5",
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hello, 世界 and Привет"}],
        "max_tokens": 40,
        "temperature": 0.3,
    }
    assert (resp.text, resp.finish_reason) == ("You said: Hello, 世界 and Привет", "stop")


def test_recorded_answer_with_prompt_token_details(emu: Emulator) -> None:
    emu.queue_json(
        "writer",
        {
            "id": "1d199764-3ab5-4bdb-b7f1-3b0a8b8e1a2c",
            "object": "chat.completion",
            "created": 1715361795,
            "model": "palmyra-x5",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Hi there!",
                        "tool_calls": None,
                        "graph_data": None,
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": 40,
                "completion_tokens": 4,
                "total_tokens": 44,
                "prompt_token_details": {"cached_tokens": 32},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
            "system_fingerprint": "v1",
            "service_tier": None,
        },
    )
    with writer(emu) as c:
        resp = c.chat(MODEL, HI)
    assert (resp.id, resp.text) == ("1d199764-3ab5-4bdb-b7f1-3b0a8b8e1a2c", "Hi there!")
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.cached_input_tokens) == (40, 4, 32)


def test_tools_both_ways(emu: Emulator) -> None:
    with writer(emu) as c:
        first = c.chat(MODEL, [{"role": "user", "content": "Weather in Lisbon?"}], tools=[WEATHER], tool_choice="auto")
        call = first.tool_calls[0]
        history: list[Any] = [
            {"role": "user", "content": "Weather in Lisbon?"},
            first.message,
            {"role": "tool", "tool_call_id": call.id, "content": "22C"},
        ]
        second = c.chat(MODEL, history, tools=[WEATHER])
    assert emu.requests[0].json()["tools"] == [WEATHER] and emu.requests[0].json()["tool_choice"] == "auto"
    assert (call.name, call.arguments, first.finish_reason) == ("get_weather", {"city": "Lisbon"}, "tool_calls")
    assert emu.last_request.json()["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "22C"},
    ]
    assert second.text == "The tool returned: 22C"


STREAM = (
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"palmyra-x5","choices":[{"index":0,"delta":{"role":"assistant","content":"สวัสดี "},"finish_reason":null}]}\n\n'
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"palmyra-x5","choices":[{"index":0,"delta":{"content":"🙂 안녕"},"finish_reason":"stop"}]}\n\n'
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"palmyra-x5","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_token_details":{"cached_tokens":5}}}\n\n'
    "data: [DONE]\n\n"
).encode()


@pytest.mark.parametrize("size", [1, 4, 9])
def test_stream_split_anywhere_with_writer_usage(emu: Emulator, size: int) -> None:
    emu.queue_stream("writer", split_every(STREAM, size))
    with writer(emu) as c, c.chat(MODEL, HI, stream=True) as s:
        text = "".join(s.text_stream)
        final = s.get_final_response()
    assert emu.last_request.json()["stream_options"] == {"include_usage": True}
    assert text == "สวัสดี 🙂 안녕" == final.text
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cached_input_tokens) == (9, 3, 5)


def test_emulated_stream_with_a_tool_call_async(emu: Emulator) -> None:
    async def run() -> tuple[list[Any], Any]:
        async with llmkit.AsyncClient(providers={"writer": {"api_key": "k", "base_url": emu.base_url("writer")}}) as c:
            s = await c.chat(MODEL, [{"role": "user", "content": "Weather in Oslo?"}], tools=[WEATHER], stream=True)
            return [e async for e in s], await s.get_final_response()

    events, final = asyncio.run(run())
    (end,) = [e for e in events if isinstance(e, ToolCallEnd)]
    assert end.tool_call.arguments == {"city": "Oslo"} and final.finish_reason == "tool_calls"


def test_an_error_event_in_a_stream_raises(emu: Emulator) -> None:
    err = {
        "tpe": "TooManyRequests",
        "errors": [{"description": "Rate limit exceeded", "key": "rate.limit", "extras": {}}],
        "extras": {},
    }
    emu.queue_stream("writer", [STREAM.split(b"\n\n")[0] + b"\n\n", f"event: error\ndata: {json.dumps(err)}\n\n"])
    with writer(emu) as c, pytest.raises(llmkit.APIError) as info, c.chat(MODEL, HI, stream=True) as s:
        list(s)
    # the event carries no HTTP status (the stream's was 200): it keeps Writer's key and body
    assert (str(info.value), info.value.code) == ("[writer rate.limit] Rate limit exceeded", "rate.limit")
    assert info.value.body["tpe"] == "TooManyRequests"


def test_writer_error_bodies(emu: Emulator) -> None:
    with writer(emu) as c:
        with pytest.raises(llmkit.NotFoundError) as info:
            c.chat("writer/palmyra-x9", HI)
        assert info.value.code == "model.not_found" and "Model palmyra-x9 not found" in str(info.value)
        emu.require_key = "other"
        with pytest.raises(llmkit.AuthenticationError, match="Invalid API key"):
            c.chat(MODEL, HI)


def test_missing_features_raise_before_any_request(emu: Emulator) -> None:
    with writer(emu) as c:
        for params in ({"response_format": {"type": "json_object"}}, {"parallel_tool_calls": True, "tools": [WEATHER]}):
            with pytest.raises(llmkit.UnsupportedFeatureError):
                c.chat(MODEL, HI, **params)
        with pytest.raises(llmkit.UnsupportedFeatureError, match="tool calling"):
            c.chat("writer/palmyra-x-003-instruct", HI, tools=[WEATHER])
        with pytest.raises(llmkit.UnsupportedFeatureError, match="token counting"):
            c.count_tokens(MODEL, HI)
    assert emu.requests == []
