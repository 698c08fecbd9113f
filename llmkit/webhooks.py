"""Verifying incoming webhook requests, so a receiver acts only on what the provider sent.

Replicate signs each delivery Standard-Webhooks style: `webhook-id`, `webhook-timestamp`
(unix seconds) and `webhook-signature` (space-separated `v1,<base64>` entries) headers; the
signature is HMAC-SHA256, keyed with the base64-decoded secret after its `whsec_` prefix, over
`"{id}.{timestamp}.{raw body}"`. A delivery is genuine when any `v1` entry matches (compared in
constant time) and its timestamp is within the tolerance of now, which stops replays.

fal signs with Ed25519: `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (unix seconds)
and `-Signature` (hex) headers; the signed message is the request id, user id, timestamp and
the hex SHA-256 of the raw body, joined by newlines. fal publishes its public keys as a JWKS
(`FAL_JWKS_URL`); `verify_fal` takes keys you pass (offline), `FalJWKS` fetches and caches them.

Verify the raw body bytes exactly as received: re-serialising parsed JSON changes the bytes and
breaks the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError, LLMKitError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "DEFAULT_TOLERANCE",
    "FAL_JWKS_URL",
    "FalJWKS",
    "WebhookVerificationError",
    "fal_keys_from_jwks",
    "sign_fal",
    "sign_replicate",
    "verify_fal",
    "verify_replicate",
]

DEFAULT_TOLERANCE = 300.0  # seconds either side of now, as Standard Webhooks recommends


class WebhookVerificationError(LLMKitError):
    """The request is not a genuine, fresh delivery: reject it (answer 400 or 401)."""


def _key(secret: str) -> bytes:
    raw = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "the webhook secret is not a base64 `whsec_...` key; fetch it from GET /v1/webhooks/default/secret",
            provider="replicate",
        ) from None


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_replicate(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers Replicate would send with `body` (for tests and local replays)."""
    sig = _signature(_key(secret), webhook_id, str(timestamp), body)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{sig}"}


def verify_replicate(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a Replicate webhook delivery and return its parsed JSON body (the prediction).

    `headers` may use any letter case; `now` (unix seconds) is for tests. Raises
    WebhookVerificationError for a missing header, a bad signature or a stale timestamp.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    webhook_id = lower.get("webhook-id")
    timestamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not webhook_id or not timestamp or not signatures:
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header", provider="replicate"
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp {timestamp!r} is not unix seconds", provider="replicate")
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {current - sent_at:.0f}s from now (tolerance {tolerance:.0f}s): a stale or "
            "replayed delivery",
            provider="replicate",
        )
    raw = body.encode() if isinstance(body, str) else bytes(body)
    expected = _signature(_key(secret), webhook_id, timestamp, raw).encode()
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return json.loads(raw) if raw.strip() else None
    raise WebhookVerificationError(
        "no webhook-signature matches: the body was altered or the secret is wrong", provider="replicate"
    )


# -- fal (Ed25519) ---------------------------------------------------------------------------

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
_FAL_HEADERS = (
    "x-fal-webhook-request-id",
    "x-fal-webhook-user-id",
    "x-fal-webhook-timestamp",
    "x-fal-webhook-signature",
)
FalKey = bytes | str
_MISMATCH = "signature_mismatch"


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - the dev install has it
        raise ConfigError(
            "verifying fal webhooks needs the 'cryptography' package: pip install 'llmkit[webhooks]'"
        ) from None
    return ed25519


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(key: FalKey) -> Ed25519PublicKey:
    """A raw 32-byte key, or the base64url `x` of a JWKS entry, as an Ed25519 public key."""
    try:
        raw = key if isinstance(key, bytes) else _b64url(key)
    except (binascii.Error, ValueError):
        raise ConfigError("a fal public key must be 32 raw bytes or the base64url `x` of its JWKS entry") from None
    if len(raw) != 32:
        raise ConfigError(f"a fal public key is 32 bytes (Ed25519), got {len(raw)}")
    key_cls: Any = _ed25519().Ed25519PublicKey
    public: Ed25519PublicKey = key_cls.from_public_bytes(raw)
    return public


def fal_keys_from_jwks(jwks: Mapping[str, Any]) -> list[str]:
    """The Ed25519 keys (base64url `x`) of a JWKS document such as fal's."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise WebhookVerificationError("the JWKS document has no `keys` list", provider="fal")
    return [
        k["x"]
        for k in keys
        if isinstance(k, Mapping)
        and k.get("kty") == "OKP"
        and k.get("crv") == "Ed25519"
        and isinstance(k.get("x"), str)
    ]


def _fal_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode()


def sign_fal(private_key: bytes, request_id: str, user_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers fal would send with `body`, signed with a raw 32-byte Ed25519 private key
    (for tests, local replays and llmkit's emulator)."""
    signer = _ed25519().Ed25519PrivateKey.from_private_bytes(private_key)
    sig = signer.sign(_fal_message(request_id, user_id, str(timestamp), body))
    return {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": user_id,
        "X-Fal-Webhook-Timestamp": str(timestamp),
        "X-Fal-Webhook-Signature": sig.hex(),
    }


def verify_fal(
    headers: Mapping[str, str],
    body: bytes | str,
    public_keys: Sequence[FalKey],
    *,
    user_id: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a fal webhook delivery and return its parsed JSON body.

    `public_keys` are fal's Ed25519 keys (raw bytes or JWKS `x` strings; see FalJWKS); the
    delivery is genuine when any of them verifies the signature. `user_id`, when given, must
    equal the delivery's user id (your own fal user), so another account's deliveries are
    refused. Raises WebhookVerificationError for a missing header, a bad signature, a stale
    timestamp or another user's delivery.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in _FAL_HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError(f"missing fal webhook header(s): {', '.join(missing)}", provider="fal")
    request_id, sender, timestamp, signature = (lower[h] for h in _FAL_HEADERS)
    if user_id is not None and not hmac.compare_digest(sender.encode(), user_id.encode()):
        raise WebhookVerificationError("the delivery is for another fal user id", provider="fal")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"x-fal-webhook-timestamp {timestamp!r} is not unix seconds", provider="fal")
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationError(
            f"x-fal-webhook-timestamp is {current - sent_at:.0f}s from now (tolerance {tolerance:.0f}s): a stale "
            "or replayed delivery",
            provider="fal",
        )
    try:
        sig = bytes.fromhex(signature)
    except ValueError:
        raise WebhookVerificationError("x-fal-webhook-signature is not hex", provider="fal") from None
    if not public_keys:
        raise WebhookVerificationError("no fal public keys to verify with (see FalJWKS)", provider="fal")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    message = _fal_message(request_id, sender, timestamp, raw)
    from cryptography.exceptions import InvalidSignature

    for key in public_keys:
        try:
            _public_key(key).verify(sig, message)
        except InvalidSignature:
            continue
        return json.loads(raw) if raw.strip() else None
    raise WebhookVerificationError(
        "no fal public key verifies the signature: the body was altered or the keys are wrong",
        provider="fal",
        code=_MISMATCH,
    )


class FalJWKS:
    """fal's public webhook keys, fetched from its JWKS over verified TLS and cached.

    The cache lasts `ttl` seconds (fal says at most 24 hours). A delivery no cached key
    verifies triggers one refetch (fal may have rotated its keys), at most once a minute.
    """

    def __init__(
        self,
        url: str = FAL_JWKS_URL,
        *,
        ttl: float = 86_400.0,
        timeout: float = 10.0,
        clock: Any = time.monotonic,
    ) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not (parts.scheme == "https" and parts.hostname) and not local:
            raise ConfigError(f"the JWKS URL must be https (a loopback http URL is allowed for tests), got {url!r}")
        self.url = url
        self.ttl = min(ttl, 86_400.0)
        self.timeout = timeout
        self._clock = clock
        self._keys: list[str] = []
        self._fetched: float | None = None

    def __repr__(self) -> str:
        return f"FalJWKS(url={self.url!r}, keys={len(self._keys)})"

    def _fresh(self, max_age: float) -> bool:
        return self._fetched is not None and self._clock() - self._fetched < max_age

    def _store(self, resp: Any) -> list[str]:
        if resp.status_code != 200:
            raise WebhookVerificationError(
                f"fetching fal's JWKS failed: HTTP {resp.status_code}", provider="fal", status=resp.status_code
            )
        try:
            doc = resp.json()
        except ValueError:
            raise WebhookVerificationError("fal's JWKS is not JSON", provider="fal") from None
        self._keys = fal_keys_from_jwks(doc if isinstance(doc, dict) else {})
        self._fetched = self._clock()
        return list(self._keys)

    def keys(self, *, refresh: bool = False) -> list[str]:
        """The cached keys, fetched first when absent, expired or `refresh` is set."""
        if refresh or not self._fresh(self.ttl):
            import httpx

            with httpx.Client(timeout=self.timeout, verify=True) as http:
                return self._store(http.get(self.url, headers={"Accept": "application/json"}))
        return list(self._keys)

    async def akeys(self, *, refresh: bool = False) -> list[str]:
        """The async twin of keys()."""
        if refresh or not self._fresh(self.ttl):
            import httpx

            async with httpx.AsyncClient(timeout=self.timeout, verify=True) as http:
                return self._store(await http.get(self.url, headers={"Accept": "application/json"}))
        return list(self._keys)

    def verify(self, headers: Mapping[str, str], body: bytes | str, **kwargs: Any) -> Any:
        """verify_fal with these keys, refetching them once if none verifies."""
        try:
            return verify_fal(headers, body, self.keys(), **kwargs)
        except WebhookVerificationError as exc:
            if exc.code != _MISMATCH or self._fresh(60.0):
                raise
            return verify_fal(headers, body, self.keys(refresh=True), **kwargs)

    async def averify(self, headers: Mapping[str, str], body: bytes | str, **kwargs: Any) -> Any:
        """The async twin of verify()."""
        try:
            return verify_fal(headers, body, await self.akeys(), **kwargs)
        except WebhookVerificationError as exc:
            if exc.code != _MISMATCH or self._fresh(60.0):
                raise
            return verify_fal(headers, body, await self.akeys(refresh=True), **kwargs)
