"""Cloudflare Workers AI on the wire: the OpenAI-compatible chat under an account, the native
`ai/run/@cf/...` route with its literal path and v4 envelope, envelope errors."""

from __future__ import annotations

from typing import Any

import pytest

import llmkit
from llmkit._errors import AuthenticationError, BadRequestError, ConfigError, UnsupportedFeatureError
from llmkit._types import ImagePart, Message
from llmkit.testing import Emulator
from tests.conftest import split_every

MODEL_ID = "@cf/meta/llama-3.1-8b-instruct"
MODEL = f"cloudflare/{MODEL_ID}"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# The envelope and stream shapes of wire-facts-core.md §12.
ENVELOPE = {
    "result": {
        "response": "Hello! How can I help?",
        "tool_calls": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
    },
    "success": True,
    "errors": [],
    "messages": [],
}
RUN_STREAM = (
    b'data: {"response":"Hel","p":"abcdefghijklmnop"}\n\n'
    b'data: {"response":"lo"}\n\n'
    b'data: {"response":"","usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}\n\n'
    b"data: [DONE]\n\n"
)


def cf(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "cf-token", "base_url": emu.base_url("cloudflare"), "account_id": "acc123", "max_retries": 0}
    return llmkit.Client(providers={"cloudflare": {**cfg, **extra}})


def test_unified_chat_uses_the_openai_compatible_route(emu: Emulator) -> None:
    with cf(emu) as c:
        resp = c.chat(MODEL, "hello there", max_tokens=20)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/cloudflare/accounts/acc123/ai/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer cf-token"
    assert req.json() == {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": "hello there"}],
        "max_completion_tokens": 20,
    }
    assert (resp.text, resp.model, resp.finish_reason) == ("You said: hello there", MODEL_ID, "stop")


def test_stream_and_tools(emu: Emulator) -> None:
    with cf(emu) as c:
        with c.chat(MODEL, "hello big world", stream=True) as s:
            assert "".join(s.text_stream) == "You said: hello big world"
        assert emu.last_request.json()["stream_options"] == {"include_usage": True}
        resp = c.chat(MODEL, "Weather in Paris?", tools=[WEATHER])
        assert emu.last_request.json()["tools"] == [WEATHER]
        call = resp.tool_calls[0]
        assert (call.name, call.arguments, resp.finish_reason) == ("get_weather", {"city": "Paris"}, "tool_calls")
        history = [
            {"role": "user", "content": "Weather?"},
            resp.message,
            {"role": "tool", "tool_call_id": call.id, "content": "20C"},
        ]
        assert c.chat(MODEL, history, tools=[WEATHER]).text == "The tool returned: 20C"
        with c.chat(MODEL, "Weather in Oslo?", tools=[WEATHER], stream=True) as s:
            assert s.get_final_response().tool_calls[0].arguments == {"city": "Oslo"}


def test_account_id_is_required_before_any_request(emu: Emulator) -> None:
    with cf(emu, account_id=None) as c, pytest.raises(ConfigError, match="CLOUDFLARE_ACCOUNT_ID"):
        c.chat(MODEL, "hi")
    assert emu.requests == []


def test_missing_features_raise_before_any_request(emu: Emulator) -> None:
    with cf(emu) as c:
        with pytest.raises(UnsupportedFeatureError, match="image or document input"):
            c.chat(MODEL, [Message(role="user", content=[ImagePart(url="https://x/y.png")])])
        with pytest.raises(UnsupportedFeatureError, match="parallel tool calls"):
            c.chat(MODEL, "x", tools=[WEATHER], parallel_tool_calls=True)
        with pytest.raises(UnsupportedFeatureError, match="reasoning"):
            c.chat(MODEL, "x", reasoning_effort="low")
    assert emu.requests == []


def test_envelope_errors_are_typed(emu: Emulator) -> None:
    with cf(emu) as c:
        with pytest.raises(BadRequestError, match="No such model @cf/nope/x") as info:
            c.chat("cloudflare/@cf/nope/x", "hi")
        assert info.value.code == "5007" and info.value.body["success"] is False
    with cf(emu, api_key="wrong") as c:
        emu.require_key = "cf-token"
        with pytest.raises(AuthenticationError, match="Authentication error") as auth:
            c.chat(MODEL, "hi")
        assert auth.value.code == "10000"


def test_native_run_keeps_the_model_path_literal(emu: Emulator) -> None:
    with cf(emu) as c:
        out = c.native("cloudflare").run("acc123", MODEL_ID, {"messages": [{"role": "user", "content": "hi there"}]})
    req = emu.last_request
    assert req.path == "/cloudflare/accounts/acc123/ai/run/@cf/meta/llama-3.1-8b-instruct"
    assert req.json() == {"messages": [{"role": "user", "content": "hi there"}]}
    assert out.success is True and out.result.response == "You said: hi there"
    assert out.result.usage.total_tokens == 6


def test_native_run_reads_the_recorded_envelope_and_stream(emu: Emulator) -> None:
    with cf(emu) as c:
        native = c.native("cloudflare")
        emu.queue_json("cloudflare", ENVELOPE)
        out = native.run("acc123", MODEL_ID, {"prompt": "hi"})
        assert (out.result.response, out.result.usage.prompt_tokens) == ("Hello! How can I help?", 12)
        emu.queue_stream("cloudflare", split_every(RUN_STREAM, 13))
        chunks = list(native.run_stream("acc123", MODEL_ID, {"prompt": "hi"}))
    assert emu.last_request.json() == {"prompt": "hi", "stream": True}
    assert [ch.response for ch in chunks] == ["Hel", "lo", ""]
    assert chunks[0].additional_properties == {"p": "abcdefghijklmnop"} and chunks[-1].usage.completion_tokens == 2


def test_native_run_tool_calls_have_object_arguments(emu: Emulator) -> None:
    body = {"messages": [{"role": "user", "content": "Weather in Rome?"}], "tools": [WEATHER]}
    with cf(emu) as c:
        out = c.native("cloudflare").run("acc123", MODEL_ID, body)
    assert [(t.name, t.arguments) for t in out.result.tool_calls] == [("get_weather", {"city": "Rome"})]


def test_native_run_refuses_dot_segments_before_any_request(emu: Emulator) -> None:
    with cf(emu) as c, pytest.raises(ConfigError, match="dot path segment"):
        c.native("cloudflare").run("acc123", "@cf/../../accounts/other", {"prompt": "hi"})
    assert emu.requests == []


def test_native_model_search(emu: Emulator) -> None:
    with cf(emu) as c:
        found = c.native("cloudflare").search_models("acc123")
    assert emu.last_request.path == "/cloudflare/accounts/acc123/ai/models/search"
    assert MODEL_ID in [m.name for m in found.result]
