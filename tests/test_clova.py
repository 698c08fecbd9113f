"""CLOVA Studio v3 on the wire: model in the path, camelCase bodies, a request id per call, the
status/result envelope, tools with object arguments both ways, the named-event stream (`token`
deltas, a `result` that repeats the answer, `signal`, `error`) with Korean split anywhere, and
refusals before any request. Fixtures follow wire-facts-regional.md §4."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._events import FinishEvent, TextDelta, ToolCallEnd, UsageEvent
from llmkit.testing._server import Emulator
from tests.conftest import split_every

MODEL = "clova/HCX-005"
HI = [{"role": "user", "content": "안녕하세요, 반갑습니다"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "날씨",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def clova(emu: Emulator) -> llmkit.Client:
    return llmkit.Client(
        providers={"clova": {"api_key": "nv-test", "base_url": emu.base_url("clova"), "max_retries": 0}}
    )


def test_chat_request_and_envelope(emu: Emulator) -> None:
    with clova(emu) as c:
        resp = c.chat(
            MODEL,
            [{"role": "system", "content": "짧게"}, *HI],
            max_tokens=100,
            temperature=0.5,
            top_p=0.8,
            stop=["\n\n"],
            seed=7,
            provider_options={"topK": 0, "repetitionPenalty": 1.1},
        )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/clova/v3/chat-completions/HCX-005")
    assert req.headers["authorization"] == "Bearer nv-test" and req.headers["accept"] == "application/json"
    rid = req.headers["x-ncp-clovastudio-request-id"]
    assert rid.startswith("llmkit-") and len(rid) == len("llmkit-") + 36
    assert req.json() == {
        "messages": [{"role": "system", "content": "짧게"}, {"role": "user", "content": "안녕하세요, 반갑습니다"}],
        "maxTokens": 100,
        "temperature": 0.5,
        "topP": 0.8,
        "seed": 7,
        "stop": ["\n\n"],
        "topK": 0,
        "repetitionPenalty": 1.1,
    }
    assert (resp.text, resp.finish_reason, resp.usage.input_tokens) == ("You said: 안녕하세요, 반갑습니다", "stop", 3)


def test_every_call_has_its_own_request_id(emu: Emulator) -> None:
    with clova(emu) as c:
        c.chat(MODEL, HI)
        c.chat(MODEL, HI)
    ids = {r.headers["x-ncp-clovastudio-request-id"] for r in emu.requests}
    assert len(ids) == 2


def test_recorded_answer_with_thinking(emu: Emulator) -> None:
    emu.queue_json(
        "clova",
        {
            "status": {"code": "20000", "message": "OK"},
            "result": {
                "message": {"role": "assistant", "content": "안녕하세요!", "thinkingContent": "인사에 답한다"},
                "finishReason": "stop",
                "created": 1744710905000,
                "seed": 3284419119,
                "usage": {
                    "promptTokens": 20,
                    "completionTokens": 5,
                    "totalTokens": 25,
                    "completionTokensDetails": {"thinkingTokens": 3},
                },
                "aiFilter": [{"groupName": "curse", "name": "insult", "score": "1", "result": "OK"}],
            },
        },
    )
    with clova(emu) as c:
        resp = c.chat("clova/HCX-007", HI)
    assert (resp.text, resp.reasoning, resp.usage.reasoning_tokens) == ("안녕하세요!", "인사에 답한다", 3)
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (20, 5)


def test_tools_both_ways_with_object_arguments(emu: Emulator) -> None:
    with clova(emu) as c:
        first = c.chat(
            MODEL, [{"role": "user", "content": "Weather in Seoul?"}], tools=[WEATHER], tool_choice="get_weather"
        )
        call = first.tool_calls[0]
        history: list[Any] = [
            {"role": "user", "content": "Weather in Seoul?"},
            first.message,
            {"role": "tool", "tool_call_id": call.id, "content": "맑음"},
        ]
        second = c.chat(MODEL, history, tools=[WEATHER])
    sent = emu.requests[0].json()
    assert sent["tools"] == [WEATHER] and sent["toolChoice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }
    assert (call.id, call.name, call.arguments, first.finish_reason) == (
        "call_0",
        "get_weather",
        {"city": "Seoul"},
        "tool_calls",
    )
    assert emu.last_request.json()["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "toolCalls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Seoul"}},
                }
            ],
        },
        {"role": "tool", "toolCallId": "call_0", "content": "맑음"},
    ]
    assert second.text == "The tool returned: 맑음"


RECORDED_STREAM = (
    "id: aabdfe-dfgwr-edf-hpqwd-f3asd-bde2d\nevent: token\n"
    'data: {"message":{"role":"assistant","content":"안"},"finishReason":null,"created":1744710905,"seed":3284419119,"usage":null}\n\n'
    "id: aabdfe-dfgwr-edf-hpqwd-f3asd-bde2d\nevent:token\n"
    'data:{"message":{"role":"assistant","content":"녕하세요! 🙂"},"finishReason":null,"created":1744710905,"seed":3284419119,"usage":null}\n\n'
    "id: aabdfe-dfgwr-edf-hpqwd-f3asd-bde2d\nevent: result\n"
    'data: {"message":{"role":"assistant","content":"안녕하세요! 🙂"},"finishReason":"stop","created":1744710905,"seed":3284419119,'
    '"usage":{"promptTokens":20,"completionTokens":5,"totalTokens":25}}\n\n'
    'event: signal\ndata: {"data":"[DONE]"}\n\n'
).encode()


@pytest.mark.parametrize("size", [1, 3, 11])
def test_stream_text_is_not_doubled_by_the_result_event(emu: Emulator, size: int) -> None:
    emu.queue_stream("clova", split_every(RECORDED_STREAM, size))
    with clova(emu) as c, c.chat(MODEL, HI, stream=True) as s:
        events = list(s)
        final = s.get_final_response()
    req = emu.last_request
    assert req.headers["accept"] == "text/event-stream" and "stream" not in req.json()
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["안", "녕하세요! 🙂"]
    assert final.text == "안녕하세요! 🙂" and final.finish_reason == "stop"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (20, 5)
    assert isinstance(events[-1], FinishEvent) and isinstance(events[-2], UsageEvent)


def test_emulated_stream_and_tool_call_async(emu: Emulator) -> None:
    async def run() -> tuple[str, list[Any], Any]:
        async with llmkit.AsyncClient(providers={"clova": {"api_key": "nv-k", "base_url": emu.base_url("clova")}}) as c:
            s = await c.chat(MODEL, HI, stream=True)
            text = "".join([t async for t in s.text_stream])
            t = await c.chat(MODEL, [{"role": "user", "content": "Weather in Busan?"}], tools=[WEATHER], stream=True)
            return text, [e async for e in t], await t.get_final_response()

    text, events, final = asyncio.run(run())
    assert text == "You said: 안녕하세요, 반갑습니다"
    (end,) = [e for e in events if isinstance(e, ToolCallEnd)]
    assert end.tool_call.arguments == {"city": "Busan"} and final.finish_reason == "tool_calls"


def test_an_error_event_raises_typed(emu: Emulator) -> None:
    err = {"status": {"code": "42901", "message": "Too many requests - rate exceeded"}}
    emu.queue_stream(
        "clova", [RECORDED_STREAM.split(b"\n\n")[0] + b"\n\n", f"event: error\ndata: {json.dumps(err)}\n\n"]
    )
    with clova(emu) as c, pytest.raises(llmkit.APIError) as info, c.chat(MODEL, HI, stream=True) as s:
        list(s)
    assert (info.value.code, str(info.value)) == ("42901", "[clova 42901] Too many requests - rate exceeded")


def test_a_stream_without_result_is_cut_short(emu: Emulator) -> None:
    emu.queue_stream("clova", [RECORDED_STREAM.split(b"event: result")[0]])
    with (
        clova(emu) as c,
        pytest.raises(llmkit.StreamError, match="before its `result` event"),
        c.chat(MODEL, HI, stream=True) as s,
    ):
        list(s)


def test_envelope_errors(emu: Emulator) -> None:
    with clova(emu) as c:
        with pytest.raises(llmkit.NotFoundError) as info:
            c.chat("clova/HCX-999", HI)
        assert (info.value.code, info.value.body) == (
            "40400",
            {"status": {"code": "40400", "message": "Model HCX-999 not found"}, "result": None},
        )
        emu.queue_error("clova", 403, "Token quota used up", "40380")
        with pytest.raises(llmkit.AuthenticationError, match="Token quota used up"):
            c.chat(MODEL, HI)
        emu.queue_json("clova", {"status": {"code": "40003", "message": "Text too long"}, "result": None})
        with pytest.raises(llmkit.APIError, match="Text too long"):
            c.chat(MODEL, HI)  # a non-OK status in a 200 envelope is an error, not an empty answer


def test_missing_features_raise_before_any_request(emu: Emulator) -> None:
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    with clova(emu) as c:
        for params, messages in (
            ({"response_format": {"type": "json_object"}}, HI),
            ({"tools": [WEATHER], "tool_choice": "required"}, HI),
            ({"parallel_tool_calls": True, "tools": [WEATHER]}, HI),
            ({}, image),
        ):
            with pytest.raises(llmkit.UnsupportedFeatureError):
                c.chat(MODEL, messages, **params)
    assert emu.requests == []
