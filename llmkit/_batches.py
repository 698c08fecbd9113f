"""Batches: many chat requests submitted at once, answered later at a lower price.

    handle = client.batches.submit("openai/gpt-4o-mini", [messages1, messages2], max_tokens=64)
    handle.wait(poll_interval=10, timeout=3600, progress=lambda done, total: ...)
    for item in handle.results():      # input order; a ChatResponse or a typed error per item
        ...

Each item's body is built by the client's own chat path (the same validation, the same
`UnsupportedFeatureError` before any request), and each answer is parsed by the same dialect
as `client.chat`. OpenAI takes the requests as an uploaded JSONL file (`/files`, then
`/batches`); Anthropic takes them inline (`/v1/messages/batches`). A provider whose spec does
not declare `batches` is refused before any request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import httpx

from ._errors import LLMKitError, UnsupportedFeatureError
from ._gate import AsyncGate, Gate
from ._transport import decode_json
from ._types import ChatResponse
from .dialects._base import CallContext, WireRequest, expand_path
from .modalities._base import ModalRequest

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._spec import ProviderSpec
    from ._transport import AsyncProviderTransport, ProviderTransport
    from ._types import ChatRequest
    from .dialects._base import Dialect

__all__ = ["AsyncBatchHandle", "AsyncBatches", "BatchHandle", "BatchItemError", "BatchStatus", "Batches"]

T = Any
# A protocol step: yields the requests it needs, receives each response, returns its result.
Steps = Generator[ModalRequest, httpx.Response, T]

State = Literal["in_progress", "canceling", "completed", "canceled", "expired", "failed"]
_DONE_STATES = ("completed", "canceled", "expired", "failed")
# OpenAI's batch statuses, mapped onto llmkit's.
_OPENAI_STATES: dict[str, State] = {
    "validating": "in_progress",
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelling": "canceling",
    "cancelled": "canceled",
}
# Anthropic's error types, mapped to the HTTP status the same error has on a direct request.
_ANTHROPIC_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class BatchItemError(LLMKitError):
    """An item of a batch that has no answer: `reason` is `canceled`, `expired`, `errored`
    (the provider's own error, without an HTTP status) or `missing` (absent from the results)."""

    def __init__(self, message: str, *, custom_id: str, reason: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.custom_id = custom_id
        self.reason = reason


@attrs.define(kw_only=True, slots=True)
class BatchStatus:
    """Where a batch is. `done` counts the items already answered (succeeded or failed)."""

    id: str
    state: State
    total: int
    done: int
    succeeded: int
    failed: int
    raw: dict[str, Any] = attrs.field(repr=False)

    @property
    def finished(self) -> bool:
        return self.state in _DONE_STATES


@attrs.define(kw_only=True, slots=True)
class _Item:
    custom_id: str
    dialect: Dialect
    ctx: CallContext
    req: ChatRequest


def _split_item(item: Any, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    if isinstance(item, Mapping) and "messages" in item:
        own = dict(item)
        messages = own.pop("messages")
        return messages, {**params, **own}
    return item, dict(params)


def _jsonl(lines: Sequence[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines).encode()


def _parse_jsonl(content: bytes, provider: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, line in enumerate(content.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise LLMKitError(
                f"{provider} batch results line {n} is not JSON: {line[:200]!r}", provider=provider
            ) from exc
        if not isinstance(obj, dict):
            raise LLMKitError(f"{provider} batch results line {n} is not a JSON object", provider=provider)
        out.append(obj)
    return out


def _json_of(resp: httpx.Response, provider: str) -> dict[str, Any]:
    data = decode_json(resp, provider)
    if not isinstance(data, dict):
        raise LLMKitError(f"{provider} answered with JSON that is not an object", provider=provider)
    return data


def _int(v: Any) -> int:
    return v if isinstance(v, int) else 0


class _Protocol:
    """One provider family's batch endpoints (chosen by dialect, enabled by the spec)."""

    def __init__(self, provider: str, spec: ProviderSpec, t: ProviderTransport | AsyncProviderTransport) -> None:
        self.provider = provider
        self.spec = spec
        self.t = t

    def _path(self, op_name: str, **params: str) -> tuple[str, str]:
        op = self.spec.operation(op_name)
        if op is None:
            raise UnsupportedFeatureError(
                f"{self.provider} does not support batches: its spec declares no `{op_name}` operation",
                provider=self.provider,
            )
        return op.method, expand_path(op.path, **params)

    def _req(self, op_name: str, body: Any = None, **params: str) -> ModalRequest:
        method, path = self._path(op_name, **params)
        return ModalRequest(wire=WireRequest(method=method, path=path, body=body))

    def item_error(self, custom_id: str, status: int, body: Any) -> LLMKitError:
        err: LLMKitError = self.t.error_from_response(status, httpx.Headers(), json.dumps(body).encode())
        return err

    def check(self) -> None:
        raise NotImplementedError

    def create(self, items: list[_Item], bodies: list[Any]) -> Steps:
        raise NotImplementedError

    def retrieve(self, batch_id: str) -> Steps:
        raise NotImplementedError

    def cancel(self, batch_id: str) -> Steps:
        raise NotImplementedError

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        raise NotImplementedError

    def results(self, raw: dict[str, Any]) -> Steps:
        """custom_id -> (HTTP status, body) of the item's answer, or the item's error."""
        raise NotImplementedError


class _OpenAI(_Protocol):
    def check(self) -> None:
        for name in ("create_file", "create_batch", "retrieve_batch", "cancel_batch", "retrieve_file_content"):
            self._path(name, batch_id="x", file_id="x")

    def create(self, items: list[_Item], bodies: list[Any]) -> Steps:
        _, chat_path = self._path("create_chat_completion")
        url = "/v1" + chat_path if not chat_path.startswith("/v1/") else chat_path
        lines = [
            {"custom_id": it.custom_id, "method": "POST", "url": url, "body": body}
            for it, body in zip(items, bodies, strict=True)
        ]
        method, path = self._path("create_file")
        upload = ModalRequest(
            wire=WireRequest(method=method, path=path),
            data={"purpose": "batch"},
            files={"file": ("batch.jsonl", _jsonl(lines), "application/jsonl")},
        )
        file_id = _json_of((yield upload), self.provider).get("id")
        if not isinstance(file_id, str):
            raise LLMKitError(f"{self.provider} answered a file upload without an id", provider=self.provider)
        body = {"input_file_id": file_id, "endpoint": url, "completion_window": "24h"}
        return _json_of((yield self._req("create_batch", body)), self.provider)

    def retrieve(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("retrieve_batch", batch_id=batch_id)), self.provider)

    def cancel(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("cancel_batch", batch_id=batch_id)), self.provider)

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        counts = raw.get("request_counts") or {}
        ok, bad = _int(counts.get("completed")), _int(counts.get("failed"))
        return BatchStatus(
            id=str(raw.get("id")),
            state=_OPENAI_STATES.get(str(raw.get("status")), "in_progress"),
            total=_int(counts.get("total")),
            done=ok + bad,
            succeeded=ok,
            failed=bad,
            raw=raw,
        )

    def results(self, raw: dict[str, Any]) -> Steps:
        out: dict[str, tuple[int, Any] | LLMKitError] = {}
        for key in ("output_file_id", "error_file_id"):
            file_id = raw.get(key)
            if not isinstance(file_id, str):
                continue
            content = (yield self._req("retrieve_file_content", file_id=file_id)).content
            for line in _parse_jsonl(content, self.provider):
                cid = str(line.get("custom_id"))
                resp, error = line.get("response"), line.get("error")
                if isinstance(resp, dict) and isinstance(resp.get("status_code"), int):
                    out[cid] = (resp["status_code"], resp.get("body"))
                elif isinstance(error, dict):
                    out[cid] = BatchItemError(
                        f"{self.provider} batch item {cid} failed: {error.get('message', error)}",
                        custom_id=cid,
                        reason="errored",
                        provider=self.provider,
                    )
        return out


class _Anthropic(_Protocol):
    def check(self) -> None:
        for name in (
            "create_message_batch",
            "retrieve_message_batch",
            "cancel_message_batch",
            "retrieve_message_batch_results",
        ):
            self._path(name, batch_id="x")

    def create(self, items: list[_Item], bodies: list[Any]) -> Steps:
        requests = [{"custom_id": it.custom_id, "params": body} for it, body in zip(items, bodies, strict=True)]
        return _json_of((yield self._req("create_message_batch", {"requests": requests})), self.provider)

    def retrieve(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("retrieve_message_batch", batch_id=batch_id)), self.provider)

    def cancel(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("cancel_message_batch", batch_id=batch_id)), self.provider)

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        c = raw.get("request_counts") or {}
        ok = _int(c.get("succeeded"))
        bad = _int(c.get("errored")) + _int(c.get("canceled")) + _int(c.get("expired"))
        ps = raw.get("processing_status")
        state: State = "in_progress"
        if ps == "canceling":
            state = "canceling"
        elif ps == "ended":
            state = "canceled" if raw.get("cancel_initiated_at") else "completed"
        return BatchStatus(
            id=str(raw.get("id")),
            state=state,
            total=ok + bad + _int(c.get("processing")),
            done=ok + bad,
            succeeded=ok,
            failed=bad,
            raw=raw,
        )

    def results(self, raw: dict[str, Any]) -> Steps:
        content = (yield self._req("retrieve_message_batch_results", batch_id=str(raw.get("id")))).content
        out: dict[str, tuple[int, Any] | LLMKitError] = {}
        for line in _parse_jsonl(content, self.provider):
            cid = str(line.get("custom_id"))
            result = line.get("result") or {}
            kind = result.get("type")
            if kind == "succeeded":
                out[cid] = (200, result.get("message"))
            elif kind == "errored":
                err = result.get("error") or {}
                nested = err.get("error")
                inner: dict[str, Any] = nested if isinstance(nested, dict) else err
                status = _ANTHROPIC_STATUS.get(str(inner.get("type")), 500)
                body = err if "error" in err else {"type": "error", "error": err}
                out[cid] = (status, body)
            else:
                out[cid] = BatchItemError(
                    f"{self.provider} batch item {cid} was {kind}",
                    custom_id=cid,
                    reason=str(kind),
                    provider=self.provider,
                )
        return out


_PROTOCOLS: dict[str, type[_Protocol]] = {"openai_chat": _OpenAI, "anthropic_messages": _Anthropic}


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
    def __init__(self, proto: _Protocol, items: list[_Item], raw: dict[str, Any], finish: _Finish) -> None:
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

    def __init__(self, proto: _Protocol, items: list[_Item], raw: dict[str, Any], finish: _Finish, t: Gate) -> None:
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
        self, proto: _Protocol, items: list[_Item], raw: dict[str, Any], finish: _Finish, t: AsyncGate
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
) -> tuple[str, ProviderSpec, type[_Protocol], list[_Item], list[Any]]:
    """Build every item with the client's chat path; refuse before any request."""
    if isinstance(items, (str, bytes)) or not items:
        raise LLMKitError("batches.submit needs a non-empty list of items")
    if params.get("stream"):
        raise UnsupportedFeatureError("a batch cannot stream; drop stream=True")
    prepared = []
    for item in items:
        messages, p = _split_item(item, params)
        prepared.append(client._prepare(model, messages, p))
    provider, spec = prepared[0][0], prepared[0][1]
    if any(p[0] != provider for p in prepared):
        raise LLMKitError("all items of a batch go to one provider")
    proto_cls = _PROTOCOLS.get(spec.dialect)
    if not spec.capabilities.batches or proto_cls is None:
        raise UnsupportedFeatureError(f"{provider} does not support batches", provider=provider)
    batch_items = [
        _Item(custom_id=f"llmkit-{i}", dialect=d, ctx=ctx, req=req) for i, (_, _, d, ctx, req, _) in enumerate(prepared)
    ]
    return provider, spec, proto_cls, batch_items, [p[5].body for p in prepared]


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
