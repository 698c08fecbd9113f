"""Response caches: MemoryCache and RedisCache (a real Redis started by the tests), stream
replay, per-call opt-out, keys without secrets, and a Redis outage that degrades to no cache."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

import llmkit
from llmkit._cache import CacheUnavailableWarning, MemoryCache, RedisCache, cache_key
from llmkit._replay import dump_response, load_response, response_events
from llmkit._types import ChatResponse, Message, ReasoningPart, TextPart, ToolCall, Usage
from tests._redis import redis_server_fixture, redis_url_fixture, refused_port  # noqa: F401  (fixtures)

GPT = "openai/gpt-4o-mini"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_memory_cache_answers_repeats_without_a_request(emu) -> None:
    hits: list[bool] = []
    c = llmkit.Client(
        providers=emu.providers_config(), cache=MemoryCache(ttl=60), hooks={"after_response": lambda e: hits.append(e.cached)}
    )
    first = c.chat(GPT, "hi", max_tokens=20)
    again = c.chat(GPT, "hi", max_tokens=20)
    assert again.text == first.text and again.usage == first.usage and again.id == first.id
    assert again.cost_usd == 0.0 and first.cost_usd and first.cost_usd > 0
    assert len(emu.requests) == 1 and hits == [False, True]
    c.chat(GPT, "hi", max_tokens=21)  # another body, another key
    c.chat("openai/gpt-4o", "hi", max_tokens=20)  # another model, another key
    c.chat(GPT, "hi", max_tokens=20, cache=False)  # opted out
    assert len(emu.requests) == 4
    assert c.usage.cache_hits == 1 and c.usage.total.requests == 4


def test_stream_is_cached_and_replayed_as_a_stream(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), cache=MemoryCache())
    with c.chat("anthropic/claude-haiku-4-5", "hi", stream=True) as s:
        live = list(s)
        live_final = s.get_final_response()
    with c.chat("anthropic/claude-haiku-4-5", "hi", stream=True) as s:
        replay = list(s)
        final = s.get_final_response()
    assert isinstance(s, llmkit.ChatStream)
    assert "".join(e.text for e in replay if isinstance(e, llmkit.TextDelta)) == live_final.text
    assert [type(e) for e in replay][-2:] == [llmkit.UsageEvent, llmkit.FinishEvent]
    assert final.text == live_final.text and final.usage == live_final.usage
    assert len(live) >= 3 and len(emu.requests) == 1
    plain = c.chat("anthropic/claude-haiku-4-5", "hi")  # a stream and a plain call share the entry
    assert plain.text == live_final.text and len(emu.requests) == 1


def test_memory_cache_ttl_and_lru() -> None:
    clock = Clock()
    m = MemoryCache(ttl=10, max_entries=2, clock=clock)
    m.set("a", b"1")
    m.set("b", b"2")
    assert m.get("a") == b"1"  # now "b" is least recently used
    m.set("c", b"3")
    assert (m.get("a"), m.get("b"), m.get("c"), len(m)) == (b"1", None, b"3", 2)
    clock.now += 10
    assert m.get("a") is None and len(m) == 1
    forever = MemoryCache(ttl=None)
    forever.set("k", b"v")
    assert forever.get("k") == b"v"
    forever.clear()
    assert len(forever) == 0
    with pytest.raises(llmkit.ConfigError, match="max_entries"):
        MemoryCache(max_entries=0)
    with pytest.raises(llmkit.ConfigError, match="ttl"):
        MemoryCache(ttl=-1)


def test_cache_key_is_stable_and_holds_no_secret(emu) -> None:
    k1 = cache_key("openai", "m", "POST", "/chat/completions", {"b": 1, "a": [1, 2]})
    k2 = cache_key("openai", "m", "POST", "/chat/completions", {"a": [1, 2], "b": 1})
    assert k1 == k2 and len(k1) == 64
    assert k1 != cache_key("groq", "m", "POST", "/chat/completions", {"a": [1, 2], "b": 1})
    store = MemoryCache()
    for key in ("sk-one", "sk-two"):
        cfg = emu.providers_config()
        cfg["openai"]["api_key"] = key
        llmkit.Client(providers=cfg, cache=store).chat(GPT, "hi")
    assert len(store) == 1 and len(emu.requests) == 1  # the key is not part of the cache key
    (blob,) = [v for _, v in store._data.values()]
    assert b"sk-one" not in blob and b"test-key" not in blob


def test_codec_round_trips_every_part() -> None:
    resp = ChatResponse(
        id="r1",
        provider="anthropic",
        model="m",
        message=Message(
            role="assistant",
            content=[ReasoningPart(text="think", signature="sig"), TextPart(text="answer")],
            tool_calls=[ToolCall(id="t1", name="f", arguments={"x": 1}, raw_arguments='{"x": 1}')],
        ),
        finish_reason="tool_calls",
        raw_finish_reason="tool_use",
        usage=Usage(input_tokens=3, output_tokens=4, cached_input_tokens=1, reasoning_tokens=2),
        cost_usd=0.5,
        raw={"id": "r1"},
    )
    back = load_response(dump_response(resp))
    assert back == resp and back is not None and back.raw == {"id": "r1"}
    assert [e.type for e in response_events(resp)] == [
        "reasoning_delta",
        "text_delta",
        "tool_call_start",
        "tool_call_delta",
        "tool_call_end",
        "usage",
        "finish",
    ]
    assert load_response(b"not json") is None and load_response(b'{"format": 99}') is None


def test_redis_cache_is_shared_between_two_clients(emu, redis_url) -> None:
    one = llmkit.Client(providers=emu.providers_config(), cache=RedisCache(url=redis_url, ttl=60))
    two = llmkit.Client(providers=emu.providers_config(), cache=RedisCache(url=redis_url, ttl=60))
    first = one.chat(GPT, "shared question")
    second = two.chat(GPT, "shared question")
    assert second.text == first.text and second.id == first.id
    with two.chat(GPT, "shared question", stream=True) as s:
        assert "".join(s.text_stream) == first.text
    assert len(emu.requests) == 1
    import redis

    r = redis.Redis.from_url(redis_url)
    keys = r.keys("llmkit:cache:*")
    assert len(keys) == 1 and 0 < r.pttl(keys[0]) <= 60_000
    assert b"test-key" not in r.get(keys[0])
    two._orch.cache.clear()  # type: ignore[union-attr]
    assert r.keys("llmkit:cache:*") == []
    r.close()


def test_async_redis_cache_and_async_stream_replay(emu, redis_url) -> None:
    async def main() -> tuple[str, str, str]:
        cache = RedisCache(url=redis_url)
        async with llmkit.AsyncClient(providers=emu.providers_config(), cache=cache) as a:
            first = await a.chat("gemini/gemini-2.5-flash", "hola")
            stream = await a.chat("gemini/gemini-2.5-flash", "hola", stream=True)
            streamed = "".join([t async for t in stream.text_stream])
            again = await a.chat("gemini/gemini-2.5-flash", "hola")
            await cache.aclose()
        return first.text, streamed, again.text

    first, streamed, again = asyncio.run(main())
    assert first == streamed == again == "You said: hola"
    assert len(emu.requests) == 1
    sync = llmkit.Client(providers=emu.providers_config(), cache=RedisCache(url=redis_url))
    assert sync.chat("gemini/gemini-2.5-flash", "hola").text == "You said: hola"
    assert len(emu.requests) == 1  # written by the async client, read by a sync one


def test_redis_outage_degrades_to_no_cache_with_one_warning(emu) -> None:
    sock, port = refused_port()
    dead = RedisCache(url=f"redis://127.0.0.1:{port}/0", socket_timeout=0.5)
    c = llmkit.Client(providers=emu.providers_config(), cache=dead)
    with pytest.warns(CacheUnavailableWarning, match="unreachable"):
        assert c.chat(GPT, "hi").text == "You said: hi"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning while it stays down
        assert c.chat(GPT, "hi").text == "You said: hi"

    async def run() -> str:
        async with llmkit.AsyncClient(providers=emu.providers_config(), cache=dead) as a:
            r: Any = await a.chat(GPT, "hi")
            return str(r.text)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert asyncio.run(run()) == "You said: hi"
    assert len(emu.requests) == 3
    sock.close()


def test_redis_cache_recovers_after_an_outage(emu, redis_server) -> None:
    from tests._redis import RedisServer

    server = RedisServer().start()
    cache = RedisCache(url=server.url)
    c = llmkit.Client(providers=emu.providers_config(), cache=cache)
    c.chat(GPT, "hi")
    server.stop()
    with pytest.warns(CacheUnavailableWarning):
        c.chat(GPT, "hi")
    assert len(emu.requests) == 2
    server.proc = None
    revived = RedisServer()
    revived.port = server.port
    revived.start()
    c.chat(GPT, "hi")  # cache empty after the restart: a miss that refills it
    c.chat(GPT, "hi")
    assert len(emu.requests) == 3
    revived.stop()


def test_bad_cache_object_is_refused() -> None:
    with pytest.raises(llmkit.ConfigError, match="cache must be"):
        llmkit.Client(cache=object())  # type: ignore[arg-type]
