"""Runtime base of the generated native clients (`client.native(provider_id)`).

A generated method names its operation; this turns it into a request on the Client's own
transport (auth, retries, error mapping) and the response into the operation's wire model.

Streamed operations are framed as their spec says: `stream: sse` (OpenAI, Anthropic, Gemini;
`[DONE]` ends it), `stream: ndjson` (Ollama: one JSON object per line, no terminator) or
`stream: eventstream` (Bedrock's ConverseStream: AWS binary frames, CRC-checked; each event
comes out as the wire union with the member its `:event-type` header names, as boto3 gives it,
and an in-stream exception raises its typed error). An
NDJSON operation streams unless told otherwise (Ollama's server default), so its plain method
sends `"stream": false` when the caller did not choose.

A body that holds file contents (bytes, or `(filename, bytes[, media type])` tuples, alone or
in a list) is sent as multipart/form-data, the only way ElevenLabs' voice cloning and OpenAI's
file upload take it: each file is its own part (a list repeats the part name), booleans go as
`true`/`false` and objects as JSON strings. The transport encodes the form once and sends it
through the same retry loop as JSON, so a retried upload resends the identical bytes. An
answer that is not JSON (audio) comes back as bytes when the operation names no response model.
A `body: raw` operation (Deepgram's `listen`) takes the bytes and their media type as they are.

An operation's documented query options (`Operation.params`) are typed keywords of its method;
`encode_params` checks each value against its declared kind before anything is sent (a
ConfigError names the option) and writes it the one way the wire takes it: booleans as
`true`/`false`, numbers in decimal, an array as the key repeated, None left out. `extra_query`
is merged on top by the transport, for options a spec does not list.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, TypeVar
from urllib.parse import quote

import attrs
import httpx

from ._errors import ConfigError, StreamError
from ._eventstream import EventStreamDecoder, EventStreamMessage
from ._http_errors import error_for_status
from ._ndjson import NDJSONDecoder
from ._spec import Operation, ProviderSpec, QueryParam
from ._sse import SSEDecoder
from ._transport import AsyncProviderTransport, ProviderTransport
from ._wire import structure, unstructure
from .dialects._base import WireRequest, expand_path

if TYPE_CHECKING:
    from ._gate import AsyncGate, Gate

__all__ = ["AsyncNativeClient", "NativeClient", "encode_params", "expand_reserved", "merge_body", "multipart_parts"]

T = TypeVar("T")
_EVENTSTREAM = "application/vnd.amazon.eventstream"
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


_KIND_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a bool",
    "array": "a list of strings",
}


def _encode_one(p: QueryParam, value: Any) -> str | list[str] | None:
    """`value` as the wire writes it, or None when it is not of `p`'s kind."""
    if p.kind == "boolean":
        return ("true" if value else "false") if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None  # a bool is an int to Python, never to a query option
    if p.kind == "string":
        return value if isinstance(value, str) else None
    if p.kind == "integer":
        return str(value) if isinstance(value, int) else None
    if p.kind == "number":
        if isinstance(value, int):
            return str(value)
        return repr(value) if isinstance(value, float) and math.isfinite(value) else None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def encode_params(
    op: Operation, values: Mapping[str, Any], provider: str | None = None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The (single, repeated) query of `op`'s typed options; a value of the wrong kind, an
    unlisted enum value or a missing required option is a ConfigError before any request."""
    single: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for p in op.params:
        value = values.get(p.name)
        if value is None:
            if p.required:
                raise ConfigError(f"{op.name}: `{p.name}` is required", provider=provider)
            continue
        encoded = _encode_one(p, value)
        if encoded is None:
            raise ConfigError(
                f"{op.name}: `{p.name}` must be {_KIND_NAMES[p.kind]}, got {type(value).__name__} {value!r:.60}",
                provider=provider,
            )
        if p.enum and encoded not in p.enum:
            allowed = ", ".join(p.enum)
            raise ConfigError(f"{op.name}: `{p.name}` must be one of {allowed}, got {value!r:.60}", provider=provider)
        if isinstance(encoded, list):
            if encoded:
                repeated[p.wire] = encoded
        else:
            single[p.wire] = encoded
    return single, repeated


def _request(
    op: Operation,
    body: Any,
    path_params: Mapping[str, str],
    stream: bool,
    stream_flag: bool = False,
    params: Mapping[str, Any] | None = None,
    provider: str | None = None,
) -> WireRequest:
    single, repeated = encode_params(op, params or {}, provider)
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
        query={**dict(op.query), **single},
        repeated_query=repeated or None,
        headers={"Accept": _EVENTSTREAM} if op.stream == "eventstream" and stream else {},
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
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        req = _request(op, body, path_params, False, params=params, provider=self._transport.provider)
        req = _with_raw(_with_form(req), content)
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
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[T]:
        # Built now, not on first next(): a bad option fails at the call, like the plain method.
        req = _request(op, body, path_params, True, stream_flag, params, self._transport.provider)
        return self._events(op, req, cls, extra_headers, extra_query)

    def _events(
        self,
        op: Operation,
        req: WireRequest,
        cls: type[T],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> Iterator[T]:
        with self._transport.stream(req, extra_headers=extra_headers, extra_query=extra_query) as resp:
            if op.stream == "eventstream":
                frames = EventStreamDecoder(provider=self._transport.provider)
                for chunk in resp.iter_raw():
                    for msg in frames.feed(chunk):
                        yield _aws_event(msg, cls, self._transport)
                frames.flush()
                return
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
                    if _done(ev.data):
                        return
                    yield _event(ev.data, cls, self._transport)
            for ev in sse.flush():
                if not _done(ev.data):
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
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        req = _request(op, body, path_params, False, params=params, provider=self._transport.provider)
        req = _with_raw(_with_form(req), content)
        resp = await self._transport.send(req, extra_headers=extra_headers, extra_query=extra_query)
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
        params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[T]:
        # Built now, not on first anext(): a bad option fails at the call, like the plain method.
        req = _request(op, body, path_params, True, stream_flag, params, self._transport.provider)
        return self._events(op, req, cls, extra_headers, extra_query)

    async def _events(
        self,
        op: Operation,
        req: WireRequest,
        cls: type[T],
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> AsyncIterator[T]:
        async with self._transport.stream(req, extra_headers=extra_headers, extra_query=extra_query) as resp:
            if op.stream == "eventstream":
                frames = EventStreamDecoder(provider=self._transport.provider)
                async for chunk in resp.aiter_raw():
                    for msg in frames.feed(chunk):
                        yield _aws_event(msg, cls, self._transport)
                frames.flush()
                return
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
                    if _done(ev.data):
                        return
                    yield _event(ev.data, cls, self._transport)
            for ev in sse.flush():
                if not _done(ev.data):
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


def _done(data: str) -> bool:
    """The end-of-stream marker: `data: [DONE]` (OpenAI), or CLOVA's `signal` event `{"data": "[DONE]"}`."""
    text = data.strip()
    return text == "[DONE]" or text.replace(" ", "") == '{"data":"[DONE]"}'


def _aws_event(msg: EventStreamMessage, cls: type[T], transport: _Sender) -> T:
    """One AWS event-stream message as the operation's event union, `{<:event-type>: payload}`
    (the form boto3 yields), without Bedrock's random `p` padding; an `exception` or `error`
    message raises the typed error its HTTP twin would."""
    provider = transport.provider
    if msg.message_type in ("exception", "error"):
        from .dialects.bedrock_converse import stream_exception  # AWS's exception table

        raise stream_exception(msg, provider)
    if not msg.event_type:
        raise StreamError(f"{provider} sent an event-stream message without an :event-type header", provider=provider)
    try:
        payload = json.loads(msg.payload) if msg.payload else {}
    except ValueError as exc:
        raise StreamError(f"{provider} sent a {msg.event_type} event that is not JSON: {exc}", provider=provider)
    if isinstance(payload, dict):
        payload.pop("p", None)
    try:
        return structure({msg.event_type: payload}, cls)
    except ValueError as exc:
        raise StreamError(f"{provider} sent a {msg.event_type} event that does not parse: {exc}", provider=provider)
