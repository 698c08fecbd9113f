"""A reusable base for providers that trade a credential for a short-lived access token.

GigaChat (OAuth), Yandex (IAM), watsonx (IBM IAM) and Vertex (Google OAuth) all work the same
way: POST something to a token endpoint, get a token and its lifetime, send it as a bearer
header until shortly before it expires. `TokenAuth` does that part once, for sync and async
clients alike:

- the token is cached and refreshed `refresh_margin` seconds before it expires;
- concurrent calls share one refresh (a lock per client kind: threads wait on a
  threading.Lock, tasks on an asyncio.Lock), so 100 callers cause one token request;
- a 401 from the API drops the token, fetches a new one and retries the request once;
- a token endpoint that is down or refuses the credential raises AuthenticationError saying
  which endpoint and why, never a bare httpx error;
- `ResolvedSettings.update()` (credential rotation) invalidates the cached token;
- the token and the credential never appear in a repr or an error message.

A provider override subclasses it and implements `token_request()` (the HTTP request to the
token endpoint) and `parse_token()` (its answer to a `Token`); a flow that is not one HTTP
request (e.g. reading a metadata server with fallbacks) overrides `fetch_token` and
`afetch_token` instead. Its module then exposes `auth(settings) -> httpx.Auth`.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any

import httpx

from llmkit._errors import AuthenticationError
from llmkit._settings import ResolvedSettings, Secret

__all__ = ["Token", "TokenAuth"]

DEFAULT_REFRESH_MARGIN = 60.0
DEFAULT_TOKEN_TIMEOUT = 30.0


class Token:
    """An access token and when it stops working (epoch seconds; None: never said)."""

    __slots__ = ("expires_at", "value")

    def __init__(self, value: str | Secret, expires_at: float | None = None) -> None:
        self.value = value if isinstance(value, Secret) else Secret(value)
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"Token('**********', expires_at={self.expires_at!r})"

    @classmethod
    def from_json(
        cls,
        data: Any,
        *,
        token_key: str = "access_token",
        expires_in_key: str | None = "expires_in",
        expires_at_key: str | None = None,
        now: float | None = None,
    ) -> Token:
        """A token out of a JSON answer: a lifetime in seconds, or an expiry as epoch seconds,
        epoch milliseconds (GigaChat) or an RFC 3339 string (Yandex)."""
        if not isinstance(data, Mapping) or not isinstance(data.get(token_key), str) or not data[token_key]:
            raise ValueError(f"no {token_key!r} string in the token endpoint's answer")
        now = time.time() if now is None else now
        expires_at: float | None = None
        if expires_at_key and data.get(expires_at_key) is not None:
            expires_at = _epoch(data[expires_at_key])
        elif expires_in_key and data.get(expires_in_key) is not None:
            expires_at = now + float(data[expires_in_key])
        return cls(data[token_key], expires_at)


def _epoch(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v) / 1000.0 if v > 1e11 else float(v)  # milliseconds after 1973 are > 1e11
    if isinstance(v, str):
        return _dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"cannot read an expiry time from {v!r}")


class TokenAuth(httpx.Auth):
    """Cached, single-flight, refresh-before-expiry bearer tokens; subclass per provider."""

    def __init__(
        self,
        settings: ResolvedSettings,
        *,
        header: str = "Authorization",
        prefix: str = "Bearer ",
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TOKEN_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.provider = settings.spec.id
        self.header = header
        self.prefix = prefix
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.clock = clock
        self._token: Token | None = None
        self._version = settings.version
        self._thread_lock = threading.Lock()
        self._async_locks: dict[int, asyncio.Lock] = {}
        self.fetches = 0  # token requests made: observability and tests

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"expires_at={self._token.expires_at!r}"
        return f"{type(self).__name__}(provider={self.provider!r}, token={state})"

    # -- what a provider implements ---------------------------------------------------------
    def token_request(self) -> httpx.Request:
        """The request to the token endpoint (read credentials with self.settings.secret())."""
        raise NotImplementedError(f"{type(self).__name__} must implement token_request() or fetch_token()")

    def parse_token(self, response: httpx.Response) -> Token:
        """The token in a successful answer; the default reads OAuth's access_token/expires_in."""
        return Token.from_json(response.json(), now=self.clock())

    # -- fetching ---------------------------------------------------------------------------
    def fetch_token(self) -> Token:
        """Get a new token (sync). Errors become AuthenticationError."""
        request = self.token_request()
        try:
            with httpx.Client(verify=self.settings.verify, timeout=self.timeout, follow_redirects=False) as c:
                response = c.send(request)
                response.read()
        except httpx.HTTPError as exc:
            raise self._unreachable(request, exc) from None
        return self._parse(request, response)

    async def afetch_token(self) -> Token:
        """Get a new token (async). Errors become AuthenticationError."""
        request = self.token_request()
        try:
            async with httpx.AsyncClient(
                verify=self.settings.verify, timeout=self.timeout, follow_redirects=False
            ) as c:
                response = await c.send(request)
                await response.aread()
        except httpx.HTTPError as exc:
            raise self._unreachable(request, exc) from None
        return self._parse(request, response)

    def _endpoint(self, request: httpx.Request) -> str:
        return str(request.url.copy_with(query=None))

    def _unreachable(self, request: httpx.Request, exc: httpx.HTTPError) -> AuthenticationError:
        return AuthenticationError(
            f"could not get an access token for {self.provider} from {self._endpoint(request)}: "
            f"{type(exc).__name__}: {exc or 'no detail'}; check the auth endpoint setting and the network",
            provider=self.provider,
        )

    def _parse(self, request: httpx.Request, response: httpx.Response) -> Token:
        if response.status_code >= 300:
            snippet = " ".join(response.text.split())[:300]
            raise AuthenticationError(
                f"the token endpoint of {self.provider} ({self._endpoint(request)}) refused the credential: "
                f"HTTP {response.status_code}: {snippet or '(empty)'}",
                provider=self.provider,
                status=response.status_code,
            )
        try:
            return self.parse_token(response)
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                f"the token endpoint of {self.provider} ({self._endpoint(request)}) answered without a usable "
                f"token: {exc}",
                provider=self.provider,
                status=response.status_code,
            ) from None

    # -- caching ----------------------------------------------------------------------------
    def _fresh(self) -> Token | None:
        token = self._token
        if token is None or self._version != self.settings.version:
            return None
        if token.expires_at is not None and self.clock() >= token.expires_at - self.refresh_margin:
            return None
        return token

    def _store(self, token: Token) -> Token:
        self._token = token
        self.fetches += 1
        return token

    def _drop(self, token: Token) -> None:
        """Forget `token` (the API refused it), unless another caller already replaced it."""
        if self._token is token:
            self._token = None

    def sync_token(self) -> Token:
        token = self._fresh()
        if token is not None:
            return token
        with self._thread_lock:
            token = self._fresh()  # another thread may have refreshed while this one waited
            if token is not None:
                return token
            version = self.settings.version
            token = self._store(self.fetch_token())
            self._version = version
            return token

    async def async_token(self) -> Token:
        token = self._fresh()
        if token is not None:
            return token
        loop = id(asyncio.get_running_loop())
        lock = self._async_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            token = self._fresh()
            if token is not None:
                return token
            version = self.settings.version
            token = self._store(await self.afetch_token())
            self._version = version
            return token

    def invalidate(self) -> None:
        """Drop the cached token: the next request fetches a new one."""
        self._token = None

    # -- httpx.Auth -------------------------------------------------------------------------
    def _apply(self, request: httpx.Request, token: Token) -> None:
        request.headers[self.header] = self.prefix + token.value.get()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.sync_token()
        self._apply(request, token)
        response = yield request
        if response.status_code == 401:
            self._drop(token)
            self._apply(request, self.sync_token())
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.async_token()
        self._apply(request, token)
        response = yield request
        if response.status_code == 401:
            self._drop(token)
            self._apply(request, await self.async_token())
            yield request
