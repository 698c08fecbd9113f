"""Vertex AI credentials: an OAuth access token, a service-account key, or an express-mode key.

Named by specs/providers/vertex.yaml (`overrides: {auth: vertex}`); the transport builds it
once per Client with `auth(settings)`. First match wins:

* `access_token` (a string, or a callable returning a fresh one; read on every request) is
  sent as `Authorization: Bearer ...`;
* `credentials`, a service-account key (dict, JSON text or a file path), is exchanged for an
  OAuth token: an RS256-signed JWT (iss = client_email, aud = the key's token_uri, scope
  cloud-platform, one hour) is POSTed to the key's `token_uri` with the jwt-bearer grant, as
  google-auth does. Caching, refresh a minute before expiry, one fetch for any number of
  concurrent callers and one retry on a 401 come from overrides/_token.py. `cryptography`
  (the `vertex` extra) is imported only here, only when a JWT is signed;
* `api_key` is Vertex express mode: `x-goog-api-key`, no project (Gemini models only).

The location also picks the host: a `{location}` placeholder in the base URL is filled here
(`global` -> aiplatform.googleapis.com, `us`/`eu` -> aiplatform.{us|eu}.rep.googleapis.com,
otherwise {location}-aiplatform.googleapis.com), checked to be a plain location name.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from llmkit._errors import ConfigError
from llmkit._settings import Secret
from llmkit.overrides._token import TokenAuth

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = [
    "DEFAULT_TOKEN_URI",
    "JWT_GRANT",
    "SCOPE",
    "ServiceAccountAuth",
    "StaticAuth",
    "auth",
    "fill_location",
    "load_credentials",
    "signed_jwt",
]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_LIFETIME = 3600
_LOCATION = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_NONE = (
    "no credentials for 'vertex': pass providers={'vertex': {'access_token': ...}} (an OAuth token, or a callable "
    "returning one), or 'credentials' (a service-account key: dict, JSON text or path; or set "
    "GOOGLE_APPLICATION_CREDENTIALS), or an express-mode 'api_key'"
)


def fill_location(settings: ResolvedSettings) -> str:
    """The location, checked, and put into a `{location}` placeholder of the base URL."""
    loc = settings.values.get("location")
    if not isinstance(loc, str) or not _LOCATION.match(loc):
        raise ConfigError(
            f"bad location {loc!r} for 'vertex': pass providers={{'vertex': {{'location': 'us-central1'}}}} "
            "(or 'global'; or set GOOGLE_CLOUD_LOCATION)",
            provider="vertex",
        )
    base = settings.base_url
    if "{location}" in base:
        if loc == "global":
            base = base.replace("{location}-aiplatform.", "aiplatform.")
        elif loc in ("us", "eu"):
            base = base.replace("{location}-aiplatform.googleapis.com", f"aiplatform.{loc}.rep.googleapis.com")
        settings.base_url = base.replace("{location}", loc)
    return loc


def load_credentials(value: object) -> dict[str, Any]:
    """A service-account key from a dict, its JSON text (or the repr a dict setting became), or a path."""
    raw = value.get() if isinstance(value, Secret) else value
    data: Any = raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                try:
                    data = ast.literal_eval(text)  # a dict setting is kept as its repr
                except (ValueError, SyntaxError):
                    raise ConfigError("vertex credentials are not valid JSON", provider="vertex") from None
        else:
            path = Path(text).expanduser()
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot read vertex credentials from {str(path)!r}: {type(exc).__name__}; pass the path of a "
                    "service-account JSON key (IAM > Service accounts > Keys)",
                    provider="vertex",
                ) from None
    if not isinstance(data, dict):
        raise ConfigError("vertex credentials must be a service-account key (a JSON object)", provider="vertex")
    if data.get("type") != "service_account":
        raise ConfigError(
            f"vertex credentials of type {data.get('type')!r} are not supported: use a service-account key, or pass "
            "access_token=... (e.g. a callable returning google.auth credentials' .token)",
            provider="vertex",
        )
    for field in ("client_email", "private_key"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise ConfigError(f"the vertex service-account key has no {field!r}", provider="vertex")
    return data


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed_jwt(key: dict[str, Any], now: float) -> str:
    """The RS256 JWT assertion google-auth sends for a service account."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "vertex service-account credentials need the 'cryptography' package: pip install 'llmkit[vertex]'",
            provider="vertex",
        ) from None
    header = {"alg": "RS256", "typ": "JWT"}
    if key.get("private_key_id"):
        header["kid"] = str(key["private_key_id"])
    iat = int(now)
    claims = {
        "iss": key["client_email"],
        "scope": SCOPE,
        "aud": key.get("token_uri") or DEFAULT_TOKEN_URI,
        "iat": iat,
        "exp": iat + JWT_LIFETIME,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    )
    try:
        private = serialization.load_pem_private_key(key["private_key"].encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise ConfigError("the vertex service-account private_key is not a PEM RSA key", provider="vertex") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ConfigError("the vertex service-account private_key is not an RSA key", provider="vertex")
    signature = private.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class ServiceAccountAuth(TokenAuth):
    """OAuth tokens for a service account, through overrides/_token.py's cache and single flight."""

    def token_request(self) -> httpx.Request:
        key = load_credentials(self.settings.values.get("credentials"))
        uri = str(key.get("token_uri") or DEFAULT_TOKEN_URI)
        body = urlencode({"grant_type": JWT_GRANT, "assertion": signed_jwt(key, self.clock())})
        return httpx.Request(
            "POST", uri, content=body.encode("ascii"), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


class StaticAuth(httpx.Auth):
    """A given access token (Bearer) or an express-mode API key, read on every request."""

    def __init__(self, settings: ResolvedSettings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        kind = "access-token" if self._settings.values.get("access_token") is not None else "api-key"
        return f"StaticAuth({kind})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        values = self._settings.values
        token, key = values.get("access_token"), values.get("api_key")
        if isinstance(token, Secret):
            request.headers["Authorization"] = f"Bearer {token.get()}"
        elif isinstance(key, Secret):
            request.headers["x-goog-api-key"] = key.get()
        else:
            raise ConfigError(_NONE, provider="vertex")
        yield request


def auth(settings: ResolvedSettings, *, clock: Any = time.time) -> httpx.Auth:
    """The Vertex credential hook: fills the host, then picks token, service account or key."""
    fill_location(settings)
    v = settings.values
    if v.get("access_token") is None and v.get("credentials") is not None:
        load_credentials(v["credentials"])  # a bad key fails now, not at the first call
        return ServiceAccountAuth(settings, clock=clock)
    if v.get("access_token") is None and v.get("api_key") is None:
        raise ConfigError(_NONE, provider="vertex")
    return StaticAuth(settings)
