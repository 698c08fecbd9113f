"""GigaChat credentials: the authorization key traded for a 30-minute OAuth access token.

Named by specs/providers/gigachat.yaml (`overrides: {auth: gigachat}`). Sber's token endpoint
(`auth_url`, port 9443) wants `Authorization: Basic <authorization key>` (the key is already
base64 of client_id:client_secret and is sent as it is), a fresh `RqUID` UUID on every request
and the `scope` form field; it answers `{"access_token", "expires_at"}` with `expires_at` in
epoch MILLISECONDS (older deployments answer `{"tok", "exp"}`). Caching, refresh a minute
before expiry, one refresh in flight and the retry on 401 come from `TokenAuth`.

TLS for the token endpoint uses the provider's `verify` setting too, so the Russian Trusted
Root CA bundle given there covers both hosts; nothing here can turn verification off.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

from llmkit._errors import ConfigError
from llmkit._settings import Secret

from ._token import Token, TokenAuth

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["SCOPES", "GigaChatAuth", "StaticTokenAuth", "auth"]

SCOPES = ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP")
_NONE = (
    "no credentials for 'gigachat': pass providers={'gigachat': {'credentials': ...}} (or set "
    "GIGACHAT_CREDENTIALS) with the authorization key from the GigaChat cabinet, or a ready access "
    "token as 'api_key' (or GIGACHAT_ACCESS_TOKEN)"
)


def _check_key(key: str) -> None:
    """The authorization key must be base64: a raw client secret here is the usual mistake."""
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "gigachat 'credentials' is not base64: pass the authorization key shown in the GigaChat cabinet "
            "(base64 of client_id:client_secret), not the client secret itself",
            provider="gigachat",
        ) from None


class GigaChatAuth(TokenAuth):
    """OAuth for GigaChat: Basic key + RqUID + scope -> bearer token cached until near expiry."""

    def token_request(self) -> httpx.Request:
        key = self.settings.secret("credentials")
        if not key:
            raise ConfigError(_NONE, provider=self.provider)
        _check_key(key)
        scope = str(self.settings.get("scope") or SCOPES[0])
        url = str(self.settings.get("auth_url") or "")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"gigachat auth_url must be an http(s) URL, got {url!r}", provider=self.provider)
        return httpx.Request(
            "POST",
            url,
            headers={
                "Authorization": f"Basic {key}",
                "RqUID": str(uuid.uuid4()),
                "Accept": "application/json",
            },
            data={"scope": scope},
        )

    def parse_token(self, response: httpx.Response) -> Token:
        data = response.json()
        if isinstance(data, dict) and "tok" in data:
            return Token.from_json(data, token_key="tok", expires_in_key=None, expires_at_key="exp")
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise ValueError("no 'access_token' string in the answer")
        expires = data.get("expires_at")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise ValueError(f"'expires_at' must be epoch milliseconds, got {expires!r}")
        return Token(data["access_token"], expires / 1000.0)


class StaticTokenAuth(httpx.Auth):
    """A ready access token given as `api_key`: sent as a bearer token, read per request."""

    def __init__(self, settings: ResolvedSettings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        return "StaticTokenAuth('**********')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._settings.values.get("api_key")
        if not isinstance(token, Secret):
            raise ConfigError(_NONE, provider="gigachat")
        request.headers["Authorization"] = f"Bearer {token.get()}"
        yield request


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The GigaChat credential hook: OAuth with `credentials`, else a static `api_key` token."""
    scope = settings.get("scope")
    if scope is not None and scope not in SCOPES:
        raise ConfigError(
            f"gigachat scope must be one of {', '.join(SCOPES)}, got {scope!r}", provider=settings.spec.id
        )
    if settings.values.get("credentials") is not None:
        return GigaChatAuth(settings)
    if settings.values.get("api_key") is not None:
        return StaticTokenAuth(settings)
    raise ConfigError(_NONE, provider=settings.spec.id)
