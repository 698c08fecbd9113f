"""The catalog has a current chat model for each of the most-used providers.

On 2026-11-25 every older OpenAI chat model in the catalog is deprecated (gpt-5 family retires
2026-12-11, gpt-4o/4.1 2027-01-14), so the catalog must carry their replacements. Each test
below proves, on the real emulator, that a current model is active on that day (no
deprecation warning), is sent with its exact id, and is priced exactly from the catalog.
"""

from __future__ import annotations

import asyncio
import datetime
import warnings
from typing import Any

import pytest

import llmkit
from llmkit import ModelDeprecationWarning
from llmkit.testing import frozen_date

DAY = "2026-11-25"

# (provider, model id, expected full body of a plain "Hi" with max_tokens=16)
CURRENT = [
    (
        "openai",
        "gpt-6-luna",
        {"model": "gpt-6-luna", "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 16},
    ),
    (
        "openai",
        "gpt-6.1-sol",
        {"model": "gpt-6.1-sol", "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 16},
    ),
    (
        "anthropic",
        "claude-opus-5",
        {"model": "claude-opus-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]},
    ),
    (
        "xai",
        "grok-4.3",
        {"model": "grok-4.3", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16},
    ),
    (
        "gemini",
        "gemini-3.5-flash",
        {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}], "generationConfig": {"maxOutputTokens": 16}},
    ),
]

PATHS = {
    "openai": "/openai/v1/chat/completions",
    "anthropic": "/anthropic/v1/messages",
    "xai": "/xai/v1/chat/completions",
    "gemini": "/gemini/v1beta/models/{model}:generateContent",
}


def _active_chat_models(provider: str) -> list[str]:
    today = datetime.date.fromisoformat(DAY)
    return [
        m.id
        for m in llmkit.models(provider)
        if m.capabilities.chat is not False and (m.lifecycle is None or m.lifecycle.status_on(today) == "active")
    ]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "xai"])
def test_each_provider_has_an_active_chat_model_on_the_day(provider: str) -> None:
    with frozen_date(DAY):
        active = _active_chat_models(provider)
    assert active, f"{provider} has no chat model that is active on {DAY}"


def test_the_named_replacements_exist_and_are_active() -> None:
    """gpt-5 and the gpt-4o/4.1 family now point at catalog models, not a free-text note."""
    by_id = {m.id: m for m in llmkit.models("openai")}
    assert by_id["gpt-5"].lifecycle is not None and by_id["gpt-5"].lifecycle.replacement == "gpt-6.1-sol"
    for old in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"):
        lc = by_id[old].lifecycle
        assert lc is not None and (lc.deprecated, lc.retires, lc.replacement) == (
            "2026-10-14",
            "2027-01-14",
            "gpt-6-luna",
        )
    with frozen_date(DAY):
        active = _active_chat_models("openai")
    assert {"gpt-6.1-sol", "gpt-6-luna"} <= set(active)


@pytest.mark.parametrize(("provider", "model", "body"), CURRENT)
def test_chat_with_a_current_model_on_the_emulator(
    emu, client, provider: str, model: str, body: dict[str, Any]
) -> None:
    with frozen_date(DAY), warnings.catch_warnings():
        warnings.simplefilter("error", ModelDeprecationWarning)  # a current model warns of nothing
        resp = client.chat(f"{provider}/{model}", "Hi", max_tokens=16)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", PATHS[provider].format(model=model), {})
    if provider in ("openai", "xai"):
        assert req.headers["authorization"] == "Bearer test-key"
    elif provider == "anthropic":
        assert (req.headers["x-api-key"], req.headers["anthropic-version"]) == ("test-key", "2023-06-01")
        assert "authorization" not in req.headers
    else:
        assert req.headers["x-goog-api-key"] == "test-key" and "authorization" not in req.headers
    assert req.json() == body
    assert resp.text == "You said: Hi" and resp.model == model and resp.provider == provider


def _openai_answer(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-cat",
        "object": "chat.completion",
        "created": 1764000000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1500},
        },
    }


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        # 500 fresh input + 1500 cached input + 300 output, at the catalog's USD / 1M tokens
        ("gpt-6-luna", (500 * 0.10 + 1500 * 0.01 + 300 * 0.50) / 1e6),
        ("gpt-6.1-sol", (500 * 2.0 + 1500 * 0.10 + 300 * 10.0) / 1e6),
    ],
)
def test_openai_current_model_cost_for_a_known_usage(emu, client, model: str, cost: float) -> None:
    emu.queue_json("openai", _openai_answer(model))
    resp = client.chat(f"openai/{model}", "Hi")
    assert resp.usage.input_tokens == 2000 and resp.usage.cached_input_tokens == 1500
    assert resp.cost_usd == pytest.approx(cost, rel=1e-12)


def test_anthropic_current_model_cost_for_a_known_usage(emu, client) -> None:
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 120, "ephemeral_1h_input_tokens": 80},
    }
    answer = {
        "id": "msg_cat",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    emu.queue_json("anthropic", answer)
    resp = client.chat("anthropic/claude-opus-5", "Hi")
    # $5 input, $25 output, $0.50 cache read, $6.25 5-minute and $10 1-hour cache write
    expected = (100 * 5.0 + 50 * 25.0 + 1000 * 0.5 + 120 * 6.25 + 80 * 10.0) / 1e6
    assert resp.cost_usd == pytest.approx(expected, rel=1e-12)


def test_xai_current_model_cost_and_the_retired_models_point_at_it(emu, client) -> None:
    resp = client.chat("xai/grok-4.3", "Hi")
    assert resp.cost_usd == pytest.approx(
        (resp.usage.input_tokens * 1.25 + resp.usage.output_tokens * 2.5) / 1e6, rel=1e-12
    )
    assert resp.usage.output_tokens > 0
    sent = len(emu.requests)
    for old in ("grok-3", "grok-code-fast-1", "grok-4-fast-reasoning"):
        with pytest.raises(llmkit.ConfigError) as info:
            client.chat(f"xai/{old}", "Hi")
        assert f"model xai/{old} was retired on 2026-05-15; use xai/grok-4.3 instead" in str(info.value)
    assert len(emu.requests) == sent  # refused before any request


def test_gemini_current_model_has_no_price_so_no_cost(emu, client) -> None:
    """No official Gemini 3.5 Flash price was reviewed: the cost is None, not a guess."""
    resp = client.chat("gemini/gemini-3.5-flash", "Hi")
    assert resp.usage.output_tokens > 0
    assert resp.cost_usd is None


def test_gpt_6_1_sol_refuses_tools_before_any_request(emu, client) -> None:
    """Its Chat Completions takes no function tools: a clear error, and nothing is sent."""
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(llmkit.UnsupportedFeatureError) as info:
        client.chat("openai/gpt-6.1-sol", "Hi", tools=[tool])
    assert "openai/gpt-6.1-sol does not support tool calling" in str(info.value)
    with pytest.raises(llmkit.UnsupportedFeatureError) as info:
        client.chat("openai/gpt-6-luna", "Hi", temperature=0.3)
    assert "openai/gpt-6-luna does not support the temperature parameter" in str(info.value)
    assert emu.requests == []


def test_current_openai_model_in_the_async_client(emu) -> None:
    async def run() -> None:
        async with emu.async_client() as ac:
            resp = await ac.chat("openai/gpt-6-luna", "Hi", max_tokens=16)
        assert resp.text == "You said: Hi"

    with frozen_date(DAY), warnings.catch_warnings():
        warnings.simplefilter("error", ModelDeprecationWarning)
        asyncio.run(run())
    assert emu.last_request.json() == CURRENT[0][2]
