"""The synchronous transport of one provider: one retry loop for every body, and streams.

`send` sends a JSON, raw or multipart request with retries under one deadline and returns
the fully read response; `stream` retries only until the status line is good. A watchdog
shuts the socket when the deadline passes, so a blocked read wakes up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from . import _retry
from ._deadline import STATE, CallState, Deadline
from ._log import log_request, log_response
from ._retry import request_id
from ._settings import ResolvedSettings
from ._transport_base import LIMITS, KeyAuth, KeyedTransport, TransportBase
from .dialects._base import Dialect, WireRequest

__all__ = ["ProviderTransport"]


class ProviderTransport(TransportBase):
    """Synchronous transport of one provider inside one Client."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.Client | None = None) -> None:
        super().__init__(settings, dialect)
        if http is None:
            inner = httpx.HTTPTransport(verify=settings.verify, limits=LIMITS)
            http = httpx.Client(timeout=settings.timeout, follow_redirects=False, transport=KeyedTransport(inner, self))
        else:
            self._key_auth = KeyAuth(self)
        self.http = http

    def close(self) -> None:
        self.http.close()

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

    def _attempt(self, request: httpx.Request, attempt: int) -> httpx.Response:
        self.hosts.check(request.url)
        log_request(self.provider, request, attempt, self.sensitive_names())
        started = time.monotonic()
        resp = self.http.send(request, stream=True, auth=self._send_auth)
        log_response(self.provider, resp, request_id(resp.headers), time.monotonic() - started)
        return resp

    def send(
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
        """Send with retries; returns a successful, fully read response."""
        retries = self.settings.max_retries if max_retries is None else max_retries
        deadline = deadline or self.deadline(total_timeout)
        if req.form is not None or req.files is not None:
            req = self.encoded(req)  # once: a retry resends these very bytes
        content = self.content(req)
        self.url(req)  # refuse a bad path before anything is sent
        attempt = 0
        while True:
            if deadline.expired():
                raise deadline.error(self.provider, attempt)
            state = CallState(self.provider, deadline)
            request = self._build(req, content, extra_headers, extra_query, self.timeouts(timeout, deadline))
            try:
                resp = self._attempt(request, attempt)
                try:
                    state.arm(resp)
                    body = resp.read()
                finally:
                    state.disarm()
                    resp.close()
                if state.fired:
                    raise deadline.error(self.provider, attempt + 1)
                if resp.status_code < 300:
                    return resp
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except httpx.HTTPError as exc:
                if state.timed_out():
                    raise deadline.error(self.provider, attempt + 1) from None
                err = self.transport_error(exc)
            _retry._sleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1

    @contextmanager
    def stream(
        self,
        req: WireRequest,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        total_timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> Iterator[httpx.Response]:
        """Open a streamed response (retrying only until the status line is good).

        Read it with `iter_chunks(resp, provider)` for typed errors and the deadline.
        """
        retries = self.settings.max_retries if max_retries is None else max_retries
        deadline = deadline or self.deadline(total_timeout)
        if req.form is not None or req.files is not None:
            req = self.encoded(req)  # once: a retry resends these very bytes
        content = self.content(req)
        self.url(req)
        attempt = 0
        while True:
            if deadline.expired():
                raise deadline.error(self.provider, attempt)
            state = CallState(self.provider, deadline)
            resp: httpx.Response | None = None
            request = self._build(req, content, extra_headers, extra_query, self.timeouts(timeout, deadline))
            try:
                resp = self._attempt(request, attempt)
                if resp.status_code < 300:
                    break
                body = resp.read()
                resp.close()
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except httpx.HTTPError as exc:
                if resp is not None:
                    resp.close()
                if state.timed_out():
                    raise deadline.error(self.provider, attempt + 1) from None
                err = self.transport_error(exc)
            _retry._sleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1
        resp.extensions[STATE] = state
        state.arm(resp)
        try:
            yield resp
        finally:
            state.disarm()
            resp.close()
