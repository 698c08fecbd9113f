"""OpenAI chat completions on the wire: exact requests, real response and stream shapes."""

from __future__ import annotations

import asyncio
import json

import pytest

import llmkit
from llmkit.testing import EmuResponse
from tests.conftest import split_every

MODEL = "openai/gpt-4o-mini"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Weather now",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}

# Verbatim shapes from the OpenAI reference (wire-facts-core.md §1).
TOOL_RESPONSE = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{\n"location": "Boston, MA"\n}',
                        },
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
}
STREAM = (
    'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Héllo 🌍"},"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'
    'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}\n\n'
    "data: [DONE]\n\n"
).encode()


def test_plain_chat_exact_wire(emu, client) -> None:
    resp = client.chat(
        MODEL,
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        max_tokens=20,
        temperature=0.2,
        stop="END",
        seed=7,
        user="u1",
    )
    req = emu.last_request
    assert req.method == "POST"
    assert req.path == "/openai/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"] == "llmkit/0.1.0"
    assert req.json() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        "max_completion_tokens": 20,
        "temperature": 0.2,
        "seed": 7,
        "user": "u1",
        "stop": ["END"],
    }
    assert resp.text == "You said: Hi"
    assert resp.finish_reason == "stop"
    assert resp.provider == "openai" and resp.model == "gpt-4o-mini"
    assert resp.usage.input_tokens == 3 and resp.usage.output_tokens == 3
    assert resp.cost_usd == pytest.approx((3 * 0.15 + 3 * 0.6) / 1e6)


def test_tool_call_response_fixture_parsed(emu, client) -> None:
    emu.queue_json("openai", TOOL_RESPONSE)
    resp = client.chat(MODEL, "Weather in Boston?", tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)
    body = emu.last_request.json()
    assert body["tools"] == [WEATHER]
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert resp.finish_reason == "tool_calls"
    assert resp.tool_calls[0].id == "call_abc123"
    assert resp.tool_calls[0].arguments == {"location": "Boston, MA"}
    assert resp.tool_calls[0].raw_arguments == '{\n"location": "Boston, MA"\n}'
    assert resp.text == ""
    assert resp.usage.input_tokens == 82 and resp.usage.output_tokens == 17
    assert resp.raw == TOOL_RESPONSE


def test_tool_round_trip_sends_assistant_calls_and_tool_result(emu, client) -> None:
    first = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="get_current_weather")
    assert emu.last_request.json()["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_current_weather"},
    }
    call = first.tool_calls[0]
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        first.message,
        {"role": "tool", "tool_call_id": call.id, "content": "18C"},
    ]
    second = client.chat(MODEL, history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_emu0",
                "type": "function",
                "function": {"name": "get_current_weather", "arguments": '{"location": "Paris"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "call_emu0", "content": "18C"}
    assert second.text == "The tool returned: 18C"


def test_vision_parts_on_the_wire(emu, client) -> None:
    resp = client.chat(
        MODEL,
        [
            llmkit.Message(
                role="user",
                content=[
                    llmkit.TextPart(text="What is this?"),
                    llmkit.ImagePart(url="https://example.com/cat.png", detail="low"),
                    llmkit.ImagePart(data=b"\x89PNG", media_type="image/png"),
                ],
            )
        ],
    )
    assert emu.last_request.json()["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]
    assert resp.text == "You said: What is this? (I see 2 images.)"


def test_structured_output_json_schema(emu, client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "integer"}},
        "required": ["city", "temp"],
        "additionalProperties": False,
    }
    rf = {"type": "json_schema", "json_schema": {"name": "weather", "schema": schema, "strict": True}}
    resp = client.chat(MODEL, "Weather in Rome", response_format=rf)
    assert emu.last_request.json()["response_format"] == rf
    assert json.loads(resp.text) == {"city": "Rome", "temp": 1}
    client.chat(MODEL, "x", response_format={"type": "json_object"})
    assert emu.last_request.json()["response_format"] == {"type": "json_object"}


def test_stream_fixture_split_anywhere(emu, client) -> None:
    for size in (1, 7, 64):
        emu.queue_stream("openai", split_every(STREAM, size))
        with client.chat(MODEL, "Hi", stream=True) as stream:
            events = list(stream)
            final = stream.get_final_response()
        assert [e.text for e in events if isinstance(e, llmkit.TextDelta)] == ["Héllo 🌍"]
        assert final.text == "Héllo 🌍" and final.finish_reason == "stop"
        assert final.usage.input_tokens == 9 and final.usage.cached_input_tokens == 4
        assert final.id == "chatcmpl-123"
    body = emu.last_request.json()
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert emu.last_request.headers["accept"] == "text/event-stream"


def test_stream_keepalive_comments_and_crlf(emu, client) -> None:
    data = STREAM.replace(b"\n\n", b"\r\n\r\n: keep-alive\r\n\r\n")
    emu.queue_stream("openai", split_every(data, 5))
    stream = client.chat(MODEL, "Hi", stream=True)
    assert "".join(stream.text_stream) == "Héllo 🌍"


def test_streamed_tool_calls_assembled(emu, client) -> None:
    stream = client.chat(MODEL, "Weather in Paris?", tools=[WEATHER], stream=True)
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[0] == "tool_call_start" and "tool_call_end" in kinds and kinds[-1] == "finish"
    end = next(e for e in events if isinstance(e, llmkit.ToolCallEnd))
    assert end.tool_call.arguments == {"location": "Paris"}
    final = stream.get_final_response()
    assert final.tool_calls[0].name == "get_current_weather" and final.finish_reason == "tool_calls"


def test_parallel_streamed_tool_calls_by_index(emu, client) -> None:
    def chunk(delta, finish=None):
        return (
            "data: "
            + json.dumps({"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            + "\n\n"
        )

    emu.queue_stream(
        "openai",
        [
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "b",
                            "type": "function",
                            "function": {"name": "g", "arguments": '{"y"'},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}),
            chunk({}, "tool_calls"),
            "data: [DONE]\n\n",
        ],
    )
    final = client.chat(MODEL, "x", tools=[WEATHER], stream=True).get_final_response()
    assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {"y": 2}),
    ]


def test_error_inside_200_stream(emu, client) -> None:
    emu.queue_stream(
        "openai",
        [
            STREAM.split(b"\n\n")[0] + b"\n\n",
            b'data: {"error": {"message": "The server had an error", "type": "server_error", "code": null}}\n\n',
        ],
    )
    stream = client.chat(MODEL, "Hi", stream=True)
    with pytest.raises(llmkit.ServerError, match="The server had an error"):
        list(stream)


def test_stream_without_done_is_an_error_not_a_short_answer(emu, client) -> None:
    emu.queue_stream("openai", [STREAM.split(b"data: [DONE]")[0]])
    stream = client.chat(MODEL, "Hi", stream=True)
    with pytest.raises(llmkit.StreamError, match="DONE"):
        stream.get_final_response()


def test_unknown_finish_reason_and_fields_kept(emu, client) -> None:
    body = json.loads(json.dumps(TOOL_RESPONSE))
    body["choices"][0]["finish_reason"] = "brand_new_reason"
    body["choices"][0]["message"]["new_field"] = 1
    body["new_top_level"] = {"x": 1}
    emu.queue_json("openai", body)
    resp = client.chat(MODEL, "x")
    assert resp.finish_reason == "other" and resp.raw_finish_reason == "brand_new_reason"


@pytest.mark.parametrize(
    ("status", "error", "extra"),
    [
        (400, llmkit.BadRequestError, {}),
        (401, llmkit.AuthenticationError, {}),
        (404, llmkit.NotFoundError, {}),
        (429, llmkit.RateLimitError, {"retry-after": "3"}),
        (500, llmkit.ServerError, {}),
    ],
)
def test_error_mapping(emu, client, status, error, extra) -> None:
    emu.queue_error("openai", status, "nope", headers={"x-request-id": "req_42", **extra})
    with pytest.raises(error) as info:
        client.chat(MODEL, "x")
    exc = info.value
    assert exc.status == status and exc.provider == "openai" and exc.request_id == "req_42"
    assert exc.message == "nope"
    if status == 429:
        assert exc.retry_after == 3.0


def test_context_length_error(emu, client) -> None:
    emu.queue_json(
        "openai",
        {
            "error": {
                "message": "This model's maximum context length is 128000 tokens.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        status=400,
    )
    with pytest.raises(llmkit.ContextLengthError):
        client.chat(MODEL, "x")


def test_retries_count_exactly(emu) -> None:
    c = llmkit.Client(providers={"openai": {**emu.providers_config()["openai"], "max_retries": 2}})
    for _ in range(3):
        emu.queue_error("openai", 503, "busy", headers={"retry-after-ms": "1"})
    with pytest.raises(llmkit.ServerError):
        c.chat(MODEL, "x")
    assert len(emu.requests) == 3
    emu.reset()
    emu.queue_error("openai", 429, "slow", headers={"retry-after": "0"})
    assert c.chat(MODEL, "x").text == "You said: x"
    assert len(emu.requests) == 2
    emu.reset()
    emu.queue_error("openai", 400, "bad")
    with pytest.raises(llmkit.BadRequestError):
        c.chat(MODEL, "x")
    assert len(emu.requests) == 1


def test_html_error_page_from_a_proxy(emu, client) -> None:
    emu.queue(
        "openai",
        EmuResponse(status=502, headers={"content-type": "text/html"}, body=b"<html><body>Bad gateway</body></html>"),
    )
    with pytest.raises(llmkit.ServerError, match="non-JSON body"):
        client.chat(MODEL, "x")


def test_emulator_is_strict_like_openai(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument supplied: bogus"):
        client.chat(MODEL, "x", extra_body={"bogus": 1})
    with pytest.raises(llmkit.NotFoundError):
        client.chat("openai/not-a-model", "x")
    nokey = llmkit.Client(providers={"openai": {"base_url": emu.base_url("openai"), "api_key": ""}})
    with pytest.raises(llmkit.ConfigError, match="no API key"):
        nokey.chat(MODEL, "x")


def test_unsupported_features_fail_before_any_request(emu, client) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="temperature"):
        client.chat("openai/o3", "x", temperature=0.5)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="reasoning"):
        client.chat(MODEL, "x", reasoning_effort="high")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="embed"):
        client.embed(MODEL, ["x"])  # a chat model does not embed
    counted = client.count_tokens(MODEL, "hello world")  # OpenAI has no count endpoint: counted locally
    assert counted.exact and counted.method != "provider" and counted.count > 0
    assert emu.requests == []


def test_reasoning_model_gets_reasoning_effort(emu, client) -> None:
    client.chat("openai/o3", "think", reasoning_effort="low", max_tokens=100)
    assert emu.last_request.json() == {
        "model": "o3",
        "messages": [{"role": "user", "content": "think"}],
        "max_completion_tokens": 100,
        "reasoning_effort": "low",
    }


def test_reasoning_effort_none_goes_on_the_wire(emu, client) -> None:
    """`none` (newer reasoning models: no reasoning, and the only effort some take tools
    with) is a value OpenAI's request accepts; the strict emulator checks the enum."""
    client.chat("openai/gpt-6-luna", "quick", reasoning_effort="none", tools=[WEATHER], max_tokens=50)
    body = emu.last_request.json()
    assert body["reasoning_effort"] == "none" and body["model"] == "gpt-6-luna"
    assert body["tools"][0]["function"]["name"] == "get_current_weather"


def test_extra_headers_and_provider_headers(emu) -> None:
    cfg = emu.providers_config()["openai"]
    c = llmkit.Client(providers={"openai": {**cfg, "organization": "org-1", "headers": {"X-Team": "a"}}})
    c.chat(MODEL, "x", extra_headers={"X-Trace": "t1"})
    h = emu.last_request.headers
    assert h["openai-organization"] == "org-1" and h["x-team"] == "a" and h["x-trace"] == "t1"


def test_native_client_typed(emu, client) -> None:
    from llmkit.generated.wire import openai_chat as wire

    native = client.native("openai")
    out = native.create_chat_completion(
        wire.CreateChatCompletionRequest(
            model="gpt-4o-mini", messages=[wire.UserMessage(content="hey")], max_completion_tokens=5
        )
    )
    assert isinstance(out, wire.CreateChatCompletionResponse)
    assert out.choices[0].message.content == "You said: hey"
    assert emu.last_request.json() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hey"}],
        "max_completion_tokens": 5,
    }
    chunks = list(
        native.create_chat_completion_stream({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "yo"}]})
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "You said: yo"
    model = native.retrieve_model("gpt-4o")
    assert model.id == "gpt-4o" and emu.last_request.path == "/openai/v1/models/gpt-4o"


def test_custom_openai_compatible_provider(emu) -> None:
    c = llmkit.Client(
        providers={"mybox": {"dialect": "openai_chat", "base_url": emu.base_url("openai"), "api_key": "k"}}
    )
    resp = c.chat("mybox/gpt-4o-mini", "hello")
    assert resp.provider == "mybox" and resp.text == "You said: hello"
    assert resp.cost_usd is None  # no catalog price for a custom endpoint
    assert emu.last_request.headers["authorization"] == "Bearer k"


def test_async_chat_and_stream(emu) -> None:
    async def run() -> tuple[str, str, list[str]]:
        async with emu.async_client() as ac:
            r = await ac.chat(MODEL, "async hi")
            s = await ac.chat(MODEL, "async stream", stream=True)
            pieces = [t async for t in s.text_stream]
            final = await s.get_final_response()
            return r.text, final.text, pieces

    text, final, pieces = asyncio.run(run())
    assert text == "You said: async hi"
    assert final == "You said: async stream" == "".join(pieces)


def test_async_errors_and_tools(emu) -> None:
    async def run() -> None:
        async with emu.async_client() as ac:
            emu.queue_error("openai", 401, "bad key")
            with pytest.raises(llmkit.AuthenticationError):
                await ac.chat(MODEL, "x")
            r = await ac.chat(MODEL, "Weather in Oslo", tools=[WEATHER])
            assert r.tool_calls[0].arguments == {"location": "Oslo"}
            native = ac.native("openai")
            models = await native.list_models()
            assert "gpt-4o" in [m.id for m in models.data]

    asyncio.run(run())
