"""Cache reads and writes in usage, provider by provider, and their price.

One table: each provider's documented usage shape with cached tokens (wire-facts-core.md §1
OpenAI, §3 Anthropic, §4 Gemini, §6 Bedrock, §9 Groq, §13 DeepSeek, §14 OpenRouter, §20
Cerebras; wire-facts-more.md Qwen, Moonshot, Zhipu; Mistral's `num_cached_tokens`), served by
the emulator as the provider's answer and stream, must come back as `usage.cached_input_tokens`
/ `usage.cache_write_tokens` with `input_tokens` counting the whole prompt, and `cost_usd`
must use the catalog's cached prices (falling back to the input price where the catalog has
none, and None where the model has no price at all).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmkit
from llmkit._types import Usage
from llmkit.testing import Emulator

# (provider, model, the provider's usage object, expected Usage)
OPENAI_FAMILY: list[tuple[str, str, dict[str, Any], Usage]] = [
    (
        "openai",
        "gpt-5",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "deepseek",
        "deepseek-chat",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_cache_hit_tokens": 1920,
            "prompt_cache_miss_tokens": 86,
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "moonshot",
        "kimi-k2.6",  # the kimi-k2 series it replaced retired on 2026-05-25
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "cached_tokens": 1920,
            "prompt_tokens_details": {"cached_tokens": 1920},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "zhipu",
        "glm-4.6",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 120},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920, reasoning_tokens=120),
    ),
    (
        "qwen",
        "qwen3-max",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "completion_tokens_details": None,
            "prompt_tokens_details": {"audio_tokens": None, "cached_tokens": 1920},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "groq",
        "meta-llama/llama-4-scout-17b-16e-instruct",
        {
            "queue_time": 0.02,
            "prompt_tokens": 2006,
            "prompt_time": 0.1,
            "completion_tokens": 300,
            "completion_time": 0.3,
            "total_tokens": 2306,
            "total_time": 0.4,
            "prompt_tokens_details": {"cached_tokens": 1920},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "openrouter",
        "openai/gpt-4o-mini",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "cost": 0.00048,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "cerebras",
        "llama-3.3-70b",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
        },
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
    (
        "mistral",
        "mistral-large-latest",
        {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306, "num_cached_tokens": 1920},
        Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920),
    ),
]


def completion(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-cache",
        "object": "chat.completion",
        "created": 1735113344,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
    }


def stream(model: str, usage: dict[str, Any]) -> list[str]:
    base = {"id": "chatcmpl-cache", "object": "chat.completion.chunk", "created": 1735113344, "model": model}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": usage},
    ]
    return [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]


def expected_cost(provider: str, model: str, u: Usage) -> float | None:
    (info,) = [m for m in llmkit.models(provider=provider) if m.id == model]
    p = info.price
    if p.input is None or p.output is None:
        return None
    cached = p.cached_input if p.cached_input is not None else p.input
    written = p.cache_write if p.cache_write is not None else p.input
    fresh = u.input_tokens - u.cached_input_tokens - u.cache_write_tokens
    total = (
        fresh * p.input + u.cached_input_tokens * cached + u.cache_write_tokens * written + u.output_tokens * p.output
    )
    return round(total / 1_000_000, 10)


@pytest.mark.parametrize(("provider", "model", "usage", "want"), OPENAI_FAMILY, ids=[c[0] for c in OPENAI_FAMILY])
def test_openai_family_cached_tokens(
    emu: Emulator, client: llmkit.Client, provider: str, model: str, usage: dict[str, Any], want: Usage
) -> None:
    emu.queue_json(provider, completion(model, usage))
    resp = client.chat(f"{provider}/{model}", "Hi")
    assert resp.usage == want
    assert resp.cost_usd == expected_cost(provider, model, want)
    emu.queue_stream(provider, stream(model, usage))
    final = client.chat(f"{provider}/{model}", "Hi", stream=True).get_final_response()
    assert (final.usage.input_tokens, final.usage.cached_input_tokens) == (want.input_tokens, want.cached_input_tokens)
    assert final.cost_usd == resp.cost_usd


def test_priced_models_use_their_cached_price() -> None:
    # The table's cost checks must exercise the cached price somewhere, not only the fallbacks.
    priced = [c for c in OPENAI_FAMILY if expected_cost(c[0], c[1], c[3]) is not None]
    assert {c[0] for c in priced} >= {"openai", "zhipu"}  # kimi-k2.6 has no price in the reviewed facts
    u = Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920)
    assert expected_cost("openai", "gpt-5", u) == round((86 * 1.25 + 1920 * 0.125 + 300 * 10.0) / 1e6, 10)


def test_anthropic_reads_and_writes(emu: Emulator, client: llmkit.Client) -> None:
    # input_tokens EXCLUDES cache reads and writes on Anthropic (wire-facts-core.md §3).
    emu.queue_json(
        "anthropic",
        {
            "id": "msg_cache",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 86,
                "output_tokens": 300,
                "cache_creation_input_tokens": 200,
                "cache_read_input_tokens": 1720,
                "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0},
                "service_tier": "standard",
            },
        },
    )
    resp = client.chat("anthropic/claude-sonnet-4-5", "Hi")
    want = Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1720, cache_write_tokens=200)
    assert resp.usage == want
    assert resp.cost_usd == round((86 * 3.0 + 1720 * 0.3 + 200 * 3.75 + 300 * 15.0) / 1e6, 10)


def test_gemini_cached_content_tokens(emu: Emulator, client: llmkit.Client) -> None:
    # cachedContentTokenCount is part of promptTokenCount (wire-facts-core.md §4).
    emu.queue_json(
        "gemini",
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": 2006,
                "candidatesTokenCount": 300,
                "totalTokenCount": 2306,
                "cachedContentTokenCount": 1920,
            },
            "modelVersion": "gemini-2.5-pro",
        },
    )
    resp = client.chat("gemini/gemini-2.5-pro", "Hi")
    assert resp.usage == Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920)
    assert resp.cost_usd == round((86 * 1.25 + 1920 * 0.125 + 300 * 10.0) / 1e6, 10)


def test_bedrock_converse_reads_and_writes(emu: Emulator, client: llmkit.Client) -> None:
    # Converse inputTokens EXCLUDES cacheRead/WriteInputTokens (wire-facts-core.md §6).
    model = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    emu.queue_json(
        "bedrock",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": 86,
                "outputTokens": 300,
                "totalTokens": 2306,
                "cacheReadInputTokens": 1720,
                "cacheWriteInputTokens": 200,
            },
            "metrics": {"latencyMs": 512},
        },
    )
    resp = client.chat(f"bedrock/{model}", "Hi")
    assert resp.usage == Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1720, cache_write_tokens=200)
    assert resp.cost_usd == round((86 * 3.0 + 1720 * 0.3 + 200 * 3.75 + 300 * 15.0) / 1e6, 10)


def test_groq_stream_usage_in_x_groq(emu: Emulator, client: llmkit.Client) -> None:
    # Groq streams put usage in `x_groq.usage` on the final chunk (wire-facts-core.md §9).
    base = {
        "id": "chatcmpl-g",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "meta-llama/llama-4-scout-17b-16e-instruct",
    }
    usage = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
    }
    chunks = [
        {
            **base,
            "x_groq": {"id": "req_01"},
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}}],
        },
        {
            **base,
            "x_groq": {"id": "req_01", "usage": usage},
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        },
    ]
    emu.queue_stream("groq", [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"])
    final = client.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "Hi", stream=True).get_final_response()
    assert final.usage == Usage(input_tokens=2006, output_tokens=300, cached_input_tokens=1920)
