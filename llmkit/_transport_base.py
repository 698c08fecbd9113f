"""What the sync and async transports of one provider share: settings, hosts and credentials.

The API key is added by a wrapping httpx transport (`KeyedTransport`) to a per-send copy of
the request, so it is never in an object the caller or httpx's own logging sees
(`response.request`, errors). It is read from the settings for every send, so a rotated key
is used by the next request, and it is attached only to hosts `_hosts.Hosts` trusts. With a
caller's own httpx client, `KeyAuth` adds the same credentials as an httpx.Auth.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

from ._constants import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS
from ._errors import ConfigError
from ._hosts import Hosts
from ._request_build import RequestBuilder
from ._retry import RetryPolicy
from ._settings import ResolvedSettings, Secret
from .dialects._base import Dialect

__all__ = ["LIMITS", "KeyAuth", "KeyedTransport", "TransportBase"]

LIMITS = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS)


class KeyedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Adds the provider's key to a copy of each request, just before it goes on the wire."""

    def __init__(self, inner: httpx.BaseTransport | httpx.AsyncBaseTransport, owner: TransportBase) -> None:
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


class KeyAuth(httpx.Auth):
    """The same credentials as `KeyedTransport`, for an httpx client the caller supplied."""

    def __init__(self, owner: TransportBase) -> None:
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


class TransportBase(RequestBuilder, RetryPolicy):
    """One provider's transport state; `ProviderTransport` and `AsyncProviderTransport` add the I/O."""

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


def _reveal(v: Any) -> str:
    return v.get() if isinstance(v, Secret) else str(v)
