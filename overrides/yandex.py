"""Yandex Cloud credentials: an API key, an IAM token, or a service-account key traded for IAM tokens.

Named by specs/providers/yandex.yaml (`overrides: {auth: yandex}`). Which one is used is the
first set of `service_account_key`, `iam_token`, `api_key`:

- `api_key` -> `Authorization: Api-Key <key>`, and no `x-folder-id` (Yandex's docs: with a
  service-account API key the account's own folder is used);
- `iam_token` -> `Authorization: Bearer <token>` plus `x-folder-id: <folder_id>`;
- `service_account_key` (the authorized-key JSON `yc iam key create` writes) -> a JWT signed
  with PS256 (RSA-PSS, SHA-256, salt length = digest length: Yandex rejects other salts), with
  `kid` = key id, `iss` = service account id, `aud` = the IAM endpoint and a lifetime of at most
  an hour, posted to `iam_url` as `{"jwt": ...}`; the IAM token that comes back (valid up to 12
  hours) is cached and renewed hourly as Yandex advises, by `TokenAuth` (single-flight, one
  retry on 401). `cryptography` is imported only here, only when a key is used.

Async completions are polled on another host (operation.api.cloud.yandex.net): requests for
`/operations/...` are sent to `operation_url`, or to that host when the default `base_url` is
in use; the same credentials are valid there.
"""

from __future__ import annotations

import ast
import base64
import json
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from llmkit._errors import ConfigError
from llmkit._settings import Secret

from ._token import Token, TokenAuth

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["ApiKeyAuth", "IamTokenAuth", "ServiceAccountAuth", "auth", "load_key", "signed_jwt"]

IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
OPERATION_HOST = "https://operation.api.cloud.yandex.net"
JWT_LIFETIME = 3600  # Yandex accepts exp - iat <= 1 hour
REFRESH_EVERY = 3600.0  # IAM tokens live up to 12 h; Yandex advises renewing hourly
_NONE = (
    "no credentials for 'yandex': pass providers={'yandex': {'api_key': ...}} (or set YC_API_KEY), "
    "an IAM token as 'iam_token' (or YC_IAM_TOKEN), or a service-account authorized key as "
    "'service_account_key' (or YC_SERVICE_ACCOUNT_KEY), plus 'folder_id'"
)


def load_key(raw: str) -> dict[str, str]:
    """The authorized key from JSON text, a dict's repr (a dict given as a setting) or a file path."""
    text = raw.strip()
    data: Any
    if not text.startswith("{"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(
                "yandex service_account_key must be the authorized key JSON (text or dict) or the path of its file; "
                "no such file",
                provider="yandex",
            )
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            data = None
    need = ("id", "service_account_id", "private_key")
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) and data.get(k) for k in need):
        raise ConfigError(
            "yandex service_account_key is not an authorized key: it needs 'id', 'service_account_id' and "
            "'private_key' (the JSON file written by `yc iam key create`)",
            provider="yandex",
        )
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed_jwt(key: Mapping[str, str], now: float, audience: str = IAM_AUDIENCE) -> str:
    """The PS256 JWT Yandex IAM trades for an IAM token."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        raise ConfigError(
            "a yandex service_account_key needs the cryptography package: pip install 'llmkit[yandex]'",
            provider="yandex",
        ) from None
    header = {"typ": "JWT", "alg": "PS256", "kid": key["id"]}
    claims = {"iss": key["service_account_id"], "aud": audience, "iat": int(now), "exp": int(now) + JWT_LIFETIME}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    try:
        private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
    except ValueError:
        raise ConfigError(
            "yandex service_account_key: 'private_key' is not a PEM private key", provider="yandex"
        ) from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ConfigError("yandex service_account_key: 'private_key' must be an RSA key", provider="yandex")
    signature = private.sign(
        signing_input.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return signing_input + "." + _b64url(signature)


class _Routing:
    """The folder header and the operations host, shared by every credential kind."""

    settings: ResolvedSettings

    def route(self, request: httpx.Request, folder: bool) -> None:
        folder_id = self.settings.get("folder_id")
        if folder and folder_id:
            request.headers["x-folder-id"] = str(folder_id)
        target = self.settings.get("operation_url")
        if target is None and self.settings.base_url == self.settings.spec.base_url:
            target = OPERATION_HOST
        if target is None:
            return  # a custom base_url (proxy, emulator) serves /operations itself
        base_path = httpx.URL(self.settings.base_url).raw_path.decode("ascii").rstrip("/")
        path = request.url.raw_path.decode("ascii")
        rel = path[len(base_path) :] if path.startswith(base_path + "/operations/") else path
        if rel.startswith("/operations/"):
            request.url = httpx.URL(str(target).rstrip("/") + rel)


class ApiKeyAuth(_Routing, httpx.Auth):
    """`Authorization: Api-Key <key>`, read per request (keys rotate with update())."""

    def __init__(self, settings: ResolvedSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return "ApiKeyAuth('**********')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self.settings.values.get("api_key")
        if not isinstance(key, Secret):
            raise ConfigError(_NONE, provider="yandex")
        request.headers["Authorization"] = f"Api-Key {key.get()}"
        self.route(request, folder=False)
        yield request


class IamTokenAuth(_Routing, httpx.Auth):
    """A caller-managed IAM token (or a callable returning one) as a bearer token."""

    def __init__(self, settings: ResolvedSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return "IamTokenAuth('**********')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.settings.values.get("iam_token")
        if not isinstance(token, Secret):
            raise ConfigError(_NONE, provider="yandex")
        request.headers["Authorization"] = f"Bearer {token.get()}"
        self.route(request, folder=True)
        yield request


class ServiceAccountAuth(_Routing, TokenAuth):
    """Service-account key -> PS256 JWT -> IAM token, cached and renewed hourly."""

    def token_request(self) -> httpx.Request:
        raw = self.settings.secret("service_account_key")
        if not raw:
            raise ConfigError(_NONE, provider=self.provider)
        url = str(self.settings.get("iam_url") or IAM_AUDIENCE)
        jwt = signed_jwt(load_key(raw), self.clock())
        return httpx.Request("POST", url, json={"jwt": jwt}, headers={"Accept": "application/json"})

    def parse_token(self, response: httpx.Response) -> Token:
        data = response.json()
        token = Token.from_json(data, token_key="iamToken", expires_in_key=None, expires_at_key="expiresAt")
        renew = self.clock() + REFRESH_EVERY
        if token.expires_at is None or token.expires_at > renew:
            token.expires_at = renew
        return token

    def _apply(self, request: httpx.Request, token: Token) -> None:
        super()._apply(request, token)
        self.route(request, folder=True)


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The Yandex credential hook; ConfigError naming every way when none is set."""
    values = settings.values
    api = settings.get("api")
    if api not in (None, "native", "openai"):
        raise ConfigError(f"yandex api must be 'native' or 'openai', got {api!r}", provider=settings.spec.id)
    if values.get("service_account_key") is not None:
        return ServiceAccountAuth(settings)
    if values.get("iam_token") is not None:
        return IamTokenAuth(settings)
    if values.get("api_key") is not None:
        return ApiKeyAuth(settings)
    raise ConfigError(_NONE, provider=settings.spec.id)
