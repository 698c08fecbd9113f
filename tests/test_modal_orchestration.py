"""Calls beyond chat go through the client's orchestration like chat does: usage and cost,
budget (refused before any request), client-side rate limits (also shared through Redis),
hooks that say which call they see, OpenTelemetry spans and latency stats. Sync and async,
against the strict emulator; waits are recorded from an injected clock, never timed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import llmkit
from llmkit.testing import Emulator
from tests._redis import redis_server_fixture, redis_url_fixture  # noqa: F401  (fixtures)
from tests.test_orchestration_limits import Clock, _frozen

MODES = ["sync", "async"]
EMBED = "voyage/voyage-3.5"  # $0.06 per million input tokens
RERANK = "voyage/rerank-2.5"  # $0.05 per million input tokens
DOCS = ["Paris is the capital of France", "Bananas are yellow"]
CHAT_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


class Kit:
    """Clients for one test, sync or async; an async client's calls all run on one event loop
    (its connection pool belongs to it), and every client is closed at the end."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.runner = asyncio.Runner()
        self.clients: list[Any] = []

    def make(self, mode: str, max_retries: int = 0, **options: Any) -> Any:
        cls = llmkit.Client if mode == "sync" else llmkit.AsyncClient
        c = cls(providers=self.emu.providers_config(max_retries=max_retries), **options)
        self.clients.append(c)
        return c

    def run(self, c: Any, call: Callable[[Any], Any]) -> Any:
        """`call(c)`, awaited when `c` is an AsyncClient."""
        if isinstance(c, llmkit.Client):
            return call(c)

        async def go() -> Any:
            return await call(c)

        return self.runner.run(go())

    def close(self) -> None:
        for c in self.clients:
            if isinstance(c, llmkit.Client):
                c.close()
            else:
                self.runner.run(c.aclose())
        self.runner.close()


@pytest.fixture
def kit(emu: Emulator) -> Iterator[Kit]:
    k = Kit(emu)
    yield k
    k.close()


@pytest.mark.parametrize("mode", MODES)
def test_embed_and_rerank_usage_and_cost_reach_client_usage(kit: Kit, emu: Emulator, mode: str) -> None:
    c = kit.make(mode)
    e = kit.run(c, lambda c: c.embed(EMBED, ["alpha", "beta"]))
    r = kit.run(c, lambda c: c.rerank(RERANK, "capital of France", DOCS))
    assert e.usage.input_tokens == 2 and e.cost_usd == pytest.approx(2 * 0.06 / 1e6)
    assert r.input_tokens is not None and r.cost_usd == pytest.approx(r.input_tokens * 0.05 / 1e6)
    u = c.usage
    assert u.total_cost_usd == pytest.approx(e.cost_usd + r.cost_usd)
    assert (u.total.requests, u.total.input_tokens, u.total.output_tokens) == (2, 2 + r.input_tokens, 0)
    by_model = u.by_model
    assert by_model[EMBED].requests == 1 and by_model[EMBED].input_tokens == 2
    assert by_model[EMBED].cost_usd == pytest.approx(e.cost_usd)
    assert by_model[RERANK].input_tokens == r.input_tokens and by_model[RERANK].cost_usd == pytest.approx(r.cost_usd)
    assert u.by_provider["voyage"].requests == 2
    # Their latency is the model's own (models beyond chat are separate catalog entries).
    assert c.latency_stats(EMBED).count == 1 and c.latency_stats(RERANK).count == 1


@pytest.mark.parametrize("mode", MODES)
def test_calls_without_a_token_price_count_as_unpriced_requests(kit: Kit, emu: Emulator, mode: str) -> None:
    c = kit.make(mode)
    kit.run(c, lambda c: c.transcribe("deepgram/nova-3", b"Hello there", media_type="audio/wav"))
    kit.run(c, lambda c: c.speak("deepgram/aura-2-thalia-en", "Hi there", format="wav"))
    kit.run(c, lambda c: c.embed("jina/jina-embeddings-v3", ["alpha"]))  # Jina publishes no price
    u = c.usage
    assert (u.total.requests, u.total.unpriced_requests, u.total_cost_usd) == (3, 3, 0.0)
    assert u.by_model["deepgram/nova-3"].requests == 1 and u.by_model["deepgram/aura-2-thalia-en"].requests == 1
    assert u.by_model["jina/jina-embeddings-v3"].input_tokens > 0
    # Free calls (a listing, a native read) are not model usage: nothing booked.
    kit.run(c, lambda c: c.list_models("openai"))
    kit.run(c, lambda c: c.native("openai").list_models())
    assert c.usage.total.requests == 3


@pytest.mark.parametrize("mode", MODES)
def test_budget_refuses_an_embed_before_any_request(kit: Kit, emu: Emulator, mode: str) -> None:
    # The first embed reserves its estimate (3 tokens for "alpha", "beta": $1.8e-07), then
    # books the real cost (2 tokens: $1.2e-07); a second one would pass $2e-07.
    c = kit.make(mode, budget_usd=2e-7)
    first = kit.run(c, lambda c: c.embed(EMBED, ["alpha", "beta"]))
    assert c.budget.spent_usd == pytest.approx(first.cost_usd) == pytest.approx(1.2e-7)
    with pytest.raises(llmkit.BudgetExceededError, match="raise budget_usd") as info:
        kit.run(c, lambda c: c.embed(EMBED, ["alpha", "beta"]))
    assert info.value.provider == "voyage"
    assert len(emu.requests) == 1  # refused before it was sent
    assert c.usage.total.requests == 1 and c.budget.spent_usd == pytest.approx(1.2e-7)


@pytest.mark.parametrize("mode", MODES)
def test_budget_refuses_a_native_call_once_used_up(kit: Kit, emu: Emulator, mode: str) -> None:
    c = kit.make(mode, budget_usd=0.0)
    with pytest.raises(llmkit.BudgetExceededError, match="budget is used up"):
        kit.run(c, lambda c: c.native("openai").create_chat_completion(CHAT_BODY))
    with pytest.raises(llmkit.BudgetExceededError):
        kit.run(c, lambda c: c.speak("deepgram/aura-2-thalia-en", "Hi there"))
    assert emu.requests == []
    listed = kit.run(c, lambda c: c.native("openai").list_models())  # a GET costs nothing: sent
    assert emu.last_request.path == "/openai/v1/models" and listed.data


@pytest.mark.parametrize("mode", MODES)
def test_budget_released_when_an_embed_fails(kit: Kit, emu: Emulator, mode: str) -> None:
    c = kit.make(mode, budget_usd=1.0)
    emu.queue_error("voyage", 400, "bad input")
    with pytest.raises(llmkit.BadRequestError):
        kit.run(c, lambda c: c.embed(EMBED, ["alpha"]))
    assert c.budget.spent_usd == 0.0 and c.usage.total.requests == 0


@pytest.mark.parametrize("mode", MODES)
def test_rpm_limit_makes_embeds_wait(kit: Kit, emu: Emulator, mode: str) -> None:
    c = kit.make(mode, rate_limits={"voyage": {"rpm": 1}})
    _, waits = _frozen(c)
    for _ in range(3):
        kit.run(c, lambda c: c.embed(EMBED, ["alpha"]))
    assert waits == [60.0, 60.0] and len(emu.requests) == 3
    # Every request counts: one embed split into two batches waits between them.
    kit.run(c, lambda c: c.embed(EMBED, ["alpha", "beta"], batch_size=1))
    assert waits == [60.0, 60.0, 60.0, 60.0] and len(emu.requests) == 5
    # Native calls, listings and transcriptions share the provider's bucket.
    d = kit.make(mode, rate_limits={"openai": {"rpm": 1}})
    _, dwaits = _frozen(d)
    kit.run(d, lambda c: c.native("openai").list_models())
    kit.run(d, lambda c: c.list_models("openai"))
    assert dwaits == [60.0]


def test_rpm_limit_for_modality_calls_is_shared_through_redis(emu: Emulator, redis_url: str) -> None:
    clients = [
        llmkit.Client(providers=emu.providers_config(), rate_limits={"voyage": {"rpm": 2}}, state_url=redis_url)
        for _ in range(2)
    ]
    clock = Clock()
    waits: list[float] = []
    for c in clients:
        c._orch.state.clock = clock
        c._sleep = waits.append
    clients[0].embed(EMBED, ["alpha"])
    clients[0].rerank(RERANK, "capital", DOCS)
    assert waits == []
    clients[1].embed(EMBED, ["beta"])  # another process, the same bucket
    assert waits == [30.0] and len(emu.requests) == 3
    for c in clients:
        c.close()


def test_budget_for_modality_calls_is_shared_through_redis(emu: Emulator, redis_url: str) -> None:
    a = llmkit.Client(providers=emu.providers_config(), budget_usd=2e-7, state_url=redis_url)
    b = llmkit.Client(providers=emu.providers_config(), budget_usd=2e-7, state_url=redis_url)
    spent = a.embed(EMBED, ["alpha", "beta"]).cost_usd
    assert b.budget is not None and b.budget.spent_usd == pytest.approx(spent)
    with pytest.raises(llmkit.BudgetExceededError):
        b.embed(EMBED, ["alpha", "beta"])
    assert len(emu.requests) == 1
    a.close()
    b.close()


def _hooked(kit: Kit, mode: str, **options: Any) -> tuple[Any, list[llmkit.HookEvent]]:
    c = kit.make(mode, **options)
    events: list[llmkit.HookEvent] = []

    def note(e: llmkit.HookEvent) -> None:
        events.append(e)

    async def anote(e: llmkit.HookEvent) -> None:
        events.append(e)

    for name in ("before_request", "after_response", "on_retry", "on_error"):
        c.on(name, note if mode == "sync" else anote)
    return c, events


def _seen(events: list[llmkit.HookEvent]) -> list[tuple[str, str, str, str, str | None]]:
    return [(e.name, e.kind, e.provider, e.model, e.operation) for e in events]


@pytest.mark.parametrize("mode", MODES)
def test_hooks_fire_for_embed_transcribe_and_native(kit: Kit, emu: Emulator, mode: str) -> None:
    c, events = _hooked(kit, mode)
    e = kit.run(c, lambda c: c.embed(EMBED, ["alpha"]))
    assert _seen(events) == [
        ("before_request", "embed", "voyage", EMBED, "create_embedding"),
        ("after_response", "embed", "voyage", EMBED, "create_embedding"),
    ]
    assert events[0].body == emu.last_request.json() == {"input": ["alpha"], "model": "voyage-3.5"}
    assert events[0].attempt == 0 and events[1].result is e and events[1].response is None
    assert events[1].elapsed is not None and events[1].elapsed >= 0

    events.clear()
    t = kit.run(c, lambda c: c.transcribe("deepgram/nova-3", b"Hello there", media_type="audio/wav"))
    assert [x[:4] for x in _seen(events)] == [
        ("before_request", "transcribe", "deepgram", "deepgram/nova-3"),
        ("after_response", "transcribe", "deepgram", "deepgram/nova-3"),
    ]
    assert events[0].body is None and events[1].result is t  # a raw audio body is not JSON

    events.clear()
    kit.run(c, lambda c: c.native("openai").create_chat_completion(CHAT_BODY))
    op = "create_chat_completion"
    assert _seen(events) == [
        ("before_request", "native", "openai", "openai/gpt-4o-mini", op),
        ("after_response", "native", "openai", "openai/gpt-4o-mini", op),
    ]
    assert events[0].body == emu.last_request.json() == CHAT_BODY
    assert events[1].result.status_code == 200

    events.clear()
    kit.run(c, lambda c: c.native("openai").list_models())  # names no model: the provider stands in
    assert _seen(events)[-1] == ("after_response", "native", "openai", "openai", "list_models")


@pytest.mark.parametrize("mode", MODES)
def test_retry_and_error_hooks_say_which_call(kit: Kit, emu: Emulator, mode: str) -> None:
    c, events = _hooked(kit, mode, max_retries=1)
    c._sleep = (lambda s: None) if mode == "sync" else _no_sleep
    emu.queue_error("voyage", 503, "busy", headers={"retry-after": "0"})
    kit.run(c, lambda c: c.rerank(RERANK, "capital", DOCS))
    assert [(e.name, e.kind, e.attempt) for e in events] == [
        ("before_request", "rerank", 0),
        ("on_retry", "rerank", 0),
        ("before_request", "rerank", 1),
        ("after_response", "rerank", 0),
    ]
    assert isinstance(events[1].error, llmkit.ServerError) and events[1].wait == 0.0
    events.clear()
    emu.queue_error("voyage", 400, "bad input")
    with pytest.raises(llmkit.BadRequestError):
        kit.run(c, lambda c: c.embed(EMBED, ["alpha"]))
    assert [(e.name, e.kind) for e in events] == [("before_request", "embed"), ("on_error", "embed")]
    assert isinstance(events[-1].error, llmkit.BadRequestError)


async def _no_sleep(seconds: float) -> None:
    return None


def test_speech_stream_is_one_call_booked_when_it_closes(kit: Kit, emu: Emulator) -> None:
    c, events = _hooked(kit, "sync")
    with c.speak_stream("deepgram/aura-2-thalia-en", "Streamed", format="mp3") as stream:
        assert [e.name for e in events] == ["before_request"] and events[0].stream
        data = b"".join(stream)
    assert data and [(e.name, e.kind) for e in events] == [("before_request", "speak"), ("after_response", "speak")]
    assert c.usage.by_model["deepgram/aura-2-thalia-en"].requests == 1


def test_native_stream_goes_through_the_orchestration(kit: Kit, emu: Emulator) -> None:
    c, events = _hooked(kit, "sync", rate_limits={"openai": {"rpm": 1}})
    _, waits = _frozen(c)
    chunks = list(c.native("openai").create_chat_completion_stream(CHAT_BODY))
    assert chunks and [(e.name, e.kind, e.stream) for e in events] == [
        ("before_request", "native", True),
        ("after_response", "native", True),
    ]
    list(c.native("openai").create_chat_completion_stream(CHAT_BODY))
    assert waits == [60.0]


def _spans(c: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    c._orch.tracer = provider.get_tracer("test")
    return exporter


@pytest.mark.parametrize("mode", MODES)
def test_modality_calls_are_otel_spans(kit: Kit, emu: Emulator, mode: str) -> None:
    pytest.importorskip("opentelemetry.sdk")
    c = kit.make(mode)
    exporter = _spans(c)
    e = kit.run(c, lambda c: c.embed(EMBED, ["alpha", "beta"]))
    kit.run(c, lambda c: c.transcribe("deepgram/nova-3", b"Hello there", media_type="audio/wav"))
    kit.run(c, lambda c: c.native("openai").create_chat_completion(CHAT_BODY))
    emu.queue_error("voyage", 400, "bad input")
    with pytest.raises(llmkit.BadRequestError):
        kit.run(c, lambda c: c.rerank(RERANK, "capital", DOCS))
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [
        "embeddings voyage-3.5",
        "transcribe nova-3",
        "create_chat_completion gpt-4o-mini",
        "rerank rerank-2.5",
    ]
    a = dict(spans[0].attributes)
    assert a["gen_ai.operation.name"] == "embeddings" and a["gen_ai.provider.name"] == "voyage"
    assert a["gen_ai.request.model"] == "voyage-3.5" and a["llmkit.kind"] == "embed"
    assert a["gen_ai.usage.input_tokens"] == 2 and a["llmkit.cost_usd"] == pytest.approx(e.cost_usd)
    assert dict(spans[1].attributes)["gen_ai.operation.name"] == "transcribe"
    assert dict(spans[2].attributes)["llmkit.kind"] == "native"
    err = dict(spans[3].attributes)
    assert err["error.type"] == "BadRequestError" and spans[3].status.status_code.name == "ERROR"


@pytest.mark.parametrize("mode", MODES)
def test_chat_events_keep_their_shape(kit: Kit, emu: Emulator, mode: str) -> None:
    c, events = _hooked(kit, mode)
    resp = kit.run(c, lambda c: c.chat("openai/gpt-4o-mini", "hi"))
    assert [(e.name, e.kind, e.operation) for e in events] == [
        ("before_request", "chat", None),
        ("after_response", "chat", None),
    ]
    assert events[1].response is resp and events[1].result is None


@pytest.mark.parametrize("mode", MODES)
def test_count_tokens_and_list_models_fire_hooks_and_are_free(kit: Kit, emu: Emulator, mode: str) -> None:
    c, events = _hooked(kit, mode, budget_usd=0.0)  # free calls are never refused
    n = kit.run(c, lambda c: c.count_tokens("anthropic/claude-haiku-4-5", "Hi"))
    listed = kit.run(c, lambda c: c.list_models("openai"))
    assert [x[:4] for x in _seen(events)] == [
        ("before_request", "count_tokens", "anthropic", "anthropic/claude-haiku-4-5"),
        ("after_response", "count_tokens", "anthropic", "anthropic/claude-haiku-4-5"),
        ("before_request", "list_models", "openai", "openai"),
        ("after_response", "list_models", "openai", "openai"),
    ]
    assert events[0].body == emu.requests[0].json()
    assert events[1].result is n and events[3].result is listed and len(emu.requests) == 2
    assert c.usage.total.requests == 0  # no model ran


def test_batches_submit_meets_the_budget_and_its_handle_does_not(kit: Kit, emu: Emulator) -> None:
    c, events = _hooked(kit, "sync")
    handle = c.batches.submit("openai/gpt-4o-mini", [[{"role": "user", "content": "Hi"}]])
    assert [(e.name, e.kind) for e in events] == [
        ("before_request", "batches"),  # the JSONL upload
        ("after_response", "batches"),
        ("before_request", "batches"),  # the batch itself
        ("after_response", "batches"),
    ]
    assert events[2].body == emu.requests[1].json() and events[3].result.json()["id"] == handle.id
    spent = kit.make("sync", budget_usd=0.0)
    with pytest.raises(llmkit.BudgetExceededError):
        spent.batches.submit("openai/gpt-4o-mini", [[{"role": "user", "content": "Hi"}]])
    sent = len(emu.requests)
    assert [r.path for r in emu.requests] == ["/openai/v1/files", "/openai/v1/batches"]
    handle._t._client = spent  # the same batch seen from the client whose budget is used up
    assert handle.status().state in ("in_progress", "completed") and len(emu.requests) == sent + 1


def test_async_redis_state_limits_modality_calls(emu: Emulator, redis_url: str) -> None:
    async def go() -> list[float]:
        waits: list[float] = []
        clock = Clock()

        async def record(s: float) -> None:
            waits.append(s)

        clients = [
            llmkit.AsyncClient(
                providers=emu.providers_config(), rate_limits={"voyage": {"rpm": 2}}, state_url=redis_url
            )
            for _ in range(2)
        ]
        for c in clients:
            c._orch.state.clock = clock
            c._sleep = record
        await clients[0].embed(EMBED, ["alpha"])
        await clients[0].rerank(RERANK, "capital", DOCS)
        await clients[1].embed(EMBED, ["beta"])  # another process, the same bucket
        for c in clients:
            await c.aclose()
        return waits

    assert asyncio.run(go()) == [30.0] and len(emu.requests) == 3


def test_a_native_stream_left_early_is_still_booked(kit: Kit, emu: Emulator) -> None:
    c, events = _hooked(kit, "sync")
    it = c.native("openai").create_chat_completion_stream(CHAT_BODY)
    next(it)
    it.close()  # the reader stopped: the call happened, its connection is closed
    assert [e.name for e in events] == ["before_request", "after_response"]
