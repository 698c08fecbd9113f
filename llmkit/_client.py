"""`llmkit.Client` and `llmkit.AsyncClient`: the unified surface over every provider.

Everything that does not touch the network (model-string parsing, settings, capability
checks, request building, response parsing) is shared in `_core.Core`; the two clients only
differ in how they wait for I/O. Orchestration (cache, budget, rate limits, hooks, spans,
usage and latency) lives in `_pipeline.Orchestrator`; the clients call it at fixed points,
and every call beyond chat reaches it through `_gate` and the same `_with_retries` loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx

from . import _retry
from ._async_modalities import AsyncModalitiesMixin
from ._chat_params import chat_request, check_params, model_list
from ._core import Core, MessagesArg
from ._errors import LLMKitError
from ._fallback import next_model
from ._gate import AsyncGate, Gate, acall, call
from ._live import LiveMixin
from ._modalities import ModalitiesMixin
from ._models_list import ListedModel
from ._pipeline import Ticket, TimedDecoder
from ._registry import dialect
from ._replay import replay_async_stream, replay_stream
from ._spec import ProviderSpec
from ._streaming import AsyncChatStream, ChatStream
from ._structured import attach_parsed
from ._transport import AsyncProviderTransport, Deadline, ProviderTransport, decode_json
from ._types import ChatRequest, ChatResponse
from .dialects._base import CallContext, Dialect, WireRequest

if TYPE_CHECKING:
    from ._batches import AsyncBatches, Batches
    from ._context_cache import AsyncContextCaches, ContextCaches
    from ._fine_tuning import AsyncFineTuning, FineTuning

__all__ = ["AsyncClient", "Client", "MessagesArg"]

T = TypeVar("T")
# Per-call HTTP options handed down unchanged: extra_headers, timeout, total_timeout.
HttpOpts = tuple[Mapping[str, str] | None, float | None, float | None]
_chat_request = chat_request  # for modules that build requests the way the client does


def _start_chat(params: dict[str, Any], stream: bool, model: str | Sequence[str]) -> list[str]:
    check_params(params)
    params["stream"] = stream
    return model_list(model)


class Client(ModalitiesMixin, Core):
    """Synchronous client. Keys come from the env vars the specs name, or from `providers`.

    Orchestration options: `cache` (MemoryCache / RedisCache), `rate_limits`
    ({"openai": {"rpm": 500, "tpm": 200_000}}), `budget_usd`, `state_url` (Redis, to share
    limits, budget and router health across processes), `hooks`, `latency_window`, `telemetry`
    (OpenTelemetry spans when opentelemetry-api is installed). One pooled HTTP connection pool
    per provider; close it with `close()` or a `with` block.
    """

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None, **options: Any) -> None:
        super().__init__(providers, **options)
        self._transports: dict[str, ProviderTransport] = {}
        self._sleep: Callable[[float], None] = _sleep

    def _transport(self, provider: str, spec: ProviderSpec) -> ProviderTransport:
        t = self._transports.get(provider)
        if t is None:
            with self._lock:
                t = self._transports.get(provider)
                if t is None:
                    t = ProviderTransport(self._settings(provider, spec), dialect(spec.dialect))
                    self._transports[provider] = t
        return t

    @overload
    def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: Literal[False] = ...,
        **params: Any,
    ) -> ChatResponse: ...
    @overload
    def chat(
        self, model: str | Sequence[str], messages: MessagesArg, *, stream: Literal[True], **params: Any
    ) -> ChatStream: ...

    def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        total_timeout: float | None = None,
        cache: bool = True,
        **params: Any,
    ) -> ChatResponse | ChatStream:
        """Chat with `provider/model`, or a fallback list of them tried in order.

        Parameters: max_tokens, temperature, top_p, stop, seed, tools, tool_choice,
        parallel_tool_calls, response_format, reasoning_effort, reasoning_budget, user,
        extra_body, provider_options. With `stream=True` returns a ChatStream. `cache=False`
        skips the client's response cache for this call; `total_timeout` bounds the whole call
        to one model, retries included.
        """
        models = _start_chat(params, stream, model)
        errors: list[Exception] = []
        i = 0
        while True:
            try:
                if stream:
                    return self._stream(
                        models[i], messages, params, (extra_headers, timeout, total_timeout), cache, errors
                    )
                return self._chat_once(
                    models[i], messages, params, (extra_headers, timeout, total_timeout), cache, errors
                )
            except LLMKitError as exc:
                j = next_model(exc, models, i)
                if j is None:
                    raise
                errors.append(exc)
                i = j

    def _with_retries(
        self, tk: Ticket, t: ProviderTransport, total_timeout: float | None, once: Callable[[Deadline], T]
    ) -> T:
        """One call's HTTP attempts under one deadline: rate-limit waits, hooks, and the
        transport's retry policy (each attempt goes out with max_retries=0)."""
        deadline = t.deadline(total_timeout)
        attempt = 0
        while True:
            wait = self._orch.attempt(tk, attempt)
            if wait > 0:
                self._sleep(wait)
            try:
                return once(deadline)
            except LLMKitError as exc:
                delay = _retry_delay(t, exc, attempt, deadline)
                self._orch.retrying(tk, exc, attempt, delay)
                if delay is None:
                    raise
                self._sleep(delay)
                attempt += 1

    def _chat_once(
        self,
        model: str,
        messages: MessagesArg,
        params: dict[str, Any],
        http_opts: HttpOpts,
        use_cache: bool,
        errors: list[Exception],
    ) -> ChatResponse:
        extra_headers, timeout, total_timeout = http_opts
        provider, spec, d, ctx, req, wire = self._prepare(model, messages, params)
        t = self._transport(provider, spec)
        tk = self._ticket(provider, d, ctx, req, wire, use_cache)
        hit = self._orch.lookup(tk)
        if hit is not None:
            attach_parsed(hit, req)
            hit.errors = list(errors)
            return hit
        self._orch.admit(tk, req)
        try:
            http = self._with_retries(
                tk,
                t,
                total_timeout,
                lambda dl: t.send(wire, extra_headers=extra_headers, timeout=timeout, max_retries=0, deadline=dl),
            )
            self._orch.learn(tk, http.headers)
            resp = self._finish(d.parse_chat(decode_json(http, provider), ctx), ctx, req)
        except BaseException as exc:
            self._orch.failed(tk, exc)
            raise
        resp.errors = list(errors)
        self._orch.succeeded(tk, resp)
        return resp

    def _stream(
        self,
        model: str,
        messages: MessagesArg,
        params: dict[str, Any],
        http_opts: HttpOpts,
        use_cache: bool,
        errors: list[Exception],
    ) -> ChatStream:
        extra_headers, timeout, total_timeout = http_opts
        provider, spec, d, ctx, req, wire = self._prepare(model, messages, params)
        t = self._transport(provider, spec)
        tk = self._ticket(provider, d, ctx, req, wire, use_cache)
        hit = self._orch.lookup(tk)
        if hit is not None:
            attach_parsed(hit, req)
            hit.errors = list(errors)
            return replay_stream(hit)
        self._orch.admit(tk, req)

        @contextmanager
        def opener() -> Iterator[httpx.Response]:
            cms: list[Any] = []

            def once(dl: Deadline) -> httpx.Response:
                cm = t.stream(wire, extra_headers=extra_headers, timeout=timeout, max_retries=0, deadline=dl)
                resp = cm.__enter__()
                cms.append(cm)
                return resp

            resp = self._with_retries(tk, t, total_timeout, once)
            try:
                self._orch.learn(tk, resp.headers)
                yield resp
            finally:
                cms[-1].__exit__(None, None, None)
                self._orch.stream_closed(tk, None)

        def done(resp: ChatResponse) -> None:
            self._finish(resp, ctx, req)
            resp.errors = list(errors)
            tk.final = resp

        s = ChatStream(opener(), TimedDecoder(d.stream_decoder(ctx), tk), provider, done)
        try:
            s._open()
        except BaseException as exc:
            self._orch.failed(tk, exc)
            raise
        return s

    @property
    def batches(self) -> Batches:
        """Submit many chat requests as one provider batch: `client.batches.submit(model, items)`."""
        from ._batches import Batches

        return Batches(self)

    @property
    def fine_tuning(self) -> FineTuning:
        """Fine-tune a model: `job = client.fine_tuning.create(model, examples); job.wait(timeout=...)`."""
        from ._fine_tuning import FineTuning

        return FineTuning(self)

    @property
    def context_caches(self) -> ContextCaches:
        """Explicit context caching (Gemini cachedContents): `client.context_caches.create(model, msgs, ttl=600)`."""
        from ._context_cache import ContextCaches

        return ContextCaches(self)

    def list_models(self, provider: str) -> list[ListedModel]:
        """The models `provider` lists for this key right now, merged with llmkit's catalog.

        Asks the provider's own listing endpoint (following its pages) and fills in what the
        catalog knows: context window, prices, capabilities, lifecycle. Models the catalog lacks
        come back with `in_catalog=False`. A provider without a listing endpoint raises
        UnsupportedFeatureError before any request.
        """
        spec, lister = self._lister(provider)
        req: WireRequest | None = lister.first()
        with call(self, provider, spec, "list_models", operation=req.operation if req else None, pricing="free") as c:
            while req is not None:
                req = lister.feed(decode_json(c.send(req), provider))
            out = lister.result()
            c.done(out)
        return out

    def native(self, provider: str) -> Any:
        """The generated typed client of one provider: every endpoint its spec declares, each
        request going through this client's orchestration (limits, budget, hooks, spans)."""
        spec = self._spec(provider)
        return _native_class(spec, 0)(Gate(self, provider, spec))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self._orch.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(LiveMixin, AsyncModalitiesMixin, Core):
    """Asynchronous client; use `async with llmkit.AsyncClient() as aclient`. Same options as Client."""

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None, **options: Any) -> None:
        super().__init__(providers, **options)
        self._transports: dict[str, AsyncProviderTransport] = {}
        self._sleep: Callable[[float], Awaitable[None]] = _asleep

    def _transport(self, provider: str, spec: ProviderSpec) -> AsyncProviderTransport:
        t = self._transports.get(provider)
        if t is None:
            t = AsyncProviderTransport(self._settings(provider, spec), dialect(spec.dialect))
            self._transports[provider] = t
        return t

    async def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        total_timeout: float | None = None,
        cache: bool = True,
        **params: Any,
    ) -> Any:
        """Async twin of Client.chat: a ChatResponse, or an AsyncChatStream with stream=True."""
        models = _start_chat(params, stream, model)
        errors: list[Exception] = []
        i = 0
        while True:
            try:
                return await self._chat_one(
                    models[i], messages, params, (extra_headers, timeout, total_timeout), cache, errors
                )
            except LLMKitError as exc:
                j = next_model(exc, models, i)
                if j is None:
                    raise
                errors.append(exc)
                i = j

    async def _with_retries(
        self,
        tk: Ticket,
        t: AsyncProviderTransport,
        total_timeout: float | None,
        once: Callable[[Deadline], Awaitable[T]],
    ) -> T:
        deadline = t.deadline(total_timeout)
        attempt = 0
        while True:
            wait = await self._orch.aattempt(tk, attempt)
            if wait > 0:
                await self._sleep(wait)
            try:
                return await once(deadline)
            except LLMKitError as exc:
                delay = _retry_delay(t, exc, attempt, deadline)
                await self._orch.aretrying(tk, exc, attempt, delay)
                if delay is None:
                    raise
                await self._sleep(delay)
                attempt += 1

    async def _chat_one(
        self,
        model: str,
        messages: MessagesArg,
        params: dict[str, Any],
        http_opts: HttpOpts,
        use_cache: bool,
        errors: list[Exception],
    ) -> ChatResponse | AsyncChatStream:
        extra_headers, timeout, total_timeout = http_opts
        provider, spec, d, ctx, req, wire = self._prepare(model, messages, params)
        t = self._transport(provider, spec)
        tk = self._ticket(provider, d, ctx, req, wire, use_cache)
        hit = await self._orch.alookup(tk)
        if hit is not None:
            attach_parsed(hit, req)
            hit.errors = list(errors)
            return replay_async_stream(hit) if req.stream else hit
        await self._orch.aadmit(tk, req)
        if req.stream:
            return await self._stream(provider, t, d, ctx, wire, tk, http_opts, errors, req)
        try:
            http = await self._with_retries(
                tk,
                t,
                total_timeout,
                lambda dl: t.send(wire, extra_headers=extra_headers, timeout=timeout, max_retries=0, deadline=dl),
            )
            self._orch.learn(tk, http.headers)
            resp = self._finish(d.parse_chat(decode_json(http, provider), ctx), ctx, req)
        except BaseException as exc:
            await self._orch.afailed(tk, exc)
            raise
        resp.errors = list(errors)
        await self._orch.asucceeded(tk, resp)
        return resp

    async def _stream(
        self,
        provider: str,
        t: AsyncProviderTransport,
        d: Dialect,
        ctx: CallContext,
        wire: WireRequest,
        tk: Ticket,
        http_opts: HttpOpts,
        errors: list[Exception],
        req: ChatRequest,
    ) -> AsyncChatStream:
        extra_headers, timeout, total_timeout = http_opts

        @asynccontextmanager
        async def opener() -> AsyncIterator[httpx.Response]:
            cms: list[Any] = []

            async def once(dl: Deadline) -> httpx.Response:
                cm = t.stream(wire, extra_headers=extra_headers, timeout=timeout, max_retries=0, deadline=dl)
                resp = await cm.__aenter__()
                cms.append(cm)
                return resp

            resp = await self._with_retries(tk, t, total_timeout, once)
            try:
                self._orch.learn(tk, resp.headers)
                yield resp
            finally:
                await cms[-1].__aexit__(None, None, None)
                await self._orch.astream_closed(tk, None)

        def done(resp: ChatResponse) -> None:
            self._finish(resp, ctx, req)
            resp.errors = list(errors)
            tk.final = resp

        s = AsyncChatStream(opener(), TimedDecoder(d.stream_decoder(ctx), tk), provider, done)
        try:
            s._response = await s._opener.__aenter__()
        except BaseException as exc:
            await self._orch.afailed(tk, exc)
            raise
        return s

    @property
    def batches(self) -> AsyncBatches:
        """Submit many chat requests as one provider batch: `await client.batches.submit(model, items)`."""
        from ._batches import AsyncBatches

        return AsyncBatches(self)

    @property
    def fine_tuning(self) -> AsyncFineTuning:
        """Fine-tune a model: `job = await aclient.fine_tuning.create(model, examples)`."""
        from ._fine_tuning import AsyncFineTuning

        return AsyncFineTuning(self)

    @property
    def context_caches(self) -> AsyncContextCaches:
        """Explicit context caching (Gemini cachedContents): `await aclient.context_caches.create(...)`."""
        from ._context_cache import AsyncContextCaches

        return AsyncContextCaches(self)

    async def list_models(self, provider: str) -> list[ListedModel]:
        """The models `provider` lists for this key right now, merged with llmkit's catalog."""
        spec, lister = self._lister(provider)
        req: WireRequest | None = lister.first()
        async with acall(
            self, provider, spec, "list_models", operation=req.operation if req else None, pricing="free"
        ) as c:
            while req is not None:
                req = lister.feed(decode_json(await c.send(req), provider))
            out = lister.result()
            await c.done(out)
        return out

    def native(self, provider: str) -> Any:
        spec = self._spec(provider)
        return _native_class(spec, 1)(AsyncGate(self, provider, spec))

    async def aclose(self) -> None:
        for t in self._transports.values():
            await t.aclose()
        self._transports.clear()
        aclose = getattr(self._orch.state, "aclose", None)
        if aclose is not None:
            await aclose()
        self._orch.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def _sleep(seconds: float) -> None:
    """The clients' default wait: the retry module's, so one patch quiets every loop in tests."""
    _retry._sleep(seconds)


async def _asleep(seconds: float) -> None:
    await _retry._asleep(seconds)


def _native_class(spec: ProviderSpec, which: int) -> Any:
    import importlib

    from .generated.dispatch import CLIENT_CLASSES, PROVIDERS

    key = spec.id if spec.id in PROVIDERS else "openai"
    return getattr(importlib.import_module(PROVIDERS[key]), CLIENT_CLASSES[key][which])


def _retry_delay(
    t: ProviderTransport | AsyncProviderTransport, exc: Exception, attempt: int, dl: Deadline
) -> float | None:
    """The transport's verdict on a failed attempt (its policy, its log lines): seconds to wait,
    or None when the error goes to the caller."""
    try:
        return t._retry_or_raise(exc, attempt, t.settings.max_retries, dl)
    except LLMKitError:
        return None
