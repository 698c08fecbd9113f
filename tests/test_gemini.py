"""Gemini on the wire: exact requests, real response and stream shapes, errors, emulator.

Fixtures are written from wire-facts-core.md §4 (the stream example is the raw capture of
simonw/llm-gemini#97, served with the CRLF line endings the real API uses).
"""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

import llmkit
from llmkit._events import (
    FinishEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageEvent,
)
from llmkit._types import ImagePart, Message, ReasoningPart, TextPart, ToolCall
from llmkit._wire import structure
from llmkit.generated.wire import gemini as wire
from tests.conftest import split_every

MODEL = "gemini/gemini-2.5-flash"
PATH = "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
STREAM_PATH = "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
WEATHER_DECL = {
    "name": "get_weather",
    "description": "Weather now",
    "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}

# The verbatim capture (wire-facts-core.md §4), framed with CRLF as Gemini sends it.
STREAM_EVENTS = [
    'data: {"candidates": [{"content": {"parts": [{"text": "Here you go!\\n\\n1.  **English:** Hi\\n"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 39,"totalTokenCount": 230,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 5}],"thoughtsTokenCount": 186},"modelVersion": "models/gemini-2.5-flash-preview-05-20","responseId": "AdVRaMmDCYekqtsPrb_-iAw"}',
    'data: {"candidates": [{"content": {"parts": [{"text": "**Italian:** Ciao"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 44,"totalTokenCount": 235,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 5}],"thoughtsTokenCount": 186},"modelVersion": "models/gemini-2.5-flash-preview-05-20","responseId": "AdVRaMmDCYekqtsPrb_-iAw"}',
]
STREAM = "".join(e + "\r\n\r\n" for e in STREAM_EVENTS).encode()


def _response(parts: list[dict], finish: str | None = "STOP", usage: dict | None = None) -> dict:
    cand: dict = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        cand["finishReason"] = finish
    return {
        "candidates": [cand],
        "usageMetadata": usage or {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }


def _sse(*chunks: dict) -> bytes:
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()


# ---- requests on the wire ------------------------------------------------------------------


def test_plain_chat_exact_wire(emu, client) -> None:
    resp = client.chat(
        MODEL,
        [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": "No emoji."},
            {"role": "user", "content": "Hello Paris"},
        ],
        max_tokens=20,
        temperature=0.2,
        top_p=0.9,
        stop="END",
        seed=7,
    )
    req = emu.last_request
    assert req.method == "POST"
    assert req.path == PATH
    assert req.query == {}
    assert req.headers["x-goog-api-key"] == "test-key"
    assert "authorization" not in req.headers
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Hello Paris"}]}],
        "systemInstruction": {"parts": [{"text": "Be terse."}, {"text": "No emoji."}]},
        "generationConfig": {
            "maxOutputTokens": 20,
            "temperature": 0.2,
            "topP": 0.9,
            "seed": 7,
            "stopSequences": ["END"],
        },
    }
    assert resp.text == "You said: Hello Paris"
    assert resp.finish_reason == "stop" and resp.raw_finish_reason == "STOP"
    assert resp.provider == "gemini" and resp.model == "gemini-2.5-flash"
    assert resp.id == "emuResponse0"
    assert resp.usage.input_tokens == 6 and resp.usage.output_tokens == 4
    assert resp.cost_usd == pytest.approx((6 * 0.30 + 4 * 2.50) / 1e6)


def test_model_is_percent_encoded_in_path(emu, client) -> None:
    emu.queue_json("gemini", _response([{"text": "ok"}]))
    client.chat("gemini/tuned/my model:v1@x", "Hi")
    assert emu.last_request.path == "/gemini/v1beta/models/tuned%2Fmy%20model%3Av1%40x:generateContent"
    emu.queue_json("gemini", _response([{"text": "ok"}]))
    client.chat("gemini/models/gemini-2.5-flash", "Hi")  # the resource name works too
    assert emu.last_request.path == PATH


def test_stream_request_uses_alt_sse(emu, client) -> None:
    stream = client.chat(MODEL, "Hi", stream=True, max_tokens=50)
    assert stream.get_final_response().text == "You said: Hi"
    req = emu.last_request
    assert req.path == STREAM_PATH
    assert req.query == {"alt": "sse"}
    assert req.headers["accept"] == "text/event-stream"
    assert req.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "generationConfig": {"maxOutputTokens": 50},
    }


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("any", {"mode": "ANY"}),
        ("get_weather", {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tools_and_tool_choice(emu, client, choice, config) -> None:
    resp = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice=choice)
    body = emu.last_request.json()
    assert body["tools"] == [{"functionDeclarations": [WEATHER_DECL]}]
    assert body["toolConfig"] == {"functionCallingConfig": config}
    if choice == "none":
        assert resp.tool_calls == [] and resp.finish_reason == "stop"
    else:
        assert resp.finish_reason == "tool_calls" and resp.raw_finish_reason == "STOP"
        call = resp.tool_calls[0]
        assert (call.id, call.name, call.arguments) == ("call_0", "get_weather", {"city": "Paris"})
        assert call.provider_data == {
            "thoughtSignature": base64.b64encode(b"emu-signature:get_weather").decode(),
            "synthetic_id": True,
        }


def test_function_response_turn_echoes_signature(emu, client) -> None:
    first = client.chat("gemini/gemini-3.1-pro-preview", "Weather in Paris?", tools=[WEATHER])
    sig = first.tool_calls[0].provider_data["thoughtSignature"]
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        first.message,
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "sunny, 21°C"},
    ]
    resp = client.chat("gemini/gemini-3.1-pro-preview", history, tools=[WEATHER])
    assert emu.last_request.json()["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": sig}],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 21°C"}}}],
        },
    ]
    assert resp.text == "The tool returned: sunny, 21°C"


def test_gemini3_rejects_a_call_without_its_signature(emu, client) -> None:
    first = client.chat("gemini/gemini-3.1-pro-preview", "Weather in Paris?", tools=[WEATHER])
    first.tool_calls[0].provider_data = {"synthetic_id": True}
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        first.message,
        {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
    ]
    with pytest.raises(llmkit.BadRequestError, match="missing a thought_signature"):
        client.chat("gemini/gemini-3.1-pro-preview", history, tools=[WEATHER])


def test_consecutive_tool_results_merge_into_one_turn(emu, client) -> None:
    history = [
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "b", "content": "noon"},
    ]
    resp = client.chat(MODEL, history)
    assert emu.last_request.json()["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "a"}},
                {"functionCall": {"name": "get_time", "args": {}, "id": "b"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}, "id": "a"}},
                {"functionResponse": {"name": "get_time", "response": {"result": "noon"}, "id": "b"}},
            ],
        },
    ]
    assert resp.text == 'The tool returned: {"temp": 21} noon'


def test_tool_result_without_known_name_fails_before_sending(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="function name"):
        client.chat(MODEL, [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "zz", "content": "1"}])
    assert emu.requests == []


def test_image_turn_inline_and_file_data(emu, client) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    msg = Message(
        role="user",
        content=[
            TextPart(text="Compare"),
            ImagePart(data=png, media_type="image/png"),
            ImagePart(url="data:image/webp;base64,UklGRg=="),
            ImagePart(url="https://example.com/cat.PNG?size=2"),
            ImagePart(url="https://example.com/photo"),
        ],
    )
    resp = client.chat(MODEL, [msg])
    assert emu.last_request.json()["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "Compare"},
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}},
                {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
                {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.PNG?size=2"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}},
            ],
        }
    ]
    assert resp.text == "You said: Compare (I see 4 images.)"


def test_structured_output_json_schema_and_json_object(emu, client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    resp = client.chat(
        MODEL,
        "Capital of France is Paris",
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    assert emu.last_request.json()["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    assert json.loads(resp.text) == {"city": "Paris"}
    resp = client.chat(MODEL, "Hi", response_format={"type": "json_object"})
    assert emu.last_request.json()["generationConfig"] == {"responseMimeType": "application/json"}
    assert json.loads(resp.text) == {"answer": "Hi"}


def test_thinking_config_budget_and_effort(emu, client) -> None:
    resp = client.chat(MODEL, "Hi there", reasoning_budget=2048)
    assert emu.last_request.json()["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True}
    }
    assert resp.reasoning == "The user wrote 2 words; answer plainly."
    assert resp.text == "You said: Hi there"
    assert resp.usage.reasoning_tokens == 7
    assert resp.usage.output_tokens == 4 + 7
    client.chat(MODEL, "Hi", reasoning_effort="high")
    assert emu.last_request.json()["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": True}
    }
    client.chat(MODEL, "Hi", reasoning_budget=0)
    assert emu.last_request.json()["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 0}}
    with pytest.raises(llmkit.BadRequestError, match="Budget 0 is invalid"):
        client.chat("gemini/gemini-2.5-pro", "Hi", reasoning_budget=0)


def test_provider_options_merge_into_nested_config(emu, client) -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    client.chat(
        MODEL, "Hi", max_tokens=5, provider_options={"generationConfig": {"topK": 40}, "safetySettings": safety}
    )
    body = emu.last_request.json()
    assert body["generationConfig"] == {"maxOutputTokens": 5, "topK": 40}
    assert body["safetySettings"] == safety
    with pytest.raises(llmkit.BadRequestError, match="Unknown name \"bogus\" at 'generation_config'"):
        client.chat(MODEL, "Hi", extra_body={"generationConfig": {"bogus": 1}})


# ---- responses -----------------------------------------------------------------------------


def test_usage_with_thoughts_cached_and_cost(emu, client) -> None:
    usage = {
        "promptTokenCount": 2000,
        "candidatesTokenCount": 100,
        "thoughtsTokenCount": 50,
        "cachedContentTokenCount": 1000,
        "totalTokenCount": 2150,
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1000}],
    }
    emu.queue_json("gemini", _response([{"text": "ok"}], usage=usage))
    resp = client.chat(MODEL, "Hi")
    u = resp.usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens) == (2000, 150, 1000, 50)
    assert resp.cost_usd == pytest.approx((1000 * 0.30 + 1000 * 0.03 + 150 * 2.50) / 1e6)


def test_thought_parts_and_signatures_parsed(emu, client) -> None:
    emu.queue_json(
        "gemini",
        _response(
            [
                {"text": "Let me think.", "thought": True},
                {"text": "Answer", "thoughtSignature": "c2ln"},
                {"text": " here."},
                {"thoughtSignature": "b25seQ=="},
            ]
        ),
    )
    resp = client.chat(MODEL, "Hi")
    assert resp.text == "Answer here."
    assert resp.reasoning == "Let me think."
    assert resp.message.content == [
        ReasoningPart(text="Let me think."),
        ReasoningPart(signature="c2ln"),
        TextPart(text="Answer here."),
        ReasoningPart(signature="b25seQ=="),
    ]
    client.chat(MODEL, [{"role": "user", "content": "Hi"}, resp.message, {"role": "user", "content": "More"}])
    assert emu.last_request.json()["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Let me think.", "thought": True},
            {"text": "Answer here.", "thoughtSignature": "c2ln"},
            {"thoughtSignature": "b25seQ=="},
        ],
    }


def test_function_call_with_id_keeps_it(emu, client) -> None:
    emu.queue_json(
        "gemini", _response([{"functionCall": {"id": "fc-1", "name": "get_weather", "args": {"city": "Rome"}}}])
    )
    resp = client.chat(MODEL, "Weather?", tools=[WEATHER])
    assert resp.tool_calls == [
        ToolCall(
            id="fc-1",
            name="get_weather",
            arguments={"city": "Rome"},
            raw_arguments='{"city": "Rome"}',
            provider_data=None,
        )
    ]
    assert resp.finish_reason == "tool_calls"


def test_prompt_blocked_raises_content_filter(emu, client) -> None:
    blocked = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    emu.queue_json("gemini", blocked)
    with pytest.raises(llmkit.ContentFilterError, match="PROHIBITED_CONTENT") as info:
        client.chat(MODEL, "something bad")
    assert info.value.code == "PROHIBITED_CONTENT" and info.value.provider == "gemini"
    emu.queue_stream("gemini", [_sse(blocked)])
    with pytest.raises(llmkit.ContentFilterError):
        client.chat(MODEL, "something bad", stream=True).get_final_response()


def test_candidate_safety_finish_is_content_filter(emu, client) -> None:
    emu.queue_json(
        "gemini",
        {
            "candidates": [
                {
                    "finishReason": "SAFETY",
                    "index": 0,
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH", "blocked": True}
                    ],
                }
            ],
            "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4},
        },
    )
    resp = client.chat(MODEL, "x")
    assert (resp.finish_reason, resp.raw_finish_reason, resp.text) == ("content_filter", "SAFETY", "")


def test_unknown_finish_reason_and_part_keys_are_kept(emu, client) -> None:
    body = _response([{"text": "hi", "brandNewField": {"x": 1}}, {"mysteryPart": {"y": 2}}], finish="NEW_REASON")
    emu.queue_json("gemini", body)
    resp = client.chat(MODEL, "x")
    assert (resp.finish_reason, resp.raw_finish_reason, resp.text) == ("other", "NEW_REASON", "hi")
    assert resp.raw == body
    parsed = structure(resp.raw, wire.GenerateContentResponse)
    parts = parsed.candidates[0].content.parts
    assert parts[0].additional_properties == {"brandNewField": {"x": 1}}
    assert parts[1].additional_properties == {"mysteryPart": {"y": 2}}


# ---- streams -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, 64, len(STREAM)])
def test_verbatim_sse_capture_split_anywhere(emu, client, size) -> None:
    emu.queue_stream("gemini", split_every(STREAM, size))
    stream = client.chat(MODEL, "Hi", stream=True)
    events = list(stream)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Here you go!\n\n1.  **English:** Hi\n",
        "**Italian:** Ciao",
    ]
    assert isinstance(events[-1], FinishEvent) and events[-1].finish_reason == "stop"
    final = stream.get_final_response()
    assert final.text == "Here you go!\n\n1.  **English:** Hi\n**Italian:** Ciao"
    assert final.id == "AdVRaMmDCYekqtsPrb_-iAw"
    assert final.model == "gemini-2.5-flash-preview-05-20"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.reasoning_tokens) == (5, 230, 186)
    assert final.raw_finish_reason == "STOP"
    assert final.cost_usd == pytest.approx((5 * 0.30 + 230 * 2.50) / 1e6)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_stream_split_mid_utf8_character(emu, client, size) -> None:
    data = STREAM.replace(b"Ciao", "Ciao 👋 çà".encode())
    emu.queue_stream("gemini", split_every(data, size))
    assert client.chat(MODEL, "Hi", stream=True).get_final_response().text.endswith("**Italian:** Ciao 👋 çà")


def test_raw_json_error_inside_stream_raises_typed(emu, client) -> None:
    error = (
        '{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded. Please try again later.",\n'
        '    "status": "UNAVAILABLE"\n  }\n}\n'
    )
    emu.queue_stream("gemini", [STREAM_EVENTS[0].encode() + b"\r\n\r\n", error.encode()])
    stream = client.chat(MODEL, "Hi", stream=True)
    seen: list[str] = []
    with pytest.raises(llmkit.ServerError, match="overloaded") as info:
        for ev in stream:
            if isinstance(ev, TextDelta):
                seen.append(ev.text)
    assert seen == ["Here you go!\n\n1.  **English:** Hi\n"]
    assert info.value.code == "UNAVAILABLE" and info.value.status == 503


def test_error_data_event_inside_stream_raises_rate_limit(emu, client) -> None:
    err = {
        "error": {
            "code": 429,
            "message": "Quota exceeded",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
        }
    }
    emu.queue_stream("gemini", [_sse(err)])
    with pytest.raises(llmkit.RateLimitError) as info:
        client.chat(MODEL, "Hi", stream=True).get_final_response()
    assert info.value.retry_after == 12.0


def test_stream_closed_without_finish_reason_raises(emu, client) -> None:
    emu.queue_stream("gemini", [STREAM_EVENTS[0].encode() + b"\r\n\r\n"])
    stream = client.chat(MODEL, "Hi", stream=True)
    texts: list[str] = []
    with pytest.raises(llmkit.StreamError, match="without a finishReason"):
        for ev in stream:
            if isinstance(ev, TextDelta):
                texts.append(ev.text)
    assert texts == ["Here you go!\n\n1.  **English:** Hi\n"]


def test_function_call_in_stream(emu, client) -> None:
    emu.queue_stream(
        "gemini",
        [
            _sse(
                {
                    "candidates": [
                        {"content": {"parts": [{"text": "Checking.", "thought": True}], "role": "model"}, "index": 0}
                    ]
                },
                {
                    "candidates": [
                        {
                            "content": {
                                "parts": [
                                    {
                                        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                        "thoughtSignature": "c2ln",
                                    },
                                    {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
                                ],
                                "role": "model",
                            },
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": {
                        "promptTokenCount": 10,
                        "candidatesTokenCount": 12,
                        "thoughtsTokenCount": 3,
                        "totalTokenCount": 25,
                    },
                },
            )
        ],
    )
    stream = client.chat(MODEL, "Weather?", stream=True, tools=[WEATHER])
    events = list(stream)
    kinds = [type(e) for e in events]
    assert kinds == [
        ReasoningDelta,
        ToolCallStart,
        ToolCallDelta,
        ToolCallEnd,
        ToolCallStart,
        ToolCallDelta,
        ToolCallEnd,
        UsageEvent,
        FinishEvent,
    ]
    assert events[1] == ToolCallStart(index=0, id="call_0", name="get_weather")
    assert events[2] == ToolCallDelta(index=0, arguments='{"city": "Paris"}')
    final = stream.get_final_response()
    assert final.finish_reason == "tool_calls"
    assert [(c.id, c.arguments) for c in final.tool_calls] == [
        ("call_0", {"city": "Paris"}),
        ("call_1", {"city": "Rome"}),
    ]
    assert final.tool_calls[0].provider_data == {"thoughtSignature": "c2ln", "synthetic_id": True}
    assert final.reasoning == "Checking."
    assert (final.usage.input_tokens, final.usage.output_tokens) == (10, 15)


def test_emulator_stream_matches_non_stream(emu, client) -> None:
    plain = client.chat(MODEL, "Tell me about Rome", reasoning_budget=512)
    streamed = client.chat(MODEL, "Tell me about Rome", stream=True, reasoning_budget=512).get_final_response()
    assert streamed.text == plain.text == "You said: Tell me about Rome"
    assert streamed.reasoning == plain.reasoning
    assert streamed.usage == plain.usage
    assert streamed.finish_reason == plain.finish_reason == "stop"


# ---- token counting and native client ------------------------------------------------------


def test_count_tokens(emu, client) -> None:
    n = client.count_tokens(MODEL, [{"role": "user", "content": "Hello there, Gemini"}])
    req = emu.last_request
    assert req.path == "/gemini/v1beta/models/gemini-2.5-flash:countTokens"
    assert req.json() == {"contents": [{"role": "user", "parts": [{"text": "Hello there, Gemini"}]}]}
    assert n == 3
    n = client.count_tokens(
        MODEL,
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello there, Gemini"}],
        tools=[WEATHER],
    )
    assert emu.last_request.json() == {
        "generateContentRequest": {
            "model": "models/gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": "Hello there, Gemini"}]}],
            "systemInstruction": {"parts": [{"text": "Be terse."}]},
            "tools": [{"functionDeclarations": [WEATHER_DECL]}],
        }
    }
    assert n == 5


def test_native_client(emu, client) -> None:
    native = client.native("gemini")
    out = native.generate_content("gemini-2.5-flash", {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
    assert isinstance(out, wire.GenerateContentResponse)
    assert out.candidates[0].content.parts[0].text == "You said: Hi"
    assert out.usage_metadata.prompt_token_count == 1
    assert emu.last_request.path == PATH
    models = native.list_models()
    assert "models/gemini-2.5-flash" in [m.name for m in models.models]
    assert "models/gemini-2.0-flash" not in [m.name for m in models.models]
    assert native.count_tokens("gemini-2.5-flash", {"contents": [{"parts": [{"text": "a b"}]}]}).total_tokens == 2


# ---- errors --------------------------------------------------------------------------------


def test_error_mapping(emu, client) -> None:
    emu.queue_error("gemini", 400, "Invalid value", "INVALID_ARGUMENT")
    with pytest.raises(llmkit.BadRequestError) as bad:
        client.chat(MODEL, "Hi")
    assert (bad.value.status, bad.value.code, bad.value.message) == (400, "INVALID_ARGUMENT", "Invalid value")
    emu.queue_error("gemini", 403, "Permission denied")
    with pytest.raises(llmkit.AuthenticationError):
        client.chat(MODEL, "Hi")
    with pytest.raises(llmkit.NotFoundError, match="models/gemini-9-ultra is not found"):
        client.chat("gemini/gemini-9-ultra", "Hi")
    emu.queue_error("gemini", 429, "You exceeded your current quota")
    with pytest.raises(llmkit.RateLimitError) as rl:
        client.chat(MODEL, "Hi")
    assert rl.value.retry_after == 34.0 and rl.value.code == "RESOURCE_EXHAUSTED"
    emu.queue_error("gemini", 503, "The model is overloaded.")
    with pytest.raises(llmkit.ServerError):
        client.chat(MODEL, "Hi")


def test_retired_model_fails_before_any_request(emu, client) -> None:
    with pytest.raises(llmkit.ConfigError, match="retired on 2026-06-01; use gemini/gemini-2.5-flash"):
        client.chat("gemini/gemini-2.0-flash", "Hi")
    assert emu.requests == []


# ---- the emulator itself -------------------------------------------------------------------


def test_emulator_auth_and_strictness(emu) -> None:
    base = emu.base_url("gemini")
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    r = httpx.post(f"{base}/models/gemini-2.5-flash:generateContent", json=body)
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    r = httpx.post(f"{base}/models/gemini-2.5-flash:generateContent", params={"key": "k"}, json=body)
    assert r.status_code == 200
    bad = {"contents": [{"role": "assistant", "parts": [{"text": "Hi"}]}]}
    r = httpx.post(f"{base}/models/gemini-2.5-flash:generateContent", params={"key": "k"}, json=bad)
    assert r.status_code == 400 and r.json()["error"]["message"] == "Please use a valid role: user, model."
    r = httpx.post(f"{base}/models/gemini-2.5-flash:generateContent", params={"key": "k"}, json={**body, "x": 1})
    assert r.json()["error"] == {
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": 'Invalid JSON payload received. Unknown name "x": Cannot find field.',
    }


def test_emulator_wrong_key_is_api_key_invalid() -> None:
    from llmkit.testing import emulator

    with emulator(require_key="right") as emu:
        client = emu.client()
        with pytest.raises(llmkit.AuthenticationError, match="API key not valid") as info:
            client.chat(MODEL, "Hi")
        assert info.value.body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        client.close()


def test_emulator_stream_framing(emu) -> None:
    url = f"{emu.base_url('gemini')}/models/gemini-2.5-flash:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "one two"}]}]}
    r = httpx.post(url, params={"alt": "sse", "key": "k"}, json=body)
    assert r.headers["content-type"] == "text/event-stream"
    events = r.text.split("\r\n\r\n")
    assert events[-1] == "" and all(e.startswith("data: ") for e in events[:-1])
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert all("usageMetadata" in c for c in chunks)
    assert [c["candidates"][0].get("finishReason") for c in chunks] == [None] * (len(chunks) - 1) + ["STOP"]
    r = httpx.post(url, params={"key": "k"}, json=body)  # without alt=sse: one JSON array
    assert r.headers["content-type"].startswith("application/json")
    array = r.json()
    assert isinstance(array, list) and array == chunks


# ---- async ---------------------------------------------------------------------------------


def test_async_chat_and_stream(emu) -> None:
    async def run() -> tuple[str, list[str], str]:
        async with emu.async_client() as aclient:
            resp = await aclient.chat(MODEL, "Hi async")
            emu.queue_stream("gemini", split_every(STREAM, 5))
            stream = await aclient.chat(MODEL, "Hi", stream=True)
            texts = [t async for t in stream.text_stream]
            final = await stream.get_final_response()
            n = await aclient.count_tokens(MODEL, "one two three")
            assert n == 3
            return resp.text, texts, final.text

    text, texts, final = asyncio.run(run())
    assert text == "You said: Hi async"
    assert texts == ["Here you go!\n\n1.  **English:** Hi\n", "**Italian:** Ciao"]
    assert final == "Here you go!\n\n1.  **English:** Hi\n**Italian:** Ciao"


def test_daily_quota_is_not_retried() -> None:
    from llmkit.testing import emulator

    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"},
            ],
        }
    }
    with emulator() as emu:
        client = emu.client(max_retries=2)
        emu.queue_json("gemini", body, status=429)
        emu.queue_json("gemini", _response([{"text": "ok"}]))
        with pytest.raises(llmkit.RateLimitError) as info:
            client.chat(MODEL, "Hi")
        assert info.value.code == "insufficient_quota" and info.value.retry_after == 0.01
        assert len(emu.requests) == 1
        body["error"]["details"][0]["violations"][0]["quotaId"] = "GenerateRequestsPerMinutePerProjectPerModel"
        emu.reset()
        emu.queue_json("gemini", body, status=429)
        emu.queue_json("gemini", _response([{"text": "ok"}]))
        assert client.chat(MODEL, "Hi").text == "ok"  # a per-minute quota is retried after retryDelay
        assert len(emu.requests) == 2
        client.close()
