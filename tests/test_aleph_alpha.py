"""Aleph Alpha on the wire: chat/completions (bearer token, tools with string arguments,
streams with Thai and German text split anywhere), the native complete route with its typed
stream items, tokenize, errors (402 quota is not retried, 503 busy is) and refusals before any
request. Fixtures follow wire-facts-regional.md §6."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._events import ToolCallEnd
from llmkit.testing._server import Emulator
from tests.conftest import split_every

MODEL = "aleph_alpha/llama-3.1-8b-instruct"
HI = [{"role": "user", "content": "Grüß Gott, สวัสดี"}]
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def aa(emu: Emulator, **extra: Any) -> llmkit.Client:
    settings = {"api_key": "aa-token", "base_url": emu.base_url("aleph_alpha"), "max_retries": 0, **extra}
    return llmkit.Client(providers={"aleph_alpha": settings})


def test_chat_on_the_wire(emu: Emulator) -> None:
    with aa(emu) as c:
        resp = c.chat(MODEL, [{"role": "developer", "content": "Kurz"}, *HI], max_tokens=30, temperature=0.0)
    req = emu.last_request
    assert (req.path, req.headers["authorization"]) == ("/aleph_alpha/chat/completions", "Bearer aa-token")
    assert req.json() == {
        "model": "llama-3.1-8b-instruct",
        "messages": [{"role": "system", "content": "Kurz"}, {"role": "user", "content": "Grüß Gott, สวัสดี"}],
        "max_tokens": 30,
        "temperature": 0.0,
    }
    assert (resp.text, resp.finish_reason) == ("You said: Grüß Gott, สวัสดี", "stop")


def test_tools_both_ways(emu: Emulator) -> None:
    with aa(emu) as c:
        first = c.chat(MODEL, [{"role": "user", "content": "Weather in Berlin?"}], tools=[WEATHER])
        call = first.tool_calls[0]
        second = c.chat(
            MODEL,
            [
                {"role": "user", "content": "Weather in Berlin?"},
                first.message,
                {"role": "tool", "tool_call_id": call.id, "content": "12C"},
            ],
            tools=[WEATHER],
        )
    assert (call.name, call.arguments, call.raw_arguments) == ("get_weather", {"city": "Berlin"}, '{"city": "Berlin"}')
    assert emu.last_request.json()["messages"][-1] == {"role": "tool", "tool_call_id": call.id, "content": "12C"}
    assert second.text == "The tool returned: 12C"


STREAM = (
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"llama-3.1-8b-instruct","choices":[{"index":0,"delta":{"role":"assistant","content":"Grüß "},"finish_reason":null}]}\n\n'
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"llama-3.1-8b-instruct","choices":[{"index":0,"delta":{"content":"สวัสดี 🙂"},"finish_reason":"stop"}]}\n\n'
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"llama-3.1-8b-instruct","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n'
    "data: [DONE]\n\n"
).encode()


@pytest.mark.parametrize("size", [1, 2, 13])
def test_chat_stream_split_anywhere(emu: Emulator, size: int) -> None:
    emu.queue_stream("aleph_alpha", split_every(STREAM, size))
    with aa(emu) as c, c.chat(MODEL, HI, stream=True) as s:
        text = "".join(s.text_stream)
        final = s.get_final_response()
    assert emu.last_request.json()["stream_options"] == {"include_usage": True}
    assert text == "Grüß สวัสดี 🙂" == final.text and (final.usage.input_tokens, final.usage.output_tokens) == (7, 3)


def test_emulated_tool_call_stream_async(emu: Emulator) -> None:
    async def run() -> list[Any]:
        async with llmkit.AsyncClient(
            providers={"aleph_alpha": {"api_key": "t", "base_url": emu.base_url("aleph_alpha")}}
        ) as c:
            s = await c.chat(MODEL, [{"role": "user", "content": "Weather in Bonn?"}], tools=[WEATHER], stream=True)
            return [e async for e in s]

    (end,) = [e for e in asyncio.run(run()) if isinstance(e, ToolCallEnd)]
    assert end.tool_call.arguments == {"city": "Bonn"}


def test_native_complete_plain_and_streamed(emu: Emulator) -> None:
    with aa(emu) as c:
        native = c.native("aleph_alpha")
        plain = native.complete(
            {"model": "luminous-base", "prompt": [{"type": "text", "data": "Hallo Welt"}], "maximum_tokens": 64}
        )
        items = list(native.complete_stream({"model": "luminous-base", "prompt": "Hallo Welt", "maximum_tokens": 64}))
    assert (
        plain.completions[0].completion == "You said: Hallo Welt"
        and plain.completions[0].finish_reason == "end_of_text"
    )
    assert emu.last_request.json() == {
        "model": "luminous-base",
        "prompt": "Hallo Welt",
        "maximum_tokens": 64,
        "stream": True,
    }
    assert "".join(i.completion or "" for i in items if i.type == "stream_chunk") == "You said: Hallo Welt"
    assert [i.type for i in items[-2:]] == ["stream_summary", "completion_summary"]
    assert items[-2].finish_reason == "end_of_text" and items[-1].num_tokens_generated == 4


def test_native_tokenize_and_models(emu: Emulator) -> None:
    with aa(emu) as c:
        native = c.native("aleph_alpha")
        toks = native.tokenize({"model": "luminous-base", "prompt": "Hallo Welt", "tokens": True, "token_ids": True})
        models = native.models_available()
    assert (toks.tokens, toks.token_ids) == (["ĠHallo", "ĠWelt"], [100, 101])
    assert "pharia-1-llm-7b-control" in [m["name"] for m in models]


def test_402_is_quota_and_not_retried(emu: Emulator) -> None:
    emu.queue_error("aleph_alpha", 402, "Not enough credits")
    with aa(emu, max_retries=2) as c, pytest.raises(llmkit.LLMKitError) as info:
        c.chat(MODEL, HI)
    assert info.value.status == 402 and info.value.code == "insufficient_quota"
    assert "credits are used up" in str(info.value) and len(emu.requests) == 1


def test_503_busy_is_retried(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    with aa(emu, max_retries=1) as c:
        monkeypatch.setattr(c, "_sleep", waits.append)
        emu.queue_error("aleph_alpha", 503, "Busy")
        assert c.chat(MODEL, HI).text == "You said: Grüß Gott, สวัสดี"
    assert len(emu.requests) == 2 and len(waits) == 1


def test_missing_features_raise_before_any_request(emu: Emulator) -> None:
    with aa(emu) as c:
        with pytest.raises(llmkit.UnsupportedFeatureError):
            c.chat(MODEL, HI, response_format={"type": "json_object"})
        with pytest.raises(llmkit.UnsupportedFeatureError, match="tool calling"):
            c.chat("aleph_alpha/luminous-base", HI, tools=[WEATHER])
        with pytest.raises(llmkit.UnsupportedFeatureError):
            c.count_tokens(MODEL, HI)
    assert emu.requests == []
