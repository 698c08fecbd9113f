"""Emulated Azure OpenAI under `/azure` (the resource endpoint), as strict as Azure.

Classic API: `POST /openai/deployments/{deployment}/chat/completions?api-version=...` (and
`.../embeddings`), where a missing or malformed `api-version` is a 404 like Azure's; v1 API:
`POST /openai/v1/chat/completions` (and `/openai/v1/embeddings`) with no api-version (or
`preview`) and the deployment as the body's `model`. Credentials are
the `api-key` header or an Entra `Authorization: Bearer` token. Answers carry Azure's content
filter annotations, and a stream opens with Azure's choice-less `prompt_filter_results` chunk.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import plan
from ._compat_media import embeddings
from ._media_emu import catalog_models
from ._openai_emu import _conversation, _response, _stream_events
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "AzureHandler"]

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
_EMBED_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)/embeddings$")
_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


def _prompt_filter_results() -> list[dict[str, Any]]:
    return [
        {"prompt_index": 0, "content_filter_results": {**_FILTERS, "jailbreak": {"filtered": False, "detected": False}}}
    ]


class AzureHandler:
    provider = "azure"
    prefix = "/azure"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        err: dict[str, Any] = {"code": kind or str(status), "message": message}
        if kind == "content_filter":
            err.update(
                param="prompt",
                status=400,
                innererror={
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {**_FILTERS, "violence": {"filtered": True, "severity": "high"}},
                },
            )
        return EmuResponse.json({"error": err}, status, {"apim-request-id": "emu-apim", "x-ms-region": "emulated"})

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        key = req.headers.get("api-key")
        bearer = req.headers.get("authorization", "")
        credential = key or (bearer[7:] if bearer.startswith("Bearer ") else "")
        if not credential:
            return self.error(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription and use a correct regional API endpoint for your resource.",
            )
        if emu.require_key is not None and credential != emu.require_key:
            return self.error(401, "Access denied due to invalid subscription key.")
        return None

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        denied = self._auth(req, emu)
        if denied is not None:
            return denied
        version = req.query.get("api-version")
        m = _DEPLOYMENT.match(req.subpath)
        if m is not None and req.method == "POST":
            if version is None or not _VERSION.match(version):
                return self.error(404, "Resource not found")
            return self._chat(req, deployment=unquote(m.group(1)))
        if req.subpath == "/openai/v1/chat/completions" and req.method == "POST":
            if version not in (None, "preview"):
                return self.error(400, f"api-version {version!r} is not supported on the v1 API: omit it")
            return self._chat(req, deployment=None)
        m = _EMBED_DEPLOYMENT.match(req.subpath)
        if m is not None and req.method == "POST":
            if version is None or not _VERSION.match(version):
                return self.error(404, "Resource not found")
            return self._embeddings(req, deployment=unquote(m.group(1)))
        if req.subpath == "/openai/v1/embeddings" and req.method == "POST":
            if version not in (None, "preview"):
                return self.error(400, f"api-version {version!r} is not supported on the v1 API: omit it")
            return self._embeddings(req, deployment=None)
        if req.subpath == "/openai/models" and req.method == "GET":
            if version is None or not _VERSION.match(version):
                return self.error(404, "Resource not found")
            data = [{"id": m, "object": "model", "created": 1700000000} for m in ("gpt-4o", "gpt-4o-mini")]
            return EmuResponse.json({"object": "list", "data": data})
        return self.error(404, "Resource not found")

    def _embeddings(self, req: EmuRequest, deployment: str | None) -> EmuResponse:
        """A deployment's embeddings: it must exist (DeploymentNotFound) and be an embedding
        model (OperationNotSupported for a chat deployment), as Azure answers."""
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "Could not parse the JSON body of your request.")
        name = deployment or (data.get("model") if isinstance(data, dict) else None)
        if not isinstance(name, str) or not name:
            return self.error(400, "Missing required parameter: 'model' (the deployment name)")
        if name not in catalog_models("azure", "embeddings"):
            if name in catalog_models("azure", "chat"):
                return self.error(
                    400,
                    f"The embeddings operation does not work with the specified model, {name}. "
                    "Please choose different model and try again.",
                    "OperationNotSupported",
                )
            return self.error(
                404,
                "The API deployment for this resource does not exist. If you created the deployment within the "
                "last 5 minutes, please wait a moment and try again.",
                "DeploymentNotFound",
            )
        return embeddings(
            req, "azure", wire.CreateEmbeddingRequest, lambda s, m, p: self.error(s, m), 400, True, model=name
        )

    def _chat(self, req: EmuRequest, deployment: str | None) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "Could not parse the JSON body of your request.")
        if not isinstance(data, dict):
            return self.error(400, "The request body must be a JSON object.")
        if deployment is None and not data.get("model"):
            return self.error(400, "Missing required parameter: 'model' (the deployment name)")
        try:
            body = structure_strict({"model": deployment, **data}, wire.CreateChatCompletionRequest)
        except WireValidationError as exc:
            if exc.reason.startswith("unknown field"):
                return self.error(400, f"Unrecognized request argument supplied: {exc.reason.split(chr(39))[1]}")
            return self.error(400, f"Invalid request: {exc.reason}")
        name = deployment or body.model
        p = plan(_conversation(body, data))
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(_azure_stream(name, _stream_events(name, p, include)), {"apim-request-id": "emu"})
        out = _response(name, p)
        out["prompt_filter_results"] = _prompt_filter_results()
        for choice in out["choices"]:
            choice["content_filter_results"] = dict(_FILTERS)
        return EmuResponse.json(out, headers={"apim-request-id": "emu"})


def _azure_stream(model: str, events: list[str]) -> list[str]:
    """OpenAI's chunks with Azure's choice-less opening chunk and per-choice filter results."""
    first = {
        "id": "",
        "choices": [],
        "created": 0,
        "model": "",
        "object": "",
        "system_fingerprint": None,
        "prompt_filter_results": _prompt_filter_results(),
    }
    out = [f"data: {json.dumps(first)}\n\n"]
    for ev in events:
        payload = ev[len("data: ") :].strip()
        if payload == "[DONE]":
            out.append(ev)
            continue
        chunk = json.loads(payload)
        for choice in chunk.get("choices", []):
            choice["content_filter_results"] = {} if choice.get("finish_reason") else dict(_FILTERS)
        out.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    return out


HANDLER = AzureHandler()
