"""Sending modality requests over a provider's pooled transport.

JSON requests go through the transport's own `send` and `stream`. Raw-bytes and multipart
bodies (audio uploads) are built here on the same httpx client, with the transport's auth,
headers, error mapping and retry policy, because the transport only encodes JSON bodies.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from .._transport import AsyncProviderTransport, ProviderTransport, decode_json
from ._base import ModalRequest

__all__ = ["asend", "decode_json", "send"]


def _build(t: ProviderTransport | AsyncProviderTransport, m: ModalRequest, timeout: float | None) -> httpx.Request:
    req = m.wire
    params: dict[str, str | list[str]] = dict(t.query(req, None))
    params.update(m.repeated_query or {})
    request = t.http.build_request(
        req.method,
        t.url(req),
        params=params or None,
        headers=t.headers(req, None),
        content=m.content,
        data=m.data,
        files=m.files,
        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
    )
    t.hosts.check(request.url)
    return request


def send(t: ProviderTransport, m: ModalRequest, timeout: float | None = None) -> httpx.Response:
    """Send with the transport's retries; returns a successful, fully read response."""
    if m.is_json:
        return t.send(m.wire, timeout=timeout)
    attempt = 0
    while True:
        try:
            resp = t.http.send(_build(t, m, timeout), auth=t._send_auth)
            if resp.status_code < 400:
                return resp
            err: Exception = t.error_from_response(resp.status_code, resp.headers, resp.content)
        except httpx.HTTPError as exc:
            err = t.transport_error(exc)
        wait = t.should_retry(err, attempt, t.settings.max_retries)
        if wait is None:
            raise err
        time.sleep(wait)
        attempt += 1


async def asend(t: AsyncProviderTransport, m: ModalRequest, timeout: float | None = None) -> httpx.Response:
    """The async twin of `send`."""
    if m.is_json:
        return await t.send(m.wire, timeout=timeout)
    attempt = 0
    while True:
        try:
            resp = await t.http.send(_build(t, m, timeout), auth=t._send_auth)
            if resp.status_code < 400:
                return resp
            err: Exception = t.error_from_response(resp.status_code, resp.headers, resp.content)
        except httpx.HTTPError as exc:
            err = t.transport_error(exc)
        wait = t.should_retry(err, attempt, t.settings.max_retries)
        if wait is None:
            raise err
        await asyncio.sleep(wait)
        attempt += 1


def content_type(resp: httpx.Response) -> str:
    """The media type of a response, without parameters."""
    return str(resp.headers.get("content-type", "application/octet-stream")).split(";")[0].strip()
