"""Emulated Anthropic Messages API under `/anthropic` (paths `/v1/...`), as strict as Anthropic.

Rejects a missing key (401 authentication_error; `x-api-key` or `Authorization: Bearer`), a
missing `anthropic-version` header, unknown request fields ("<field>: Extra inputs are not
permitted"), a missing `max_tokens`, roles other than user/assistant, tool_result blocks
without their tool_use (and the reverse), thinking blocks whose signature it did not issue,
and unknown or retired models (404 not_found_error). Answers with Anthropic's message shape
and its exact SSE sequence: message_start, content_block_start, ping, deltas,
content_block_stop, message_delta (cumulative usage), message_stop.

Prompt caching is emulated per Emulator: the first request with a cache_control breakpoint
writes the prefix, the next identical prefix reads it (no 1024-token minimum, so tests stay
small). Writes are reported by TTL (`cache_creation.ephemeral_5m_input_tokens` /
`ephemeral_1h_input_tokens`, summed in `cache_creation_input_tokens`); more than four
breakpoints, or a 1-hour breakpoint after a 5-minute one, is refused.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any
from urllib.parse import unquote

from .._spec import ModelInfo
from .._wire import WireValidationError, structure_strict
from ..generated.wire import anthropic_messages as wire
from ._anthropic_batch import BATCH_PREFIX, handle_batch
from ._anthropic_cache import Breakpoint, cache_usage, check_breakpoints
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "AnthropicHandler", "signature_for"]

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_IDS = itertools.count(1)


class _Reject(Exception):
    """A request Anthropic would refuse: status, message and error type."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signature_for(thinking: str) -> str:
    """The emulator's opaque thinking signature; an echoed block must carry exactly this."""
    return "EqQB" + hashlib.sha256(thinking.encode("utf-8")).hexdigest()[:48]


def _models() -> dict[str, ModelInfo]:
    """Model ids and aliases the emulator serves; retired models are gone, as on the real API."""
    from .._lifecycle import lifecycle_status
    from ..generated.catalog import MODELS

    out: dict[str, ModelInfo] = {}
    for m in MODELS:
        if m.provider == "anthropic" and lifecycle_status(m.lifecycle) != "retired":
            for name in (m.id, *m.aliases):
                out[name] = m
    return out


def _dated(model: str, info: ModelInfo) -> str:
    """Responses name the dated snapshot an alias points at."""
    return info.aliases[0] if model == info.id and info.aliases else model


def _display_name(model_id: str) -> str:
    words = [w for w in model_id.split("-") if not (w.isdigit() and len(w) == 8)]
    name: list[str] = []
    nums: list[str] = []
    for w in words:
        (nums if w.isdigit() else name).append(w if w.isdigit() else w.capitalize())
    return " ".join(name + ([".".join(nums)] if nums else []))


class AnthropicHandler:
    provider = "anthropic"
    prefix = "/anthropic"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        rid = f"req_emu{next(_IDS):06d}"
        body = {
            "type": "error",
            "error": {"type": kind or _STATUS_TYPES.get(status, "api_error"), "message": message},
            "request_id": rid,
        }
        return EmuResponse.json(body, status, {"request-id": rid})

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        key = req.headers.get("x-api-key") or ""
        auth = req.headers.get("authorization", "")
        if not key and auth.startswith("Bearer "):
            key = auth[7:]
        if not key:
            return self.error(401, "x-api-key header is required")
        if emu.require_key is not None and key != emu.require_key:
            return self.error(401, "invalid x-api-key")
        if not req.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version: header is required")
        try:
            if req.subpath == "/v1/messages" and req.method == "POST":
                return self._messages(req, emu)
            if req.subpath.startswith(BATCH_PREFIX):
                return handle_batch(req, emu, self)
            if req.subpath == "/v1/messages/count_tokens" and req.method == "POST":
                return self._count(req)
            if req.subpath == "/v1/models" and req.method == "GET":
                return EmuResponse.json(_model_list(req.query))
            if req.subpath.startswith("/v1/models/") and req.method == "GET":
                mid = unquote(req.subpath[len("/v1/models/") :])
                info = _models().get(mid)
                if info is None:
                    raise _Reject(404, f"model: {mid}")
                return EmuResponse.json(_model_obj(_dated(mid, info), info))
        except _Reject as exc:
            return self.error(exc.status, exc.message)
        return self.error(404, "Not found")

    def _messages(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        data = _json_body(req, ("model", "max_tokens", "messages"))
        body = _strict(data, wire.CreateMessageRequest)
        info = _check_model(body.model)
        limit = info.max_output_tokens or 4096
        if body.max_tokens < 1:
            raise _Reject(400, "max_tokens: Input should be greater than or equal to 1")
        if body.max_tokens > limit:
            raise _Reject(
                400,
                f"max_tokens: {body.max_tokens} > {limit}, which is the maximum allowed "
                f"number of output tokens for {_dated(body.model, info)}",
            )
        _check_messages(body.messages)
        _check_tools(body.tools)
        thinking = _check_thinking(body)
        segments, marks = _segments(body.tools, body.system, body.messages)
        conv = _conversation(body, segments)
        conv.reasoning = thinking
        p = plan(conv)
        stop_reason, stop_seq = _stop(p, body.stop_sequences)
        usage = _usage(emu, body.model, segments, marks, p)
        model = _dated(body.model, info)
        msg_id = f"msg_emu{hashlib.sha256(req.body).hexdigest()[:20]}"
        blocks = _content(p, len(body.messages))
        if body.stream:
            return EmuResponse.sse(
                _stream(msg_id, model, blocks, stop_reason, stop_seq, usage), {"request-id": "req_emu_stream"}
            )
        return EmuResponse.json(
            {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": blocks,
                "stop_reason": stop_reason,
                "stop_sequence": stop_seq,
                "usage": usage,
            },
            headers={"request-id": "req_emu"},
        )

    def _count(self, req: EmuRequest) -> EmuResponse:
        data = _json_body(req, ("model", "messages"))
        body = _strict(data, wire.CountTokensRequest)
        _check_model(body.model)
        _check_messages(body.messages)
        _check_tools(body.tools)
        segments, _ = _segments(body.tools, body.system, body.messages)
        return EmuResponse.json(
            {"input_tokens": max(count_tokens(" ".join(segments)), 1)}, headers={"request-id": "req_emu"}
        )


# --- validation ---------------------------------------------------------------------------------


def _json_body(req: EmuRequest, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        raise _Reject(400, "There was an error parsing the body of your request as JSON.")
    if not isinstance(data, dict):
        raise _Reject(400, "Input should be a valid dictionary")
    for name in required:
        if name not in data:
            raise _Reject(400, f"{name}: Field required")
    for i, m in enumerate(data.get("messages") or []):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "system":
            raise _Reject(
                400,
                'messages: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.',
            )
        if role not in ("user", "assistant"):
            raise _Reject(400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
    return data


def _strict(data: dict[str, Any], cls: type[Any]) -> Any:
    try:
        return structure_strict(data, cls)
    except WireValidationError as exc:
        if exc.reason.startswith("unknown field"):
            raise _Reject(400, f"{exc.reason.split(chr(39))[1]}: Extra inputs are not permitted")
        raise _Reject(400, f"Invalid request: {exc.reason}")


def _check_model(model: str) -> ModelInfo:
    info = _models().get(model)
    if info is None:
        raise _Reject(404, f"model: {model}")
    return info


def _blocks_of(m: wire.MessageParam) -> list[Any]:
    return [] if isinstance(m.content, str) else list(m.content)


def _check_messages(messages: list[wire.MessageParam]) -> None:
    if not messages:
        raise _Reject(400, "messages: at least one message is required")
    for i, m in enumerate(messages):
        blocks = _blocks_of(m)
        if any(isinstance(b, wire.TextBlockParam) and not b.text for b in blocks):
            raise _Reject(400, "messages: text content blocks must be non-empty")
        for b in blocks:
            if isinstance(b, wire.ThinkingBlockParam) and b.signature != signature_for(b.thinking):
                raise _Reject(400, f"messages.{i}.content: Invalid `signature` in `thinking` block")
        uses = [b.id for b in blocks if isinstance(b, wire.ToolUseBlockParam)]
        nxt = _blocks_of(messages[i + 1]) if i + 1 < len(messages) else None
        results = [b.tool_use_id for b in nxt or [] if isinstance(b, wire.ToolResultBlockParam)]
        if m.role == "assistant" and uses and nxt is not None and set(uses) - set(results):
            missing = ", ".join(sorted(set(uses) - set(results)))
            raise _Reject(
                400,
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {missing}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message.",
            )
        own = [b.tool_use_id for b in blocks if isinstance(b, wire.ToolResultBlockParam)]
        prev = [b.id for b in _blocks_of(messages[i - 1]) if isinstance(b, wire.ToolUseBlockParam)] if i else []
        stray = [t for t in own if t not in prev]
        if stray:
            raise _Reject(
                400,
                f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {', '.join(stray)}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message.",
            )


def _check_tools(tools: list[wire.Tool] | None) -> None:
    for i, t in enumerate(tools or []):
        if t.type in (None, "custom"):
            if t.input_schema is None:
                raise _Reject(400, f"tools.{i}.custom.input_schema: Field required")
            if t.input_schema.get("type") != "object":
                raise _Reject(400, f"tools.{i}.custom.input_schema.type: Input should be 'object'")


def _check_thinking(body: wire.CreateMessageRequest) -> bool:
    t = body.thinking
    if isinstance(t, wire.ThinkingConfigEnabled):
        if t.budget_tokens < 1024:
            raise _Reject(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if t.budget_tokens >= body.max_tokens:
            raise _Reject(
                400,
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                "extended-thinking#max-tokens-and-context-window-size",
            )
    on = isinstance(t, (wire.ThinkingConfigEnabled, wire.ThinkingConfigAdaptive))
    if on and isinstance(body.tool_choice, (wire.ToolChoiceAny, wire.ToolChoiceTool)):
        raise _Reject(400, "Thinking may not be enabled when tool_choice forces tool use.")
    if on and body.temperature is not None and body.temperature != 1:
        raise _Reject(
            400,
            "`temperature` may only be set to 1 when thinking is enabled. Please consult "
            "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
            "extended-thinking#feature-compatibility",
        )
    return on


# --- the answer ---------------------------------------------------------------------------------


def _block_text(b: Any) -> str:
    if isinstance(b, wire.TextBlockParam):
        return str(b.text)
    if isinstance(b, wire.ToolResultBlockParam):
        if isinstance(b.content, str):
            return b.content
        return " ".join(getattr(c, "text", "") for c in b.content or [] if getattr(c, "text", ""))
    if isinstance(b, wire.ToolUseBlockParam):
        return json.dumps(b.input, ensure_ascii=False)
    if isinstance(b, wire.ThinkingBlockParam):
        return str(b.thinking)
    return ""


def _segments(
    tools: list[wire.Tool] | None, system: Any, messages: list[wire.MessageParam]
) -> tuple[list[str], list[Breakpoint]]:
    """The prompt in cache order (tools, system, messages) and its cache breakpoints, in order."""
    segs: list[str] = []
    marks: list[Breakpoint] = []
    items: list[tuple[str, Any]] = []
    for t in tools or []:
        items.append(
            (
                json.dumps(
                    {"name": t.name, "description": t.description, "input_schema": t.input_schema}, ensure_ascii=False
                ),
                t.cache_control,
            )
        )
    if isinstance(system, str):
        items.append((system, None))
    else:
        items.extend((b.text, b.cache_control) for b in system or [])
    for m in messages:
        if isinstance(m.content, str):
            items.append((m.content, None))
        else:
            items.extend((_block_text(b), getattr(b, "cache_control", None)) for b in m.content)
    for text, cc in items:
        if text:
            segs.append(text)
        if cc is not None:
            marks.append((len(segs) - 1, cc.ttl or "5m"))
    problem = check_breakpoints(marks)
    if problem is not None:
        raise _Reject(400, problem)
    return segs, marks


def _conversation(body: wire.CreateMessageRequest, segments: list[str]) -> Conversation:
    conv = Conversation(all_text=" ".join(segments), max_tokens=body.max_tokens)
    for m in body.messages:
        blocks = _blocks_of(m)
        if m.role == "user":
            texts = (
                [m.content]
                if isinstance(m.content, str)
                else [b.text for b in blocks if isinstance(b, wire.TextBlockParam)]
            )
            if texts:
                conv.last_user_text = " ".join(texts)
            conv.images += sum(1 for b in blocks if isinstance(b, wire.ImageBlockParam))
    last = _blocks_of(body.messages[-1])
    results = [b for b in last if isinstance(b, wire.ToolResultBlockParam)]
    if body.messages[-1].role == "user" and results:
        conv.last_is_tool_result = True
        conv.tool_result_text = " ".join(_block_text(b) for b in results)
    conv.tools = [
        {"name": t.name, "parameters": t.input_schema or {}} for t in body.tools or [] if t.type in (None, "custom")
    ]
    tc = body.tool_choice
    conv.tool_choice = tc.name if isinstance(tc, wire.ToolChoiceTool) else (tc.type if tc else None)
    return conv


def _stop(p: Plan, stops: list[str] | None) -> tuple[str, str | None]:
    if p.tool_calls:
        return "tool_use", None
    for s in stops or []:
        if s and s in p.text:
            p.text = p.text[: p.text.index(s)]
            return "stop_sequence", s
    return ("max_tokens" if p.truncated else "end_turn"), None


def _usage(emu: Emulator, model: str, segments: list[str], marks: list[Breakpoint], p: Plan) -> dict[str, Any]:
    total = max(count_tokens(" ".join(segments)), 1)
    read, written = cache_usage(emu, model, segments, marks)
    write = written["5m"] + written["1h"]
    reasoning = count_tokens(p.reasoning) if p.reasoning else 0
    return {
        "input_tokens": max(total - write - read, 0),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": written["5m"], "ephemeral_1h_input_tokens": written["1h"]},
        "output_tokens": p.output_tokens + reasoning,
        "service_tier": "standard",
    }


def _content(p: Plan, turn: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if p.reasoning:
        out.append({"type": "thinking", "thinking": p.reasoning, "signature": signature_for(p.reasoning)})
    if p.text:
        out.append({"type": "text", "text": p.text})
    for i, (name, args) in enumerate(p.tool_calls):
        out.append({"type": "tool_use", "id": f"toolu_emu{turn:02d}{i:02d}", "name": name, "input": args})
    return out


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, ensure_ascii=False)}\n\n"


def _stream(
    msg_id: str, model: str, blocks: list[dict[str, Any]], stop_reason: str, stop_seq: str | None, usage: dict[str, Any]
) -> list[str]:
    start_usage = {**usage, "output_tokens": 1}
    out = [
        _sse(
            "message_start",
            {
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                }
            },
        )
    ]
    for i, b in enumerate(blocks):
        if b["type"] == "thinking":
            out.append(
                _sse(
                    "content_block_start",
                    {"index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                )
            )
            deltas = [{"type": "thinking_delta", "thinking": c} for c in chunks(b["thinking"])]
            deltas.append({"type": "signature_delta", "signature": b["signature"]})
        elif b["type"] == "text":
            out.append(_sse("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}))
            deltas = [{"type": "text_delta", "text": c} for c in chunks(b["text"])]
        else:
            out.append(_sse("content_block_start", {"index": i, "content_block": {**b, "input": {}}}))
            args = json.dumps(b["input"], ensure_ascii=False)
            half = len(args) // 2
            deltas = [{"type": "input_json_delta", "partial_json": s} for s in ("", args[:half], args[half:])]
        if i == 0:
            out.append(_sse("ping", {}))
        out.extend(_sse("content_block_delta", {"index": i, "delta": d}) for d in deltas)
        out.append(_sse("content_block_stop", {"index": i}))
    final_usage = {
        k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
    out.append(
        _sse("message_delta", {"delta": {"stop_reason": stop_reason, "stop_sequence": stop_seq}, "usage": final_usage})
    )
    out.append(_sse("message_stop", {}))
    return out


def _model_obj(model_id: str, info: ModelInfo) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": _display_name(info.id),
        "created_at": "2025-01-01T00:00:00Z",
    }


def _model_list(query: dict[str, str]) -> dict[str, Any]:
    """One page of `GET /v1/models`: `limit` (1-1000, default 20) after `after_id`, as the API pages."""
    seen: dict[str, ModelInfo] = {}
    for info in _models().values():
        seen.setdefault(info.aliases[0] if info.aliases else info.id, info)
    data = [_model_obj(mid, info) for mid, info in seen.items()]
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise _Reject(400, "limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise _Reject(400, "limit: Input should be between 1 and 1000")
    start = 0
    if "after_id" in query:
        ids = [d["id"] for d in data]
        if query["after_id"] not in ids:
            raise _Reject(400, f"after_id: unknown model id {query['after_id']!r}")
        start = ids.index(query["after_id"]) + 1
    page = data[start : start + limit]
    return {
        "data": page,
        "has_more": start + limit < len(data),
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }


HANDLER = AnthropicHandler()
