"""Emulated IBM watsonx.ai under `/watsonx`, with its own IBM IAM token endpoint.

`POST /watsonx/identity/token` is IAM: a form body with `grant_type=urn:ibm:params:oauth:
grant-type:apikey` and `apikey` (a key other than the emulator's `api_key` is refused with
IAM's 400 BXNIM0415E) answers `{"access_token", "refresh_token": "not_supported",
"token_type": "Bearer", "expires_in": 3600, "expiration", "scope"}`. The API under
`/watsonx/ml/v1/...` accepts only tokens this endpoint issued and has not revoked (401
`authentication_token_expired` otherwise), requires `?version=`, exactly one of `project_id`
and `space_id`, and rejects fields the text/chat request does not have. It answers the
OpenAI-shaped chat with `model_id`, `model_version`, `created_at`; streams are SSE with `id:`
and `event: message` lines, the finish reason on the last content chunk, then a usage chunk
with no choices, then `event: close`, and no `[DONE]`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from .._wire import WireValidationError, structure_strict
from ..generated.wire import watsonx as wire
from ._brain import Conversation, chunks, plan
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "WatsonxHandler"]

_IDS = itertools.count(1)
_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
CREATED = 1735395700


class _Reject(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "watsonx"}


class WatsonxHandler:
    provider = "watsonx"
    prefix = "/watsonx"
    token_path = "/identity/token"  # IAM here: point auth_url at base_url(provider) + token_path

    def __init__(self) -> None:
        self.issued: dict[str, float] = {}  # token -> expiration (epoch seconds)

    def revoke_all(self) -> None:
        """Make every issued token invalid, as an expired or revoked IAM token is."""
        self.issued.clear()

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """watsonx's error body; `kind` is the error code."""
        code = kind or {400: "invalid_request_entity", 401: "authentication_token_expired", 404: "not_found"}.get(
            status, "internal_error"
        )
        body = {
            "errors": [{"code": code, "message": message, "more_info": "https://cloud.ibm.com/apidocs/watsonx-ai"}],
            "trace": f"{next(_IDS):032x}",
            "status_code": status,
        }
        return EmuResponse.json(body, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if req.subpath == self.token_path and req.method == "POST":
            return self._token(req, emu)
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token not in self.issued or self.issued[token] < time.time():
            return self.error(401, "Failed to authenticate the request due to an expired token")
        try:
            if not req.query.get("version"):
                raise _Reject(400, "missing_field", "Missing query parameter `version`")
            if req.subpath in ("/ml/v1/text/chat", "/ml/v1/text/chat_stream") and req.method == "POST":
                return self._chat(req, stream=req.subpath.endswith("_stream"))
            if req.subpath == "/ml/v1/foundation_model_specs" and req.method == "GET":
                resources = [
                    {
                        "model_id": m,
                        "label": m.split("/")[-1],
                        "provider": m.split("/")[0],
                        "functions": [{"id": "text_chat"}],
                    }
                    for m in sorted(_models())
                ]
                return EmuResponse.json({"total_count": len(resources), "limit": 100, "resources": resources})
        except _Reject as r:
            return self.error(r.status, r.message, r.code)
        return self.error(404, f"Route {req.method} {req.subpath} not found", "not_found")

    def _token(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        form = dict(parse_qsl(req.body.decode()))
        if req.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return EmuResponse.json({"errorCode": "BXNIM0109E", "errorMessage": "Unsupported content type."}, 400)
        if form.get("grant_type") != _GRANT:
            return EmuResponse.json({"errorCode": "BXNIM0103E", "errorMessage": "Invalid grant type."}, 400)
        expected = emu.require_key or emu.api_key
        if form.get("apikey") != expected:
            return EmuResponse.json(
                {
                    "errorCode": "BXNIM0415E",
                    "errorMessage": "Provided API key could not be found.",
                    "context": {"requestId": f"{next(_IDS):032x}", "requestType": "incoming.Identity_Token"},
                },
                400,
            )
        now = int(time.time())
        token = f"eyJraWQi.iam{next(_IDS)}.sig"
        self.issued[token] = now + 3600
        return EmuResponse.json(
            {
                "access_token": token,
                "refresh_token": "not_supported",
                "ims_user_id": 13176852,
                "token_type": "Bearer",
                "expires_in": 3600,
                "expiration": now + 3600,
                "scope": "ibm openid",
            }
        )

    def _chat(self, req: EmuRequest, *, stream: bool) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            raise _Reject(400, "json_type_error", "Json document validation error: invalid JSON") from None
        try:
            body: wire.TextChatRequest = structure_strict(data, wire.TextChatRequest)
        except WireValidationError as exc:
            m = re.search(r"unknown field '([^']+)'", exc.reason)
            what = f"unknown field '{m.group(1)}'" if m else exc.reason
            raise _Reject(400, "json_validation_error", f"Json document validation error: {what}") from None
        if bool(body.project_id) == bool(body.space_id):
            raise _Reject(400, "invalid_request_entity", "Either 'project_id' or 'space_id' must be specified")
        if body.model_id not in _models():
            raise _Reject(404, "model_not_supported", f"Model '{body.model_id}' is not supported")
        p = plan(_conversation(body))
        rid = f"chatcmpl-{next(_IDS):08x}"
        finish = "tool_calls" if p.tool_calls else ("length" if p.truncated else "stop")
        usage = {
            "completion_tokens": p.output_tokens,
            "prompt_tokens": p.input_tokens,
            "total_tokens": p.input_tokens + p.output_tokens,
        }
        head = {"id": rid, "model_id": body.model_id, "model": body.model_id}
        tail = {"created": CREATED, "model_version": "3.0.0", "created_at": "2025-12-28T14:01:40.000Z"}
        calls = [
            {
                "index": i,
                "id": f"chatcmpl-tool-{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a)},
            }
            for i, (n, a) in enumerate(p.tool_calls)
        ]
        if not stream:
            message: dict[str, Any] = {"role": "assistant", "content": None if calls else p.text}
            if calls:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return EmuResponse.json({**head, "object": "chat.completion", "choices": [choice], **tail, "usage": usage})
        out: list[dict[str, Any]] = [_chunk(head, tail, {"role": "assistant", "content": ""}, None)]
        if calls:
            out.append(_chunk(head, tail, {"tool_calls": calls}, finish))
        else:
            pieces = chunks(p.text)
            for i, piece in enumerate(pieces):
                out.append(_chunk(head, tail, {"content": piece}, finish if i == len(pieces) - 1 else None))
        out.append({**head, "object": "chat.completion.chunk", "choices": [], **tail, "usage": usage})
        events = [f"id: {i + 1}\nevent: message\ndata: {json.dumps(c)}\n\n" for i, c in enumerate(out)]
        events.append(f"id: {len(out) + 1}\nevent: close\n\n")
        return EmuResponse.sse(events)


def _chunk(head: dict[str, Any], tail: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        **head,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "finish_reason": finish, "delta": delta}],
        **tail,
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _conversation(body: wire.TextChatRequest) -> Conversation:
    conv = Conversation()
    msgs = body.messages
    for m in msgs:
        if m.get("role") == "user":
            conv.last_user_text = _text(m.get("content"))
    conv.all_text = "\n".join(_text(m.get("content")) for m in msgs)
    if msgs and msgs[-1].get("role") == "tool":
        conv.last_is_tool_result = True
        conv.tool_result_text = _text(msgs[-1].get("content"))
    conv.tools = [
        {"name": t["function"]["name"], "parameters": t["function"].get("parameters") or {}}
        for t in body.tools or []
        if isinstance(t.get("function"), dict)
    ]
    if body.tool_choice is not None:
        conv.tool_choice = str((body.tool_choice.get("function") or {}).get("name"))
    elif body.tool_choice_option is not None:
        conv.tool_choice = body.tool_choice_option
    rf = body.response_format or {}
    conv.json_object = rf.get("type") == "json_object"
    conv.max_tokens = body.max_tokens
    return conv


HANDLER = WatsonxHandler()
