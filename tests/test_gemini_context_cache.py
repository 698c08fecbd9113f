"""Gemini explicit context caching on the wire: cachedContents create/get/list/update/delete
(spec operations and `client.context_caches`), `cachedContent` in chat, cached tokens in usage
and cost, and the strict emulator's refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._errors import AuthenticationError, BadRequestError, ConfigError, UnsupportedFeatureError
from llmkit.generated.wire import gemini as wire
from llmkit.testing import Emulator
from llmkit.testing._gemini_cache_emu import expire

MODEL = "gemini/gemini-2.5-flash"
DOC = "The lighthouse keeper logs every ship that passes the point. " * 40
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
# The CachedContent resource as the REST reference documents it (output fields only).
CACHE_FIXTURE = {
    "name": "cachedContents/a1b2c3d4e5",
    "model": "models/gemini-2.5-flash",
    "displayName": "ship log",
    "createTime": "2026-11-25T10:00:00.123456Z",
    "updateTime": "2026-11-25T10:00:00.123456Z",
    "expireTime": "2026-11-25T10:05:00.123456Z",
    "usageMetadata": {"totalTokenCount": 4096},
}


def gem(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "g-key", "base_url": emu.base_url("gemini"), "max_retries": 0}
    return llmkit.Client(providers={"gemini": {**cfg, **extra}})


def make_cache(c: llmkit.Client, **kw: Any) -> llmkit.ContextCache:
    return c.context_caches.create(MODEL, [{"role": "user", "content": DOC}], system="Answer from the log.", **kw)


def test_create_sends_the_chat_conversion_and_parses_the_resource(emu: Emulator) -> None:
    with gem(emu) as c:
        cache = make_cache(c, tools=[WEATHER], ttl=300, display_name="ship log")
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", "/gemini/v1beta/cachedContents", {})
    assert req.headers["x-goog-api-key"] == "g-key"
    assert req.json() == {
        "model": "models/gemini-2.5-flash",
        "contents": [{"role": "user", "parts": [{"text": DOC}]}],
        "systemInstruction": {"parts": [{"text": "Answer from the log."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "get_weather", "parametersJsonSchema": WEATHER["function"]["parameters"]}  # type: ignore[index]
                ]
            }
        ],
        "displayName": "ship log",
        "ttl": "300s",
    }
    assert cache.name.startswith("cachedContents/") and cache.provider == "gemini"
    assert (cache.model, cache.display_name) == ("gemini-2.5-flash", "ship log")
    assert cache.tokens is not None and cache.tokens > 300
    assert cache.expire_time is not None and cache.create_time is not None
    assert "contents" not in cache.raw  # input-only fields are not echoed


def test_chat_with_the_cache_reports_cached_tokens_and_prices_them(emu: Emulator) -> None:
    with gem(emu) as c:
        cache = make_cache(c)
        resp = c.chat(MODEL, "How many ships?", provider_options={"cachedContent": cache.name})
    req = emu.last_request
    assert req.path == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.json() == {
        "contents": [{"role": "user", "parts": [{"text": "How many ships?"}]}],
        "cachedContent": cache.name,
    }
    meta = resp.raw["usageMetadata"]
    assert meta["cachedContentTokenCount"] == cache.tokens
    u = resp.usage
    assert (u.input_tokens, u.cached_input_tokens) == (meta["promptTokenCount"], cache.tokens)
    # gemini-2.5-flash: input 0.30, cached input 0.03, output 2.50 USD per million tokens.
    fresh = u.input_tokens - u.cached_input_tokens
    assert resp.cost_usd == round((fresh * 0.30 + u.cached_input_tokens * 0.03 + u.output_tokens * 2.50) / 1e6, 10)


def test_streamed_chat_with_the_cache_reports_cached_tokens(emu: Emulator) -> None:
    with gem(emu) as c:
        cache = make_cache(c)
        stream = c.chat(MODEL, "How many ships?", provider_options={"cachedContent": cache.name}, stream=True)
        final = stream.get_final_response()
    assert emu.last_request.json()["cachedContent"] == cache.name
    assert final.usage.cached_input_tokens == cache.tokens


def test_documented_shapes_parse(emu: Emulator) -> None:
    emu.queue_json("gemini", CACHE_FIXTURE)
    answer = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "Twelve."}]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": 4106,
            "candidatesTokenCount": 3,
            "totalTokenCount": 4109,
            "cachedContentTokenCount": 4096,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4106}],
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 4096}],
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "abc",
    }
    emu.queue_json("gemini", answer)
    with gem(emu) as c:
        cache = c.context_caches.get("cachedContents/a1b2c3d4e5")
        resp = c.chat(MODEL, "How many?", provider_options={"cachedContent": cache.name})
    assert emu.requests[0].path == "/gemini/v1beta/cachedContents/a1b2c3d4e5"
    assert cache == llmkit.ContextCache(
        name="cachedContents/a1b2c3d4e5",
        provider="gemini",
        model="gemini-2.5-flash",
        display_name="ship log",
        create_time="2026-11-25T10:00:00.123456Z",
        update_time="2026-11-25T10:00:00.123456Z",
        expire_time="2026-11-25T10:05:00.123456Z",
        tokens=4096,
        raw=CACHE_FIXTURE,
    )
    assert (resp.usage.input_tokens, resp.usage.cached_input_tokens, resp.usage.output_tokens) == (4106, 4096, 3)
    assert resp.cost_usd == round((10 * 0.30 + 4096 * 0.03 + 3 * 2.50) / 1e6, 10)


def test_update_list_get_delete(emu: Emulator) -> None:
    with gem(emu) as c:
        cache = make_cache(c)
        updated = c.context_caches.update(cache, ttl=7200)
        patch = emu.last_request
        later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        c.context_caches.update(cache.name, expire_time=later)
        patch2 = emu.last_request
        listed = c.context_caches.list()
        got = c.context_caches.get(cache)
        c.context_caches.delete(cache)
        delete = emu.last_request
        with pytest.raises(AuthenticationError, match=r"CachedContent not found \(or permission denied\)") as exc:
            c.context_caches.get(cache)
    assert (patch.method, patch.path, patch.query, patch.json()) == (
        "PATCH",
        f"/gemini/v1beta/{cache.name}",
        {"updateMask": "ttl"},
        {"ttl": "7200s"},
    )
    assert updated.expire_time is not None and cache.expire_time is not None and updated.expire_time > cache.expire_time
    assert (patch2.query, patch2.json()) == (
        {"updateMask": "expireTime"},
        {"expireTime": "2030-01-02T03:04:05.000000Z"},
    )
    assert [x.name for x in listed] == [cache.name] and got.expire_time == "2030-01-02T03:04:05.000000Z"
    assert (delete.method, delete.path, delete.body) == ("DELETE", f"/gemini/v1beta/{cache.name}", b"")
    assert exc.value.status == 403


def test_list_follows_pages(emu: Emulator) -> None:
    emu.queue_json("gemini", {"cachedContents": [CACHE_FIXTURE], "nextPageToken": "tok2"})
    emu.queue_json("gemini", {"cachedContents": [{**CACHE_FIXTURE, "name": "cachedContents/zz9"}]})
    with gem(emu) as c:
        names = [x.name for x in c.context_caches.list()]
    assert names == ["cachedContents/a1b2c3d4e5", "cachedContents/zz9"]
    assert [(r.method, r.path, r.query) for r in emu.requests] == [
        ("GET", "/gemini/v1beta/cachedContents", {}),
        ("GET", "/gemini/v1beta/cachedContents", {"pageToken": "tok2"}),
    ]


def test_expired_or_foreign_cache_is_refused_by_the_provider(emu: Emulator) -> None:
    with gem(emu) as c:
        cache = make_cache(c)
        with pytest.raises(BadRequestError, match="has to be the same"):
            c.chat("gemini/gemini-2.5-pro", "Hi", provider_options={"cachedContent": cache.name})
        expire(emu, cache.name)
        with pytest.raises(AuthenticationError, match="CachedContent not found"):
            c.chat(MODEL, "Hi", provider_options={"cachedContent": cache.name})


def test_native_operations_and_the_strict_emulator(emu: Emulator) -> None:
    with gem(emu) as c:
        g = c.native("gemini")
        made = g.create_cached_content(
            {"model": "models/gemini-2.5-flash", "contents": [{"role": "user", "parts": [{"text": DOC}]}], "ttl": "60s"}
        )
        assert isinstance(made, wire.CachedContent) and made.name is not None
        assert isinstance(g.get_cached_content(made.name), wire.CachedContent)
        assert emu.last_request.path == f"/gemini/v1beta/{made.name}"
        with pytest.raises(BadRequestError, match='Unknown name "ttlSeconds"'):
            g.create_cached_content({"model": "models/gemini-2.5-flash", "contents": [], "ttlSeconds": 60})
        with pytest.raises(BadRequestError, match="only one of ttl and expire_time"):
            g.create_cached_content(
                {
                    "model": "models/gemini-2.5-flash",
                    "systemInstruction": {"parts": [{"text": "x"}]},
                    "ttl": "60s",
                    "expireTime": "2030-01-01T00:00:00Z",
                }
            )
        with pytest.raises(BadRequestError, match="only the expiration"):
            g.update_cached_content(made.name, {"displayName": "renamed"}, extra_query={"updateMask": "displayName"})
        assert isinstance(g.delete_cached_content(made.name), wire.Empty)
    no_key = httpx.post(emu.base_url("gemini") + "/cachedContents", json={"model": "models/gemini-2.5-flash"})
    assert no_key.status_code == 403 and no_key.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("call", "error", "needle"),
    [
        (
            lambda c: c.chat(
                MODEL,
                [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}],
                provider_options={"cachedContent": "cachedContents/abc"},
            ),
            ConfigError,
            "cannot also send",
        ),
        (
            lambda c: c.chat(MODEL, "y", tools=[WEATHER], provider_options={"cachedContent": "cachedContents/abc"}),
            ConfigError,
            "cannot also send",
        ),
        (lambda c: make_cache(c, ttl=60, expire_time="2030-01-01T00:00:00Z"), ConfigError, "not both"),
        (lambda c: make_cache(c, ttl="5 minutes"), ConfigError, "ttl must be seconds"),
        (lambda c: make_cache(c, ttl=-1), ConfigError, "positive number"),
        (lambda c: make_cache(c, expire_time=datetime(2030, 1, 1)), ConfigError, "timezone-aware"),
        (lambda c: make_cache(c, display_name="x" * 129), ConfigError, "128"),
        (lambda c: c.context_caches.update("cachedContents/abc"), ConfigError, "needs a new ttl"),
        (lambda c: c.context_caches.get("models/gemini-2.5-flash"), ConfigError, "cachedContents/abc123"),
        (lambda c: c.context_caches.delete("cachedContents/../x"), ConfigError, "cachedContents/abc123"),
        (
            lambda c: c.context_caches.create("openai/gpt-4o", "x"),
            UnsupportedFeatureError,
            "no explicit context caching",
        ),
        (lambda c: c.context_caches.list("anthropic"), UnsupportedFeatureError, "cache_control"),
    ],
)
def test_bad_input_raises_before_any_request(emu: Emulator, call: Any, error: type[Exception], needle: str) -> None:
    with gem(emu) as c, pytest.raises(error, match=needle):
        call(c)
    assert emu.requests == []


def test_async_create_chat_delete(emu: Emulator) -> None:
    async def run() -> tuple[llmkit.ContextCache, llmkit.ChatResponse]:
        cfg = {"api_key": "g-key", "base_url": emu.base_url("gemini"), "max_retries": 0}
        async with llmkit.AsyncClient(providers={"gemini": cfg}) as ac:
            cache = await ac.context_caches.create(MODEL, DOC, ttl=120.5)
            resp = await ac.chat(MODEL, "Ships?", provider_options={"cachedContent": cache.name})
            assert [x.name for x in await ac.context_caches.list()] == [cache.name]
            await ac.context_caches.update(cache, ttl=60)
            await ac.context_caches.delete(cache)
            return cache, resp

    cache, resp = asyncio.run(run())
    assert emu.requests[0].json()["ttl"] == "120.5s"
    assert resp.usage.cached_input_tokens == cache.tokens
    assert [r.method for r in emu.requests] == ["POST", "POST", "GET", "PATCH", "DELETE"]
