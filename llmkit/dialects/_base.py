"""The contract every dialect adapter implements.

An adapter maps unified types to one wire dialect and back, and nothing else: no I/O, no
retries, no branching on a provider id (only on the spec's capabilities and quirk flags).
The runtime owns transport; this keeps adapters pure and testable against fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any, Protocol
from urllib.parse import quote

import attrs

from .._errors import APIError
from .._events import StreamAccumulator, StreamEvent
from .._spec import ModelInfo, ProviderSpec
from .._sse import SSEEvent
from .._types import ChatRequest, ChatResponse

__all__ = [
    "CallContext",
    "Dialect",
    "ErrorInfo",
    "FilePart",
    "FormFiles",
    "StreamDecoder",
    "WireRequest",
    "encode_path_segment",
    "expand_path",
]


@attrs.define(kw_only=True, slots=True)
class CallContext:
    """What an adapter may know about the call: provider spec, model id, settings values."""

    spec: ProviderSpec
    model: str
    model_info: ModelInfo | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def provider(self) -> str:
        return self.spec.id

    def quirk(self, name: str) -> bool:
        return name in self.spec.quirks


FilePart = tuple[str, bytes | IO[bytes], str]  # (filename, contents, media type)
FormFiles = Mapping[str, FilePart] | Sequence[tuple[str, FilePart]]  # a sequence may repeat a part name


@attrs.define(kw_only=True, slots=True)
class WireRequest:
    """One HTTP request, relative to the provider's base URL. `path` is already encoded.

    `operation` names the spec operation sent; when that operation declares a host of its own
    (`Operation.base_url`) the transport resolves it, so a request can only ever go to a host
    the spec names or the user configured, never to a URL carried in the request itself.

    The body is one of: `body` (JSON), `content` (raw bytes, e.g. an audio upload, typed by
    `content_type`), or `form` and `files` (multipart/form-data; `form` alone is urlencoded).
    The transport encodes a multipart body once, so every retry sends the same bytes.
    `repeated_query` holds query parameters given more than once (`keyterm=a&keyterm=b`).
    """

    method: str
    path: str
    body: Any = None
    query: dict[str, str] = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    stream: bool = False
    operation: str | None = None
    content: bytes | None = None
    content_type: str | None = None
    form: Mapping[str, Any] | None = None
    files: FormFiles | None = None
    repeated_query: Mapping[str, Sequence[str]] | None = None


@attrs.define(kw_only=True, slots=True)
class ErrorInfo:
    """What an adapter read out of an error body."""

    message: str
    code: str | None = None
    type: str | None = None
    retry_after: float | None = None


class StreamDecoder(Protocol):
    """Turns a provider's stream events into unified events, accumulating as it goes."""

    acc: StreamAccumulator

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        """Decode one SSE event. Raises APIError for an error inside the stream."""
        ...

    def end(self) -> list[StreamEvent]:
        """The transport ended. Raises StreamError if the stream's terminator never came."""
        ...


class Dialect(Protocol):
    """One wire dialect: request building, response parsing, stream decoding, errors."""

    name: str

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest: ...

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse: ...

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder: ...

    def error_info(self, status: int, data: Any) -> ErrorInfo: ...

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest: ...

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int: ...


def encode_path_segment(value: str) -> str:
    """Percent-encode a value placed in a URL path (model ids contain `/`, `:` and `@`).

    A bare `.` or `..` is encoded too, so a model id can never walk up the path.
    """
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def expand_path(template: str, **values: str) -> str:
    """Fill `{name}` placeholders of an operation path with percent-encoded values."""
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", encode_path_segment(v))
    return out


def stream_error(provider: str, info: ErrorInfo, body: Any, status: int | None = None) -> APIError:
    """An error the provider sent inside a 200 stream, typed by its code."""
    from .._http_errors import error_for_status

    return error_for_status(status, info, provider=provider, body=body, request_id=None)
