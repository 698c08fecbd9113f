"""Azure OpenAI credentials: an `api-key` header, or a Microsoft Entra ID bearer token.

Named by specs/providers/azure.yaml (`overrides: {auth: azure}`); the transport builds it
once per Client with `auth(settings)`. Either/or is why this is code and not spec data: an
Entra token (`azure_ad_token`) wins over a key (`api_key`), as in Microsoft's own SDK, and the
key is then not sent at all. Both are read from the settings on every request, so a callable
`azure_ad_token` (e.g. azure.identity's `get_bearer_token_provider(...)`) gives a fresh token
each time and `update()` on a live client takes effect at once.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

from llmkit._errors import ConfigError
from llmkit._settings import Secret

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["AzureAuth", "auth"]

_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
_NONE = (
    "no credentials for 'azure': pass providers={'azure': {'api_key': ...}} (or set AZURE_OPENAI_API_KEY), "
    "or an Entra token (or a callable returning one) as 'azure_ad_token' (or set AZURE_OPENAI_AD_TOKEN)"
)


class AzureAuth(httpx.Auth):
    """Adds Azure's credential to every request; never shows it in a repr.

    It also fills an operation query value still written as a `{setting}` placeholder (the
    spec's `api-version: "{api_version}"`) on requests that did not expand it, which is what
    `client.native("azure")` sends; the chat adapter expands it itself.
    """

    def __init__(self, settings: ResolvedSettings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        kind = "entra-token" if self._settings.values.get("azure_ad_token") is not None else "api-key"
        return f"AzureAuth({kind})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        values = self._settings.values  # one snapshot: never half of an update()
        token, key = values.get("azure_ad_token"), values.get("api_key")
        if isinstance(token, Secret):
            request.headers.pop("api-key", None)
            request.headers["Authorization"] = f"Bearer {token.get()}"
        elif isinstance(key, Secret):
            request.headers.pop("Authorization", None)
            request.headers["api-key"] = key.get()
        else:
            raise ConfigError(_NONE, provider="azure")
        filled = {}
        for name, value in request.url.params.multi_items():
            m = _PLACEHOLDER.match(value)
            setting = values.get(m.group(1)) if m is not None else None
            if isinstance(setting, str):
                filled[name] = setting
        if filled:
            request.url = request.url.copy_merge_params(filled)
        yield request


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The Azure credential hook; ConfigError naming both ways when neither is set."""
    if settings.values.get("api_key") is None and settings.values.get("azure_ad_token") is None:
        raise ConfigError(_NONE, provider="azure")
    return AzureAuth(settings)
