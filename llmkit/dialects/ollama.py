"""Ollama's native chat dialect (`POST {base}/api/chat`).

Why native and not Ollama's OpenAI-compatible `/v1`: only the native API takes `options`
(`num_ctx`, `num_predict`, ...), `keep_alive`, `think` and a JSON-Schema `format`, and reports
`done_reason` and eval counts. What a naive mapping gets wrong, handled here: sampling
parameters go inside `options`, never at the top level; the server streams unless the body
says `"stream": false`; images are bare base64 strings on the message, not content parts;
tool-call `arguments` are JSON objects, not strings; a tool turn names its function
(`tool_name`); `done_reason` stays "stop" after tool calls; the stream is NDJSON and ends with
a `done: true` line, and an error arrives as an `{"error": "..."}` line under HTTP 200.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import StreamError, UnsupportedFeatureError
from .._events import (
    FinishEvent,
    ReasoningDelta,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageEvent,
)
from .._http_errors import error_for_status
from .._types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
    split_data_url,
)
from .._wire import structure
from ..generated.wire import ollama as wire
from ._base import CallContext, ErrorInfo, WireRequest

__all__ = ["DIALECT", "TOP_LEVEL_OPTIONS", "OllamaDialect", "finish_reason"]

# provider_options keys that are request fields; every other key is a model option.
TOP_LEVEL_OPTIONS = frozenset({"keep_alive", "think", "format", "logprobs", "top_logprobs", "options"})

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


def finish_reason(raw: str | None, has_calls: bool) -> FinishReason:
    """Unified finish reason: Ollama says "stop" after tool calls, so the calls decide.

    "load" and "unload" (a request that only (un)loaded the model) and newer reasons map to
    "other"; the raw value is kept beside it.
    """
    if has_calls:
        return "tool_calls"
    return _FINISH.get(raw or "", "other")


def _unsupported(ctx: CallContext, what: str, code: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{ctx.provider}/{ctx.model}: {what}", provider=ctx.provider, code=code)


def _images(parts: list[ContentPart], ctx: CallContext) -> list[str]:
    out: list[str] = []
    for p in parts:
        if isinstance(p, ImagePart):
            if p.data is not None:
                import base64

                out.append(base64.b64encode(p.data).decode("ascii"))
                continue
            assert p.url is not None
            split = split_data_url(p.url)
            if split is None:
                raise _unsupported(
                    ctx,
                    "Ollama takes images as base64 only and does not fetch URLs; download the image and pass "
                    "its bytes (ImagePart(data=..., media_type=...)) or a data: URL",
                    "image_url",
                )
            out.append(split[1])
        elif isinstance(p, DocumentPart):
            raise _unsupported(ctx, "Ollama chat does not read documents; send their text instead", "documents")
    return out


def _message(m: Message, names: dict[str, str], ctx: CallContext) -> dict[str, Any]:
    role = "system" if m.role == "developer" else m.role
    out: dict[str, Any] = {"role": role, "content": m.text}
    if role == "tool":
        name = m.name or names.get(m.tool_call_id or "")
        if name:
            out["tool_name"] = name
        if m.tool_call_id:
            out["tool_call_id"] = m.tool_call_id
        return out
    images = _images(m.parts, ctx)
    if images:
        out["images"] = images
    thinking = "".join(p.text for p in m.parts if isinstance(p, ReasoningPart))
    if role == "assistant" and thinking:
        out["thinking"] = thinking
    if m.tool_calls:
        out["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    return out


def _tools(req: ChatRequest, ctx: CallContext) -> list[dict[str, Any]] | None:
    choice = req.tool_choice
    if choice is None or choice == "auto":
        pass
    elif choice == "none":
        return None  # Ollama has no tool_choice: offering no tools is how to say "none"
    else:
        raise _unsupported(
            ctx, f"Ollama has no tool_choice control (asked for {choice!r}); use 'auto' or 'none'", "tool_choice"
        )
    if not req.tools:
        return None
    out = []
    for t in req.tools:
        fn = {k: t[k] for k in ("name", "description", "parameters") if k in t}
        out.append({"type": "function", "function": fn})
    return out


def _format(rf: dict[str, Any] | None) -> Any:
    if not rf:
        return None
    kind = rf.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        js = rf.get("json_schema") or {}
        return js.get("schema", js) if isinstance(js, dict) else None
    return None


def build_body(req: ChatRequest, ctx: CallContext) -> dict[str, Any]:
    """The `/api/chat` body: top-level request fields, and sampling inside `options`."""
    names = {c.id: c.name for m in req.messages for c in m.tool_calls}
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [_message(m, names, ctx) for m in req.messages],
        "stream": req.stream,  # always explicit: the server's default is to stream
    }
    tools = _tools(req, ctx)
    if tools:
        body["tools"] = tools
    fmt = _format(req.response_format)
    if fmt is not None:
        body["format"] = fmt
    if req.reasoning_effort is not None:
        body["think"] = req.reasoning_effort if req.reasoning_effort in ("low", "medium", "high") else True
    elif req.reasoning_budget is not None:
        body["think"] = req.reasoning_budget > 0
    options: dict[str, Any] = {}
    for name in ("temperature", "top_p", "seed"):
        v = getattr(req, name)
        if v is not None:
            options[name] = v
    if req.max_tokens is not None:
        options["num_predict"] = req.max_tokens
    if req.stop:
        options["stop"] = req.stop
    keep_alive = ctx.settings.get("keep_alive")
    if keep_alive not in (None, ""):
        body["keep_alive"] = _keep_alive(str(keep_alive))
    for key, value in (req.provider_options or {}).items():
        if key == "options" and isinstance(value, dict):
            options.update(value)
        elif key in TOP_LEVEL_OPTIONS:
            body[key] = value
        else:
            options[key] = value
    if options:
        body["options"] = options
    if req.extra_body:
        body.update(req.extra_body)
    return body


def _keep_alive(value: str) -> str | int:
    """A bare number is seconds on the wire (`0` unloads at once); "10m" stays a duration."""
    try:
        return int(value)
    except ValueError:
        return value


def _usage(data: wire.ChatResponse) -> Usage:
    return Usage(input_tokens=data.prompt_eval_count or 0, output_tokens=data.eval_count or 0)


def _call(tc: wire.ToolCall, i: int) -> ToolCall:
    args = tc.function.arguments or {}
    return ToolCall(
        id=tc.id or f"call_{i}",
        name=tc.function.name,
        arguments=args,
        raw_arguments=json.dumps(args, ensure_ascii=False),
    )


class OllamaDialect:
    """Adapter for Ollama's native chat API."""

    name = "ollama"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["chat"]
        return WireRequest(method=op.method, path=op.path, body=build_body(req, ctx), stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = structure(data, wire.ChatResponse)
        msg = resp.message
        parts: list[ContentPart] = []
        calls: list[ToolCall] = []
        text = ""
        if msg is not None:
            if msg.thinking:
                parts.append(ReasoningPart(text=msg.thinking))
            text = msg.content or ""
            calls = [_call(tc, i) for i, tc in enumerate(msg.tool_calls or [])]
        content: str | list[ContentPart] = [*parts, TextPart(text=text)] if parts else text
        return ChatResponse(
            id=None,  # Ollama answers carry no id
            provider=ctx.provider,
            model=resp.model or ctx.model,
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=finish_reason(resp.done_reason, bool(calls)),
            raw_finish_reason=resp.done_reason,
            usage=_usage(resp),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """`{"error": "<message>"}`: the error is a string (an object is read too, for proxies)."""
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, str):
                return ErrorInfo(message=err)
            if isinstance(err, dict) and err.get("message"):
                return ErrorInfo(message=str(err["message"]), type=_str(err.get("type")))
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("Ollama has no token counting endpoint")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("Ollama has no token counting endpoint")


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


class _Decoder:
    """NDJSON lines -> unified events; the `done: true` line is the required terminator.

    Text and thinking arrive as deltas; a tool call arrives whole in one line, so it becomes
    ToolCallStart, one ToolCallDelta and ToolCallEnd at once. The last line carries the eval
    counts and done_reason.
    """

    framing = "ndjson"

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.done = False
        self.calls = 0

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, value: Any) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if not isinstance(value, dict):
            raise StreamError(
                f"{self.ctx.provider} sent a stream line that is not an object", provider=self.ctx.provider
            )
        if value.get("error") is not None:
            info = DIALECT.error_info(0, value)
            raise error_for_status(None, info, provider=self.ctx.provider, body=value, request_id=None)
        if self.done:
            return out
        chunk = structure(value, wire.ChatResponse)
        if chunk.model:
            self.acc.model = chunk.model
        msg = chunk.message
        if msg is not None:
            if msg.thinking:
                self._emit(out, ReasoningDelta(text=msg.thinking))
            if msg.content:
                self._emit(out, TextDelta(text=msg.content))
            for tc in msg.tool_calls or []:
                call = _call(tc, self.calls)
                index = self.calls
                self.calls += 1
                self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
                self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
                self._emit(out, self.acc.close_tool_call(index))
        if chunk.done:
            self.done = True
            self._emit(out, UsageEvent(usage=_usage(chunk)))
            self._emit(
                out,
                FinishEvent(
                    finish_reason=finish_reason(chunk.done_reason, self.calls > 0),
                    raw_finish_reason=chunk.done_reason,
                ),
            )
        return out

    def end(self) -> list[StreamEvent]:
        if not self.done:
            raise StreamError(
                f"{self.ctx.provider} stream ended before its `done: true` line: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = OllamaDialect()
