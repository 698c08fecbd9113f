"""Runtime base of the generated native clients (`client.native(provider_id)`).

A generated method names its operation; this turns it into a request on the Client's own
transport (auth, retries, error mapping) and the response into the operation's wire model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from ._errors import StreamError
from ._http_errors import error_for_status
from ._spec import Operation, ProviderSpec
from ._sse import SSEDecoder
from ._transport import AsyncProviderTransport, ProviderTransport
from ._wire import structure, unstructure
from .dialects._base import WireRequest, expand_path

__all__ = ["AsyncNativeClient", "NativeClient"]

T = TypeVar("T")


def _request(
    op: Operation, body: Any, path_params: Mapping[str, str], stream: bool, stream_flag: bool = False
) -> WireRequest:
    if body is not None and attrs.has(type(body)):
        body = unstructure(body)
    elif body is not None:
        body = dict(body)
    if stream_flag and body is not None:
        body["stream"] = True
    return WireRequest(
        method=op.method,
        path=expand_path(op.path, **path_params),
        body=body,
        query=dict(op.query),
        stream=stream,
    )


def _parse(data: bytes, cls: type[T] | None) -> Any:
    decoded = json.loads(data) if data.strip() else None
    return decoded if cls is None else structure(decoded, cls)


class NativeClient:
    """Base of every generated sync native client."""

    spec: ClassVar[ProviderSpec]

    def __init__(self, transport: ProviderTransport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.spec.id!r})"

    def _call(
        self,
        op: Operation,
        body: Any,
        cls: type[T] | None,
        *,
        path_params: Mapping[str, str],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> Any:
        resp = self._transport.send(
            _request(op, body, path_params, False), extra_headers=extra_headers, extra_query=extra_query
        )
        return _parse(resp.content, cls)

    def _stream(
        self,
        op: Operation,
        body: Any,
        cls: type[T],
        *,
        stream_flag: bool,
        path_params: Mapping[str, str],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> Iterator[T]:
        req = _request(op, body, path_params, True, stream_flag)
        with self._transport.stream(req, extra_headers=extra_headers, extra_query=extra_query) as resp:
            sse = SSEDecoder()
            for chunk in resp.iter_raw():
                for ev in sse.feed(chunk):
                    if ev.data.strip() == "[DONE]":
                        return
                    yield _event(ev.data, cls, self._transport)
            for ev in sse.flush():
                if ev.data.strip() != "[DONE]":
                    yield _event(ev.data, cls, self._transport)


class AsyncNativeClient:
    """Base of every generated async native client."""

    spec: ClassVar[ProviderSpec]

    def __init__(self, transport: AsyncProviderTransport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.spec.id!r})"

    async def _call(
        self,
        op: Operation,
        body: Any,
        cls: type[T] | None,
        *,
        path_params: Mapping[str, str],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> Any:
        resp = await self._transport.send(
            _request(op, body, path_params, False), extra_headers=extra_headers, extra_query=extra_query
        )
        return _parse(resp.content, cls)

    async def _stream(
        self,
        op: Operation,
        body: Any,
        cls: type[T],
        *,
        stream_flag: bool,
        path_params: Mapping[str, str],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> AsyncIterator[T]:
        req = _request(op, body, path_params, True, stream_flag)
        async with self._transport.stream(req, extra_headers=extra_headers, extra_query=extra_query) as resp:
            sse = SSEDecoder()
            async for chunk in resp.aiter_raw():
                for ev in sse.feed(chunk):
                    if ev.data.strip() == "[DONE]":
                        return
                    yield _event(ev.data, cls, self._transport)
            for ev in sse.flush():
                if ev.data.strip() != "[DONE]":
                    yield _event(ev.data, cls, self._transport)


def _event(data: str, cls: type[T], transport: ProviderTransport | AsyncProviderTransport) -> T:
    """One stream event as its wire model; an error event (or raw error body) raises typed."""
    provider = transport.provider
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise StreamError(f"{provider} sent a stream event that is not JSON: {exc}", provider=provider)
    if isinstance(payload, dict) and ("error" in payload or payload.get("type") == "error"):
        info = transport.dialect.error_info(0, payload)
        raise error_for_status(None, info, provider=provider, body=payload, request_id=None)
    try:
        return structure(payload, cls)
    except ValueError as exc:
        raise StreamError(f"{provider} sent a stream event that does not parse: {exc}", provider=provider)
