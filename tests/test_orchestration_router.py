"""llmkit.Router: strategies, deployment failover, circuit breakers, speed routing, shared health."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._hooks import HookEvent
from llmkit._lang import detect_tags, prompt_text
from llmkit._router import Router, RouteUnavailableError
from tests._redis import redis_server_fixture, redis_url_fixture  # noqa: F401  (fixtures)

GPT = "openai/gpt-4o"
HAIKU = "anthropic/claude-haiku-4-5"
FLASH = "gemini/gemini-2.5-flash"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_weighted_is_smooth_and_exact(emu, client) -> None:
    router = Router(client, routes={"r": [{"model": GPT, "weight": 2}, {"model": HAIKU}]}, strategy="weighted")
    answered = [router.chat("r", "hi").provider for _ in range(6)]
    assert answered == ["openai", "anthropic", "openai", "openai", "anthropic", "openai"]
    assert [r.provider for r in emu.requests] == answered


def test_round_robin_cycles(emu, client) -> None:
    router = Router(client, routes={"r": [GPT, HAIKU, FLASH]}, strategy="round_robin")
    answered = [router.chat("r", "hi").provider for _ in range(4)]
    assert answered == ["openai", "anthropic", "gemini", "openai"]
    assert len(emu.requests) == 4


def test_least_latency_measures_unknown_entries_first(emu, client) -> None:
    router = Router(client, routes={"r": [GPT, HAIKU, FLASH]}, strategy="least_latency")
    client._orch.latency.record(GPT, 2.0)
    client._orch.latency.record(HAIKU, 0.5)
    assert router.candidates("r") == [FLASH, HAIKU, GPT]
    client._orch.latency.record(FLASH, 5.0)
    assert router.candidates("r") == [HAIKU, GPT, FLASH]
    assert router.chat("r", "hi").provider == "anthropic"
    assert len(emu.requests) == 1


def test_lowest_cost_uses_catalog_prices(emu) -> None:
    cfg = emu.providers_config()
    cfg["mybox"] = {"dialect": "openai_chat", "base_url": emu.base_url("openai"), "api_key": "test-key"}
    c = llmkit.Client(providers=cfg)
    router = Router(
        c, routes={"r": ["mybox/gpt-4o", GPT, HAIKU, "openai/gpt-4o-mini"]}, strategy="lowest_cost"
    )
    assert router.candidates("r", "hello", max_tokens=100) == ["openai/gpt-4o-mini", HAIKU, GPT, "mybox/gpt-4o"]
    resp = router.chat("r", "hello", max_tokens=100)
    assert resp.model == "gpt-4o-mini" and len(emu.requests) == 1


def test_language_routes_by_script(emu, client) -> None:
    router = Router(
        client,
        routes={"r": [{"model": GPT}, {"model": HAIKU, "languages": ["ru"]}, {"model": FLASH, "languages": ["ko"]}]},
        strategy="language",
    )
    assert router.chat("r", "Привет, как дела?").provider == "anthropic"
    assert router.chat("r", [{"role": "user", "content": "안녕하세요, 잘 지내세요?"}]).provider == "gemini"
    assert router.chat("r", "Hello there").provider == "openai"
    assert [r.provider for r in emu.requests] == ["anthropic", "gemini", "openai"]


def test_chinese_prompts_go_to_the_zh_entry(emu, client) -> None:
    """Issue 13: language routing sends Chinese prompts to entries marked `zh` (Qwen here),
    and the request that goes out carries the prompt intact."""
    router = Router(
        client,
        routes={"r": [{"model": GPT}, {"model": "qwen/qwen-plus", "languages": ["zh"]}]},
        strategy="language",
    )
    resp = router.chat("r", "请用一句话介绍长城。")
    assert resp.provider == "qwen"
    assert emu.last_request.provider == "qwen"
    assert emu.last_request.json()["messages"] == [{"role": "user", "content": "请用一句话介绍长城。"}]
    assert router.chat("r", "Tell me about the Great Wall.").provider == "openai"
    assert [r.provider for r in emu.requests] == ["qwen", "openai"]


def test_detect_tags() -> None:
    assert detect_tags("Привет мир") == {"cyrillic", "ru"}
    assert detect_tags("Привіт, як справи? Їжак") == {"cyrillic", "uk"}
    assert detect_tags("Сәлем, қалайсың") == {"cyrillic", "kk"}
    assert detect_tags("こんにちは世界") == {"kana", "han", "ja"}
    assert detect_tags("你好世界") == {"han", "zh"}
    assert detect_tags("안녕하세요") == {"hangul", "ko"}
    assert detect_tags("مرحبا بالعالم") == {"arabic", "ar"}
    assert detect_tags("Hello, Welt") == {"latin"}
    assert detect_tags("12345 !!") == frozenset()
    assert prompt_text([{"role": "user", "content": "first"}, {"role": "assistant", "content": "x"}]) == "first"
    assert prompt_text([{"role": "system", "content": "only system"}]) == "only system"


def _two_deployments(emu: Any, **router_kw: Any) -> tuple[llmkit.Client, Router, list[str], Clock]:
    cfg = emu.providers_config()
    cfg["openai@b"] = dict(cfg["openai"])
    seen: list[str] = []
    c = llmkit.Client(providers=cfg, hooks={"before_request": lambda e: seen.append(e.provider)})
    clock = Clock()
    c._orch.state.clock = clock
    router = Router(
        c,
        routes={"gpt": [{"model": GPT, "deployments": ["openai/gpt-4o", "openai@b/gpt-4o"]}]},
        **router_kw,
    )
    return c, router, seen, clock


def test_deployment_failover_and_circuit_breaker(emu) -> None:
    _, router, seen, clock = _two_deployments(emu, failure_threshold=2, cooldown=30)
    emu.queue_error("openai", 503, "region down")
    r1 = router.chat("gpt", "hi")
    assert seen == ["openai", "openai@b"] and isinstance(r1.errors[0], llmkit.ServerError)
    assert router.health()["openai/gpt-4o"].state == "closed" and router.health()["openai/gpt-4o"].failures == 1
    emu.queue_error("openai", 503, "region down")
    router.chat("gpt", "hi")
    h = router.health()["openai/gpt-4o"]
    assert (h.state, h.failures, h.retry_in) == ("open", 2, 30.0)
    seen.clear()
    router.chat("gpt", "hi")
    assert seen == ["openai@b"]  # the cooling deployment got no request
    clock.now += 31
    assert router.health()["openai/gpt-4o"].state == "half_open"
    emu.queue_error("openai", 503, "still down")
    seen.clear()
    router.chat("gpt", "hi")
    assert seen == ["openai", "openai@b"]  # one probe, which failed: open again
    assert router.health()["openai/gpt-4o"].state == "open"
    clock.now += 31
    seen.clear()
    assert router.chat("gpt", "hi").text == "You said: hi"
    assert seen == ["openai"]  # the probe succeeded
    assert router.health()["openai/gpt-4o"] == llmkit._state.BreakerState(state="closed", failures=0, retry_in=0.0)
    assert len(emu.requests) == 8


def test_client_errors_do_not_trip_breakers_or_fail_over(emu) -> None:
    _, router, seen, _clock = _two_deployments(emu, failure_threshold=1)
    emu.queue_error("openai", 400, "bad request")
    with pytest.raises(llmkit.BadRequestError):
        router.chat("gpt", "hi")
    assert seen == ["openai"] and router.health()["openai/gpt-4o"].state == "closed"


def test_route_unavailable_when_every_deployment_cools(emu, client) -> None:
    router = Router(client, routes={"r": [GPT]}, failure_threshold=1, cooldown=60)
    emu.queue_error("openai", 500, "boom")
    with pytest.raises(llmkit.ServerError):
        router.chat("r", "hi")
    with pytest.raises(RouteUnavailableError, match="cooling down"):
        router.chat("r", "hi")
    assert len(emu.requests) == 1


def test_max_latency_picks_entries_meeting_p95(emu, client) -> None:
    router = Router(client, routes={"r": [GPT, HAIKU]}, strategy="round_robin", max_latency=1.0)
    for _ in range(20):
        client._orch.latency.record(GPT, 3.0)
        client._orch.latency.record(HAIKU, 0.2)
    assert [router.chat("r", "hi").provider for _ in range(3)] == ["anthropic"] * 3
    assert router.candidates("r", max_latency=0.1) == [HAIKU, GPT]  # none meets it: fastest first
    assert router.candidates("r", max_latency=10) in ([GPT, HAIKU], [HAIKU, GPT])


def test_router_streams(emu, client) -> None:
    router = Router(client, routes={"r": [GPT, HAIKU]}, strategy="round_robin")
    emu.queue_error("openai", 503, "down")
    with router.chat("r", "hi", stream=True) as s:
        assert "".join(s.text_stream) == "You said: hi"
    assert s.get_final_response().provider == "anthropic"


def test_router_config_errors(client) -> None:
    with pytest.raises(llmkit.ConfigError, match="unknown strategy"):
        Router(client, routes={"r": [GPT]}, strategy="fastest")  # type: ignore[arg-type]
    with pytest.raises(llmkit.ConfigError, match="non-empty list"):
        Router(client, routes={"r": []})
    with pytest.raises(llmkit.ConfigError, match="unknown keys"):
        Router(client, routes={"r": [{"model": GPT, "wieght": 2}]})
    with pytest.raises(llmkit.ConfigError, match="bad model string"):
        Router(client, routes={"r": [{"model": GPT, "deployments": ["nope"]}]})
    with pytest.raises(llmkit.ConfigError, match="unknown route 'x'"):
        Router(client, routes={"r": [GPT]}).chat("x", "hi")


def test_async_router_with_breakers(emu) -> None:
    async def main() -> list[str]:
        cfg = emu.providers_config()
        cfg["openai@b"] = dict(cfg["openai"])
        async with llmkit.AsyncClient(providers=cfg) as c:
            router = Router(
                c, routes={"gpt": [{"model": GPT, "deployments": [GPT, "openai@b/gpt-4o"]}]}, failure_threshold=1
            )
            emu.queue_error("openai", 503, "down")
            first = await router.chat("gpt", "hi")
            assert len(first.errors) == 1
            assert router.health()[GPT].state == "open"
            resps = await asyncio.gather(*(router.chat("gpt", "hi") for _ in range(5)))
            return [r.text for r in resps]

    assert asyncio.run(main()) == ["You said: hi"] * 5
    assert len(emu.requests) == 7


def test_breakers_are_shared_through_redis(emu, redis_url) -> None:
    cfg = emu.providers_config()
    cfg["openai@b"] = dict(cfg["openai"])
    seen: list[str] = []

    def make() -> tuple[llmkit.Client, Router]:
        c = llmkit.Client(providers=cfg, state_url=redis_url, hooks={"before_request": lambda e: seen.append(e.provider)})
        return c, Router(c, routes={"gpt": [{"model": GPT, "deployments": [GPT, "openai@b/gpt-4o"]}]}, failure_threshold=1)

    c1, r1 = make()
    c2, r2 = make()
    emu.queue_error("openai", 503, "down")
    r1.chat("gpt", "hi")
    h = r2.health()[GPT]
    assert h.state == "open" and h.failures == 1 and 0 < h.retry_in <= 30
    seen.clear()
    r2.chat("gpt", "hi")
    assert seen == ["openai@b"]  # process two skips what process one saw fail
    c1.close()
    c2.close()


def test_hook_event_is_frozen() -> None:
    e = HookEvent(name="on_error", provider="openai", model="openai/x")
    with pytest.raises(AttributeError):
        e.provider = "y"  # type: ignore[misc]
