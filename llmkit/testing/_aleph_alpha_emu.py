"""Emulated Aleph Alpha inference API under `/aleph_alpha`, as strict as the real one.

`POST /chat/completions` (OpenAI-shaped, SSE with `[DONE]`), `POST /complete` (prompt as text
or typed items, `maximum_tokens` required; streamed as `stream_chunk`, `stream_summary` and
`completion_summary` items), `POST /tokenize` and `GET /models_available`, all with a bearer
token. Errors are JSON `{"error", "code"}`; 402 says the credits are used up.
"""

from __future__ import annotations

import json
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import aleph_alpha as wire
from ..generated.wire import openai_chat as openai_wire
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._openai_emu import _conversation, _response, _stream_events
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "AlephAlphaHandler"]

_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 402: "QUOTA_EXCEEDED", 404: "NOT_FOUND", 503: "BUSY"}
_VERSION = "2026-11-01"


def _models() -> list[str]:
    from ..generated.catalog import MODELS

    return [m.id for m in MODELS if m.provider == "aleph_alpha"]


class AlephAlphaHandler:
    provider = "aleph_alpha"
    prefix = "/aleph_alpha"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json({"error": message, "code": kind or _CODES.get(status, "ERROR")}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:] or emu.require_key not in (None, auth[7:]):
            return self.error(401, "Unauthenticated: no valid token")
        route = (req.method, req.subpath)
        if route == ("GET", "/models_available"):
            return EmuResponse.json([{"name": m, "description": m, "hostings": ["aleph-alpha"]} for m in _models()])
        if route == ("POST", "/chat/completions"):
            return self._chat(req)
        if route == ("POST", "/complete"):
            return self._complete(req)
        if route == ("POST", "/tokenize"):
            try:
                body = structure_strict(req.json(), wire.AlephTokenizeRequest)
            except (ValueError, WireValidationError) as exc:
                return self.error(400, f"invalid request: {exc}")
            words = body.prompt.split()
            out: dict[str, Any] = {}
            if body.tokens:
                out["tokens"] = [f"Ġ{w}" for w in words]
            if body.token_ids:
                out["token_ids"] = [100 + i for i in range(len(words))]
            return EmuResponse.json(out)
        return self.error(404, f"no route {req.method} {req.subpath}")

    def _chat(self, req: EmuRequest) -> EmuResponse:
        data = req.json()
        try:
            body = structure_strict(data, openai_wire.CreateChatCompletionRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"invalid request: {exc}")
        if body.model not in _models():
            return self.error(404, f"model {body.model} is not available")
        conv = _conversation(body, data)
        conv.max_tokens = body.max_tokens
        p = plan(conv)
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(_stream_events(body.model, p, include))
        return EmuResponse.json(_response(body.model, p))

    def _complete(self, req: EmuRequest) -> EmuResponse:
        try:
            body = structure_strict(req.json(), wire.AlephCompletionRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"invalid request: {exc}")
        if body.model not in _models():
            return self.error(404, f"model {body.model} is not available")
        prompt = (
            body.prompt
            if isinstance(body.prompt, str)
            else " ".join(str(item.data) for item in body.prompt if item.type == "text")
        )
        p = plan(Conversation(last_user_text=prompt, all_text=prompt, max_tokens=body.maximum_tokens))
        finish = "maximum_tokens" if p.truncated else "end_of_text"
        if body.stream:
            return EmuResponse.sse(_complete_stream(p, finish))
        return EmuResponse.json(
            {
                "model_version": _VERSION,
                "completions": [
                    {
                        "completion": p.text,
                        "finish_reason": finish,
                        "log_probs": None,
                        "raw_completion": None,
                        "completion_tokens": None,
                    }
                ],
                "num_tokens_prompt_total": count_tokens(prompt),
                "num_tokens_generated": p.output_tokens,
                "optimized_prompt": None,
            }
        )


def _complete_stream(p: Plan, finish: str) -> list[str]:
    items: list[dict[str, Any]] = [
        {
            "type": "stream_chunk",
            "index": 0,
            "completion": piece,
            "raw_completion": None,
            "completion_tokens": None,
            "log_probs": None,
        }
        for piece in chunks(p.text)
    ]
    items.append({"type": "stream_summary", "index": 0, "model_version": _VERSION, "finish_reason": finish})
    items.append(
        {
            "type": "completion_summary",
            "num_tokens_prompt_total": p.input_tokens,
            "num_tokens_generated": p.output_tokens,
            "optimized_prompt": None,
        }
    )
    return [f"data: {json.dumps(i, ensure_ascii=False)}\n\n" for i in items] + ["data: [DONE]\n\n"]


HANDLER = AlephAlphaHandler()
