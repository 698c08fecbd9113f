"""Replicate webhooks: predictions created with a webhook, and Standard-Webhooks verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

import llmkit
from llmkit.webhooks import WebhookVerificationError, sign_replicate, verify_replicate

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = b'{"id":"ufawqhfynnddngldkgtslldrkq","status":"succeeded","output":["https://example.com/out.png"]}'
ID = "msg_2kTn5oM1Hp9xQf"
NOW = 1_767_225_600


def _headers(body: bytes = BODY, secret: str = SECRET, ts: int = NOW) -> dict[str, str]:
    return sign_replicate(secret, ID, ts, body)


def test_signature_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_secret() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    mac = hmac.new(key, f"{ID}.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    assert _headers()["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_accepts_a_correctly_signed_request() -> None:
    prediction = verify_replicate(_headers(), BODY, SECRET, now=NOW + 30)
    assert prediction["status"] == "succeeded" and prediction["id"] == "ufawqhfynnddngldkgtslldrkq"
    # any header case; several signatures (a rotated secret) where one matches
    mixed = {k.title(): v for k, v in _headers().items()}
    mixed["Webhook-Signature"] = "v1,bm90IGl0 " + mixed["Webhook-Signature"]
    assert verify_replicate(mixed, BODY.decode(), SECRET, now=NOW)["output"] == ["https://example.com/out.png"]


def test_rejects_a_tampered_body() -> None:
    with pytest.raises(WebhookVerificationError, match="altered or the secret is wrong"):
        verify_replicate(_headers(), BODY.replace(b"succeeded", b"failed"), SECRET, now=NOW)


def test_rejects_a_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another secret entirely, 32 byte").decode()
    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        verify_replicate(_headers(), BODY, other, now=NOW)
    with pytest.raises(WebhookVerificationError, match="not a base64"):
        verify_replicate(_headers(), BODY, "whsec_not base64!", now=NOW)


def test_rejects_a_stale_or_future_timestamp() -> None:
    with pytest.raises(WebhookVerificationError, match="stale or replayed"):
        verify_replicate(_headers(), BODY, SECRET, now=NOW + 301)
    with pytest.raises(WebhookVerificationError, match="stale or replayed"):
        verify_replicate(_headers(), BODY, SECRET, now=NOW - 301)
    assert verify_replicate(_headers(), BODY, SECRET, now=NOW + 301, tolerance=600)["status"] == "succeeded"


def test_rejects_missing_headers_and_unknown_versions() -> None:
    h = _headers()
    del h["webhook-id"]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_replicate(h, BODY, SECRET, now=NOW)
    h = _headers()
    h["webhook-signature"] = h["webhook-signature"].replace("v1,", "v2,")
    with pytest.raises(WebhookVerificationError):
        verify_replicate(h, BODY, SECRET, now=NOW)
    h = _headers()
    h["webhook-timestamp"] = "yesterday"
    with pytest.raises(WebhookVerificationError, match="unix seconds"):
        verify_replicate(h, BODY, SECRET, now=NOW)


def test_prediction_with_webhook_and_events_filter_goes_on_the_wire(emu: Any, client: Any) -> None:
    rep = client.native("replicate")
    body = {
        "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        "input": {"prompt": "an astronaut"},
        "webhook": "https://example.com/hooks/replicate",
        "webhook_events_filter": ["start", "completed"],
    }
    prediction = rep.create_prediction(body)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/replicate/v1/predictions")
    sent = req.json()
    assert sent["webhook"] == "https://example.com/hooks/replicate"
    assert sent["webhook_events_filter"] == ["start", "completed"]
    assert prediction.id
    body["webhook_events_filter"] = ["finished"]
    with pytest.raises(llmkit.BadRequestError, match="webhook_events_filter"):
        rep.create_prediction(body)
