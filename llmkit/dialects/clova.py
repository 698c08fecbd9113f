"""The CLOVA Studio v3 dialect (`POST {base}/v3/chat-completions/{model}`).

What differs from OpenAI, each handled here on purpose:

* the model is in the path (percent-encoded) and fields are camelCase (`maxTokens`, `topP`,
  `toolCalls`, `toolCallId`); tool-call arguments are JSON OBJECTS both ways;
* answers come in an envelope: `{"status": {"code": "20000", "message": "OK"}, "result": {...}}`,
  errors in the same envelope with a non-OK code;
* a stream is selected by `Accept: text/event-stream` (no body flag) and uses named SSE events:
  `token` (a delta), `result` (the WHOLE answer once more, with usage and the finish reason,
  so its text must not be emitted again), `signal` (`{"data": "[DONE]"}`) and `error`; lines may
  lack the space after the colon;
* every call carries its own `X-NCP-CLOVASTUDIO-REQUEST-ID`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .._errors import BadRequestError, StreamError, UnsupportedFeatureError
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
from .._sse import SSEEvent
from .._types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    FinishReason,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
)
from .._wire import structure
from ..generated.wire import clova as wire
from ._base import CallContext, ErrorInfo, WireRequest, expand_path

__all__ = ["DIALECT", "REQUEST_ID_HEADER", "ClovaDialect", "ClovaStreamDecoder", "finish_reason"]

REQUEST_ID_HEADER = "X-NCP-CLOVASTUDIO-REQUEST-ID"
_OK = "20000"
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def finish_reason(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "", "other")


def _unsupported(ctx: CallContext, what: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{ctx.provider}/{ctx.model} does not support {what} in llmkit yet; drop it from the call",
        provider=ctx.provider,
        code=what,
    )


def _message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "toolCallId": m.tool_call_id, "content": m.text}
    role = "system" if m.role == "developer" else m.role
    out: dict[str, Any] = {"role": role, "content": m.text}
    if m.role == "assistant" and m.tool_calls:
        out["toolCalls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    return out


def _tool_choice(choice: str | dict[str, Any]) -> Any:
    if choice in ("auto", "none"):
        return choice
    if isinstance(choice, dict):
        fn = choice.get("function") if isinstance(choice.get("function"), dict) else choice
        choice = str(fn.get("name", "")) if isinstance(fn, dict) else ""
    if choice in ("required", "any", ""):
        return None
    return {"type": "function", "function": {"name": choice}}


def _arguments(value: Any, provider: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise BadRequestError(f"{provider} returned tool arguments that are not JSON: {exc}", provider=provider)
    if not isinstance(value, dict):
        raise BadRequestError(f"{provider} returned tool arguments that are not an object", provider=provider)
    return value


def _calls(msg: wire.ClovaMessage, provider: str) -> list[ToolCall]:
    out = []
    for i, c in enumerate(msg.tool_calls or []):
        args = _arguments(c.function.arguments, provider)
        out.append(
            ToolCall(
                id=c.id or f"call_{i}",
                name=c.function.name,
                arguments=args,
                raw_arguments=json.dumps(args, ensure_ascii=False),
            )
        )
    return out


def _usage(u: wire.ClovaUsage | None) -> Usage:
    if u is None:
        return Usage()
    details = u.completion_tokens_details
    return Usage(
        input_tokens=u.prompt_tokens or 0,
        output_tokens=u.completion_tokens or 0,
        reasoning_tokens=(details.thinking_tokens or 0) if details else 0,
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.text or "" for p in content or [] if getattr(p, "text", None))


class ClovaDialect:
    """Adapter for CLOVA Studio chat completions v3."""

    name = "clova"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        if req.response_format is not None and req.response_format.get("type") != "text":
            raise _unsupported(ctx, "response_format")
        if req.user is not None:
            raise _unsupported(ctx, "user")
        body: dict[str, Any] = {"messages": [_message(m) for m in req.messages]}
        for key, value in (
            ("maxTokens", req.max_tokens),
            ("temperature", req.temperature),
            ("topP", req.top_p),
            ("seed", req.seed),
            ("stop", req.stop),
        ):
            if value is not None:
                body[key] = value
        if req.tools:
            body["tools"] = [
                {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters") if k in t}}
                for t in req.tools
            ]
            if req.tool_choice is not None:
                choice = _tool_choice(req.tool_choice)
                if choice is None:
                    raise _unsupported(ctx, "tool_choice 'required' (name the function instead)")
                body["toolChoice"] = choice
        if req.provider_options:
            body.update(req.provider_options)
        if req.extra_body:
            body.update(req.extra_body)
        op = ctx.spec.operations["streamed_chat_completions" if req.stream else "chat_completions"]
        return WireRequest(
            method=op.method,
            path=expand_path(op.path, model=req.model),
            body=body,
            stream=req.stream,
            headers={REQUEST_ID_HEADER: f"llmkit-{uuid.uuid4()}"},
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        try:
            env = structure(data, wire.ClovaChatResponse)
        except ValueError as exc:
            raise BadRequestError(
                f"{ctx.provider} answered with a body that is not a chat result: {exc}",
                provider=ctx.provider,
                body=data,
            ) from exc
        if env.status.code != _OK or env.result is None:
            info = self.error_info(200, data)
            raise error_for_status(None, info, provider=ctx.provider, body=data, request_id=None)
        result = env.result
        msg = result.message
        text = _text(msg.content)
        content: str | list[ContentPart] = text
        if msg.thinking_content:
            content = [ReasoningPart(text=msg.thinking_content), TextPart(text=text)]
        return ChatResponse(
            id=None,
            provider=ctx.provider,
            model=ctx.model,
            message=Message(role="assistant", content=content, tool_calls=_calls(msg, ctx.provider)),
            finish_reason=finish_reason(result.finish_reason),
            raw_finish_reason=result.finish_reason,
            usage=_usage(result.usage),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> ClovaStreamDecoder:
        return ClovaStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        st = data.get("status") if isinstance(data, dict) else None
        if isinstance(st, dict):
            return ErrorInfo(message=str(st.get("message") or st.get("code")), code=str(st.get("code")))
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return ErrorInfo(message=data["message"])
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise UnsupportedFeatureError(f"{ctx.provider} token counting is not wired in llmkit", provider=ctx.provider)

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise UnsupportedFeatureError(f"{ctx.provider} token counting is not wired in llmkit", provider=ctx.provider)


class ClovaStreamDecoder:
    """`token` / `result` / `signal` / `error` SSE events -> unified events.

    `token` data are deltas; `result` repeats the whole answer, so only its usage, finish reason
    and tool calls are taken; `signal` ends the stream. A stream that ends without a `result`
    is cut short (StreamError).
    """

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.result_seen = False

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def _json(self, event: SSEEvent) -> Any:
        try:
            return json.loads(event.data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a {event.event!r} event that is not JSON: {event.data[:200]!r}",
                provider=self.ctx.provider,
            ) from None

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        kind = event.event
        if kind in ("error", "raw"):
            payload = self._json(event) if kind == "error" else _maybe_json(event.data)
            if payload is None:
                raise StreamError(f"{self.ctx.provider} sent a line that is not SSE: {event.data[:200]!r}")
            info = DIALECT.error_info(0, payload)
            raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)
        if kind == "signal" or self.result_seen:
            return out
        if kind == "token":
            result = structure(self._json(event), wire.ClovaResult)
            if result.message.thinking_content:
                self._emit(out, ReasoningDelta(text=result.message.thinking_content))
            text = _text(result.message.content)
            if text:
                self._emit(out, TextDelta(text=text))
        elif kind == "result":
            result = structure(self._json(event), wire.ClovaResult)
            for call in _calls(result.message, self.ctx.provider):
                index = len(self.acc.calls)
                self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
                self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
                self._emit(out, self.acc.close_tool_call(index))
            if result.usage is not None:
                self._emit(out, UsageEvent(usage=_usage(result.usage)))
            raw = result.finish_reason
            self._emit(out, FinishEvent(finish_reason=finish_reason(raw), raw_finish_reason=raw))
            self.result_seen = True
        return out

    def end(self) -> list[StreamEvent]:
        if not self.result_seen:
            raise StreamError(
                f"{self.ctx.provider} stream ended before its `result` event: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


DIALECT = ClovaDialect()
