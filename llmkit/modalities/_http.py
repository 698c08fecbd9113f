"""Sending modality requests over a provider's pooled transport.

Every body kind goes through the transport's one retry loop: JSON (`wire.body`), raw bytes
(an audio upload) and multipart forms alike get its auth (SigV4 included), headers, host
checks, error mapping, retries, Retry-After handling and the `total_timeout` deadline.
This module only turns a `ModalRequest` into the `WireRequest` the transport sends.
"""

from __future__ import annotations

import attrs
import httpx

from .._transport import decode_json
from ..dialects._base import WireRequest
from ._base import ModalRequest

__all__ = ["content_type", "decode_json", "wire_request"]


def wire_request(m: ModalRequest) -> WireRequest:
    """The request the transport sends for `m`: its raw or form body moved onto the wire request."""
    if m.is_json:
        return m.wire
    return attrs.evolve(m.wire, content=m.content, form=m.data, files=m.files, repeated_query=m.repeated_query)


def content_type(resp: httpx.Response) -> str:
    """The media type of a response, without parameters."""
    return str(resp.headers.get("content-type", "application/octet-stream")).split(";")[0].strip()
