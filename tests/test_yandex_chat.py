"""YandexGPT chat on the wire: answers with int64 strings, the cumulative NDJSON stream turned into
deltas (Cyrillic, Thai and emoji split anywhere), tool calls both ways, async completion with
operation polling, tokenizeCompletion, the OpenAI-compatible route, errors and refusals."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._events import FinishEvent, TextDelta, ToolCallEnd, UsageEvent
from llmkit.testing._server import Emulator
from llmkit.testing._yandex_emu import embedding_vector
from tests.conftest import split_every
from tests.test_yandex import FOLDER, HI, MODEL, WEATHER, paths, yandex

RECORDED = {
    "result": {
        "alternatives": [
            {
                "message": {"role": "assistant", "text": "Errors will not correct themselves."},
                "status": "ALTERNATIVE_STATUS_FINAL",
            }
        ],
        "usage": {"inputTextTokens": "29", "completionTokens": "9", "totalTokens": "38"},
        "modelVersion": "07.03.2024",
    }
}


def _line(text: str, status: str, out: int) -> str:
    alt = {"message": {"role": "assistant", "text": text}, "status": status}
    usage = {"inputTextTokens": "12", "completionTokens": str(out), "totalTokens": str(12 + out)}
    return (
        json.dumps(
            {"result": {"alternatives": [alt], "usage": usage, "modelVersion": "07.03.2024"}}, ensure_ascii=False
        )
        + "\n"
    )


CUMULATIVE = (
    _line("Привет", "ALTERNATIVE_STATUS_PARTIAL", 1)
    + _line("Привет! สวัสดี", "ALTERNATIVE_STATUS_PARTIAL", 3)
    + _line("Привет! สวัสดี 🙂 안녕", "ALTERNATIVE_STATUS_FINAL", 5)
).encode()


def test_a_recorded_answer_with_string_counters(emu: Emulator) -> None:
    emu.queue_json("yandex", RECORDED)
    with yandex(emu) as c:
        resp = c.chat("yandex/yandexgpt-lite/latest", HI)
    assert (resp.text, resp.finish_reason, resp.id, resp.model) == (
        "Errors will not correct themselves.",
        "stop",
        None,
        "yandexgpt-lite/latest",
    )
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (29, 9)


@pytest.mark.parametrize("size", [1, 5, 64])
def test_cumulative_stream_becomes_deltas_split_anywhere(emu: Emulator, size: int) -> None:
    emu.queue_stream("yandex", split_every(CUMULATIVE, size), content_type="application/json")
    with yandex(emu) as c, c.chat(MODEL, HI, stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert emu.last_request.json()["completionOptions"] == {"stream": True}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Привет", "! สวัสดี", " 🙂 안녕"]
    assert final.text == "Привет! สวัสดี 🙂 안녕"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.finish_reason) == (12, 5, "stop")
    assert isinstance(events[-1], FinishEvent) and isinstance(events[-2], UsageEvent)


def test_emulated_stream_and_async(emu: Emulator) -> None:
    async def run() -> tuple[list[str], Any]:
        async with llmkit.AsyncClient(
            providers={"yandex": {"api_key": "test-key", "folder_id": FOLDER, "base_url": emu.base_url("yandex")}}
        ) as c:
            stream = await c.chat(MODEL, HI, stream=True)
            pieces = [t async for t in stream.text_stream]
            return pieces, await stream.get_final_response()

    pieces, final = asyncio.run(run())
    assert pieces == ["You ", "said: ", "Привет, ", "как ", "дела?"]
    assert final.text == "You said: Привет, как дела?" and final.raw_finish_reason == "ALTERNATIVE_STATUS_FINAL"


def test_a_stream_without_a_final_status_is_cut_short(emu: Emulator) -> None:
    cut = CUMULATIVE.rsplit(b"\n", 2)[0] + b"\n"
    emu.queue_stream("yandex", [cut], content_type="application/json")
    with (
        yandex(emu) as c,
        pytest.raises(llmkit.StreamError, match="before a final status"),
        c.chat(MODEL, HI, stream=True) as s,
    ):
        list(s)


def test_a_stream_whose_text_goes_backwards_is_an_error(emu: Emulator) -> None:
    body = _line("Привет мир", "ALTERNATIVE_STATUS_PARTIAL", 2) + _line("Пока", "ALTERNATIVE_STATUS_FINAL", 3)
    emu.queue_stream("yandex", [body], content_type="application/json")
    with (
        yandex(emu) as c,
        pytest.raises(llmkit.StreamError, match="cumulative text expected"),
        c.chat(MODEL, HI, stream=True) as s,
    ):
        list(s)


def test_an_error_line_in_a_stream_is_typed(emu: Emulator) -> None:
    err = {
        "error": {
            "grpcCode": 8,
            "httpCode": 429,
            "message": "ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed",
            "httpStatus": "Too Many Requests",
            "details": [],
        }
    }
    emu.queue_stream(
        "yandex",
        [_line("При", "ALTERNATIVE_STATUS_PARTIAL", 1), json.dumps(err) + "\n"],
        content_type="application/json",
    )
    with (
        yandex(emu) as c,
        pytest.raises(llmkit.RateLimitError, match="quota limit exceed"),
        c.chat(MODEL, HI, stream=True) as s,
    ):
        list(s)


def test_tools_both_ways(emu: Emulator) -> None:
    with yandex(emu) as c:
        first = c.chat(MODEL, [{"role": "user", "content": "Weather in Paris and Rome?"}], tools=[WEATHER])
        call = first.tool_calls[0]
        history: list[Any] = [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": call.id, "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                    {"id": "call_1_get_weather", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "+18"},
            {"role": "tool", "tool_call_id": "call_1_get_weather", "content": "+24"},
        ]
        second = c.chat(MODEL, history, tools=[WEATHER])
    assert emu.requests[0].json()["tools"] == [{"function": WEATHER["function"]}]
    assert (call.id, call.name, call.arguments) == ("call_0_get_weather", "get_weather", {"city": "Rome"})
    assert (first.finish_reason, first.raw_finish_reason) == ("tool_calls", "ALTERNATIVE_STATUS_TOOL_CALLS")
    assert emu.last_request.json()["messages"] == [
        {"role": "user", "text": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "toolCallList": {
                "toolCalls": [
                    {"functionCall": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_weather", "arguments": {"city": "Rome"}}},
                ]
            },
        },
        {
            "role": "user",
            "toolResultList": {
                "toolResults": [
                    {"functionResult": {"name": "get_weather", "content": "+18"}},
                    {"functionResult": {"name": "get_weather", "content": "+24"}},
                ]
            },
        },
    ]
    assert second.text == "The tool returned: +18; +24"


def test_streamed_tool_call(emu: Emulator) -> None:
    with (
        yandex(emu) as c,
        c.chat(MODEL, [{"role": "user", "content": "Weather in Oslo?"}], tools=[WEATHER], stream=True) as s,
    ):
        events = list(s)
        final = s.get_final_response()
    (end,) = [e for e in events if isinstance(e, ToolCallEnd)]
    assert end.tool_call.arguments == {"city": "Oslo"} and final.tool_calls[0].id == "call_0_get_weather"
    assert final.finish_reason == "tool_calls"


def test_tool_choice_none_leaves_the_tools_out(emu: Emulator) -> None:
    with yandex(emu) as c:
        resp = c.chat(MODEL, HI, tools=[WEATHER], tool_choice="none")
    assert "tools" not in emu.last_request.json() and resp.tool_calls == []


@pytest.mark.parametrize(
    ("params", "messages", "code"),
    [
        ({"stop": ["\n"]}, HI, "stop"),
        ({"seed": 1}, HI, "seed"),
        ({"top_p": 0.5}, HI, "top_p"),
        ({"user": "u"}, HI, "user"),
        ({"tools": [WEATHER], "tool_choice": "required"}, HI, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, HI, "json_object"),
        ({"parallel_tool_calls": True, "tools": [WEATHER]}, HI, "parallel_tool_calls"),
        ({}, [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], "vision"),
    ],
)
def test_missing_features_raise_before_any_request(emu: Emulator, params: Any, messages: Any, code: str) -> None:
    with yandex(emu) as c, pytest.raises(llmkit.UnsupportedFeatureError) as info:
        c.chat(MODEL, messages, **params)
    assert info.value.code == code and emu.requests == []


def test_async_completion_and_operation_polling(emu: Emulator) -> None:
    body = {
        "modelUri": f"gpt://{FOLDER}/yandexgpt/latest",
        "completionOptions": {"maxTokens": "50"},
        "messages": [{"role": "user", "text": "Привет"}],
    }
    with yandex(emu) as c:
        native = c.native("yandex")
        op = native.completion_async(body)
        polls = [native.get_operation(op.id) for _ in range(2)]
    assert (op.done, op.description, polls[0].done, polls[1].done) == (False, "Async GPT Completion", False, True)
    response = polls[1].response
    assert response["@type"] == "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.CompletionResponse"
    assert response["alternatives"][0]["message"] == {"role": "assistant", "text": "You said: Привет"}
    assert paths(emu) == ["/foundationModels/v1/completionAsync", f"/operations/{op.id}", f"/operations/{op.id}"]
    assert emu.requests[1].headers["authorization"] == "Api-Key test-key"


def test_count_tokens_with_tokenize_completion(emu: Emulator) -> None:
    with yandex(emu) as c:
        n = c.count_tokens(MODEL, HI)
    req = emu.last_request
    assert req.subpath == "/foundationModels/v1/tokenizeCompletion"
    assert req.json() == {
        "modelUri": f"gpt://{FOLDER}/yandexgpt/latest",
        "completionOptions": {"stream": False},
        "messages": [{"role": "user", "text": "Привет, как дела?"}],
    }
    assert int(n) == 3


def test_native_text_embedding(emu: Emulator) -> None:
    with yandex(emu) as c:
        out = c.native("yandex").text_embedding(
            {"modelUri": f"emb://{FOLDER}/text-search-doc/latest", "text": "Привет мир"}
        )
    assert out.num_tokens == "2" and out.embedding == embedding_vector("text-search-doc", "Привет мир")


def test_the_openai_compatible_route(emu: Emulator) -> None:
    with yandex(emu, api="openai") as c:
        resp = c.chat(MODEL, [{"role": "developer", "content": "Кратко"}, *HI], max_tokens=20)
        with c.chat("yandex/yandexgpt-lite/rc", HI, stream=True) as s:
            text = "".join(s.text_stream)
            final = s.get_final_response()
    plain, streamed = emu.requests
    assert (plain.subpath, plain.headers["authorization"]) == ("/v1/chat/completions", "Api-Key test-key")
    assert plain.json() == {
        "model": f"gpt://{FOLDER}/yandexgpt/latest",
        "messages": [{"role": "system", "content": "Кратко"}, {"role": "user", "content": "Привет, как дела?"}],
        "max_tokens": 20,
    }
    assert resp.model == "gpt://yandexgpt/latest" and resp.id.startswith("chatcmpl-")
    assert streamed.json()["stream_options"] == {"include_usage": True}
    assert text == "You said: Привет, как дела?" == final.text and final.usage.output_tokens == 5


def test_unknown_model_is_not_found(emu: Emulator) -> None:
    with yandex(emu) as c, pytest.raises(llmkit.NotFoundError) as info:
        c.chat("yandex/yandexgpt-ultra/latest", HI)
    assert info.value.status == 404 and info.value.code == "5"
    assert f"Model gpt://{FOLDER}/yandexgpt-ultra/latest is not found" in str(info.value)


def test_a_wrong_api_key(emu: Emulator) -> None:
    emu.require_key = "the-right-key"
    with yandex(emu, api_key="wrong") as c, pytest.raises(llmkit.AuthenticationError, match="Unknown api key"):
        c.chat(MODEL, HI)
    assert emu.last_request.headers["authorization"] == "Api-Key wrong"


def test_the_short_error_form(emu: Emulator) -> None:
    emu.queue_json("yandex", {"error": "invalid character '}' looking for beginning of object key string"}, status=400)
    with yandex(emu) as c, pytest.raises(llmkit.BadRequestError, match="invalid character"):
        c.chat(MODEL, HI)


def test_emulator_refuses_a_message_with_two_kinds(emu: Emulator) -> None:
    bad = {
        "modelUri": f"gpt://{FOLDER}/yandexgpt/latest",
        "messages": [{"role": "user", "text": "x", "toolResultList": {"toolResults": []}}],
    }
    with (
        yandex(emu) as c,
        pytest.raises(llmkit.BadRequestError, match="exactly one of text, toolCallList, toolResultList"),
    ):
        c.native("yandex").completion(bad)


def test_the_decoder_gives_a_delta_per_ndjson_line_as_it_arrives() -> None:
    """With NDJSON framing (the decoder's `framing`), each line is decoded as soon as it is complete."""
    from llmkit._ndjson import NDJSONDecoder
    from llmkit._registry import provider_spec
    from llmkit.dialects._base import CallContext
    from llmkit.dialects.yandex import DIALECT, YandexStreamDecoder

    decoder = DIALECT.stream_decoder(CallContext(spec=provider_spec("yandex"), model="yandexgpt/latest"))
    assert isinstance(decoder, YandexStreamDecoder) and decoder.framing == "ndjson"
    framer = NDJSONDecoder()
    seen: list[list[str]] = []
    for piece in split_every(CUMULATIVE, 7):
        texts = [e.text for v in framer.feed(piece) for e in decoder.feed(v) if isinstance(e, TextDelta)]
        if texts:
            seen.append(texts)
    assert seen == [["Привет"], ["! สวัสดี"], [" 🙂 안녕"]]  # one delta per line, not all at the end
    assert decoder.end() == [] and decoder.acc.response().text == "Привет! สวัสดี 🙂 안녕"
