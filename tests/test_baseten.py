"""Baseten on the wire: the Api-Key scheme, chat on the deployment's OpenAI-compatible route,
the native predict and async_predict calls, and settings errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._errors import AuthenticationError, BadRequestError, ConfigError
from llmkit.testing import Emulator

MODEL = "baseten/Qwen/Qwen2.5-7B-Instruct"
PREFIX = "/baseten/environments/production"


def bt(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "bt_key", "base_url": emu.base_url("baseten"), "max_retries": 0}
    return llmkit.Client(providers={"baseten": {**cfg, **extra}})


def test_chat_goes_to_the_sync_route_with_api_key_auth(emu: Emulator) -> None:
    with bt(emu) as c:
        resp = c.chat(MODEL, [{"role": "user", "content": "hello"}], max_tokens=8)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", f"{PREFIX}/sync/v1/chat/completions")
    assert req.headers["authorization"] == "Api-Key bt_key"
    assert req.json() == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 8,
    }
    assert (resp.text, resp.provider, resp.cost_usd) == ("You said: hello", "baseten", None)


def test_chat_streams(emu: Emulator) -> None:
    with bt(emu) as c, c.chat(MODEL, "stream it", stream=True) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_response()
    assert text == final.text == "You said: stream it"
    assert emu.last_request.json()["stream"] is True


def test_predict_sends_the_models_own_json(emu: Emulator) -> None:
    with bt(emu) as c:
        out = c.native("baseten").predict({"prompt": "hi there"})
        queued = c.native("baseten").async_predict(
            {"model_input": {"prompt": "later"}, "webhook_endpoint": "https://example.com/hook"}
        )
    first, second = emu.requests
    assert (first.method, first.path, first.json()) == ("POST", f"{PREFIX}/predict", {"prompt": "hi there"})
    assert out == {"output": "You said: hi there"}
    assert (second.path, second.json()) == (
        f"{PREFIX}/async_predict",
        {"model_input": {"prompt": "later"}, "webhook_endpoint": "https://example.com/hook"},
    )
    assert queued.request_id.startswith("9876543210abcdef")
    assert all(r.headers["authorization"] == "Api-Key bt_key" for r in emu.requests)


def test_model_and_auth_errors_are_typed(emu: Emulator) -> None:
    with bt(emu) as c, pytest.raises(BadRequestError, match="expects a 'prompt' string"):
        c.native("baseten").predict({"text": "no prompt"})
    emu.require_key = "bt_key"
    with bt(emu, api_key="wrong") as c, pytest.raises(AuthenticationError, match="Api-Key"):
        c.chat(MODEL, "hi")


def test_settings_errors_before_any_request(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="has no default endpoint"):
        llmkit.Client(providers={"baseten": {"api_key": "k"}}).chat(MODEL, "hi")
    with pytest.raises(ConfigError, match="no API key for 'baseten'"):
        llmkit.Client(providers={"baseten": {"base_url": emu.base_url("baseten")}}).chat(MODEL, "hi")
    assert emu.requests == []


def test_async_chat_and_predict(emu: Emulator) -> None:
    async def main() -> tuple[str, Any]:
        cfg = {"api_key": "bt_key", "base_url": emu.base_url("baseten"), "max_retries": 0}
        async with llmkit.AsyncClient(providers={"baseten": cfg}) as c:
            resp = await c.chat(MODEL, "async")
            return resp.text, await c.native("baseten").predict({"prompt": "p"})

    assert asyncio.run(main()) == ("You said: async", {"output": "You said: p"})
