"""Emulated Vertex AI under `/vertex/v1`: Gemini, Claude, Mistral and the partner-model MaaS endpoint.

Auth is a Bearer OAuth token (it must equal the emulator's `require_key` when one is set: a
wrong token is Google's 401 UNAUTHENTICATED, which is what makes a token provider refetch),
or, on the express-mode path without a project, an `x-goog-api-key`. Google's calls are
answered by the Gemini emulator after Vertex's own checks (every content needs its `role`);
Anthropic's by the Anthropic emulator after Vertex's (`anthropic_version` must be
`vertex-2023-10-16`, `model` must NOT be in the body, and the `@version` model id of the URL
becomes Anthropic's dated id). Mistral's (publishers/mistralai, `:rawPredict` /
`:streamRawPredict`) after Vertex's: the URL must name a catalog model version
(`mistral-small-2503@001`; an unknown or retired version is Vertex's 404) and the body's
`model` must be that name without the version; the body is then held to Mistral's own strict
rules (unknown fields 422, 9-character tool-call ids, role order) by the Mistral profile of the
compatible-provider emulator. Partner and open models (`endpoints/openapi/chat/completions`)
after Vertex's: `model` must be a catalog `publisher/model` id (Llama's first turn after the
system prompt must be the user's), then an OpenAI-compatible server answers. Vertex's own
refusals are google.rpc.Status shaped, as its front end answers. Text embeddings (`:predict`
on publishers/google) are answered by _vertex_embed.py.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast
from urllib.parse import unquote

import attrs

from .._registry import provider_spec
from ._anthropic_emu import HANDLER as ANTHROPIC
from ._brain import count_tokens
from ._compat_emu import CompatHandler
from ._compat_profiles import PROFILES, Profile
from ._gemini_emu import HANDLER as GEMINI
from ._server import Emulator, EmuRequest, EmuResponse
from ._vertex_embed import predict

__all__ = ["ANTHROPIC_VERSION", "HANDLER", "PartnerServer", "VertexHandler"]

ANTHROPIC_VERSION = "vertex-2023-10-16"
_ROUTE = re.compile(
    r"^(?:/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+))?"
    r"/publishers/(?P<publisher>google|anthropic|mistralai)/models/(?P<model>[^/:]+):(?P<verb>[A-Za-z]+)$"
)
_OPENAPI = re.compile(
    r"^/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/endpoints/openapi/chat/completions$"
)
_RAW_VERBS = ("rawPredict", "streamRawPredict")


class PartnerServer(CompatHandler):
    """The model server behind a Vertex partner route, reached only after Vertex's checks.

    It is the compatible-provider emulator with a fixed profile: Mistral's (strict) for
    publishers/mistralai, OpenAI's for the MaaS endpoint, serving any model Vertex let through.
    """

    def __init__(self, profile: Profile, spec_of: str) -> None:
        self.provider = "vertex"
        self.profile = attrs.evolve(profile, any_model=True)
        self.spec = provider_spec(spec_of)
        self.prefix = ""
        self.chat_path = "/chat/completions"

    def chat(self, req: EmuRequest) -> EmuResponse:
        return self._chat(req)


_MISTRAL = PartnerServer(PROFILES["mistral"], "mistral")
_MAAS = PartnerServer(Profile(reasoning_key="reasoning_content"), "openai")


class VertexHandler:
    provider = "vertex"
    prefix = "/vertex/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return GEMINI.error(status, message, kind)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        maas = _OPENAPI.match(req.subpath)
        if maas is not None and req.method == "POST":
            return self._auth(req, emu, express=False) or self._maas(req)
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
        if m.group("publisher") == "mistralai":
            if m.group("project") is None:
                return self.error(404, "Publisher model mistralai is not available in express mode.")
            return self._mistral(req, model, verb)
        if verb == "predict":
            return predict(model, m.group("project"), m.group("location"), _json(req), self.error)
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

    def _mistral(self, req: EmuRequest, model: str, verb: str) -> EmuResponse:
        if verb not in _RAW_VERBS:
            return self.error(404, f"Method {verb} is not supported for publisher mistralai.")
        if model not in _catalog_ids("@"):
            return self.error(
                404,
                f"Publisher Model `publishers/mistralai/models/{model}` was not found or your project does not "
                "have access to it. Please ensure you are using a valid model version.",
                "NOT_FOUND",
            )
        data = _json(req)
        if data is None:
            return self.error(400, "Invalid JSON payload received.")
        name = model.partition("@")[0]
        if "model" not in data:
            return _MISTRAL.error(422, "Field required", param="model")
        if data["model"] != name:
            return _MISTRAL.error(400, f"Invalid model: {data['model']!r} (this endpoint serves {name!r})")
        if (verb == "streamRawPredict") != (data.get("stream") is True):
            return _MISTRAL.error(400, f"{verb} needs `stream: {str(verb == 'streamRawPredict').lower()}`")
        return _MISTRAL.chat(req)

    def _maas(self, req: EmuRequest) -> EmuResponse:
        data = _json(req)
        if data is None:
            return self.error(400, "Invalid JSON payload received.")
        model = data.get("model")
        if not isinstance(model, str) or "/" not in model:
            return self.error(
                400, f"Invalid model {model!r}: write it as publisher/model, e.g. meta/llama-3.3-70b-instruct-maas"
            )
        if model not in _catalog_ids("/") and not (model.startswith("google/") and model[7:] in _catalog_ids("")):
            return self.error(
                404,
                f"Publisher Model `publishers/{model.replace('/', '/models/', 1)}` was not found or your project "
                "does not have access to it. Please ensure you have enabled it in Model Garden.",
                "NOT_FOUND",
            )
        if model.startswith("meta/"):
            roles = [m.get("role") for m in data.get("messages") or [] if isinstance(m, dict)]
            turns = [r for r in roles if r != "system"]
            if not turns or turns[0] != "user":
                return self.error(400, "The first message after the system prompt must be a user message.")
        return _MAAS.chat(req)


def _catalog_ids(marker: str) -> set[str]:
    """The emulated Vertex catalog's model ids containing `marker` (all of them for "")."""
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "vertex" and marker in m.id}


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
