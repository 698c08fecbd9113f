"""Emulated fal.ai under `/fal`: the queue (the default host) and, under `/fal/run`, the sync route.

Needs `Authorization: Key <key>`, else 401 `{"detail": ...}`. `POST /<app_id>` queues a
request and answers `{request_id, response_url, status_url, cancel_url, queue_position}`;
status and result live on owner/alias only, as on fal: `GET /<owner>/<alias>/requests/<id>/status`
(`IN_QUEUE` -> `IN_PROGRESS` -> `COMPLETED`, per `latency(emu, polls)`; -1 never completes),
`GET /<owner>/<alias>/requests/<id>` (the output; 400 while unfinished), `PUT .../cancel`
(202 `CANCELLATION_REQUESTED`). A status URL with the app's sub-path is a 404. `POST
/run/<app_id>` answers the output at once. The image apps are the flux family: input needs
`prompt`, else 422 with FastAPI validation details; `num_images`, `image_size` (preset or
`{width, height}`) and `sync_mode` (inline data: URIs) are honoured.

A submit with `?fal_webhook=<http(s) URL>` is delivered there when it completes (at once when
no polls are needed): a POST of `{request_id, gateway_request_id, status: "OK", payload}`
signed as fal signs (Ed25519 over request id, user id, timestamp and the body's SHA-256, in
`X-Fal-Webhook-*` headers) with this emulator's own key, whose JWKS is served without auth at
`/fal/.well-known/jwks.json` (fal's is on rest.alpha.fal.ai). `deliveries(emu)` lists them;
only loopback receivers are called (the emulator never reaches out to the internet).
A `fal_webhook` that is not an absolute http(s) URL is a 422.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "WEBHOOK_USER_ID", "FalHandler", "deliveries", "latency"]

WEBHOOK_USER_ID = "emu-fal-user"
_LOCAL = frozenset({"127.0.0.1", "localhost", "::1"})

_IDS = itertools.count(1)
_APPS = frozenset({"fal-ai/flux/schnell", "fal-ai/flux/dev", "fal-ai/flux-pro/v1.1"})
_PRESETS = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
# A 1x1 transparent PNG: what sync_mode inlines.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class _State:
    def __init__(self) -> None:
        self.polls = 0
        self.requests: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._key: Any = None

    def signing_key(self) -> Any:
        """This emulator's Ed25519 webhook key, made on first use."""
        with self.lock:
            if self._key is None:
                from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

                self._key = Ed25519PrivateKey.generate()
            return self._key


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def deliveries(emu: Emulator) -> list[dict[str, Any]]:
    """The webhook deliveries this emulator made: url, headers, body, and the receiver's status."""
    st = _state(emu)
    with st.lock:
        return list(st.deliveries)


def latency(emu: Emulator, polls: int) -> None:
    """Make this emulator's next queued requests need `polls` status polls to complete (-1: never)."""
    _state(emu).polls = polls


class FalHandler:
    provider = "fal"
    prefix = "/fal"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        headers = {"x-fal-error-type": kind} if kind else {}
        return EmuResponse.json({"detail": message}, status, headers)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if req.method == "GET" and req.subpath == "/.well-known/jwks.json":
            return EmuResponse.json({"keys": [_jwk(_state(emu))]})
        scheme, _, key = req.headers.get("authorization", "").partition(" ")
        if scheme != "Key" or not key or (emu.require_key is not None and key != emu.require_key):
            return self.error(401, "No user found for Key ID and Secret")
        st = _state(emu)
        sub = req.subpath
        if req.method == "POST" and sub.startswith("/run/"):
            app = sub[len("/run/") :]
            return self._run(req, app) if app in _APPS else self.error(404, f"Application '{app}' not found")
        if "/requests/" in sub:
            return self._queued(req, st, sub)
        app = sub.lstrip("/")
        if req.method == "POST":
            if app not in _APPS:
                return self.error(404, f"Application '{app}' not found")
            denied = _validate(req.json()) or _check_hook(req.query.get("fal_webhook"))
            if denied is not None:
                return denied
            rid = f"024ca5b1-45d3-4afd-883e-{next(_IDS):012d}"
            job = {"app": app, "input": req.json(), "left": st.polls, "status": "IN_QUEUE"}
            job["hook"] = req.query.get("fal_webhook")
            st.requests[rid] = job
            if job["left"] == 0:
                _deliver(st, rid, job)
            base = f"{emu.url}{self.prefix}/{_owner_alias(app)}/requests/{rid}"
            return EmuResponse.json(
                {
                    "request_id": rid,
                    "gateway_request_id": rid,
                    "response_url": base,
                    "status_url": base + "/status",
                    "cancel_url": base + "/cancel",
                    "queue_position": 0,
                },
                headers={"x-fal-request-id": rid},
            )
        return self.error(405, f"Method {req.method} not allowed")

    def _run(self, req: EmuRequest, app: str) -> EmuResponse:
        denied = _validate(req.json())
        return denied or EmuResponse.json(_output(req.json()), headers={"x-fal-request-id": "sync-req-1"})

    def _queued(self, req: EmuRequest, st: _State, sub: str) -> EmuResponse:
        where, _, rest = sub.lstrip("/").partition("/requests/")
        rid, _, action = rest.partition("/")
        job = st.requests.get(rid)
        if job is None or where != _owner_alias(job["app"]):
            return self.error(404, f"Request {rid} not found")
        if req.method == "GET" and action == "status":
            if job["status"] == "IN_QUEUE" and job["left"] == 0:
                job["status"] = "COMPLETED"
            elif job["status"] != "COMPLETED" and job["left"] != -1:
                job["left"] -= 1
                job["status"] = "COMPLETED" if job["left"] <= 0 else "IN_PROGRESS"
            elif job["left"] == -1:
                job["status"] = "IN_PROGRESS"
            if job["status"] == "COMPLETED":
                _deliver(st, rid, job)
            body: dict[str, Any] = {"status": job["status"]}
            if job["status"] == "IN_QUEUE":
                body["queue_position"] = 0
            if job["status"] == "COMPLETED":
                body.update(logs=[], metrics={"inference_time": 0.41}, response_url=f"{where}/requests/{rid}")
            return EmuResponse.json(body)
        if req.method == "GET" and action == "":
            if job["status"] != "COMPLETED":
                return self.error(400, "Request is still in progress", "request_in_progress")
            return EmuResponse.json(_output(job["input"]))
        if req.method == "PUT" and action == "cancel":
            if job["status"] == "COMPLETED":
                return EmuResponse.json({"status": "ALREADY_COMPLETED"}, 400)
            job["status"] = "CANCELLED"
            return EmuResponse.json({"status": "CANCELLATION_REQUESTED"}, 202)
        return self.error(405, f"Method {req.method} not allowed")


def _check_hook(hook: str | None) -> EmuResponse | None:
    if hook is None:
        return None
    parts = urlsplit(hook)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    detail = [{"loc": ["query", "fal_webhook"], "msg": "invalid or missing URL scheme", "type": "value_error.url"}]
    return EmuResponse.json({"detail": detail}, 422, {"x-fal-error-type": "validation_error"})


def _jwk(st: _State) -> dict[str, str]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = st.signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "emu-fal-1", "use": "sig", "alg": "EdDSA"}


def _deliver(st: _State, rid: str, job: dict[str, Any]) -> None:
    """POST the finished request to its webhook, signed as fal signs, from another thread."""
    hook = job.get("hook")
    if not hook or job.get("delivered"):
        return
    job["delivered"] = True
    import json

    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from ..webhooks import sign_fal

    body = json.dumps(
        {"request_id": rid, "gateway_request_id": rid, "status": "OK", "payload": _output(job["input"])}
    ).encode()
    seed = st.signing_key().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    headers = {**sign_fal(seed, rid, WEBHOOK_USER_ID, int(time.time()), body), "content-type": "application/json"}

    def send() -> None:
        import httpx

        record: dict[str, Any] = {"url": hook, "headers": headers, "body": body, "status": None}
        if urlsplit(hook).hostname not in _LOCAL:
            record["error"] = "not delivered: the emulator only calls loopback hosts"
        else:
            try:
                record["status"] = httpx.post(hook, content=body, headers=headers, timeout=10.0).status_code
            except httpx.HTTPError as exc:
                record["error"] = repr(exc)
        with st.lock:
            st.deliveries.append(record)

    threading.Thread(target=send, name="fal-emu-webhook", daemon=True).start()


def _owner_alias(app: str) -> str:
    return "/".join(app.split("/")[:2])


def _validate(data: Any) -> EmuResponse | None:
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str) or not data["prompt"]:
        detail = [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]
        return EmuResponse.json({"detail": detail}, 422, {"x-fal-error-type": "validation_error"})
    return None


def _output(data: dict[str, Any]) -> dict[str, Any]:
    size = data.get("image_size", "landscape_4_3")
    width, height = (size["width"], size["height"]) if isinstance(size, dict) else _PRESETS.get(size, (1024, 768))
    inline = "data:image/png;base64," + base64.b64encode(_PNG).decode()
    images = [
        {
            "url": inline if data.get("sync_mode") else f"https://v3.fal.media/files/rabbit/emu{i}.png",
            "width": width,
            "height": height,
            "content_type": "image/png",
        }
        for i in range(int(data.get("num_images", 1)))
    ]
    return {
        "images": images,
        "timings": {"inference": 0.41},
        "seed": int(data.get("seed", 1234567)),
        "has_nsfw_concepts": [False] * len(images),
        "prompt": data["prompt"],
    }


HANDLER = FalHandler()
