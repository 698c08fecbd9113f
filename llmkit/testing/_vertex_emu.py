"""Emulated Vertex AI under `/vertex/v1`: Gemini (publishers/google) and Claude (publishers/anthropic).

Auth is a Bearer OAuth token (it must equal the emulator's `require_key` when one is set: a
wrong token is Google's 401 UNAUTHENTICATED, which is what makes a token provider refetch),
or, on the express-mode path without a project, an `x-goog-api-key`. Google's calls are
answered by the Gemini emulator after Vertex's own checks (every content needs its `role`);
Anthropic's by the Anthropic emulator after Vertex's (`anthropic_version` must be
`vertex-2023-10-16`, `model` must NOT be in the body, and the `@version` model id of the URL
becomes Anthropic's dated id). Errors are google.rpc.Status shaped, as Vertex's front end
answers.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast
from urllib.parse import unquote

from ._anthropic_emu import HANDLER as ANTHROPIC
from ._brain import count_tokens
from ._gemini_emu import HANDLER as GEMINI
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["ANTHROPIC_VERSION", "HANDLER", "VertexHandler"]

ANTHROPIC_VERSION = "vertex-2023-10-16"
_ROUTE = re.compile(
    r"^(?:/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+))?"
    r"/publishers/(?P<publisher>google|anthropic)/models/(?P<model>[^/:]+):(?P<verb>[A-Za-z]+)$"
)


class VertexHandler:
    provider = "vertex"
    prefix = "/vertex/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return GEMINI.error(status, message, kind)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        m = _ROUTE.match(req.subpath)
        if m is None or req.method != "POST":
            return self.error(404, f"The requested URL {req.path} was not found on this server.")
        denied = self._auth(req, emu, express=m.group("project") is None)
        if denied is not None:
            return denied
        model, verb = unquote(m.group("model")), m.group("verb")
        if m.group("publisher") == "anthropic":
            if m.group("project") is None:
                return self.error(404, "Publisher model anthropic is not available in express mode.")
            return self._anthropic(req, emu, model, verb)
        return self._google(req, emu, model, verb)

    def _auth(self, req: EmuRequest, emu: Emulator, express: bool) -> EmuResponse | None:
        header = req.headers.get("authorization", "")
        if header.startswith("Bearer ") and header[7:]:
            if emu.require_key is not None and header[7:] != emu.require_key:
                return self.error(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                    "or other valid authentication credential.",
                    "UNAUTHENTICATED",
                )
            return None
        if express and req.headers.get("x-goog-api-key"):
            return None
        return self.error(401, "Request is missing required authentication credential.", "UNAUTHENTICATED")

    def _google(self, req: EmuRequest, emu: Emulator, model: str, verb: str) -> EmuResponse:
        data = _json(req)
        if data is None:
            return self.error(400, "Invalid JSON payload received.")
        for i, c in enumerate(data.get("contents") or []):
            if not isinstance(c, dict) or c.get("role") not in ("user", "model"):
                return self.error(400, f"Please use a valid role: user, model. (contents[{i}])", "INVALID_ARGUMENT")
        if verb == "countTokens":
            texts = [p.get("text", "") for c in data.get("contents") or [] for p in c.get("parts") or []]
            n = max(count_tokens(" ".join(texts)), 1)
            return EmuResponse.json({"totalTokens": n, "totalBillableCharacters": len("".join(texts))})
        inner = _forward(req, f"/models/{model}:{verb}", {"x-goog-api-key": emu.require_key or "vertex-emulator"})
        return GEMINI.handle(inner, cast(Emulator, _Keyless(emu)))

    def _anthropic(self, req: EmuRequest, emu: Emulator, model: str, verb: str) -> EmuResponse:
        data = _json(req)
        if data is None:
            return self.error(400, "Invalid JSON payload received.")
        if verb not in ("rawPredict", "streamRawPredict"):
            return self.error(404, f"Method {verb} is not supported for publisher anthropic.")
        if data.get("anthropic_version") != ANTHROPIC_VERSION:
            return ANTHROPIC.error(400, f"anthropic_version: must be {ANTHROPIC_VERSION!r}")
        if "model" in data:
            return ANTHROPIC.error(400, "model: Extra inputs are not permitted")
        if verb == "streamRawPredict" and data.get("stream") is not True:
            return ANTHROPIC.error(400, "stream: streamRawPredict needs `stream: true`")
        body = {k: v for k, v in data.items() if k != "anthropic_version"}
        body["model"] = model.replace("@", "-")
        inner = _forward(req, "/v1/messages", {"x-api-key": "vertex-emulator", "anthropic-version": "2023-06-01"})
        inner.body = json.dumps(body).encode()
        return ANTHROPIC.handle(inner, cast(Emulator, _Keyless(emu)))


class _Keyless:
    """The emulator as the delegate handlers see it: Vertex checked the token already."""

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu
        self.require_key: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emu, name)


def _json(req: EmuRequest) -> dict[str, Any] | None:
    try:
        data = req.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _forward(req: EmuRequest, subpath: str, headers: dict[str, str]) -> EmuRequest:
    return EmuRequest(
        method=req.method,
        path=req.path,
        query=dict(req.query),
        headers={**req.headers, **headers},
        body=req.body,
        provider=req.provider,
        subpath=subpath,
    )


HANDLER = VertexHandler()
