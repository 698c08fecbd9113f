"""What happens around each call: cache, budget, rate limits, hooks, spans, usage, latency.

`Orchestrator` holds a Client's orchestration parts and a `Ticket` follows one call through
them: a chat call, or (as a `CallTicket`) any other call the client makes, from embed to a
native request; `llmkit._gate` drives those through the same retry loop as chat. The clients
call it at fixed points (before the call, before each attempt, after a failed attempt, at the
end); the sync and async twins differ only where they wait on I/O (Redis, async hooks).
Nothing here touches the provider's HTTP: that stays in the clients.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ._cache import Cache, cache_key
from ._errors import ConfigError, RateLimitError
from ._events import StreamEvent
from ._hooks import Hook, HookEvent, HookName, Hooks
from ._latency import LatencyTracker
from ._otel import end_call_span, end_span, start_call_span, start_span, system_tracer
from ._ratelimit import RateLimiter
from ._replay import dump_response, load_response
from ._spec import ModelInfo
from ._sse import SSEEvent
from ._state import State, open_state
from ._types import ChatRequest, ChatResponse, Usage
from ._usage import DEFAULT_OUTPUT_ESTIMATE, Budget, UsageTracker, estimate_cost, estimate_input_tokens
from .dialects._base import StreamDecoder, WireRequest

__all__ = ["CallTicket", "Orchestrator", "Pricing", "Ticket", "TimedDecoder"]

# How a call beyond chat meets the budget: "estimated" reserves its estimated cost (embed and
# rerank on a priced model), "unknown" reserves nothing but is refused once the budget is used
# up (speech, images, transcription, native requests), "free" is never refused (reads, lists,
# deletes, token counts).
Pricing = Literal["estimated", "unknown", "free"]


@attrs.define(kw_only=True, eq=False)
class Ticket:
    """One chat call on its way through the orchestration."""

    provider: str
    model_id: str
    body: Any
    stream: bool
    tokens: int  # estimated prompt + output tokens, for tokens-per-minute buckets
    cost_estimate: float  # what the budget reserves (0 when the model has no price)
    cache_key: str | None
    start: float = attrs.field(factory=time.perf_counter)
    first_event: float | None = None
    reserved: bool = False
    span: Any = None
    final: ChatResponse | None = None
    finished: bool = False

    @property
    def model(self) -> str:
        return f"{self.provider}/{self.model_id}"

    def event(self, name: HookName, **kw: Any) -> HookEvent:
        return HookEvent(name=name, provider=self.provider, model=self.model, body=self.body, stream=self.stream, **kw)


@attrs.define(kw_only=True, eq=False)
class CallTicket(Ticket):
    """A call beyond chat: which one (`kind`, `operation`), how it meets the budget, whether its
    latency counts for the model, and how many requests it sent (for the token buckets)."""

    kind: str
    operation: str | None = None
    pricing: Pricing = "unknown"
    timed: bool = False
    requests: int = 0

    @property
    def model(self) -> str:
        return f"{self.provider}/{self.model_id}" if self.model_id else self.provider

    def event(self, name: HookName, **kw: Any) -> HookEvent:
        return HookEvent(
            name=name,
            provider=self.provider,
            model=self.model,
            body=self.body,
            stream=self.stream,
            kind=self.kind,
            operation=self.operation,
            **kw,
        )


class Orchestrator:
    """The orchestration parts of one Client or AsyncClient."""

    def __init__(
        self,
        *,
        cache: Cache | None = None,
        rate_limits: Mapping[str, Mapping[str, Any]] | None = None,
        budget_usd: float | None = None,
        state_url: str | None = None,
        state_namespace: str = "llmkit",
        hooks: Mapping[str, Hook | Sequence[Hook]] | None = None,
        latency_window: int = 500,
        telemetry: bool = True,
    ) -> None:
        if cache is not None and not all(hasattr(cache, m) for m in ("get", "set", "aget", "aset")):
            raise ConfigError("cache must be llmkit.MemoryCache(...), llmkit.RedisCache(...) or have get/set/aget/aset")
        self.cache = cache
        self.state: State = open_state(state_url, state_namespace)
        self.limiter = RateLimiter(rate_limits, self.state)
        self.budget = Budget(budget_usd, self.state) if budget_usd is not None else None
        self.hooks = Hooks(hooks)
        self.usage = UsageTracker()
        self.latency = LatencyTracker(latency_window)
        self.tracer = system_tracer() if telemetry else None

    # -- the call's ticket ------------------------------------------------------------------
    def ticket(
        self,
        provider: str,
        model_id: str,
        info: ModelInfo | None,
        req: ChatRequest,
        wire: WireRequest,
        key_wire: WireRequest | None,
    ) -> Ticket:
        """Estimates and the cache key. `key_wire` is the non-streamed request (so a stream and
        a plain call share one entry), or None when this call must not use the cache."""
        prompt = estimate_input_tokens(req)
        out = req.max_tokens or DEFAULT_OUTPUT_ESTIMATE
        key = None
        if key_wire is not None and self.cache is not None:
            key = cache_key(provider, model_id, key_wire.method, key_wire.path, key_wire.body)
        return Ticket(
            provider=provider,
            model_id=model_id,
            body=wire.body,
            stream=req.stream,
            tokens=prompt + out,
            cost_estimate=(estimate_cost(info, prompt, out) or 0.0) if self.budget is not None else 0.0,
            cache_key=key,
        )

    def _hit(self, tk: Ticket, blob: bytes | None) -> ChatResponse | None:
        resp = load_response(blob) if blob is not None else None
        if resp is not None:
            resp.cost_usd = 0.0  # answered from the cache: nothing was spent
            self.usage.record_cache_hit()
            tk.finished = True
        return resp

    def lookup(self, tk: Ticket) -> ChatResponse | None:
        if tk.cache_key is None or self.cache is None:
            return None
        resp = self._hit(tk, self.cache.get(tk.cache_key))
        if resp is not None and self.hooks.wants("after_response"):
            self.hooks.emit(tk.event("after_response", response=resp, cached=True, elapsed=self._elapsed(tk)))
        return resp

    async def alookup(self, tk: Ticket) -> ChatResponse | None:
        if tk.cache_key is None or self.cache is None:
            return None
        resp = self._hit(tk, await self.cache.aget(tk.cache_key))
        if resp is not None and self.hooks.wants("after_response"):
            await self.hooks.aemit(tk.event("after_response", response=resp, cached=True, elapsed=self._elapsed(tk)))
        return resp

    # -- before the call and each attempt -----------------------------------------------------
    def _start(self, tk: Ticket, req: ChatRequest) -> None:
        if self.tracer is not None:
            tk.span = start_span(self.tracer, tk.provider, tk.model_id, req)

    def admit(self, tk: Ticket, req: ChatRequest) -> None:
        """Reserve the budget (BudgetExceededError if it would be passed) and open the span."""
        if self.budget is not None:
            self.budget.reserve(tk.model, tk.cost_estimate)
            tk.reserved = True
        self._start(tk, req)

    async def aadmit(self, tk: Ticket, req: ChatRequest) -> None:
        if self.budget is not None:
            await self.budget.areserve(tk.model, tk.cost_estimate)
            tk.reserved = True
        self._start(tk, req)

    def attempt(self, tk: Ticket, attempt: int) -> float:
        """Reserve rate-limit capacity for one HTTP attempt; the seconds to wait before it."""
        wait = self.limiter.reserve(tk.provider, tk.model_id, tk.tokens)
        if self.hooks.wants("before_request"):
            self.hooks.emit(tk.event("before_request", attempt=attempt, wait=wait))
        return wait

    async def aattempt(self, tk: Ticket, attempt: int) -> float:
        wait = await self.limiter.areserve(tk.provider, tk.model_id, tk.tokens)
        if self.hooks.wants("before_request"):
            await self.hooks.aemit(tk.event("before_request", attempt=attempt, wait=wait))
        return wait

    def _learn_error(self, tk: Ticket, exc: BaseException) -> None:
        if isinstance(exc, RateLimitError) and exc.retry_after:
            self.limiter.pause(tk.provider, exc.retry_after)

    def retrying(self, tk: Ticket, exc: BaseException, attempt: int, delay: float | None) -> None:
        """An attempt failed; `delay` is the wait before the next one, or None if none follows."""
        self._learn_error(tk, exc)
        if delay is not None and self.hooks.wants("on_retry"):
            self.hooks.emit(tk.event("on_retry", attempt=attempt, error=exc, wait=delay))

    async def aretrying(self, tk: Ticket, exc: BaseException, attempt: int, delay: float | None) -> None:
        self._learn_error(tk, exc)
        if delay is not None and self.hooks.wants("on_retry"):
            await self.hooks.aemit(tk.event("on_retry", attempt=attempt, error=exc, wait=delay))

    def learn(self, tk: Ticket, headers: Mapping[str, str]) -> None:
        self.limiter.learn(tk.provider, headers)

    # -- the end ------------------------------------------------------------------------------
    def _elapsed(self, tk: Ticket) -> float:
        return time.perf_counter() - tk.start

    def _book(self, tk: Ticket, resp: ChatResponse) -> float:
        """Usage, latency and the span; returns the budget correction (real minus reserved)."""
        tk.finished = True
        elapsed = self._elapsed(tk)
        ttft = tk.first_event - tk.start if tk.first_event is not None else None
        self.usage.record(tk.provider, tk.model_id, resp.usage, resp.cost_usd)
        self.latency.record(tk.model, elapsed, ttft)
        if tk.span is not None:
            end_span(tk.span, resp, None)
        return (resp.cost_usd or 0.0) - tk.cost_estimate if tk.reserved else 0.0

    def succeeded(self, tk: Ticket, resp: ChatResponse) -> None:
        delta = self._book(tk, resp)
        if self.budget is not None:
            self.budget.adjust(delta)
        self.limiter.settle(tk.provider, tk.model_id, tk.tokens, resp.usage.total_tokens)
        if tk.cache_key is not None and self.cache is not None:
            self.cache.set(tk.cache_key, dump_response(resp))
        if self.hooks.wants("after_response"):
            self.hooks.emit(tk.event("after_response", response=resp, elapsed=self._elapsed(tk)))

    async def asucceeded(self, tk: Ticket, resp: ChatResponse) -> None:
        delta = self._book(tk, resp)
        if self.budget is not None:
            await self.budget.aadjust(delta)
        await self.limiter.asettle(tk.provider, tk.model_id, tk.tokens, resp.usage.total_tokens)
        if tk.cache_key is not None and self.cache is not None:
            await self.cache.aset(tk.cache_key, dump_response(resp))
        if self.hooks.wants("after_response"):
            await self.hooks.aemit(tk.event("after_response", response=resp, elapsed=self._elapsed(tk)))

    def _fail(self, tk: Ticket, exc: BaseException) -> float:
        tk.finished = True
        self._learn_error(tk, exc)
        if tk.span is not None:
            end_span(tk.span, None, exc)
        return -tk.cost_estimate if tk.reserved else 0.0

    def failed(self, tk: Ticket, exc: BaseException) -> None:
        """The call failed (after its retries): release the budget, tell hooks, end the span."""
        if tk.finished:
            return
        delta = self._fail(tk, exc)
        if self.budget is not None:
            self.budget.adjust(delta)
        if self.hooks.wants("on_error"):
            self.hooks.emit(tk.event("on_error", error=exc, elapsed=self._elapsed(tk)))

    async def afailed(self, tk: Ticket, exc: BaseException) -> None:
        if tk.finished:
            return
        delta = self._fail(tk, exc)
        if self.budget is not None:
            await self.budget.aadjust(delta)
        if self.hooks.wants("on_error"):
            await self.hooks.aemit(tk.event("on_error", error=exc, elapsed=self._elapsed(tk)))

    def stream_closed(self, tk: Ticket, exc: BaseException | None) -> None:
        """A stream's connection closed: book its answer, or fail the call if it never finished."""
        if tk.final is not None:
            self.succeeded(tk, tk.final)
        else:
            self.failed(tk, exc or _unfinished(tk))

    async def astream_closed(self, tk: Ticket, exc: BaseException | None) -> None:
        if tk.final is not None:
            await self.asucceeded(tk, tk.final)
        else:
            await self.afailed(tk, exc or _unfinished(tk))

    # -- calls beyond chat ----------------------------------------------------------------------
    def call_ticket(
        self,
        provider: str,
        model_id: str,
        kind: str,
        *,
        operation: str | None = None,
        body: Any = None,
        stream: bool = False,
        tokens: int = 0,
        cost: float | None = None,
        pricing: Pricing = "unknown",
        timed: bool = False,
    ) -> CallTicket:
        """A ticket for a call beyond chat; `tokens` is the estimate per request (token
        buckets), `cost` the estimated cost when `pricing` is "estimated"."""
        return CallTicket(
            provider=provider,
            model_id=model_id,
            body=body,
            stream=stream,
            tokens=tokens,
            cost_estimate=(cost or 0.0) if self.budget is not None and pricing == "estimated" else 0.0,
            cache_key=None,
            kind=kind,
            operation=operation,
            pricing=pricing,
            timed=timed,
        )

    def _open_span(self, tk: CallTicket) -> None:
        if self.tracer is not None:
            tk.span = start_call_span(self.tracer, tk.provider, tk.model_id, tk.kind, tk.operation)

    def open_call(self, tk: CallTicket) -> None:
        """The budget (BudgetExceededError before any request) and the span."""
        if self.budget is not None and tk.pricing != "free":
            if tk.pricing == "estimated":
                self.budget.reserve(tk.model, tk.cost_estimate)
                tk.reserved = True
            else:
                self.budget.check_open(tk.model)
        self._open_span(tk)

    async def aopen_call(self, tk: CallTicket) -> None:
        if self.budget is not None and tk.pricing != "free":
            if tk.pricing == "estimated":
                await self.budget.areserve(tk.model, tk.cost_estimate)
                tk.reserved = True
            else:
                await self.budget.acheck_open(tk.model)
        self._open_span(tk)

    def _book_call(self, tk: CallTicket, usage: Usage | None, cost: float | None) -> float:
        tk.finished = True
        if usage is not None:
            self.usage.record(tk.provider, tk.model_id, usage, cost)
        if tk.timed:
            self.latency.record(tk.model, self._elapsed(tk), None)
        if tk.span is not None:
            end_call_span(tk.span, usage.input_tokens if usage is not None else None, cost)
        return (cost or 0.0) - tk.cost_estimate if tk.reserved else 0.0

    def _settle_tokens(self, tk: CallTicket, tokens: int | None) -> tuple[int, int] | None:
        if tokens is None or not tk.tokens:
            return None
        return tk.tokens * max(tk.requests, 1), tokens

    def call_done(
        self,
        tk: CallTicket,
        result: Any,
        usage: Usage | None = None,
        cost: float | None = None,
        tokens: int | None = None,
    ) -> None:
        """A call beyond chat answered: `usage` (None for calls that are not model usage, such as
        a listing) and `cost` go into `client.usage`; `tokens` the provider reported correct the
        token buckets; hooks see `result`."""
        if tk.finished:
            return
        delta = self._book_call(tk, usage, cost)
        if self.budget is not None:
            self.budget.adjust(delta)
        settle = self._settle_tokens(tk, tokens)
        if settle is not None:
            self.limiter.settle(tk.provider, tk.model_id, *settle)
        if self.hooks.wants("after_response"):
            self.hooks.emit(tk.event("after_response", result=result, elapsed=self._elapsed(tk)))

    async def acall_done(
        self,
        tk: CallTicket,
        result: Any,
        usage: Usage | None = None,
        cost: float | None = None,
        tokens: int | None = None,
    ) -> None:
        if tk.finished:
            return
        delta = self._book_call(tk, usage, cost)
        if self.budget is not None:
            await self.budget.aadjust(delta)
        settle = self._settle_tokens(tk, tokens)
        if settle is not None:
            await self.limiter.asettle(tk.provider, tk.model_id, *settle)
        if self.hooks.wants("after_response"):
            await self.hooks.aemit(tk.event("after_response", result=result, elapsed=self._elapsed(tk)))

    def close(self) -> None:
        close = getattr(self.state, "close", None)
        if close is not None:
            close()


def _unfinished(tk: Ticket) -> BaseException:
    from ._errors import StreamError

    return StreamError("the stream was closed before it finished", provider=tk.provider)


class TimedDecoder:
    """Wraps a stream decoder to note when the first event reached the caller (time to first token)."""

    def __init__(self, inner: StreamDecoder, tk: Ticket) -> None:
        self._inner = inner
        self._tk = tk
        self.acc = inner.acc
        self.framing = getattr(inner, "framing", "sse")  # NDJSON (Ollama), event-stream (Bedrock)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out = self._inner.feed(event)
        if out and self._tk.first_event is None:
            self._tk.first_event = time.perf_counter()
        return out

    def end(self) -> list[StreamEvent]:
        return self._inner.end()
