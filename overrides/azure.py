"""Azure OpenAI credentials: an `api-key` header, or a Microsoft Entra ID bearer token.

Named by specs/providers/azure.yaml (`overrides: {auth: azure}`); the transport builds it
once per Client with `auth(settings)`. Either/or is why this is code and not spec data: a
token (static `azure_ad_token`, or `azure_ad_token_provider` called per request so a
refreshed token is always used) wins over a key, as in Microsoft's own SDK, and the key is
then not sent at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import httpx

from llmkit._errors import ConfigError

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["AzureAuth", "auth"]

_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")


class AzureAuth(httpx.Auth):
    """Adds Azure's credential to every request; never shows it in a repr.

    It also fills an operation query value still written as a `{setting}` placeholder (the
    spec's `api-version: "{api_version}"`) on requests that did not expand it, which is what
    `client.native("azure")` sends; the chat adapter expands it itself.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        ad_token: str | None,
        token_provider: Callable[[], str] | None,
        settings: dict[str, Any],
    ) -> None:
        self._api_key = api_key
        self._ad_token = ad_token
        self._token_provider = token_provider
        self._settings = settings

    def __repr__(self) -> str:
        kind = "entra-token" if (self._ad_token or self._token_provider) else "api-key"
        return f"AzureAuth({kind})"

    def _token(self) -> str | None:
        if self._token_provider is not None:
            token = self._token_provider()
            if not isinstance(token, str) or not token:
                raise ConfigError(
                    "azure_ad_token_provider returned no token: it must return the Entra access token as a string",
                    provider="azure",
                )
            return token
        return self._ad_token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token()
        if token is not None:
            request.headers.pop("api-key", None)
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._api_key is not None:
            request.headers.pop("Authorization", None)
            request.headers["api-key"] = self._api_key
        filled = {}
        for key, value in request.url.params.multi_items():
            m = _PLACEHOLDER.match(value)
            if m is not None and self._settings.get(m.group(1)) is not None:
                filled[key] = str(self._settings[m.group(1)])
        if filled:
            request.url = request.url.copy_merge_params(filled)
        yield request


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The Azure credential from resolved settings; ConfigError naming both ways when neither is set."""
    provider = settings.get("azure_ad_token_provider")
    if provider is not None and not callable(provider):
        raise ConfigError(
            "azure_ad_token_provider must be a zero-argument callable returning an Entra token", provider="azure"
        )
    api_key = settings.secret("api_key")
    ad_token = settings.secret("azure_ad_token")
    if api_key is None and ad_token is None and provider is None:
        raise ConfigError(
            "no credentials for 'azure': pass providers={'azure': {'api_key': ...}} (or set AZURE_OPENAI_API_KEY), "
            "or an Entra token with 'azure_ad_token' (AZURE_OPENAI_AD_TOKEN) or 'azure_ad_token_provider'",
            provider="azure",
        )
    public = {k: v for k, v in settings.values.items() if isinstance(v, str)}
    return AzureAuth(api_key=api_key, ad_token=ad_token, token_provider=provider, settings=public)
