"""Runtime base of the generated native clients (`client.native(provider_id)`).

A generated method names its operation; this turns it into a request on the Client's own
transport (auth, retries, error mapping) and the response into the operation's wire model.

Streamed operations are framed as their spec says: `stream: sse` (OpenAI, Anthropic, Gemini;
`[DONE]` ends it) or `stream: ndjson` (Ollama: one JSON object per line, no terminator). An
NDJSON operation streams unless told otherwise (Ollama's server default), so its plain method
sends `"stream": false` when the caller did not choose.

A body that holds file contents (bytes, or `(filename, bytes[, media type])` tuples, alone or
in a list) is sent as multipart/form-data, the only way ElevenLabs' voice cloning and OpenAI's
file upload take it: each file is its own part (a list repeats the part name), booleans go as
`true`/`false` and objects as JSON strings. The transport encodes the form once and sends it
through the same retry loop as JSON, so a retried upload resends the identical bytes. An
answer that is not JSON (audio) comes back as bytes when the operation names no response model.
A `body: raw` operation (Deepgram's `listen`) takes the bytes and their media type as they are.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, TypeVar
from urllib.parse import quote

import attrs
import httpx

from ._errors import ConfigError, StreamError
from ._http_errors import error_for_status
from ._ndjson import NDJSONDecoder
from ._spec import Operation, ProviderSpec
from ._sse import SSEDecoder
from ._transport import AsyncProviderTransport, ProviderTransport
from ._wire import structure, unstructure
from .dialects._base import WireRequest, expand_path

if TYPE_CHECKING:
    from ._gate import AsyncGate, Gate

__all__ = ["AsyncNativeClient", "NativeClient", "expand_reserved", "merge_body", "multipart_parts"]

T = TypeVar("T")
# What a native client sends through: the Client's orchestrated gate (`client.native(...)`)
# or a bare transport.
_Sender: TypeAlias = "ProviderTransport | AsyncProviderTransport | Gate | AsyncGate"


def merge_body(body: Any, fields: Mapping[str, Any]) -> Any:
    """A request body from `body` and keyword fields (`pull(model="llama3.2")`); fields win."""
    if not fields:
        if body is None:
            raise ConfigError("this operation needs a request body: pass `body` or its fields as keyword arguments")
        return body
    base = unstructure(body) if body is not None and attrs.has(type(body)) else dict(body or {})
    base.update(fields)
    return base


def expand_reserved(template: str, values: Mapping[str, str]) -> str:
    """Fill `{+name}` placeholders, whose values keep their slashes (Cloudflare's
    `@cf/meta/llama-3.1-8b-instruct` is several path segments on purpose).

    Each segment is still percent-encoded (`@` kept), and an empty or dot segment is refused:
    the value can add segments but never climb out of its place in the path.
    """
    out = template
    for name, value in values.items():
        marker = "{+" + name + "}"
        if marker not in out:
            continue
        segments = value.split("/")
        if any(seg in ("", ".", "..") for seg in segments):
            raise ConfigError(f"{name} {value!r} has an empty or dot path segment; it cannot go into the path")
        out = out.replace(marker, "/".join(quote(seg, safe="@") for seg in segments))
    return out


def _request(
    op: Operation, body: Any, path_params: Mapping[str, str], stream: bool, stream_flag: bool = False
) -> WireRequest:
    if body is not None and attrs.has(type(body)):
        body = unstructure(body)
    elif body is not None:
        body = dict(body)
    if stream_flag and body is not None:
        body["stream"] = True
    elif op.stream == "ndjson" and body is not None and not stream:
        body.setdefault("stream", False)  # NDJSON endpoints stream by default
    return WireRequest(
        method=op.method,
        path=expand_path(expand_reserved(op.path, path_params), **path_params),
        body=body,
        query=dict(op.query),
        stream=stream,
        operation=op.name,
    )


FormData = dict[str, str | list[str]]
FormFiles = list[tuple[str, tuple[str, bytes, str]]]


def _is_file(v: Any) -> bool:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return True
    return isinstance(v, tuple) and len(v) in (2, 3) and isinstance(v[0], str) and isinstance(v[1], (bytes, bytearray))


def _files_of(v: Any) -> list[Any] | None:
    if _is_file(v):
        return [v]
    if isinstance(v, list) and v and all(_is_file(x) for x in v):
        return v
    return None


def multipart_parts(body: Mapping[str, Any]) -> tuple[FormData, FormFiles] | None:
    """The (form fields, file parts) of a body holding file contents; None for a JSON body."""
    if not any(_files_of(v) is not None for v in body.values()):
        return None
    data: FormData = {}
    files: FormFiles = []
    for key, value in body.items():
        if value is None:
            continue
        items = _files_of(value)
        if items is not None:
            for i, item in enumerate(items):
                if isinstance(item, tuple):
                    media = item[2] if len(item) == 3 else "application/octet-stream"
                    files.append((key, (item[0], bytes(item[1]), media)))
                else:
                    files.append((key, (f"{key}-{i}", bytes(item), "application/octet-stream")))
        elif isinstance(value, bool):
            data[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            data[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            data[key] = str(value)
    return data, files


def _with_form(req: WireRequest) -> WireRequest:
    """`req` as multipart when its body holds file contents (the transport encodes it once)."""
    form = multipart_parts(req.body) if isinstance(req.body, dict) else None
    if form is not None:
        req.body = None
        req.form, req.files = form
    return req


def _with_raw(req: WireRequest, content: tuple[bytes, str] | None) -> WireRequest:
    """`req` with a raw body (`body: raw` operations such as Deepgram's audio upload)."""
    if content is None:
        return req
    data, ctype = content
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ConfigError(f"content must be bytes (the raw request body), got {type(data).__name__}")
    if not isinstance(ctype, str) or "/" not in ctype or any(c in ctype for c in "\r\n"):
        raise ConfigError(f"content_type must be a media type such as 'audio/wav', got {ctype!r}")
    req.content, req.content_type = bytes(data), ctype
    return req


def _parse(resp: httpx.Response, cls: type[T] | None) -> Any:
    data = resp.content
    ctype = str(resp.headers.get("content-type", "application/json")).split(";")[0].strip().lower()
    if cls is None and data and not (ctype.endswith("json") or ctype.startswith("text/")):
        return data  # audio and other binary answers
    decoded = json.loads(data) if data.strip() else None
    return decoded if cls is None else structure(decoded, cls)


class NativeClient:
    """Base of every generated sync native client."""

    spec: ClassVar[ProviderSpec]

    def __init__(self, transport: ProviderTransport | Gate) -> None:
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
        content: tuple[bytes, str] | None = None,
    ) -> Any:
        req = _with_raw(_with_form(_request(op, body, path_params, False)), content)
        resp = self._transport.send(req, extra_headers=extra_headers, extra_query=extra_query)
        return _parse(resp, cls)

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
            if op.stream == "ndjson":
                lines = NDJSONDecoder(provider=self._transport.provider)
                for chunk in resp.iter_raw():
                    for value in lines.feed(chunk):
                        yield _value(value, cls, self._transport)
                for value in lines.flush():
                    yield _value(value, cls, self._transport)
                return
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

    def __init__(self, transport: AsyncProviderTransport | AsyncGate) -> None:
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
        content: tuple[bytes, str] | None = None,
    ) -> Any:
        req = _with_raw(_with_form(_request(op, body, path_params, False)), content)
        resp = await self._transport.send(req, extra_headers=extra_headers, extra_query=extra_query)
        return _parse(resp, cls)

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
            if op.stream == "ndjson":
                lines = NDJSONDecoder(provider=self._transport.provider)
                async for chunk in resp.aiter_raw():
                    for value in lines.feed(chunk):
                        yield _value(value, cls, self._transport)
                for value in lines.flush():
                    yield _value(value, cls, self._transport)
                return
            sse = SSEDecoder()
            async for chunk in resp.aiter_raw():
                for ev in sse.feed(chunk):
                    if ev.data.strip() == "[DONE]":
                        return
                    yield _event(ev.data, cls, self._transport)
            for ev in sse.flush():
                if ev.data.strip() != "[DONE]":
                    yield _event(ev.data, cls, self._transport)


def _event(data: str, cls: type[T], transport: _Sender) -> T:
    """One SSE event as its wire model; an error event (or raw error body) raises typed."""
    provider = transport.provider
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise StreamError(f"{provider} sent a stream event that is not JSON: {exc}", provider=provider)
    return _value(payload, cls, transport)


def _value(payload: Any, cls: type[T], transport: _Sender) -> T:
    """One decoded stream value as its wire model; an error value (e.g. Ollama's
    `{"error": "..."}` line under HTTP 200) raises its typed error instead."""
    provider = transport.provider
    if isinstance(payload, dict) and (payload.get("error") is not None or payload.get("type") == "error"):
        info = transport.dialect.error_info(0, payload)
        raise error_for_status(None, info, provider=provider, body=payload, request_id=None)
    try:
        return structure(payload, cls)
    except ValueError as exc:
        raise StreamError(f"{provider} sent a stream event that does not parse: {exc}", provider=provider)
