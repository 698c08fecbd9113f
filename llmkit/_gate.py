"""Every request a client sends beyond chat goes through here, into the same orchestration as chat.

`call(client, ...)` opens one call (a `CallTicket`: the budget, the span) and yields a `Call`
whose `send` and `stream` put each request through the client's own retry loop
(`_with_retries`: rate limits, `before_request` / `on_retry` hooks, the transport's retry
policy), and whose `done` books the answer (usage, cost, latency, `after_response`). A failure
ends the call with `on_error`. A call may send several requests (embedding batches, pages of a
listing): each waits for the rate limiter; the call is booked once.

`Gate` is a provider's transport as native clients and management calls (batches, context
caches) see it: the same `send` / `stream`, each request one call. `acall`, `AsyncCall` and
`AsyncGate` are the async twins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx

from ._pipeline import CallTicket, Pricing
from ._types import Usage
from .dialects._base import WireRequest
from .modalities._base import ModalRequest
from .modalities._http import wire_request

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._spec import ProviderSpec
    from ._transport import AsyncProviderTransport, Deadline, ProviderTransport
    from .dialects._base import Dialect

__all__ = ["AsyncCall", "AsyncGate", "Call", "Gate", "Request", "acall", "call"]

T = TypeVar("T")
Request = WireRequest | ModalRequest
# Methods that read or delete: they never run a model, so the budget never refuses them.
_FREE_METHODS = frozenset({"GET", "HEAD", "DELETE"})


def _wire(t: ProviderTransport | AsyncProviderTransport, req: Request) -> WireRequest:
    wire = wire_request(req) if isinstance(req, ModalRequest) else req
    return t.encoded(wire)  # a form is encoded once, so every attempt sends the same bytes


def _view(tk: CallTicket, wire: WireRequest) -> CallTicket:
    """The ticket as this request's hooks see it: its own body and operation."""
    tk.requests += 1
    if wire.body is tk.body and (wire.operation or tk.operation) == tk.operation:
        return tk
    return attrs.evolve(tk, body=wire.body, operation=wire.operation or tk.operation)


def _model_of(wire: WireRequest) -> str:
    """The model a native request names in its body, if any (for limits and hooks)."""
    body = wire.body
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else ""


def _pricing(wire: WireRequest, fixed: Pricing | None) -> Pricing:
    if fixed is not None:
        return fixed
    return "free" if wire.method.upper() in _FREE_METHODS else "unknown"


class Call:
    """One call beyond chat, open: send its requests, then `done` with what it used."""

    def __init__(self, client: Client, tk: CallTicket, t: ProviderTransport) -> None:
        self.client = client
        self.ticket = tk
        self.transport = t

    def send(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One request, with the client's rate limits, hooks and retries; a read response."""
        t = self.transport
        wire = _wire(t, req)

        def once(dl: Deadline) -> httpx.Response:
            return t.send(
                wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout, max_retries=0, deadline=dl
            )

        resp = self.client._with_retries(_view(self.ticket, wire), t, None, once)
        self.client._orch.learn(self.ticket, resp.headers)
        return resp

    @contextmanager
    def stream(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """A streamed response, retried (with the limits and hooks) until its status is good."""
        t = self.transport
        wire = _wire(t, req)
        cms: list[Any] = []

        def once(dl: Deadline) -> httpx.Response:
            cm = t.stream(
                wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout, max_retries=0, deadline=dl
            )
            resp = cm.__enter__()
            cms.append(cm)
            return resp

        resp = self.client._with_retries(_view(self.ticket, wire), t, None, once)
        try:
            self.client._orch.learn(self.ticket, resp.headers)
            yield resp
        finally:
            cms[-1].__exit__(None, None, None)

    def done(
        self, result: Any, usage: Usage | None = None, cost: float | None = None, tokens: int | None = None
    ) -> None:
        """Book the answer: `usage` and `cost` into `client.usage` (None: not model usage)."""
        self.client._orch.call_done(self.ticket, result, usage, cost, tokens)


@contextmanager
def call(
    client: Client,
    provider: str,
    spec: ProviderSpec,
    kind: str,
    model_id: str = "",
    *,
    operation: str | None = None,
    body: Any = None,
    stream: bool = False,
    tokens: int = 0,
    cost: float | None = None,
    pricing: Pricing = "unknown",
    timed: bool = False,
) -> Iterator[Call]:
    """Open a call (BudgetExceededError before any request); a failure inside ends it with
    `on_error`, an exit without `done` books it with no usage."""
    orch = client._orch
    t = client._transport(provider, spec)
    tk = orch.call_ticket(
        provider,
        model_id,
        kind,
        operation=operation,
        body=body,
        stream=stream,
        tokens=tokens,
        cost=cost,
        pricing=pricing,
        timed=timed,
    )
    orch.open_call(tk)
    try:
        yield Call(client, tk, t)
    except GeneratorExit:  # a stream's reader stopped early: the call still happened
        orch.call_done(tk, None)
        raise
    except BaseException as exc:
        orch.failed(tk, exc)
        raise
    orch.call_done(tk, None)


class Gate:
    """A provider's transport for native clients and management calls: `send` and `stream`
    as the transport has them, each request one call through the client's orchestration."""

    def __init__(
        self, client: Client, provider: str, spec: ProviderSpec, kind: str = "native", pricing: Pricing | None = None
    ) -> None:
        self._client = client
        self._name = provider
        self._pricing = pricing
        self.spec = spec
        self.kind = kind
        self.transport = client._transport(provider, spec)
        self.provider: str = self.transport.provider
        self.dialect: Dialect = self.transport.dialect

    def __repr__(self) -> str:
        return f"Gate(provider={self._name!r}, kind={self.kind!r})"

    def _call(self, wire: WireRequest, stream: bool) -> AbstractContextManager[Call]:
        return call(
            self._client,
            self._name,
            self.spec,
            self.kind,
            _model_of(wire),
            operation=wire.operation,
            body=wire.body,
            stream=stream,
            pricing=_pricing(wire, self._pricing),
        )

    def send(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        wire = wire_request(req) if isinstance(req, ModalRequest) else req
        with self._call(wire, False) as c:
            resp = c.send(wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout)
            c.done(resp)
            return resp

    @contextmanager
    def stream(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        wire = wire_request(req) if isinstance(req, ModalRequest) else req
        with (
            self._call(wire, True) as c,
            c.stream(wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout) as resp,
        ):
            yield resp


# -- async -----------------------------------------------------------------------------------


class AsyncCall:
    """The async twin of Call."""

    def __init__(self, client: AsyncClient, tk: CallTicket, t: AsyncProviderTransport) -> None:
        self.client = client
        self.ticket = tk
        self.transport = t

    async def send(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        t = self.transport
        wire = _wire(t, req)

        async def once(dl: Deadline) -> httpx.Response:
            return await t.send(
                wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout, max_retries=0, deadline=dl
            )

        resp = await self.client._with_retries(_view(self.ticket, wire), t, None, once)
        self.client._orch.learn(self.ticket, resp.headers)
        return resp

    async def connect(self, opener: Callable[[], Awaitable[T]]) -> T:
        """A connection the call opens itself (a WebSocket handshake), with the same rate
        limits, hooks and retries as `send`; the retries stop once it is open."""
        self.ticket.requests += 1
        return await self.client._with_retries(self.ticket, self.transport, None, lambda dl: opener())

    @asynccontextmanager
    async def stream(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        t = self.transport
        wire = _wire(t, req)
        cms: list[Any] = []

        async def once(dl: Deadline) -> httpx.Response:
            cm = t.stream(
                wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout, max_retries=0, deadline=dl
            )
            resp = await cm.__aenter__()
            cms.append(cm)
            return resp

        resp = await self.client._with_retries(_view(self.ticket, wire), t, None, once)
        try:
            self.client._orch.learn(self.ticket, resp.headers)
            yield resp
        finally:
            await cms[-1].__aexit__(None, None, None)

    async def done(
        self, result: Any, usage: Usage | None = None, cost: float | None = None, tokens: int | None = None
    ) -> None:
        await self.client._orch.acall_done(self.ticket, result, usage, cost, tokens)


@asynccontextmanager
async def acall(
    client: AsyncClient,
    provider: str,
    spec: ProviderSpec,
    kind: str,
    model_id: str = "",
    *,
    operation: str | None = None,
    body: Any = None,
    stream: bool = False,
    tokens: int = 0,
    cost: float | None = None,
    pricing: Pricing = "unknown",
    timed: bool = False,
) -> AsyncIterator[AsyncCall]:
    """The async twin of `call`."""
    orch = client._orch
    t = client._transport(provider, spec)
    tk = orch.call_ticket(
        provider,
        model_id,
        kind,
        operation=operation,
        body=body,
        stream=stream,
        tokens=tokens,
        cost=cost,
        pricing=pricing,
        timed=timed,
    )
    await orch.aopen_call(tk)
    try:
        yield AsyncCall(client, tk, t)
    except GeneratorExit:
        await orch.acall_done(tk, None)
        raise
    except BaseException as exc:
        await orch.afailed(tk, exc)
        raise
    await orch.acall_done(tk, None)


class AsyncGate:
    """The async twin of Gate."""

    def __init__(
        self,
        client: AsyncClient,
        provider: str,
        spec: ProviderSpec,
        kind: str = "native",
        pricing: Pricing | None = None,
    ) -> None:
        self._client = client
        self._name = provider
        self._pricing = pricing
        self.spec = spec
        self.kind = kind
        self.transport = client._transport(provider, spec)
        self.provider: str = self.transport.provider
        self.dialect: Dialect = self.transport.dialect

    def __repr__(self) -> str:
        return f"AsyncGate(provider={self._name!r}, kind={self.kind!r})"

    def _call(self, wire: WireRequest, stream: bool) -> AbstractAsyncContextManager[AsyncCall]:
        return acall(
            self._client,
            self._name,
            self.spec,
            self.kind,
            _model_of(wire),
            operation=wire.operation,
            body=wire.body,
            stream=stream,
            pricing=_pricing(wire, self._pricing),
        )

    async def send(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        wire = wire_request(req) if isinstance(req, ModalRequest) else req
        async with self._call(wire, False) as c:
            resp = await c.send(wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout)
            await c.done(resp)
            return resp

    @asynccontextmanager
    async def stream(
        self,
        req: Request,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        wire = wire_request(req) if isinstance(req, ModalRequest) else req
        async with (
            self._call(wire, True) as c,
            c.stream(wire, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout) as resp,
        ):
            yield resp
