"""Verifying incoming webhook requests, so a receiver acts only on what the provider sent.

Replicate signs each delivery Standard-Webhooks style: `webhook-id`, `webhook-timestamp`
(unix seconds) and `webhook-signature` (space-separated `v1,<base64>` entries) headers; the
signature is HMAC-SHA256, keyed with the base64-decoded secret after its `whsec_` prefix, over
`"{id}.{timestamp}.{raw body}"`. A delivery is genuine when any `v1` entry matches (compared in
constant time) and its timestamp is within the tolerance of now, which stops replays.

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
from collections.abc import Mapping
from typing import Any

from ._errors import LLMKitError

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "sign_replicate", "verify_replicate"]

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
