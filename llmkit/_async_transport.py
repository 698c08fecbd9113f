"""The asynchronous transport of one provider: the async twin of `_sync_transport`.

A cancel scope bounds each attempt by the call's deadline, and a per-loop semaphore keeps at
most MAX_CONNECTIONS requests in flight (httpcore's own pool queue is quadratic).
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx

from . import _retry
from ._constants import MAX_CONNECTIONS
from ._deadline import STATE, CallState, Deadline
from ._errors import TimeoutError
from ._log import log_request, log_response
from ._retry import request_id
from ._settings import ResolvedSettings
from ._transport_base import LIMITS, KeyAuth, KeyedTransport, TransportBase
from .dialects._base import Dialect, WireRequest

__all__ = ["AsyncProviderTransport"]


class AsyncProviderTransport(TransportBase):
    """Asynchronous transport of one provider inside one AsyncClient."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(settings, dialect)
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        if http is None:
            inner = httpx.AsyncHTTPTransport(verify=settings.verify, limits=LIMITS)
            http = httpx.AsyncClient(
                timeout=settings.timeout, follow_redirects=False, transport=KeyedTransport(inner, self)
            )
        else:
            self._key_auth = KeyAuth(self)
        self.http = http

    async def aclose(self) -> None:
        await self.http.aclose()

    def _slots(self) -> asyncio.Semaphore:
        """At most MAX_CONNECTIONS requests in flight, the rest wait here, in order.

        httpcore's pool rescans every waiting request against every connection on each change,
        which is quadratic: 1,000 concurrent streams took 48 s instead of 2 s. Waiting here
        keeps its queue short. One semaphore per event loop (an AsyncClient may be reused).
        """
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem = asyncio.Semaphore(MAX_CONNECTIONS)
            self._sem_loop = loop
        return self._sem

    async def _acquire(self, request: httpx.Request) -> asyncio.Semaphore:
        """A slot, waiting at most the pool timeout (as httpx's own pool would)."""
        slots = self._slots()
        pool = request.extensions.get("timeout", {}).get("pool")
        try:
            await asyncio.wait_for(slots.acquire(), pool)
        except builtins.TimeoutError:
            raise TimeoutError(
                f"no free connection to {self.provider} within the pool timeout ({pool}s): "
                f"{MAX_CONNECTIONS} requests are in flight; close streams you no longer read",
                provider=self.provider,
            ) from None
        return slots

    def _build(
        self,
        req: WireRequest,
        content: bytes | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        return self.http.build_request(
            req.method,
            self.url(req),
            params=self.query(req, extra_query) or None,
            headers=self.headers(req, extra_headers),
            content=content,
            timeout=timeout,
        )

    async def _attempt(self, request: httpx.Request, attempt: int) -> httpx.Response:
        self.hosts.check(request.url)
        log_request(self.provider, request, attempt, self.sensitive_names())
        started = time.monotonic()
        resp = await self.http.send(request, stream=True, auth=self._send_auth)
        log_response(self.provider, resp, request_id(resp.headers), time.monotonic() - started)
        return resp

    async def send(
        self,
        req: WireRequest,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        total_timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        retries = self.settings.max_retries if max_retries is None else max_retries
        deadline = deadline or self.deadline(total_timeout)
        if req.form is not None or req.files is not None:
            req = self.encoded(req)  # once: a retry resends these very bytes
        content = self.content(req)
        self.url(req)
        attempt = 0
        while True:
            left = deadline.remaining()
            if left is not None and left <= 0:
                raise deadline.error(self.provider, attempt)
            request = self._build(req, content, extra_headers, extra_query, self.timeouts(timeout, deadline))
            try:
                async with asyncio.timeout(left):
                    slots = await self._acquire(request)
                    try:
                        resp = await self._attempt(request, attempt)
                        try:
                            body = await resp.aread()
                        finally:
                            await resp.aclose()
                    finally:
                        slots.release()
                if resp.status_code < 300:
                    return resp
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except builtins.TimeoutError:
                raise deadline.error(self.provider, attempt + 1) from None
            except httpx.HTTPError as exc:
                if deadline.expired():
                    raise deadline.error(self.provider, attempt + 1) from None
                err = self.transport_error(exc)
            await _retry._asleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1

    @asynccontextmanager
    async def stream(
        self,
        req: WireRequest,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        total_timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed response; read it with `aiter_chunks(resp, provider)`."""
        retries = self.settings.max_retries if max_retries is None else max_retries
        deadline = deadline or self.deadline(total_timeout)
        if req.form is not None or req.files is not None:
            req = self.encoded(req)  # once: a retry resends these very bytes
        content = self.content(req)
        self.url(req)
        attempt = 0
        while True:
            left = deadline.remaining()
            if left is not None and left <= 0:
                raise deadline.error(self.provider, attempt)
            resp: httpx.Response | None = None
            request = self._build(req, content, extra_headers, extra_query, self.timeouts(timeout, deadline))
            slots = self._slots()
            held = False
            try:
                async with asyncio.timeout(left):
                    await self._acquire(request)
                    held = True
                    resp = await self._attempt(request, attempt)
                    if resp.status_code < 300:
                        break  # the slot stays held until the stream is closed
                    body = await resp.aread()
                    await resp.aclose()
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except builtins.TimeoutError:
                if resp is not None:
                    await resp.aclose()
                raise deadline.error(self.provider, attempt + 1) from None
            except httpx.HTTPError as exc:
                if resp is not None:
                    await resp.aclose()
                if deadline.expired():
                    raise deadline.error(self.provider, attempt + 1) from None
                err = self.transport_error(exc)
            finally:
                if held and (resp is None or resp.is_closed):
                    slots.release()
            await _retry._asleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1
        resp.extensions[STATE] = CallState(self.provider, deadline)
        try:
            yield resp
        finally:
            try:
                await resp.aclose()
            finally:
                slots.release()
