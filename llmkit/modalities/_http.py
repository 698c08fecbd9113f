"""Sending modality requests over a provider's pooled transport.

Every body kind goes through the transport's one retry loop: JSON (`wire.body`), raw bytes
(an audio upload) and multipart forms alike get its auth (SigV4 included), headers, host
checks, error mapping, retries, Retry-After handling and the `total_timeout` deadline.
This module only turns a `ModalRequest` into the `WireRequest` the transport sends.
"""

from __future__ import annotations

import attrs
import httpx

from .._transport import AsyncProviderTransport, ProviderTransport, decode_json
from ..dialects._base import WireRequest
from ._base import ModalRequest

__all__ = ["asend", "content_type", "decode_json", "send", "wire_request"]


def wire_request(m: ModalRequest) -> WireRequest:
    """The request the transport sends for `m`: its raw or form body moved onto the wire request."""
    if m.is_json:
        return m.wire
    return attrs.evolve(m.wire, content=m.content, form=m.data, files=m.files, repeated_query=m.repeated_query)


def _build(t: ProviderTransport | AsyncProviderTransport, m: ModalRequest, timeout: float | None) -> httpx.Request:
    """The first attempt's request exactly as the transport builds it (for wire-form tests)."""
    req = t.encoded(wire_request(m))
    t.url(req)
    return t._build(req, t.content(req), None, None, t.timeouts(timeout, t.deadline()))


def send(t: ProviderTransport, m: ModalRequest, timeout: float | None = None) -> httpx.Response:
    """Send with the transport's retries; returns a successful, fully read response."""
    return t.send(wire_request(m), timeout=timeout)


async def asend(t: AsyncProviderTransport, m: ModalRequest, timeout: float | None = None) -> httpx.Response:
    """The async twin of `send`."""
    return await t.send(wire_request(m), timeout=timeout)


def content_type(resp: httpx.Response) -> str:
    """The media type of a response, without parameters."""
    return str(resp.headers.get("content-type", "application/octet-stream")).split(";")[0].strip()
