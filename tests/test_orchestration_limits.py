"""Rate limits, provider rate-limit headers, budgets, usage totals, latency stats, and 1,000
concurrent calls from threads and from asyncio tasks."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

import llmkit
from llmkit._latency import LatencyTracker
from llmkit._ratelimit import parse_reset
from llmkit._state import LocalState
from llmkit.testing import EmuRequest, EmuResponse
from tests._redis import redis_server_fixture, redis_url_fixture  # noqa: F401  (fixtures)

GPT = "openai/gpt-4o"


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _frozen(c: Any, advance: bool = True) -> tuple[Clock, list[float]]:
    """Replace the client's clocks with one that moves only when the client "sleeps", and
    record every wait: exact, repeatable waits, and no test ever sleeps."""
    clock = Clock()
    c._orch.state.clock = clock
    c._orch.limiter.clock = clock
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        if advance:
            clock.now += s

    if isinstance(c, llmkit.AsyncClient):

        async def asleep(s: float) -> None:
            sleep(s)

        c._sleep = asleep
    else:
        c._sleep = sleep
    return clock, waits


def _big_backlog(emu: Any) -> None:
    """The emulator listens with Python's default backlog of 5; hundreds of simultaneous
    connects need a deeper accept queue (a listening socket may be re-listened on Linux)."""
    emu._server.socket.listen(1024)


def test_gcra_bucket_math() -> None:
    clock = Clock()
    s = LocalState(clock)
    assert [s.take("k", 1, 60) for _ in range(60)] == [0.0] * 60  # a full minute's burst
    assert s.take("k", 1, 60) == 1.0
    assert s.take("k", 1, 60) == 2.0
    clock.now += 10  # 10 s refill 10 units: 8 free again
    assert [s.take("k", 1, 60) for _ in range(9)] == [0.0] * 8 + [1.0]
    assert s.take("k", -100, 60) == 0.0  # a refund never leaves more than a full bucket
    assert [s.take("k", 60, 60), s.take("k", 1, 60)] == [0.0, 1.0]


def test_rpm_limit_makes_calls_wait(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), rate_limits={"openai": {"rpm": 2}})
    clock, waits = _frozen(c)
    for _ in range(4):
        c.chat(GPT, "hi")
    assert waits == [30.0, 30.0]
    c.chat("openai/gpt-4o-mini", "hi")  # the provider-wide bucket covers every model
    assert waits == [30.0, 30.0, 30.0]
    c.chat("anthropic/claude-haiku-4-5", "hi")  # another provider: its own (absent) limit
    clock.now += 120  # two idle minutes refill the bucket
    c.chat(GPT, "hi")
    c.chat(GPT, "hi")
    assert waits == [30.0, 30.0, 30.0] and len(emu.requests) == 8


def test_tpm_limit_charges_estimates_then_real_tokens(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), rate_limits={"openai/gpt-4o": {"tpm": 1000}})
    _, waits = _frozen(c)
    first = c.chat(GPT, "hi", max_tokens=500)
    assert waits == []
    c.chat(GPT, "hi", max_tokens=5000)  # capped at the minute's budget: waits, never forever
    used = first.usage.total_tokens
    assert waits == [pytest.approx(used * 0.06)]


def test_rate_limit_config_errors() -> None:
    with pytest.raises(llmkit.ConfigError, match="accepts 'rpm' and 'tpm' only"):
        llmkit.Client(rate_limits={"openai": {"rps": 1}})
    with pytest.raises(llmkit.ConfigError, match="positive number"):
        llmkit.Client(rate_limits={"openai": {"rpm": 0}})
    with pytest.raises(llmkit.ConfigError, match="must be a dict"):
        llmkit.Client(rate_limits=[("openai", 1)])  # type: ignore[arg-type]


def test_parse_reset_formats() -> None:
    assert parse_reset("6m0s", 0) == 360.0
    assert parse_reset("2m59.56s", 0) == pytest.approx(179.56)
    assert parse_reset("120ms", 0) == pytest.approx(0.12)
    assert parse_reset("1h2m", 0) == 3720.0
    assert parse_reset("7.66s", 0) == pytest.approx(7.66)
    assert parse_reset("12", 0) == 12.0
    wall = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert parse_reset("2026-01-01T00:00:20Z", wall) == 20.0
    assert parse_reset("2026-01-01T00:00:20", wall) is None
    assert parse_reset("soon", wall) is None


def _with_headers(emu: Any, provider: str, headers: dict[str, str]) -> None:
    def answer(req: EmuRequest) -> EmuResponse:
        resp = emu._handlers[provider].handle(req, emu)
        resp.headers.update(headers)
        return resp

    emu.queue(provider, answer)


def test_exhausted_window_headers_slow_down_before_a_429(emu, client) -> None:
    _, waits = _frozen(client)
    _with_headers(emu, "openai", {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"})
    client.chat(GPT, "hi")
    client.chat(GPT, "hi")
    assert waits == [1.5]
    _with_headers(emu, "openai", {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"})
    client.chat(GPT, "hi")
    client.chat(GPT, "hi")
    assert waits == [1.5, 60.0]  # a hint is obeyed up to a minute
    _with_headers(emu, "openai", {"x-ratelimit-remaining-requests": "17", "x-ratelimit-reset-requests": "9s"})
    client.chat(GPT, "hi")
    client.chat(GPT, "hi")
    assert waits == [1.5, 60.0] and len(emu.requests) == 6


def test_anthropic_headers_and_stream_headers(emu, client) -> None:
    _, waits = _frozen(client)
    reset = datetime.fromtimestamp(time.time() + 20, tz=UTC).isoformat().replace("+00:00", "Z")
    _with_headers(
        emu, "anthropic", {"anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": reset}
    )
    with client.chat("anthropic/claude-haiku-4-5", "hi", stream=True) as s:
        s.get_final_response()
    client.chat("anthropic/claude-haiku-4-5", "hi")
    assert len(waits) == 1 and 15.0 < waits[0] <= 20.0


def test_429_retry_after_pauses_the_provider(emu, client) -> None:
    _, waits = _frozen(client)
    emu.queue_error("openai", 429, "slow down", headers={"retry-after": "5"})
    with pytest.raises(llmkit.RateLimitError):
        client.chat(GPT, "hi")
    client.chat("openai/gpt-4o-mini", "hi")
    assert waits == [5.0] and len(emu.requests) == 2


def test_async_rate_limit_waits(emu) -> None:
    async def main() -> list[float]:
        async with llmkit.AsyncClient(providers=emu.providers_config(), rate_limits={"openai": {"rpm": 3}}) as c:
            _, waits = _frozen(c, advance=False)
            await asyncio.gather(*(c.chat(GPT, "hi") for _ in range(5)))
            return sorted(waits)

    assert asyncio.run(main()) == [20.0, 40.0]
    assert len(emu.requests) == 5


def test_rate_limit_buckets_are_shared_through_redis(emu, redis_url) -> None:
    clients = [
        llmkit.Client(providers=emu.providers_config(), rate_limits={"openai": {"rpm": 2}}, state_url=redis_url)
        for _ in range(2)
    ]
    clock = Clock()
    waits: list[float] = []
    for c in clients:
        c._orch.state.clock = clock
        c._sleep = waits.append
    clients[0].chat(GPT, "hi")
    clients[0].chat(GPT, "hi")
    assert waits == []
    clients[1].chat(GPT, "hi")  # another process, same bucket
    assert waits == [30.0]
    for c in clients:
        c.close()


# -- budget and usage -------------------------------------------------------------------------


def test_budget_refuses_the_call_that_would_cross_it(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), budget_usd=0.0015)
    first = c.chat(GPT, "hi", max_tokens=100)
    per_call = first.cost_usd
    estimate = (5 * 2.5 + 100 * 10.0) / 1_000_000  # "hi": 4 framing + 1 text token, at gpt-4o prices
    allowed = 1
    while True:
        try:
            c.chat(GPT, "hi", max_tokens=100)
        except llmkit.BudgetExceededError as exc:
            assert "raise budget_usd" in str(exc) and exc.provider == "openai"
            break
        allowed += 1
    expected = next(n for n in range(1, 10_000) if n * per_call + estimate > 0.0015)
    assert allowed == expected and len(emu.requests) == expected
    assert c.budget is not None and c.budget.spent_usd == pytest.approx(expected * per_call)
    assert c.usage.total_cost_usd == pytest.approx(expected * per_call)


def test_budget_released_when_a_call_fails(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), budget_usd=1.0)
    emu.queue_error("openai", 500, "boom")
    with pytest.raises(llmkit.ServerError):
        c.chat(GPT, "hi", max_tokens=100)
    assert c.budget is not None and c.budget.spent_usd == 0.0 and c.budget.remaining_usd == 1.0
    with pytest.raises(llmkit.ConfigError, match="budget_usd"):
        llmkit.Client(budget_usd=-1)


def test_budget_is_shared_through_redis(emu, redis_url) -> None:
    a = llmkit.Client(providers=emu.providers_config(), budget_usd=0.002, state_url=redis_url)
    b = llmkit.Client(providers=emu.providers_config(), budget_usd=0.002, state_url=redis_url)
    spent = a.chat(GPT, "hi", max_tokens=100).cost_usd
    assert b.budget is not None and b.budget.spent_usd == pytest.approx(spent)
    with pytest.raises(llmkit.BudgetExceededError):
        b.chat(GPT, "hi", max_tokens=200)  # estimate 0.0020125 on top of what `a` spent
    assert len(emu.requests) == 1
    a.close()
    b.close()


def test_usage_by_model_and_provider(emu, client) -> None:
    r1 = client.chat("openai/gpt-4o-mini", "hi")
    r2 = client.chat("openai/gpt-4o-mini", "hello there")
    with client.chat("anthropic/claude-haiku-4-5", "hi", stream=True) as s:
        r3 = s.get_final_response()
    u = client.usage
    assert u.total.requests == 3
    assert u.total_cost_usd == pytest.approx(r1.cost_usd + r2.cost_usd + r3.cost_usd)
    mini = u.by_model["openai/gpt-4o-mini"]
    assert mini.requests == 2 and mini.input_tokens == r1.usage.input_tokens + r2.usage.input_tokens
    assert mini.output_tokens == r1.usage.output_tokens + r2.usage.output_tokens
    assert sorted(u.by_provider) == ["anthropic", "openai"]
    assert u.by_provider["anthropic"].output_tokens == r3.usage.output_tokens
    u.reset()
    assert u.total_cost_usd == 0.0 and u.by_model == {}


def test_latency_stats(emu, client) -> None:
    for _ in range(3):
        client.chat(GPT, "hi")
    with client.chat(GPT, "hi", stream=True) as s:
        s.get_final_response()
    st = client.latency_stats(GPT)
    assert st.count == 4 and st.ttft is not None and st.total is not None
    assert 0 < st.p50 <= st.p95 <= st.p99  # type: ignore[operator]
    assert client.latency_stats("openai/never-called").p50 is None


def test_latency_percentiles_and_window() -> None:
    t = LatencyTracker(window=100)
    for i in range(1, 201):
        t.record("m", float(i), ttft=float(i) / 10)
    st = t.stats("m")
    assert st.count == 100 and (st.p50, st.p95, st.p99) == (150.0, 195.0, 199.0)
    assert st.ttft is not None and st.ttft.p50 == 15.0
    with pytest.raises(ValueError):
        LatencyTracker(window=0)


# -- 1,000 concurrent calls -------------------------------------------------------------------


def test_thousand_concurrent_threads(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), rate_limits={"openai": {"rpm": 100_000}}, budget_usd=100.0)
    _big_backlog(emu)
    one = c.chat("openai/gpt-4o-mini", "hi")
    c.usage.reset()
    emu.reset()
    with ThreadPoolExecutor(max_workers=100) as pool:
        texts = list(pool.map(lambda _: c.chat("openai/gpt-4o-mini", "hi").text, range(1000)))
    assert texts == ["You said: hi"] * 1000
    assert len(emu.requests) == 1000
    total = c.usage.total
    assert total.requests == 1000 and total.input_tokens == 1000 * one.usage.input_tokens
    assert total.cost_usd == pytest.approx(1000 * one.cost_usd)
    assert c.latency_stats("openai/gpt-4o-mini").count == 500  # the bounded window
    assert c.budget is not None and c.budget.spent_usd == pytest.approx(1001 * one.cost_usd)
    c.close()


def test_thousand_concurrent_tasks(emu, redis_url) -> None:
    _big_backlog(emu)

    async def main() -> tuple[list[str], Any]:
        async with llmkit.AsyncClient(
            providers=emu.providers_config(),
            budget_usd=100.0,
            state_url=redis_url,
            rate_limits={"anthropic": {"rpm": 100_000}},
        ) as c:
            texts = await asyncio.gather(*(c.chat("anthropic/claude-haiku-4-5", f"n{i}") for i in range(1000)))
            return [t.text for t in texts], c

    texts, c = asyncio.run(main())
    assert texts == [f"You said: n{i}" for i in range(1000)]
    assert len(emu.requests) == 1000 and c.usage.total.requests == 1000
    assert c.budget.spent_usd == pytest.approx(c.usage.total_cost_usd)
