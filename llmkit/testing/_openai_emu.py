"""Emulated OpenAI chat completions under `/openai/v1`, as strict as OpenAI.

Rejects a missing or wrong key (401), unknown request fields and wrong types (400, OpenAI's
error shape), `max_tokens` on reasoning models, and unknown models (404); fine-tuned `ft:`
models exist once an emulated fine-tuning job made them (`_openai_finetune`). Answers with the
real response and chunk shapes, including `stream_options.include_usage`'s usage-only chunk.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import Conversation, Plan, chunks, plan
from ._openai_batch import BATCH_PATHS, handle_batch
from ._openai_finetune import finetuned_models, handle_finetune
from ._openai_media_emu import MEDIA_PATHS, handle_media
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "OpenAIHandler"]

_STATUS_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


def _known_models(provider: str) -> set[str]:
    from ..generated.catalog import MODELS

    out: set[str] = set()
    for m in MODELS:
        if m.provider == provider:
            out.add(m.id)
            out.update(m.aliases)
    return out


def _reasoning_models(provider: str) -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == provider and m.capabilities.reasoning}


class OpenAIHandler:
    provider = "openai"
    prefix = "/openai/v1"

    def error(self, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse:
        etype, code = _STATUS_TYPES.get(status, ("invalid_request_error", None))
        body = {"error": {"message": message, "type": kind or etype, "param": param, "code": code}}
        return EmuResponse.json(body, status, {"x-request-id": f"req_emu{int(time.time() * 1000)}"})

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            return self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if emu.require_key is not None and auth[7:] != emu.require_key:
            return self.error(401, "Incorrect API key provided.")
        return None

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        denied = self._auth(req, emu)
        if denied is not None:
            return denied
        if req.subpath.startswith(MEDIA_PATHS):
            return handle_media(req, emu, self)
        tuned = handle_finetune(req, emu, self)
        if tuned is not None:
            return tuned
        if req.subpath.startswith(BATCH_PATHS):
            return handle_batch(req, emu, self)
        if req.subpath == "/chat/completions" and req.method == "POST":
            return self._chat(req, set(finetuned_models(emu)))
        if req.subpath == "/models" and req.method == "GET":
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}
                for m in sorted(_known_models(self.provider))
            ]
            data += [finetuned_models(emu)[m] for m in sorted(finetuned_models(emu))]
            return EmuResponse.json({"object": "list", "data": data})
        if req.subpath.startswith("/models/") and req.method == "GET":
            from urllib.parse import unquote

            mid = unquote(req.subpath[len("/models/") :])
            if mid not in _known_models(self.provider):
                return self.error(404, f"The model '{mid}' does not exist", param="model")
            return EmuResponse.json({"id": mid, "object": "model", "created": 1700000000, "owned_by": "system"})
        return self.error(404, f"Invalid URL ({req.method} {req.path})")

    def _chat(self, req: EmuRequest, tuned: set[str] | None = None) -> EmuResponse:
        """Chat completions; `tuned` are the fine-tuned model ids this emulator's jobs made."""
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(data, dict):
            return self.error(400, "The request body must be a JSON object.")
        try:
            body = structure_strict(data, wire.CreateChatCompletionRequest)
        except WireValidationError as exc:
            if exc.reason.startswith("unknown field"):
                field = exc.reason.split("'")[1]
                return self.error(400, f"Unrecognized request argument supplied: {field}", param=field)
            return self.error(400, f"Invalid request: {exc.reason}")
        if body.model not in _known_models(self.provider) and body.model not in (tuned or set()):
            return self.error(
                404,
                f"The model `{body.model}` does not exist or you do not have access to it.",
                param="model",
            )
        if body.max_tokens is not None and body.model in _reasoning_models(self.provider):
            return self.error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                param="max_tokens",
            )
        if not body.messages:
            return self.error(400, "[] is too short - 'messages'", param="messages")
        p = plan(_conversation(body, data))
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(_stream_events(body.model, p, include_usage), {"x-request-id": "req_emu_stream"})
        return EmuResponse.json(_response(body.model, p), headers={"x-request-id": "req_emu"})


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(getattr(p, "text", "") for p in content if getattr(p, "text", None))


def _conversation(body: wire.CreateChatCompletionRequest, raw: dict[str, Any]) -> Conversation:
    conv = Conversation()
    texts = []
    for m in body.messages:
        content = getattr(m, "content", None)
        texts.append(_text_of(content))
        if isinstance(m, wire.UserMessage):
            conv.last_user_text = _text_of(content)
            if isinstance(content, list):
                conv.images += sum(1 for p in content if isinstance(p, wire.ImageUrlPart))
    last = body.messages[-1]
    if isinstance(last, wire.ToolMessage):
        conv.last_is_tool_result = True
        conv.tool_result_text = _text_of(last.content)
    conv.all_text = " ".join(texts)
    conv.tools = [{"name": t.function.name, "parameters": t.function.parameters or {}} for t in body.tools or []]
    tc = body.tool_choice
    if isinstance(tc, wire.NamedToolChoice):
        conv.tool_choice = tc.function.name
    else:
        conv.tool_choice = tc
    rf = body.response_format
    if isinstance(rf, wire.ResponseFormatJsonSchema):
        conv.json_schema = rf.json_schema.schema or {}
    conv.json_object = isinstance(rf, wire.ResponseFormatJsonObject)
    conv.max_tokens = body.max_completion_tokens or body.max_tokens
    conv.reasoning = body.reasoning_effort is not None
    return conv


def _finish(p: Plan) -> str:
    if p.tool_calls:
        return "tool_calls"
    return "length" if p.truncated else "stop"


def _usage(p: Plan) -> dict[str, Any]:
    reasoning = len(p.reasoning.split()) if p.reasoning else 0
    return {
        "prompt_tokens": p.input_tokens,
        "completion_tokens": p.output_tokens + reasoning,
        "total_tokens": p.input_tokens + p.output_tokens + reasoning,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _calls(p: Plan) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_emu{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for i, (name, args) in enumerate(p.tool_calls)
    ]


def _response(model: str, p: Plan) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": p.text or None,
        "refusal": None,
        "annotations": [],
    }
    if p.tool_calls:
        message["tool_calls"] = _calls(p)
    return {
        "id": "chatcmpl-emu",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(p)}],
        "usage": _usage(p),
        "service_tier": "default",
        "system_fingerprint": "fp_emu",
    }


def _stream_events(model: str, p: Plan, include_usage: bool) -> list[str]:
    base = {
        "id": "chatcmpl-emu",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_emu",
    }
    usage_null = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        c = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **usage_null,
        }
        return f"data: {json.dumps(c, ensure_ascii=False)}\n\n"

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if p.text:
        out.extend(chunk({"content": piece}) for piece in chunks(p.text))
    for i, call in enumerate(_calls(p)):
        args = call["function"]["arguments"]
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        half = len(args) // 2
        for piece in (args[:half], args[half:]):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    out.append(chunk({}, _finish(p)))
    if include_usage:
        out.append(f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(p)})}\n\n")
    out.append("data: [DONE]\n\n")
    return out


HANDLER = OpenAIHandler()
