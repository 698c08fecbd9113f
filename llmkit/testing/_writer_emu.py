"""Emulated Writer chat under `/writer/v1`, as strict as api.writer.com.

`POST /chat` (not /chat/completions) with a bearer key; OpenAI-shaped answers whose usage
carries `prompt_token_details` (singular "token"); SSE streams ending with `data: [DONE]`;
Writer's error body `{"tpe", "errors": [{"description", "key", "extras"}], "extras"}` for a
missing key, unknown fields or models; `GET /models`.
"""

from __future__ import annotations

from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import plan
from ._openai_emu import _conversation, _response, _stream_events
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "WriterHandler"]

_TPE = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests", 500: "InternalError"}


def _models() -> list[str]:
    from ..generated.catalog import MODELS

    return [m.id for m in MODELS if m.provider == "writer"]


class WriterHandler:
    provider = "writer"
    prefix = "/writer/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        body = {
            "tpe": _TPE.get(status, "Error"),
            "errors": [{"description": message, "key": kind or f"error.{status}", "extras": {}}],
            "extras": {},
        }
        return EmuResponse.json(body, status, {"x-request-id": "writer-emu"})

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:] or emu.require_key not in (None, auth[7:]):
            return self.error(401, "Invalid API key", "unauthorized")
        if (req.method, req.subpath) == ("GET", "/models"):
            return EmuResponse.json({"models": [{"id": m, "name": m} for m in _models()]})
        if (req.method, req.subpath) != ("POST", "/chat"):
            return self.error(404, f"No route for {req.method} {req.subpath}", "not_found")
        data = req.json()
        try:
            body = structure_strict(data, wire.CreateChatCompletionRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"Invalid request: {exc}", "invalid_request")
        if body.model not in _models():
            return self.error(404, f"Model {body.model} not found", "model.not_found")
        if body.max_completion_tokens is not None:
            return self.error(400, "Unknown field max_completion_tokens; use max_tokens", "invalid_request")
        if any(getattr(m, "role", "") == "developer" for m in body.messages):
            return self.error(400, "Unknown role developer", "invalid_request")
        conv = _conversation(body, data)
        conv.max_tokens = body.max_tokens
        p = plan(conv)
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(_writer_usage_events(_stream_events(body.model, p, include)))
        out = _response(body.model, p)
        _writer_usage(out.get("usage"))
        return EmuResponse.json(out)


def _writer_usage(usage: Any) -> None:
    """Writer names it prompt_token_details (and reports no audio counts)."""
    if isinstance(usage, dict):
        usage.pop("prompt_tokens_details", None)
        usage["prompt_token_details"] = {"cached_tokens": 0}


def _writer_usage_events(events: list[str]) -> list[str]:
    import json

    out = []
    for ev in events:
        payload = ev[len("data: ") :].strip()
        if payload == "[DONE]":
            out.append(ev)
            continue
        chunk = json.loads(payload)
        _writer_usage(chunk.get("usage"))
        out.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    return out


HANDLER = WriterHandler()
