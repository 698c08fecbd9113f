"""fal webhooks: `?fal_webhook=` on the queue submit, the emulator's signed delivery, and
Ed25519 verification (keys passed in, or fetched from a JWKS and cached)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

import llmkit
from llmkit._errors import BadRequestError, ConfigError
from llmkit.testing import Emulator
from llmkit.testing._fal_emu import WEBHOOK_USER_ID, deliveries, latency
from llmkit.webhooks import (
    FalJWKS,
    WebhookVerificationError,
    fal_keys_from_jwks,
    sign_fal,
    verify_fal,
)

NOW = 1_767_225_600
RID = "024ca5b1-45d3-4afd-883e-000000000001"
USER = "user-7f3e"
BODY = b'{"request_id":"024ca5b1-45d3-4afd-883e-000000000001","status":"OK","payload":{"images":[]}}'


def _pair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return seed, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


SEED, PUBLIC = _pair()
X = base64.urlsafe_b64encode(PUBLIC).rstrip(b"=").decode()


def _headers(body: bytes = BODY, seed: bytes = SEED, ts: int = NOW) -> dict[str, str]:
    return sign_fal(seed, RID, USER, ts, body)


def test_signature_is_ed25519_over_the_newline_joined_fields_and_body_hash() -> None:
    h = _headers()
    message = f"{RID}\n{USER}\n{NOW}\n{hashlib.sha256(BODY).hexdigest()}".encode()
    sig = bytes.fromhex(h["X-Fal-Webhook-Signature"])
    Ed25519PrivateKey.from_private_bytes(SEED).public_key().verify(sig, message)  # raises if not
    assert (h["X-Fal-Webhook-Request-Id"], h["X-Fal-Webhook-User-Id"], h["X-Fal-Webhook-Timestamp"]) == (
        RID,
        USER,
        str(NOW),
    )
    assert len(sig) == 64


def test_accepts_a_correct_signature_with_raw_or_jwks_keys_in_any_header_case() -> None:
    assert verify_fal(_headers(), BODY, [PUBLIC], now=NOW + 10)["status"] == "OK"
    lower = {k.lower(): v for k, v in _headers().items()}
    _, other = _pair()
    # the JWKS `x` form; several keys (rotation) where the second one verifies; own user id checked
    assert verify_fal(lower, BODY.decode(), [other, X], user_id=USER, now=NOW - 299)["request_id"] == RID


def test_rejects_a_tampered_body() -> None:
    with pytest.raises(WebhookVerificationError, match="altered or the keys are wrong") as exc:
        verify_fal(_headers(), BODY.replace(b'"OK"', b'"ERROR"'), [PUBLIC], now=NOW)
    assert exc.value.provider == "fal" and exc.value.code == "signature_mismatch"


def test_rejects_a_wrong_key_and_a_bad_signature_encoding() -> None:
    _, other = _pair()
    with pytest.raises(WebhookVerificationError, match="no fal public key verifies"):
        verify_fal(_headers(), BODY, [other], now=NOW)
    bad = {**_headers(), "X-Fal-Webhook-Signature": "zz" * 64}
    with pytest.raises(WebhookVerificationError, match="not hex"):
        verify_fal(bad, BODY, [PUBLIC], now=NOW)
    with pytest.raises(WebhookVerificationError, match="no fal public keys"):
        verify_fal(_headers(), BODY, [], now=NOW)
    with pytest.raises(ConfigError, match="32 bytes"):
        verify_fal(_headers(), BODY, [b"short"], now=NOW)


def test_rejects_a_stale_or_future_timestamp() -> None:
    with pytest.raises(WebhookVerificationError, match="stale or replayed"):
        verify_fal(_headers(), BODY, [PUBLIC], now=NOW + 301)
    with pytest.raises(WebhookVerificationError, match="stale or replayed"):
        verify_fal(_headers(), BODY, [PUBLIC], now=NOW - 301)
    with pytest.raises(WebhookVerificationError, match="not unix seconds"):
        verify_fal({**_headers(), "X-Fal-Webhook-Timestamp": "yesterday"}, BODY, [PUBLIC], now=NOW)
    assert verify_fal(_headers(), BODY, [PUBLIC], now=NOW + 301, tolerance=600)["status"] == "OK"


@pytest.mark.parametrize("header", ["Request-Id", "User-Id", "Timestamp", "Signature"])
def test_rejects_a_missing_header(header: str) -> None:
    h = _headers()
    del h[f"X-Fal-Webhook-{header}"]
    with pytest.raises(WebhookVerificationError, match=f"x-fal-webhook-{header.lower()}"):
        verify_fal(h, BODY, [PUBLIC], now=NOW)


def test_rejects_another_users_delivery() -> None:
    with pytest.raises(WebhookVerificationError, match="another fal user"):
        verify_fal(_headers(), BODY, [PUBLIC], user_id="someone-else", now=NOW)


def test_jwks_keys_are_the_ed25519_entries_only() -> None:
    doc = {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "k1"}]}
    assert fal_keys_from_jwks(doc) == [X]
    with pytest.raises(WebhookVerificationError, match="no `keys`"):
        fal_keys_from_jwks({})


def test_jwks_url_must_be_https_unless_local() -> None:
    for bad in ("http://rest.alpha.fal.ai/.well-known/jwks.json", "http://localhost.evil.example/jwks", "ftp://x/y"):
        with pytest.raises(ConfigError, match="must be https"):
            FalJWKS(bad)
    assert "rest.alpha.fal.ai" in FalJWKS().url


class _Receiver:
    """A webhook receiver on a real socket: records each delivery's headers and raw body."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.got.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                outer.arrived.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/fal?token=abc"

    def wait(self) -> tuple[dict[str, str], bytes]:
        assert self.arrived.wait(10), "no webhook delivery arrived"
        return self.got[0]


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _fal(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "fal_key", "base_url": emu.base_url("fal"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.Client(providers={"fal": {**cfg, **extra}})


def test_generate_image_with_webhook_is_delivered_signed_and_verifies(emu: Emulator, receiver: _Receiver) -> None:
    latency(emu, 1)
    with _fal(emu, webhook_url=receiver.url) as c:
        resp = c.generate_image("fal/fal-ai/flux/schnell", "a lighthouse", n=1)
    submit = emu.requests[0]
    assert (submit.method, submit.subpath, submit.query) == (
        "POST",
        "/fal-ai/flux/schnell",
        {"fal_webhook": receiver.url},
    )
    assert submit.json() == {"prompt": "a lighthouse", "num_images": 1}
    headers, body = receiver.wait()
    jwks = FalJWKS(emu.base_url("fal") + "/.well-known/jwks.json")
    delivery = jwks.verify(headers, body, user_id=WEBHOOK_USER_ID)
    rid = emu.requests[1].subpath.split("/")[4]  # GET /fal-ai/flux/requests/<id>/status
    assert delivery["request_id"] == rid and delivery["status"] == "OK"
    assert delivery["payload"]["images"][0]["url"] == resp.images[0].url
    (record,) = deliveries(emu)
    assert record["status"] == 200 and record["url"] == receiver.url
    # a tampered copy of the same delivery is refused
    with pytest.raises(WebhookVerificationError):
        jwks.verify(headers, body.replace(b"lighthouse", b"lightship"))


def test_native_submit_with_fal_webhook_query_and_jwks_cache(emu: Emulator, receiver: _Receiver) -> None:
    with _fal(emu) as c:
        sub = c.native("fal").submit("fal-ai/flux/dev", {"prompt": "a fox"}, extra_query={"fal_webhook": receiver.url})
    assert emu.last_request.query == {"fal_webhook": receiver.url}
    assert emu.last_request.headers["authorization"] == "Key fal_key"
    headers, body = receiver.wait()
    assert json.loads(body)["request_id"] == sub.request_id
    assert headers["X-Fal-Webhook-User-Id"] == WEBHOOK_USER_ID
    clock = [0.0]
    jwks = FalJWKS(emu.base_url("fal") + "/.well-known/jwks.json", ttl=100, clock=lambda: clock[0])
    before = len(emu.requests)
    assert jwks.verify(headers, body)["payload"]["prompt"] == "a fox"
    assert jwks.verify(headers, body)["status"] == "OK"
    fetches = [r for r in emu.requests[before:] if r.subpath == "/.well-known/jwks.json"]
    assert len(fetches) == 1 and "authorization" not in fetches[0].headers  # cached, and no key sent
    clock[0] = 101.0
    jwks.keys()
    assert len([r for r in emu.requests[before:] if r.subpath == "/.well-known/jwks.json"]) == 2


def test_async_jwks_verify(emu: Emulator) -> None:
    jwks = FalJWKS(emu.base_url("fal") + "/.well-known/jwks.json")
    keys = asyncio.run(jwks.akeys())
    assert len(keys) == 1 and len(base64.urlsafe_b64decode(keys[0] + "=")) == 32
    with pytest.raises(WebhookVerificationError, match="no fal public key verifies"):
        asyncio.run(jwks.averify(_headers(), BODY, now=NOW))


def test_emulator_refuses_a_webhook_that_is_not_an_http_url(emu: Emulator) -> None:
    with _fal(emu) as c, pytest.raises(BadRequestError) as exc:
        c.native("fal").submit("fal-ai/flux/dev", {"prompt": "x"}, extra_query={"fal_webhook": "ftp://example.com/x"})
    assert exc.value.status == 422
    assert deliveries(emu) == []


def test_jwks_refetches_once_when_fal_rotates_its_keys() -> None:
    """A delivery no cached key verifies makes FalJWKS fetch the JWKS again (at most once a minute)."""
    served: list[str] = [X]
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x} for x in served]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock = [0.0]
        jwks = FalJWKS(f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", clock=lambda: clock[0])
        assert jwks.verify(_headers(), BODY, now=NOW)["status"] == "OK" and len(hits) == 1
        new_seed, new_public = _pair()
        served[:] = [base64.urlsafe_b64encode(new_public).rstrip(b"=").decode()]
        rotated = sign_fal(new_seed, RID, USER, NOW, BODY)
        clock[0] = 30.0  # fetched 30 s ago: no refetch yet, so the new key is unknown
        with pytest.raises(WebhookVerificationError, match="no fal public key verifies"):
            jwks.verify(rotated, BODY, now=NOW)
        assert len(hits) == 1
        clock[0] = 61.0
        assert jwks.verify(rotated, BODY, now=NOW)["request_id"] == RID
        assert hits == ["/.well-known/jwks.json"] * 2
        with pytest.raises(WebhookVerificationError, match="stale or replayed"):  # not a key problem: no refetch
            jwks.verify(rotated, BODY, now=NOW + 999)
        assert len(hits) == 2
    finally:
        server.shutdown()
        server.server_close()
