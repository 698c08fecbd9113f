"""Emulated CLOVA Studio v3 under `/clova`, as strict as clovastudio.stream.ntruss.com.

`POST /v3/chat-completions/{model}` with `Authorization: Bearer <key>`; strict camelCase fields;
tool-call arguments must be JSON objects and tool turns need `toolCallId`. With `Accept:
text/event-stream` it streams named events written the compact way (`event:token`,
`data:{...}`): `token` deltas, one `result` repeating the whole answer with usage, then
`signal` `{"data":"[DONE]"}`. Answers and errors use the `{"status": {"code", "message"},
"result"}` envelope, and every answer echoes the request id header.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote

from .._wire import WireValidationError, structure_strict
from ..generated.wire import clova as wire
from ._brain import Conversation, Plan, chunks, plan
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "ClovaHandler"]

_CODES = {400: "40000", 401: "40100", 403: "40380", 404: "40400", 408: "40800", 429: "42900", 500: "50000"}
_PATH = "/v3/chat-completions/"
_SEED = 3284419119


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "clova"}


class ClovaHandler:
    provider = "clova"
    prefix = "/clova"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json(
            {"status": {"code": kind or _CODES.get(status, str(status * 100)), "message": message}, "result": None},
            status,
        )

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:] or emu.require_key not in (None, auth[7:]):
            return self.error(401, "Unauthorized")
        if req.method != "POST" or not req.subpath.startswith(_PATH):
            return self.error(404, "Not Found")
        model = unquote(req.subpath[len(_PATH) :])
        if model not in _models():
            return self.error(404, f"Model {model} not found")
        request_id = req.headers.get("x-ncp-clovastudio-request-id", "")
        headers = {"x-ncp-clovastudio-request-id": request_id} if request_id else {}
        try:
            body = structure_strict(req.json(), wire.ClovaChatRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"Invalid parameter: {exc}", "40001")
        raw = req.json()
        conv = Conversation(max_tokens=body.max_tokens)
        for i, m in enumerate(body.messages):
            if m.role == "tool" and not m.tool_call_id:
                return self.error(400, f"messages[{i}]: toolCallId is required for role tool", "40001")
            for c in raw["messages"][i].get("toolCalls") or []:
                if not isinstance(c.get("function", {}).get("arguments"), dict):
                    return self.error(400, f"messages[{i}].toolCalls: arguments must be an object", "40001")
            text = m.content if isinstance(m.content, str) else ""
            conv.all_text += " " + text
            if m.role == "user":
                conv.last_user_text = text
        last = body.messages[-1]
        conv.last_is_tool_result = last.role == "tool"
        conv.tool_result_text = last.content if conv.last_is_tool_result and isinstance(last.content, str) else ""
        conv.tools = [{"name": t.function.name, "parameters": t.function.parameters} for t in body.tools or []]
        tc = body.tool_choice
        conv.tool_choice = tc if isinstance(tc, str) or tc is None else tc.function.name
        p = plan(conv)
        if "text/event-stream" in req.headers.get("accept", ""):
            return EmuResponse(
                headers={"content-type": "text/event-stream", **headers},
                chunks=[e.encode() for e in _events(p, request_id)],
            )
        return EmuResponse.json({"status": {"code": "20000", "message": "OK"}, "result": _result(p)}, headers=headers)


def _usage(p: Plan) -> dict[str, Any]:
    return {
        "promptTokens": p.input_tokens,
        "completionTokens": p.output_tokens,
        "totalTokens": p.input_tokens + p.output_tokens,
    }


def _message(p: Plan) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": p.text}
    if p.tool_calls:
        msg["toolCalls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(p.tool_calls)
        ]
    return msg


def _finish(p: Plan) -> str:
    return "tool_calls" if p.tool_calls else ("length" if p.truncated else "stop")


def _result(p: Plan) -> dict[str, Any]:
    return {
        "message": _message(p),
        "finishReason": _finish(p),
        "created": int(time.time() * 1000),
        "seed": _SEED,
        "usage": _usage(p),
        "aiFilter": [{"groupName": "curse", "name": "insult", "score": "1", "result": "OK"}],
    }


def _events(p: Plan, request_id: str) -> list[str]:
    created = int(time.time() * 1000)
    out = []
    for piece in [] if p.tool_calls else chunks(p.text):
        data = {
            "message": {"role": "assistant", "content": piece},
            "finishReason": None,
            "created": created,
            "seed": _SEED,
            "usage": None,
        }
        out.append(f"id:{request_id}\nevent:token\ndata:{json.dumps(data, ensure_ascii=False)}\n\n")
    out.append(f"id:{request_id}\nevent:result\ndata:{json.dumps(_result(p), ensure_ascii=False)}\n\n")
    out.append(f'id:{request_id}\nevent:signal\ndata:{{"data":"[DONE]"}}\n\n')
    return out


HANDLER = ClovaHandler()
