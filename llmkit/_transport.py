"""HTTP for one provider: a pooled httpx client, auth, retries, deadlines and typed errors.

`ProviderTransport` and `AsyncProviderTransport` share everything but the I/O. Retries cover
connection errors, timeouts and the retryable statuses, honour the server's wait hints, and
never happen once a stream has handed an event to the caller (that is the stream's job).

Security decisions made here, each tested in tests/test_security_*.py:
- The API key is added by a wrapping httpx transport to a per-send copy of the request, so it
  is never in an object the caller or httpx's own logging sees (`response.request`, errors).
  It is read from the settings for every send, so a rotated key is used by the next request.
- Redirects are never followed: a 3xx is an APIError naming where it pointed, so no credential
  can be forwarded to another host.
- TLS is verified unless the setting named `insecure_skip_tls_verify` says otherwise.
- A request path holding `?`, `#` or a dot segment is refused: path parts must be encoded.
- Requests go only to the origins in `_hosts.Hosts` (the base URL and the hosts the spec gives
  operations of their own); the key is attached to no other, and nothing built here is sent
  to any other.

`total_timeout` (setting or per call) is one deadline for the whole call: every attempt, every
backoff wait and the whole body. httpx's own timeouts are per phase and per read, so a server
dripping a byte per second would never trip them; the deadline clips each phase to the time
left, and a watchdog (sync) or a cancel scope (async) cuts a body that is still arriving.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import attrs
import httpx

from ._constants import (
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    MAX_RETRY_AFTER,
    QUOTA_CODES,
    RETRY_STATUSES,
    USER_AGENT,
)
from ._errors import APIError, ConfigError, ConnectionError, LLMKitError, StreamError, TimeoutError
from ._hosts import Hosts
from ._http_errors import StreamTimeoutError, backoff, error_for_status, retry_after_seconds
from ._log import log_failure, log_request, log_response, log_retry, redact_url
from ._settings import ResolvedSettings, Secret
from .dialects._base import Dialect, ErrorInfo, WireRequest

__all__ = [
    "DEADLINE_CODE",
    "AsyncProviderTransport",
    "Deadline",
    "ProviderTransport",
    "aiter_chunks",
    "decode_json",
    "iter_chunks",
]

# Indirections the tests replace to record waits instead of sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep

_LIMITS = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS)
_STATE = "llmkit_call"  # key of the _CallState in a streamed response's extensions
DEADLINE_CODE = "total_timeout"  # code of a TimeoutError that spent the whole deadline: never retried


class Deadline:
    """The end of a call's `total_timeout` on the monotonic clock (never, if None)."""

    __slots__ = ("at", "total")

    def __init__(self, total: float | None) -> None:
        self.total = total
        self.at = None if total is None else time.monotonic() + total

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def clip(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """Each phase's timeout, but never past the deadline."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)

        def c(v: float | None) -> float:
            return left if v is None else min(v, left)

        return httpx.Timeout(
            connect=c(timeout.connect), read=c(timeout.read), write=c(timeout.write), pool=c(timeout.pool)
        )

    def error(self, provider: str, attempts: int) -> TimeoutError:
        return TimeoutError(
            f"{provider} call did not finish within total_timeout={self.total:g}s ({attempts} attempt(s)); "
            "raise total_timeout or lower max_tokens",
            provider=provider,
            code=DEADLINE_CODE,
        )


class _CallState:
    """What a streamed response carries for its reader: the deadline and the watchdog's verdict."""

    __slots__ = ("deadline", "fired", "provider", "timer")

    def __init__(self, provider: str, deadline: Deadline) -> None:
        self.provider = provider
        self.deadline = deadline
        self.fired = False
        self.timer: threading.Timer | None = None

    def arm(self, response: httpx.Response) -> None:
        """Sync only: shut the socket when the deadline passes, waking a blocked read."""
        left = self.deadline.remaining()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if left is None or not isinstance(sock, socket.socket):
            return

        def fire() -> None:
            self.fired = True
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain-socket method, also for TLS
            except OSError:
                pass

        self.timer = threading.Timer(max(left, 0.0), fire)
        self.timer.daemon = True
        self.timer.start()

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def timed_out(self) -> bool:
        return self.fired or self.deadline.expired()


class _KeyedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Adds the provider's key to a copy of each request, just before it goes on the wire."""

    def __init__(self, inner: httpx.BaseTransport | httpx.AsyncBaseTransport, owner: _Base) -> None:
        self._inner = inner
        self._owner = owner

    def _keyed(self, request: httpx.Request) -> httpx.Request:
        if not self._owner.hosts.trusts(request.url):
            return request  # never a credential for a host the spec did not name
        headers, params = self._owner.credentials()
        if not headers and not params:
            return request
        url = request.url
        for k, v in params.items():
            url = url.copy_set_param(k, v)
        merged = request.headers.copy()
        merged.update(headers)
        return httpx.Request(request.method, url, headers=merged, stream=request.stream, extensions=request.extensions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(self._inner, httpx.BaseTransport)
        return self._inner.handle_request(self._keyed(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(self._inner, httpx.AsyncBaseTransport)
        return await self._inner.handle_async_request(self._keyed(request))

    def close(self) -> None:
        assert isinstance(self._inner, httpx.BaseTransport)
        self._inner.close()

    async def aclose(self) -> None:
        assert isinstance(self._inner, httpx.AsyncBaseTransport)
        await self._inner.aclose()


class _KeyAuth(httpx.Auth):
    """The same credentials as `_KeyedTransport`, for an httpx client the caller supplied."""

    def __init__(self, owner: _Base) -> None:
        self._owner = owner

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._owner.hosts.trusts(request.url):
            yield request
            return
        headers, params = self._owner.credentials()
        request.headers.update(headers)
        for k, v in params.items():
            request.url = request.url.copy_set_param(k, v)
        yield request


class _Base:
    def __init__(self, settings: ResolvedSettings, dialect: Dialect) -> None:
        self.settings = settings
        self.spec = settings.spec
        self.dialect = dialect
        self.provider = settings.spec.id
        self.base_headers = self._static_headers()
        self._check_key()
        self.auth = self._override_auth()  # may fill a `{region}` into settings.base_url
        self.hosts = Hosts(settings)
        self._key_auth: httpx.Auth | None = None  # set when the caller brings its own httpx client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={self.settings.base_url!r})"

    def _override_auth(self) -> httpx.Auth | None:
        """For `auth: {scheme: override}`: the httpx.Auth built by the spec's named override.

        An override module exposes `auth(settings) -> httpx.Auth`; it may add headers, fetch and
        refresh tokens (see overrides/_token.py), or sign requests, for sync and async alike.
        """
        if self.spec.auth.scheme != "override":
            return None
        import importlib

        name = dict(self.spec.overrides).get("auth")
        if name is None:
            raise ConfigError(f"provider {self.provider!r} has auth scheme 'override' but names no auth override")
        auth: httpx.Auth = importlib.import_module(f"llmkit.overrides.{name}").auth(self.settings)
        return auth

    def _static_headers(self) -> dict[str, str]:
        """Headers that never change: no credential is ever among them."""
        spec, s = self.spec, self.settings
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(dict(spec.headers))
        secret_names = {st.name for st in spec.settings if st.secret}
        for setting in spec.settings:
            if setting.header and setting.name not in secret_names and s.get(setting.name) is not None:
                headers[setting.header] = str(s.get(setting.name))
        headers.update(s.headers)
        return headers

    def _check_key(self) -> None:
        auth = self.spec.auth
        if auth.scheme in ("header", "query") and auth.required and self.settings.values.get(auth.setting) is None:
            names = next((st.env for st in self.spec.settings if st.name == auth.setting), ())
            hint = f" or set {' / '.join(names)}" if names else ""
            where = f"providers={{{self.provider!r}: {{{auth.setting!r}: ...}}}}"
            raise ConfigError(
                f"no API key for {self.provider!r}: pass {where}{hint}",
                provider=self.provider,
            )

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query params) carrying the current credentials, from one settings snapshot.

        That is the key (by the spec's auth scheme) plus any secret setting mapped to a header.
        A callable key is called here, once per request, so a rotated key is used at once and
        no request mixes an old value with a new one.
        """
        auth = self.spec.auth
        values = self.settings.values  # one snapshot: never half of an update()
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        for st in self.spec.settings:
            v = values.get(st.name)
            if st.header and st.secret and st.name != auth.setting and v is not None:
                headers[st.header] = _reveal(v)
        raw = values.get(auth.setting)
        if raw is not None and auth.scheme == "header" and auth.header:
            headers[auth.header] = auth.prefix + _reveal(raw)
        elif raw is not None and auth.scheme == "query" and auth.param:
            params[auth.param] = _reveal(raw)
        return headers, params

    def sensitive_names(self) -> tuple[str, ...]:
        """Header and query names holding credentials for this provider (for log redaction)."""
        names = [self.spec.auth.header or "", self.spec.auth.param or ""]
        names += [st.header or "" for st in self.spec.settings if st.secret]
        return tuple(n for n in names if n)

    @property
    def _send_auth(self) -> Any:
        if self.auth is not None:
            return self.auth
        return self._key_auth if self._key_auth is not None else httpx.USE_CLIENT_DEFAULT

    def url(self, req: WireRequest) -> str:
        path = req.path
        if "?" in path or "#" in path or any(seg in (".", "..") for seg in _decoded_segments(path)):
            raise ConfigError(
                f"refusing to send a request to {self.provider} with path {path!r}: path parts such as model ids "
                "must be percent-encoded (a '?', '#' or '..' there would change where the request goes)",
                provider=self.provider,
            )
        return self.hosts.base_for(req.operation) + path

    def headers(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str]:
        h = dict(self.base_headers)
        if req.body is not None:
            h["Content-Type"] = "application/json"
        elif req.content_type is not None:
            h["Content-Type"] = req.content_type
        if req.stream:
            h["Accept"] = "text/event-stream"
        h.update(req.headers)
        if extra:
            h.update(extra)
        return h

    def query(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str | Sequence[str]]:
        q: dict[str, str | Sequence[str]] = dict(req.query)
        if req.repeated_query:
            q.update(req.repeated_query)
        if extra:
            q.update(extra)
        return q

    def content(self, req: WireRequest) -> bytes | None:
        """The body's bytes: raw content as given, or JSON, where a value JSON cannot carry is a
        ConfigError before anything is sent. A form must have gone through `encoded` first."""
        if req.body is None:
            return req.content
        try:
            text = json.dumps(req.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"the request for {self.provider} cannot be sent as JSON ({exc}); tool arguments, extra_body and "
                "provider_options must hold only dict, list, str, int, finite float, bool or None",
                provider=self.provider,
            ) from None
        return text.encode("utf-8")

    def encoded(self, req: WireRequest) -> WireRequest:
        """`req` with its form (and files) encoded once into raw content and its content type.

        Built once per call, so every attempt sends identical bytes (one multipart boundary, a
        file read once), and a signer such as SigV4 signs exactly what goes on the wire.
        """
        if req.form is None and req.files is None:
            return req
        if req.body is not None or req.content is not None:
            raise ConfigError(
                f"a request to {self.provider} has both a form and a JSON or raw body; send one of them",
                provider=self.provider,
            )
        built = httpx.Request(req.method, "http://form.invalid/", data=req.form, files=req.files)
        content = built.read()
        ctype = built.headers.get("Content-Type")
        return attrs.evolve(req, content=content, content_type=ctype, form=None, files=None)

    def timeouts(self, timeout: float | None, deadline: Deadline) -> httpx.Timeout:
        base = self.settings.timeout if timeout is None else httpx.Timeout(timeout)
        return deadline.clip(base)

    def deadline(self, total_timeout: float | None = None) -> Deadline:
        """A call's deadline: make one per call and pass it to every attempt and to should_retry."""
        total = self.settings.total_timeout if total_timeout is None else total_timeout
        if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float)) or total <= 0):
            raise ConfigError(f"total_timeout must be a positive number of seconds, got {total!r}")
        return Deadline(total)

    def error_from_response(self, status: int, headers: httpx.Headers, body: bytes) -> APIError:
        if 300 <= status < 400:
            location = headers.get("location")
            where = redact_url(location) if location else "(no location)"
            return APIError(
                f"{self.provider} answered HTTP {status}, a redirect to {where}; "
                "llmkit never follows redirects (your key must not go to another host): set base_url to the final URL",
                provider=self.provider,
                status=status,
                request_id=_request_id(headers),
            )
        text = body.decode("utf-8", errors="replace")
        data: Any
        try:
            data = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            data = None
        info: ErrorInfo | None = None
        if data is not None:
            try:
                info = self.dialect.error_info(status, data)
            except Exception:  # an adapter must not turn a provider error into a crash
                info = None
        if info is None:
            snippet = " ".join(text.split())[:300]
            kind = "a non-JSON body"
            if "<html" in text[:500].lower():
                kind += ", an HTML page (from a proxy or gateway, not the API)"
            info = ErrorInfo(message=f"HTTP {status} with {kind}: {snippet or '(empty)'}")
        return error_for_status(
            status,
            info,
            provider=self.provider,
            body=data if data is not None else text,
            request_id=_request_id(headers),
            retry_after=retry_after_seconds(headers),
        )

    def should_retry(
        self, exc: Exception, attempt: int, max_retries: int, deadline: Deadline | None = None
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= max_retries:
            return None
        wait: float | None = None
        if isinstance(exc, TimeoutError) and exc.code == DEADLINE_CODE:
            return None  # the call's whole time is spent
        if isinstance(exc, (ConnectionError, TimeoutError)):
            wait = backoff(attempt)
        elif isinstance(exc, APIError) and exc.status in RETRY_STATUSES:
            if exc.code in QUOTA_CODES:
                return None  # out of credit: waiting will not help
            hint = exc.retry_after
            if hint is not None:
                wait = None if hint > MAX_RETRY_AFTER else hint
            else:
                wait = backoff(attempt)
        left = deadline.remaining() if deadline is not None else None
        if wait is not None and left is not None and wait >= left:
            return None  # waiting would pass the deadline: the caller gets the error now
        return wait

    def transport_error(self, exc: httpx.HTTPError) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(f"request to {self.provider} timed out ({type(exc).__name__})", provider=self.provider)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigError(f"bad base_url for {self.provider}: {exc}", provider=self.provider)
        return ConnectionError(
            f"could not reach {self.provider} at {_where(exc, self.settings.base_url)}: {type(exc).__name__}: {exc}",
            provider=self.provider,
        )

    def _retry_or_raise(self, err: Exception, attempt: int, retries: int, deadline: Deadline) -> float:
        wait = self.should_retry(err, attempt, retries, deadline)
        if wait is None:
            log_failure(self.provider, err)
            raise err
        log_retry(self.provider, attempt, wait, err)
        return wait


def _where(exc: httpx.HTTPError, default: str) -> str:
    """The origin a failed request was for (an operation may have a host of its own)."""
    try:
        url = exc.request.url
    except RuntimeError:
        return default
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def _reveal(v: Any) -> str:
    return v.get() if isinstance(v, Secret) else str(v)


def _decoded_segments(path: str) -> list[str]:
    return [seg.replace("%2e", ".").replace("%2E", ".") for seg in path.split("/")]


def _request_id(headers: httpx.Headers) -> str | None:
    for name in ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id", "cf-ray"):
        v: str | None = headers.get(name)
        if v:
            return v
    return None


def _state(resp: httpx.Response) -> _CallState | None:
    st = resp.extensions.get(_STATE)
    return st if isinstance(st, _CallState) else None


def _stream_failure(resp: httpx.Response, provider: str, exc: Exception) -> StreamError:
    st = _state(resp)
    if st is not None and st.timed_out():
        return StreamTimeoutError(
            f"stream from {provider} did not finish within total_timeout={st.deadline.total:g}s; "
            "the answer so far is incomplete",
            provider=provider,
        )
    if isinstance(exc, (httpx.TimeoutException, builtins.TimeoutError)):
        return StreamTimeoutError(
            f"stream from {provider} stalled: no data within the read timeout ({type(exc).__name__})", provider=provider
        )
    return StreamError(f"stream from {provider} broke: {type(exc).__name__}: {exc}", provider=provider)


def iter_chunks(resp: httpx.Response, provider: str) -> Iterator[bytes]:
    """The decoded body of a streamed response; a cut, stall or deadline is a typed StreamError."""
    try:
        yield from resp.iter_bytes()
    except httpx.HTTPError as exc:
        raise _stream_failure(resp, provider, exc) from exc
    st = _state(resp)
    if st is not None and st.fired:  # the watchdog cut the socket at a message boundary
        raise _stream_failure(resp, provider, StreamError("deadline"))


async def aiter_chunks(resp: httpx.Response, provider: str) -> AsyncIterator[bytes]:
    """Async twin of `iter_chunks`; the deadline bounds every wait for the next chunk."""
    st = _state(resp)
    it = resp.aiter_bytes().__aiter__()
    while True:
        left = st.deadline.remaining() if st is not None else None
        try:
            async with asyncio.timeout(None if left is None else max(left, 0.0)):
                chunk = await it.__anext__()
        except StopAsyncIteration:
            return
        except (httpx.HTTPError, builtins.TimeoutError) as exc:
            raise _stream_failure(resp, provider, exc) from exc
        yield chunk


class ProviderTransport(_Base):
    """Synchronous transport of one provider inside one Client."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.Client | None = None) -> None:
        super().__init__(settings, dialect)
        if http is None:
            inner = httpx.HTTPTransport(verify=settings.verify, limits=_LIMITS)
            http = httpx.Client(
                timeout=settings.timeout, follow_redirects=False, transport=_KeyedTransport(inner, self)
            )
        else:
            self._key_auth = _KeyAuth(self)
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
        log_response(self.provider, resp, _request_id(resp.headers), time.monotonic() - started)
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
            state = _CallState(self.provider, deadline)
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
            _sleep(self._retry_or_raise(err, attempt, retries, deadline))
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
            state = _CallState(self.provider, deadline)
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
            _sleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1
        resp.extensions[_STATE] = state
        state.arm(resp)
        try:
            yield resp
        finally:
            state.disarm()
            resp.close()


class AsyncProviderTransport(_Base):
    """Asynchronous transport of one provider inside one AsyncClient."""

    def __init__(self, settings: ResolvedSettings, dialect: Dialect, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(settings, dialect)
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        if http is None:
            inner = httpx.AsyncHTTPTransport(verify=settings.verify, limits=_LIMITS)
            http = httpx.AsyncClient(
                timeout=settings.timeout, follow_redirects=False, transport=_KeyedTransport(inner, self)
            )
        else:
            self._key_auth = _KeyAuth(self)
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
        log_response(self.provider, resp, _request_id(resp.headers), time.monotonic() - started)
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
            await _asleep(self._retry_or_raise(err, attempt, retries, deadline))
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
            await _asleep(self._retry_or_raise(err, attempt, retries, deadline))
            attempt += 1
        resp.extensions[_STATE] = _CallState(self.provider, deadline)
        try:
            yield resp
        finally:
            try:
                await resp.aclose()
            finally:
                slots.release()


def decode_json(resp: httpx.Response, provider: str) -> Any:
    """The JSON body of a successful response, or an LLMKitError quoting what came instead."""
    try:
        return json.loads(resp.content)
    except ValueError as exc:
        snippet = " ".join(resp.text.split())[:200]
        raise LLMKitError(
            f"{provider} answered HTTP {resp.status_code} with a body that is not JSON: {snippet!r}",
            provider=provider,
            status=resp.status_code,
        ) from exc
