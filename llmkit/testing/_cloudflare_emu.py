"""Emulated Cloudflare Workers AI under `/cloudflare` (paths `/accounts/{account_id}/ai/...`).

Needs `Authorization: Bearer <token>` (else the v4 envelope with code 10000 "Authentication
error"). Serves the OpenAI-compatible `/ai/v1/chat/completions` (OpenAI shapes, no envelope),
the native `/ai/run/@cf/...` whose model id must arrive with its `@` and slashes LITERAL (an
encoded `%40` or `%2F` cannot be routed: envelope code 7003), answering in the v4 envelope
(`result.response`, `result.tool_calls` with object arguments, `result.usage`) or, with
`"stream": true`, as bare `data: {"response": ...}` chunks, a last chunk with usage and
`data: [DONE]`. Text-to-image models (`_cloudflare_images`) check their input strictly and
answer the envelope with a base64 `result.image` (FLUX.1 [schnell]) or raw `image/png`
bytes (the SDXL models). `/ai/models/search` lists the catalog; `GET /ai/v1/models` is refused with
code 7001, as Cloudflare does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._wire import WireValidationError, structure, structure_strict
from ..generated.wire import cloudflare as cf_wire
from ..generated.wire import openai_chat as wire
from ._brain import Conversation, Plan, chunks, plan
from ._cloudflare_images import IMAGE_MODELS, run_image
from ._openai_emu import _conversation, _response, _stream_events
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "CloudflareHandler"]

_ACCOUNT = re.compile(r"^/accounts/([^/]+)(/ai/.*)$")


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "cloudflare"}


def _envelope_error(status: int, code: int, message: str) -> EmuResponse:
    return EmuResponse.json(
        {"result": None, "success": False, "errors": [{"code": code, "message": message}], "messages": []}, status
    )


class CloudflareHandler:
    provider = "cloudflare"
    prefix = "/cloudflare"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """The v4 envelope with one error; `kind` is its numeric code."""
        code = int(kind) if kind.isdigit() else {400: 5006, 401: 10000, 404: 7003, 429: 3040}.get(status, 7000)
        return _envelope_error(status, code, message)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (emu.require_key is not None and auth[7:] != emu.require_key):
            return _envelope_error(401, 10000, "Authentication error")
        m = _ACCOUNT.match(req.subpath)
        if m is None:
            return _envelope_error(
                400, 7003, f"Could not route to {req.subpath}, perhaps your object identifier is invalid?"
            )
        rest = m.group(2)
        if rest == "/ai/v1/chat/completions" and req.method == "POST":
            return self._compat(req)
        if rest == "/ai/v1/models":
            return _envelope_error(405, 7001, "GET not supported for requested URI.")
        if rest == "/ai/models/search" and req.method == "GET":
            result = [
                {"id": f"m-{i}", "name": name, "description": name, "task": {"name": "Text Generation"}}
                for i, name in enumerate(sorted(_models()))
            ]
            return EmuResponse.json({"result": result, "success": True, "errors": [], "messages": []})
        if rest.startswith("/ai/run/") and req.method == "POST":
            model = rest[len("/ai/run/") :]
            if "%" in model:
                return _envelope_error(
                    400, 7003, f"Could not route to {req.subpath}, perhaps your object identifier is invalid?"
                )
            return self._run(req, model)
        return _envelope_error(
            404, 7003, f"Could not route to {req.subpath}, perhaps your object identifier is invalid?"
        )

    def _compat(self, req: EmuRequest) -> EmuResponse:
        raw = req.json()
        try:
            body = structure(raw, wire.CreateChatCompletionRequest)
        except WireValidationError as exc:
            return _envelope_error(400, 5006, f"Error: invalid input: {exc.reason}")
        if body.model not in _models():
            return _envelope_error(400, 5007, f"No such model {body.model} or task")
        p = plan(_conversation(body, raw))
        if body.stream:
            return EmuResponse.sse(_stream_events(body.model, p, True))
        return EmuResponse.json(_response(body.model, p))

    def _run(self, req: EmuRequest, model: str) -> EmuResponse:
        if model not in _models():
            return _envelope_error(400, 5007, f"No such model {model} or task")
        if model in IMAGE_MODELS:
            try:
                return run_image(model, req.json())
            except ValueError as exc:
                return _envelope_error(400, 5006, f"Error: invalid input: {exc}")
        try:
            body = structure_strict(req.json(), cf_wire.RunRequest)
        except (WireValidationError, ValueError) as exc:
            return _envelope_error(400, 5006, f"Error: invalid input: {exc}")
        p = plan(_run_conversation(body))
        usage = {
            "prompt_tokens": p.input_tokens,
            "completion_tokens": p.output_tokens,
            "total_tokens": p.input_tokens + p.output_tokens,
        }
        if body.stream:
            events = [f"data: {json.dumps({'response': piece, 'p': 'abcdefgh'})}\n\n" for piece in chunks(p.text)]
            events.append(f"data: {json.dumps({'response': '', 'usage': usage})}\n\n")
            events.append("data: [DONE]\n\n")
            return EmuResponse.sse(events)
        result: dict[str, Any] = {"response": p.text, "tool_calls": _run_calls(p), "usage": usage}
        return EmuResponse.json({"result": result, "success": True, "errors": [], "messages": []})


def _run_calls(p: Plan) -> list[dict[str, Any]]:
    return [{"name": name, "arguments": args} for name, args in p.tool_calls]


def _run_conversation(body: cf_wire.RunRequest) -> Conversation:
    conv = Conversation()
    msgs = body.messages or []
    if body.prompt is not None:
        conv.last_user_text = body.prompt
    for m in msgs:
        if m.role == "user":
            conv.last_user_text = m.content
    conv.all_text = "\n".join([body.prompt or "", *(m.content for m in msgs)])
    if msgs and msgs[-1].role == "tool":
        conv.last_is_tool_result = True
        conv.tool_result_text = msgs[-1].content
    for t in body.tools or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        conv.tools.append({"name": fn.get("name", "tool"), "parameters": fn.get("parameters") or {}})
    conv.max_tokens = body.max_tokens
    return conv


HANDLER = CloudflareHandler()
