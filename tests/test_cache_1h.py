"""Anthropic's 1-hour cache writes: read from `usage.cache_creation`, priced at the catalog's
`cache_write_1h` (2x input) rather than the 5-minute `cache_write` (1.25x), in plain and
streamed answers, sync and async, and in the client's running totals. The documented usage
object is parsed as served; the emulator's own prompt cache then splits writes by TTL (1-hour
breakpoints first, the rest at 5 minutes), reads them back, and refuses what Anthropic refuses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit import models
from llmkit._features import cost_usd
from llmkit._spec import Capabilities, ModelInfo, Price
from llmkit._types import Usage
from llmkit.testing import Emulator
from llmkit.testing._brain import count_tokens

# Anthropic's documented usage object (wire-facts-core.md §3) with writes under both TTLs.
USAGE = {
    "input_tokens": 86,
    "output_tokens": 300,
    "cache_creation_input_tokens": 1200,
    "cache_read_input_tokens": 500,
    "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 1000},
    "service_tier": "standard",
}
WANT = Usage(
    input_tokens=86 + 1200 + 500,
    output_tokens=300,
    cached_input_tokens=500,
    cache_write_tokens=1200,
    cache_write_1h_tokens=1000,
)
# claude-sonnet-4-5: input 3.0, output 15.0, read 0.3, 5m write 3.75, 1h write 6.0 per million.
COST = round((86 * 3.0 + 500 * 0.3 + 200 * 3.75 + 1000 * 6.0 + 300 * 15.0) / 1e6, 10)

MESSAGES: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "A long manual. " * 20, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "Summarise it."},
        ],
    }
]


def _message() -> dict[str, Any]:
    return {
        "id": "msg_1h",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }


def _stream() -> list[str]:
    start = {**_message(), "content": [], "stop_reason": None, "usage": {**USAGE, "output_tokens": 1}}
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 300},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]


def test_the_catalog_prices_1h_writes_at_twice_input() -> None:
    for m in models("anthropic"):
        p = m.price
        assert p.input is not None and p.cache_write_1h == round(2 * p.input, 4), m.id
        assert p.cache_write is not None and p.cache_write < p.cache_write_1h


def test_1h_writes_are_read_and_priced(emu: Emulator, client: llmkit.Client) -> None:
    emu.queue_json("anthropic", _message())
    resp = client.chat("anthropic/claude-sonnet-4-5", MESSAGES, max_tokens=64)
    sent = emu.last_request.json()
    assert (emu.last_request.method, emu.last_request.path) == ("POST", "/anthropic/v1/messages")
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in sent["messages"][0]["content"][1]
    assert resp.usage == WANT
    assert resp.cost_usd == COST
    # Not the single 5-minute rate for all 1200 written tokens (what llmkit charged before).
    assert round((86 * 3.0 + 500 * 0.3 + 1200 * 3.75 + 300 * 15.0) / 1e6, 10) != COST
    total = client.usage.total
    assert (total.cache_write_tokens, total.cache_write_1h_tokens, total.cost_usd) == (1200, 1000, COST)


def test_1h_writes_in_a_stream(emu: Emulator, client: llmkit.Client) -> None:
    emu.queue_stream("anthropic", _stream())
    stream = client.chat("anthropic/claude-sonnet-4-5", MESSAGES, max_tokens=64, stream=True)
    final = stream.get_final_response()
    assert emu.last_request.json()["stream"] is True
    assert final.text == "ok" and final.usage == WANT and final.cost_usd == COST


# The emulator's own answers: its prompt cache splits writes by TTL as Anthropic does.
MANUAL = "A long manual. " * 20
CHAPTER = "Chapter one. " * 10


def _mixed(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    content = [
        {"type": "text", "text": MANUAL, "cache_control": first},
        {"type": "text", "text": CHAPTER, "cache_control": second},
        {"type": "text", "text": "Summarise it."},
    ]
    return [{"role": "user", "content": content}]


HOUR, FIVE = {"type": "ephemeral", "ttl": "1h"}, {"type": "ephemeral"}
# The emulator's tokenizer: the 1h breakpoint covers the manual, the 5m one manual + chapter.
UPTO_1H = count_tokens(MANUAL)
UPTO_5M = count_tokens(MANUAL + " " + CHAPTER)
PROMPT = count_tokens(MANUAL + " " + CHAPTER + " Summarise it.")


def _split_cost(usage: dict[str, Any]) -> float:
    # claude-sonnet-4-5: input 3.0, output 15.0, read 0.3, 5m write 3.75, 1h write 6.0 per million.
    cc = usage["cache_creation"]
    return round(
        (
            usage["input_tokens"] * 3.0
            + usage["cache_read_input_tokens"] * 0.3
            + cc["ephemeral_5m_input_tokens"] * 3.75
            + cc["ephemeral_1h_input_tokens"] * 6.0
            + usage["output_tokens"] * 15.0
        )
        / 1e6,
        10,
    )


def test_the_emulator_splits_writes_by_ttl_then_reads(emu: Emulator, client: llmkit.Client) -> None:
    first = client.chat("anthropic/claude-sonnet-4-5", _mixed(HOUR, FIVE), max_tokens=64)
    sent = emu.last_request.json()["messages"][0]["content"]
    assert [b.get("cache_control") for b in sent] == [HOUR, FIVE, None]
    raw = first.raw["usage"]
    assert raw["cache_creation"] == {
        "ephemeral_1h_input_tokens": UPTO_1H,
        "ephemeral_5m_input_tokens": UPTO_5M - UPTO_1H,
    }
    assert raw["cache_creation_input_tokens"] == UPTO_5M and raw["cache_read_input_tokens"] == 0
    assert raw["input_tokens"] == PROMPT - UPTO_5M
    assert first.usage == Usage(
        input_tokens=PROMPT,
        output_tokens=raw["output_tokens"],
        cache_write_tokens=UPTO_5M,
        cache_write_1h_tokens=UPTO_1H,
    )
    assert first.cost_usd == _split_cost(raw) and UPTO_1H > 0 and UPTO_5M > UPTO_1H

    again = client.chat("anthropic/claude-sonnet-4-5", _mixed(HOUR, FIVE), max_tokens=64)
    assert again.raw["usage"]["cache_read_input_tokens"] == UPTO_5M
    assert again.raw["usage"]["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    assert again.usage.cached_input_tokens == UPTO_5M and again.usage.cache_write_tokens == 0
    total = client.usage.total
    assert (total.cache_write_tokens, total.cache_write_1h_tokens) == (UPTO_5M, UPTO_1H)

    # A new chapter after the cached manual: the manual is read, only the chapter is written.
    other = _mixed(HOUR, FIVE)
    other[0]["content"][1]["text"] = "Chapter two. " * 10
    third = client.chat("anthropic/claude-sonnet-4-5", other, max_tokens=64).raw["usage"]
    assert third["cache_read_input_tokens"] == UPTO_1H
    assert third["cache_creation"] == {
        "ephemeral_1h_input_tokens": 0,
        "ephemeral_5m_input_tokens": count_tokens(MANUAL + " " + "Chapter two. " * 10) - UPTO_1H,
    }


def test_the_emulator_refuses_bad_ttls_as_anthropic_does(emu: Emulator, client: llmkit.Client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="ttl='1h' cannot come after a block with ttl='5m'") as info:
        client.chat("anthropic/claude-sonnet-4-5", _mixed(FIVE, HOUR), max_tokens=64)
    assert info.value.status == 400 and emu.last_request.json()["messages"][0]["content"][1]["cache_control"] == HOUR
    with pytest.raises(llmkit.BadRequestError, match="ttl"):
        client.chat("anthropic/claude-sonnet-4-5", _mixed({"type": "ephemeral", "ttl": "2h"}, FIVE), max_tokens=64)
    five = [{"type": "text", "text": f"part {i}", "cache_control": FIVE} for i in range(5)]
    with pytest.raises(
        llmkit.BadRequestError, match="A maximum of 4 blocks with cache_control may be provided. Found 5."
    ):
        client.chat("anthropic/claude-sonnet-4-5", [{"role": "user", "content": five}], max_tokens=64)
    assert client.usage.total.requests == 0


def test_1h_writes_async_from_the_emulator(emu: Emulator) -> None:
    async def run() -> tuple[Any, Any]:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as ac:
            stream = await ac.chat("anthropic/claude-sonnet-4-5", _mixed(HOUR, FIVE), max_tokens=64, stream=True)
            streamed = await stream.get_final_response()
            plain = await ac.chat("anthropic/claude-sonnet-4-5", _mixed(HOUR, FIVE), max_tokens=64)
            return streamed, plain

    streamed, plain = asyncio.run(run())
    assert emu.requests[0].json()["stream"] is True
    assert (streamed.usage.cache_write_tokens, streamed.usage.cache_write_1h_tokens) == (UPTO_5M, UPTO_1H)
    assert streamed.usage.input_tokens == PROMPT and streamed.usage.cached_input_tokens == 0
    write_cost = (UPTO_1H * 6.0 + (UPTO_5M - UPTO_1H) * 3.75) / 1e6
    fresh = (PROMPT - UPTO_5M) * 3.0 / 1e6 + streamed.usage.output_tokens * 15.0 / 1e6
    assert streamed.cost_usd == round(write_cost + fresh, 10)
    assert plain.usage.cached_input_tokens == UPTO_5M and plain.usage.cache_write_1h_tokens == 0


def test_a_model_without_a_1h_price_has_no_cost_for_1h_writes() -> None:
    info = ModelInfo(
        provider="vertex",
        id="claude-x",
        context_window=None,
        max_output_tokens=None,
        price=Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
        capabilities=Capabilities(),
    )
    assert cost_usd(info, WANT) is None  # never priced at the cheaper 5-minute rate
    only_5m = Usage(input_tokens=1486, output_tokens=300, cached_input_tokens=500, cache_write_tokens=200)
    assert cost_usd(info, only_5m) == round((786 * 3.0 + 500 * 0.3 + 200 * 3.75 + 300 * 15.0) / 1e6, 10)
    assert (WANT + only_5m).cache_write_1h_tokens == 1000
