"""watsonx.ai credentials: an IBM Cloud API key traded for a 60-minute IAM access token.

Named by specs/providers/watsonx.yaml (`overrides: {auth: watsonx}`). IBM IAM (`auth_url`)
takes a form POST `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>` and answers
`{"access_token", "expires_in": 3600, "expiration": <epoch seconds>, ...}`. Like IBM's own
SDKs the token is renewed once 80% of its lifetime has passed; caching, one refresh in flight
and the retry on 401 come from `TokenAuth`.

It also fills an operation query value still written as a `{setting}` placeholder (the spec's
`version: "{version}"`) on requests that did not expand it, which is what
`client.native("watsonx")` sends; the chat adapter expands it itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from llmkit._errors import ConfigError

from ._token import Token, TokenAuth

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["DEFAULT_AUTH_URL", "GRANT_TYPE", "WatsonxIAMAuth", "auth"]

DEFAULT_AUTH_URL = "https://iam.cloud.ibm.com/identity/token"
GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"
REFRESH_FRACTION = 0.2  # refresh when less than 20% of the lifetime is left (IBM SDK core)
_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
_NONE = (
    "no credentials for 'watsonx': pass providers={'watsonx': {'api_key': ...}} (an IBM Cloud API key; "
    "or set WATSONX_APIKEY)"
)


class WatsonxIAMAuth(TokenAuth):
    """IBM IAM: API key -> bearer token, renewed after 80% of its lifetime."""

    def token_request(self) -> httpx.Request:
        key = self.settings.secret("api_key")
        if not key:
            raise ConfigError(_NONE, provider=self.provider)
        url = str(self.settings.get("auth_url") or DEFAULT_AUTH_URL)
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"watsonx auth_url must be an http(s) URL, got {url!r}", provider=self.provider)
        return httpx.Request(
            "POST",
            url,
            headers={"Accept": "application/json"},
            data={"grant_type": GRANT_TYPE, "apikey": key},
        )

    def parse_token(self, response: httpx.Response) -> Token:
        data = response.json()
        token = Token.from_json(data, expires_at_key="expiration", now=self.clock())
        lifetime = data.get("expires_in") if isinstance(data, dict) else None
        if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) and lifetime > 0:
            self.refresh_margin = REFRESH_FRACTION * float(lifetime)
        return token

    def _apply(self, request: httpx.Request, token: Token) -> None:
        super()._apply(request, token)
        filled = {}
        for name, value in request.url.params.multi_items():
            m = _PLACEHOLDER.match(value)
            setting = self.settings.get(m.group(1)) if m is not None else None
            if isinstance(setting, str):
                filled[name] = setting
        if filled:
            request.url = request.url.copy_merge_params(filled)


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The watsonx credential hook; ConfigError before any request when no API key is set."""
    if settings.values.get("api_key") is None:
        raise ConfigError(_NONE, provider="watsonx")
    return WatsonxIAMAuth(settings)
