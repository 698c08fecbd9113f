"""Batches: many chat requests submitted at once, answered later at a lower price.

    handle = client.batches.submit("openai/gpt-4o-mini", [messages1, messages2], max_tokens=64)
    handle.wait(poll_interval=10, timeout=3600, progress=lambda done, total: ...)
    for item in handle.results():      # input order; a ChatResponse or a typed error per item
        ...
    page = client.batches.list("openai", limit=20)   # the account's batches, newest first

Each item's body is built by the client's own chat path (the same validation, the same
`UnsupportedFeatureError` before any request), and each answer is parsed by the same dialect
as `client.chat`. The wire protocols live in `llmkit._batch_wire`; every request goes through
the client's orchestration (`llmkit._gate`). A provider whose spec does not declare `batches`
is refused before any request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._batch_wire import (
    PROTOCOLS,
    BatchItem,
    BatchItemError,
    BatchPage,
    BatchProtocol,
    BatchStatus,
    Steps,
    split_item,
)
from ._errors import ConfigError, LLMKitError, UnsupportedFeatureError
from ._gate import AsyncGate, Gate
from ._types import ChatResponse
from .dialects._base import CallContext

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._spec import ProviderSpec
    from ._types import ChatRequest

__all__ = [
    "AsyncBatchHandle",
    "AsyncBatches",
    "BatchHandle",
    "BatchItemError",
    "BatchPage",
    "BatchStatus",
    "Batches",
]


def _run(gate: Gate, steps: Steps) -> Any:
    """Drive a protocol step through the client's orchestration (each request one call, with
    limits, budget, hooks and the transport's retries and error mapping)."""
    try:
        req = next(steps)
        while True:
            req = steps.send(gate.send(req))
    except StopIteration as stop:
        return stop.value


async def _arun(gate: AsyncGate, steps: Steps) -> Any:
    """The async twin of `_run`."""
    try:
        req = next(steps)
        while True:
            req = steps.send(await gate.send(req))
    except StopIteration as stop:
        return stop.value


class _HandleBase:
    def __init__(self, proto: BatchProtocol, items: list[BatchItem], raw: dict[str, Any], finish: _Finish) -> None:
        self._proto = proto
        self._items = items
        self._raw = raw
        self._finish = finish
        self.id: str = str(raw.get("id"))
        self.provider = proto.provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, id={self.id!r}, items={len(self._items)})"

    def __len__(self) -> int:
        return len(self._items)

    def _status(self) -> BatchStatus:
        st = self._proto.status(self._raw)
        if st.total == 0:
            st.total = len(self._items)
        return st

    def _timed_out(self, st: BatchStatus, start: float, poll_interval: float, timeout: float | None) -> None:
        from ._errors import TimeoutError as LLMKitTimeout

        if timeout is not None and time.monotonic() - start + poll_interval > timeout:
            raise LLMKitTimeout(
                f"batch {self.id} had not finished after {timeout}s ({st.done}/{st.total} done, {st.state})",
                provider=self.provider,
            )

    def _not_finished(self, st: BatchStatus) -> LLMKitError:
        return LLMKitError(f"batch {self.id} has not finished ({st.state}); call wait() first", provider=self.provider)

    def _assemble(self, st: BatchStatus, answers: dict[str, tuple[int, Any] | LLMKitError]) -> list[Any]:
        out: list[ChatResponse | LLMKitError] = []
        for it in self._items:
            got = answers.get(it.custom_id)
            if got is None:
                reason = {"canceled": "canceled", "expired": "expired"}.get(st.state, "missing")
                out.append(
                    BatchItemError(
                        f"{self.provider} batch {self.id} has no result for item {it.custom_id} ({reason})",
                        custom_id=it.custom_id,
                        reason=reason,
                        provider=self.provider,
                    )
                )
            elif isinstance(got, LLMKitError):
                out.append(got)
            else:
                status, body = got
                if status >= 400:
                    out.append(self._proto.item_error(it.custom_id, status, body))
                    continue
                try:
                    resp = self._finish(it.dialect.parse_chat(body, it.ctx), it.ctx, it.req)
                except LLMKitError as exc:
                    out.append(exc)
                    continue
                out.append(resp)
        return out


_Finish = Callable[[ChatResponse, CallContext, "ChatRequest | None"], ChatResponse]


class BatchHandle(_HandleBase):
    """A submitted batch: poll it, wait for it, read its results, cancel it."""

    def __init__(
        self, proto: BatchProtocol, items: list[BatchItem], raw: dict[str, Any], finish: _Finish, t: Gate
    ) -> None:
        super().__init__(proto, items, raw, finish)
        self._t = t

    def status(self) -> BatchStatus:
        """Ask the provider where the batch is (one request)."""
        self._raw = _run(self._t, self._proto.retrieve(self.id))
        return self._status()

    def wait(
        self,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        progress: Callable[[int, int], object] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> BatchStatus:
        """Poll until the batch has finished; `progress(done, total)` after each poll.
        Raises llmkit.TimeoutError when `timeout` seconds pass first (the batch keeps running)."""
        start = time.monotonic()
        while True:
            st = self.status()
            if progress is not None:
                progress(st.done, st.total)
            if st.finished:
                return st
            self._timed_out(st, start, poll_interval, timeout)
            sleep(poll_interval)

    def cancel(self) -> BatchStatus:
        """Ask the provider to cancel; items already answered keep their answers."""
        self._raw = _run(self._t, self._proto.cancel(self.id))
        return self._status()

    def results(self) -> list[ChatResponse | LLMKitError]:
        """One entry per input item, in input order: a ChatResponse, or the item's typed error
        (the same exception class `client.chat` would raise). Call after `wait()`."""
        st = self._status()
        if not st.finished:
            st = self.status()
        if not st.finished:
            raise self._not_finished(st)
        return self._assemble(st, _run(self._t, self._proto.results(self._raw)))


class AsyncBatchHandle(_HandleBase):
    """The async twin of BatchHandle."""

    def __init__(
        self, proto: BatchProtocol, items: list[BatchItem], raw: dict[str, Any], finish: _Finish, t: AsyncGate
    ) -> None:
        super().__init__(proto, items, raw, finish)
        self._t = t

    async def status(self) -> BatchStatus:
        self._raw = await _arun(self._t, self._proto.retrieve(self.id))
        return self._status()

    async def wait(
        self,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        progress: Callable[[int, int], object] | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> BatchStatus:
        import asyncio

        start = time.monotonic()
        while True:
            st = await self.status()
            if progress is not None:
                progress(st.done, st.total)
            if st.finished:
                return st
            self._timed_out(st, start, poll_interval, timeout)
            await (sleep or asyncio.sleep)(poll_interval)

    async def cancel(self) -> BatchStatus:
        self._raw = await _arun(self._t, self._proto.cancel(self.id))
        return self._status()

    async def results(self) -> list[ChatResponse | LLMKitError]:
        st = self._status()
        if not st.finished:
            st = await self.status()
        if not st.finished:
            raise self._not_finished(st)
        return self._assemble(st, await _arun(self._t, self._proto.results(self._raw)))


def _plan(
    client: Client | AsyncClient, model: str, items: Sequence[Any], params: dict[str, Any]
) -> tuple[str, ProviderSpec, type[BatchProtocol], list[BatchItem], list[Any]]:
    """Build every item with the client's chat path; refuse before any request."""
    if isinstance(items, (str, bytes)) or not items:
        raise LLMKitError("batches.submit needs a non-empty list of items")
    if params.get("stream"):
        raise UnsupportedFeatureError("a batch cannot stream; drop stream=True")
    prepared = []
    for item in items:
        messages, p = split_item(item, params)
        prepared.append(client._prepare(model, messages, p))
    provider, spec = prepared[0][0], prepared[0][1]
    if any(p[0] != provider for p in prepared):
        raise LLMKitError("all items of a batch go to one provider")
    proto_cls = PROTOCOLS.get(spec.dialect)
    if not spec.capabilities.batches or proto_cls is None:
        raise UnsupportedFeatureError(f"{provider} does not support batches", provider=provider)
    batch_items = [
        BatchItem(custom_id=f"llmkit-{i}", dialect=d, ctx=ctx, req=req)
        for i, (_, _, d, ctx, req, _) in enumerate(prepared)
    ]
    return provider, spec, proto_cls, batch_items, [p[5].body for p in prepared]


def _lister(client: Client | AsyncClient, provider: str) -> tuple[ProviderSpec, BatchProtocol]:
    """The provider's batch protocol, for a listing; refused before any request."""
    if not isinstance(provider, str) or not provider or "/" in provider:
        raise ConfigError(f"batches.list takes a provider id such as 'openai', got {provider!r}")
    spec = client._spec(provider)
    proto_cls = PROTOCOLS.get(spec.dialect)
    if not spec.capabilities.batches or proto_cls is None:
        raise UnsupportedFeatureError(f"{provider} does not support batches", provider=provider)
    return spec, proto_cls(provider, spec, client._transport(provider, spec))


class Batches:
    """`client.batches`: submit many chat requests as one provider batch."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def submit(self, model: str, items: Sequence[Any], **params: Any) -> BatchHandle:
        """Submit one chat request per item (a messages list, or a dict with `messages` and
        per-item parameters laid over `params`) as one batch; returns its handle."""
        provider, spec, proto_cls, batch_items, bodies = _plan(self._client, model, items, params)
        t = self._client._transport(provider, spec)
        proto = proto_cls(provider, spec, t)
        proto.check()
        raw = _run(Gate(self._client, provider, spec, "batches"), proto.create(batch_items, bodies))
        # Polling, cancelling and reading results cost nothing: the budget never refuses them.
        handle_gate = Gate(self._client, provider, spec, "batches", pricing="free")
        return BatchHandle(proto, batch_items, raw, self._client._finish, handle_gate)

    def list(
        self, provider: str, *, limit: int | None = None, after: str | None = None, before: str | None = None
    ) -> BatchPage:
        """One page of the account's batches on `provider`, newest first (one free request):
        `limit` per page, `after` the `last_id` of the page before (Anthropic also takes
        `before`, the `first_id` of the page after)."""
        spec, proto = _lister(self._client, provider)
        page: BatchPage = _run(
            Gate(self._client, provider, spec, "batches", pricing="free"), proto.list(limit, after, before)
        )
        return page


class AsyncBatches:
    """`async_client.batches`: the async twin of Batches."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def submit(self, model: str, items: Sequence[Any], **params: Any) -> AsyncBatchHandle:
        provider, spec, proto_cls, batch_items, bodies = _plan(self._client, model, items, params)
        t = self._client._transport(provider, spec)
        proto = proto_cls(provider, spec, t)
        proto.check()
        raw = await _arun(AsyncGate(self._client, provider, spec, "batches"), proto.create(batch_items, bodies))
        handle_gate = AsyncGate(self._client, provider, spec, "batches", pricing="free")
        return AsyncBatchHandle(proto, batch_items, raw, self._client._finish, handle_gate)

    async def list(
        self, provider: str, *, limit: int | None = None, after: str | None = None, before: str | None = None
    ) -> BatchPage:
        """The async twin of Batches.list."""
        spec, proto = _lister(self._client, provider)
        gate = AsyncGate(self._client, provider, spec, "batches", pricing="free")
        page: BatchPage = await _arun(gate, proto.list(limit, after, before))
        return page
