"""HTTP for one provider: a pooled httpx client, auth, retries, and typed errors.

`ProviderTransport` and `AsyncProviderTransport` share everything but the I/O. Retries cover
connection errors, timeouts and the retryable statuses, honour the server's wait hints, and
never happen once a stream has handed an event to the caller (that is the stream's job).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from ._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRY_STATUSES,
    USER_AGENT,
)
from ._errors import APIError, ConfigError, ConnectionError, TimeoutError
from ._http_errors import error_for_status, retry_after_seconds
from ._settings import ResolvedSettings
from .dialects._base import Dialect, ErrorInfo, WireRequest

__all__ = ["AsyncProviderTransport", "ProviderTransport"]


class _Base:
    def __init__(self, settings: ResolvedSettings, dialect: Dialect) -> None:
        self.settings = settings
        self.spec = settings.spec
        self.dialect = dialect
        self.provider = settings.spec.id
        self.base_headers, self.auth_query = self._static_auth()
        self.auth = self._override_auth()

    def _override_auth(self) -> httpx.Auth | None:
        """For `auth: {scheme: override}`: the httpx.Auth built by the spec's named override.

        An override module exposes `auth(settings) -> httpx.Auth`; it may add headers, fetch and
        refresh tokens, or sign requests, and works for sync and async clients alike.
        """
        if self.spec.auth.scheme != "override":
            return None
        import importlib

        name = dict(self.spec.overrides).get("auth")
        if name is None:
            raise ConfigError(f"provider {self.provider!r} has auth scheme 'override' but names no auth override")
        auth: httpx.Auth = importlib.import_module(f"llmkit.overrides.{name}").auth(self.settings)
        return auth

    def _static_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        spec, s = self.spec, self.settings
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(dict(spec.headers))
        for setting in spec.settings:
            if setting.header and s.get(setting.name) is not None:
                headers[setting.header] = str(s.get(setting.name))
        query: dict[str, str] = {}
        auth = spec.auth
        key = s.secret(auth.setting)
        if auth.scheme in ("header", "query") and key is None and auth.required:
            names = next((st.env for st in spec.settings if st.name == auth.setting), ())
            hint = f" or set {' / '.join(names)}" if names else ""
            raise ConfigError(
                f"no API key for {spec.id!r}: pass providers={{{spec.id!r}: {{{auth.setting!r}: ...}}}}{hint}",
                provider=spec.id,
            )
        if key is not None:
            if auth.scheme == "header" and auth.header:
                headers[auth.header] = auth.prefix + key
            elif auth.scheme == "query" and auth.param:
                query[auth.param] = key
        headers.update(s.headers)
        return headers, query

    @property
    def _send_auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    def url(self, req: WireRequest) -> str:
        return self.settings.base_url + req.path

    def headers(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str]:
        h = dict(self.base_headers)
        if req.body is not None:
            h["Content-Type"] = "application/json"
        if req.stream:
            h["Accept"] = "text/event-stream"
        h.update(req.headers)
        if extra:
            h.update(extra)
        return h

    def query(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str]:
        q = dict(req.query)
        q.update(self.auth_query)
        if extra:
            q.update(extra)
        return q

    def content(self, req: WireRequest) -> bytes | None:
        if req.body is None:
            return None
        return json.dumps(req.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def error_from_response(self, status: int, headers: httpx.Headers, body: bytes) -> APIError:
        text = body.decode("utf-8", errors="replace")
        data: Any
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            data = None
        if data is not None:
            info = self.dialect.error_info(status, data)
        else:
            snippet = " ".join(text.split())[:300]
            info = ErrorInfo(message=f"HTTP {status} with a non-JSON body: {snippet or '(empty)'}")
        return error_for_status(
            status,
            info,
            provider=self.provider,
            body=data if data is not None else text,
            request_id=_request_id(headers),
            retry_after=retry_after_seconds(headers),
        )

    def should_retry(self, exc: Exception, attempt: int, max_retries: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= max_retries:
            return None
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return _backoff(attempt)
        if isinstance(exc, APIError) and exc.status in RETRY_STATUSES:
            if exc.code == "insufficient_quota":
                return None
            hint = exc.retry_after
            if hint is not None:
                return None if hint > MAX_RETRY_AFTER else hint
            return _backoff(attempt)
        return None

    def transport_error(self, exc: httpx.HTTPError) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(f"request to {self.provider} timed out ({type(exc).__name__})", provider=self.provider)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigError(f"bad base_url for {self.provider}: {exc}", provider=self.provider)
        return ConnectionError(
            f"could not reach {self.provider} at {self.settings.base_url}: {type(exc).__name__}: {exc}",
            provider=self.provider,
        )


def _backoff(attempt: int) -> float:
    delay: float = min(INITIAL_RETRY_DELAY * (2**attempt), MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())


def _request_id(headers: httpx.Headers) -> str | None:
    for name in ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id", "cf-ray"):
        v: str | None = headers.get(name)
        if v:
            return v
    return None


class ProviderTransport(_Base):
    """Synchronous transport of one provider inside one Client."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.Client | None = None) -> None:
        super().__init__(settings, dialect)
        self.http = http or httpx.Client(timeout=settings.timeout, follow_redirects=False, verify=True)

    def close(self) -> None:
        self.http.close()

    def _build(
        self,
        req: WireRequest,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
        timeout: float | None,
    ) -> httpx.Request:
        return self.http.build_request(
            req.method,
            self.url(req),
            params=self.query(req, extra_query) or None,
            headers=self.headers(req, extra_headers),
            content=self.content(req),
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def send(
        self,
        req: WireRequest,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a successful, fully read response."""
        retries = self.settings.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            try:
                resp = self.http.send(self._build(req, extra_headers, extra_query, timeout), auth=self._send_auth)
                if resp.status_code < 400:
                    return resp
                err: Exception = self.error_from_response(resp.status_code, resp.headers, resp.content)
            except httpx.HTTPError as exc:
                err = self.transport_error(exc)
            wait = self.should_retry(err, attempt, retries)
            if wait is None:
                raise err
            time.sleep(wait)
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
    ) -> Iterator[httpx.Response]:
        """Open a streamed response (retrying only until the status line is good)."""
        retries = self.settings.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            resp: httpx.Response | None = None
            try:
                resp = self.http.send(
                    self._build(req, extra_headers, extra_query, timeout), stream=True, auth=self._send_auth
                )
                if resp.status_code < 400:
                    break
                body = resp.read()
                resp.close()
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except httpx.HTTPError as exc:
                if resp is not None:
                    resp.close()
                err = self.transport_error(exc)
            wait = self.should_retry(err, attempt, retries)
            if wait is None:
                raise err
            time.sleep(wait)
            attempt += 1
        try:
            yield resp
        finally:
            resp.close()


class AsyncProviderTransport(_Base):
    """Asynchronous transport of one provider inside one AsyncClient."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(settings, dialect)
        self.http = http or httpx.AsyncClient(timeout=settings.timeout, follow_redirects=False, verify=True)

    async def aclose(self) -> None:
        await self.http.aclose()

    def _build(
        self,
        req: WireRequest,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
        timeout: float | None,
    ) -> httpx.Request:
        return self.http.build_request(
            req.method,
            self.url(req),
            params=self.query(req, extra_query) or None,
            headers=self.headers(req, extra_headers),
            content=self.content(req),
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    async def send(
        self,
        req: WireRequest,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> httpx.Response:
        retries = self.settings.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            try:
                resp = await self.http.send(self._build(req, extra_headers, extra_query, timeout), auth=self._send_auth)
                if resp.status_code < 400:
                    return resp
                err: Exception = self.error_from_response(resp.status_code, resp.headers, resp.content)
            except httpx.HTTPError as exc:
                err = self.transport_error(exc)
            wait = self.should_retry(err, attempt, retries)
            if wait is None:
                raise err
            await asyncio.sleep(wait)
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
    ) -> AsyncIterator[httpx.Response]:
        retries = self.settings.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            resp: httpx.Response | None = None
            try:
                resp = await self.http.send(
                    self._build(req, extra_headers, extra_query, timeout), stream=True, auth=self._send_auth
                )
                if resp.status_code < 400:
                    break
                body = await resp.aread()
                await resp.aclose()
                err: Exception = self.error_from_response(resp.status_code, resp.headers, body)
            except httpx.HTTPError as exc:
                if resp is not None:
                    await resp.aclose()
                err = self.transport_error(exc)
            wait = self.should_retry(err, attempt, retries)
            if wait is None:
                raise err
            await asyncio.sleep(wait)
            attempt += 1
        try:
            yield resp
        finally:
            await resp.aclose()
