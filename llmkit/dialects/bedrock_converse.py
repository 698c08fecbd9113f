"""The AWS Bedrock Converse dialect (`POST {base}/model/{modelId}/converse` and `/converse-stream`).

What a naive adapter gets wrong, handled here on purpose:

* the model id (or an inference-profile ARN) is a URI label, percent-encoded with no safe
  characters, so `:` is `%3A` and an ARN's `/` is `%2F`; the body carries no model;
* ConverseStream is not SSE but AWS event-stream binary frames (the decoder declares
  `framing = "eventstream"`; llmkit._eventstream checks both CRCs). The event name is the
  `:event-type` header and the payload is the bare event, plus a random `p` padding key;
  text blocks usually get no `contentBlockStart`, so state is keyed by `contentBlockIndex`;
* an in-stream `:message-type: exception` (throttling, validation, modelStreamError, ...)
  is raised as the typed error its HTTP twin would be;
* `usage.inputTokens` excludes cache reads and writes (Anthropic semantics): the unified
  input count adds them back; `metadata` (usage) arrives after `messageStop`.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import APIError, ServerError, StreamError
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
from .._eventstream import EventStreamMessage
from .._http_errors import error_for_status
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
from ..generated.wire import bedrock_converse as wire
from ._base import CallContext, ErrorInfo, WireRequest, expand_path
from ._bedrock_request import build_body, convert_messages, count_body

__all__ = ["DIALECT", "BedrockConverseDialect", "BedrockStreamDecoder", "convert_messages", "finish_reason"]

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

EXCEPTION_STATUS: dict[str, int] = {
    "throttlingException": 429,
    "validationException": 400,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
    "modelTimeoutException": 408,
    "accessDeniedException": 403,
    "resourceNotFoundException": 404,
}
"""In-stream exception type -> the HTTP status the same error has as a response (service model)."""


def finish_reason(raw: str | None) -> FinishReason:
    """Unified finish reason; malformed_* and reasons newer than this table map to "other"."""
    return _FINISH.get(raw or "", "other")


def _usage(u: wire.TokenUsage | None) -> Usage:
    if u is None:
        return Usage()
    read = u.cache_read_input_tokens or 0
    write = u.cache_write_input_tokens or 0
    return Usage(
        input_tokens=u.input_tokens + read + write,
        output_tokens=u.output_tokens,
        cached_input_tokens=read,
        cache_write_tokens=write,
    )


def _path(op_path: str, model: str) -> str:
    return expand_path(op_path, model=model)


def _parts(blocks: list[wire.ContentBlock]) -> tuple[list[ContentPart], list[ToolCall]]:
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    for b in blocks:
        if b.text is not None:
            last = parts[-1] if parts else None
            if isinstance(last, TextPart):
                last.text += b.text
            else:
                parts.append(TextPart(text=b.text))
        elif b.reasoning_content is not None:
            rc = b.reasoning_content
            if rc.reasoning_text is not None:
                parts.append(ReasoningPart(text=rc.reasoning_text.text, signature=rc.reasoning_text.signature))
            elif rc.redacted_content is not None:
                parts.append(ReasoningPart(redacted=rc.redacted_content))
        elif b.tool_use is not None:
            tu = b.tool_use
            args = tu.input if isinstance(tu.input, dict) else {"input": tu.input}
            calls.append(
                ToolCall(
                    id=tu.tool_use_id, name=tu.name, arguments=args, raw_arguments=json.dumps(args, ensure_ascii=False)
                )
            )
        # Other blocks (citations, guard content, ...) stay in `raw`.
    return parts, calls


def error_info(data: Any) -> ErrorInfo:
    """rest-json errors: `{"message": ...}` (some layers `Message`), type in `__type` or `code`."""
    if isinstance(data, dict):
        msg = data.get("message") or data.get("Message")
        kind = data.get("__type") or data.get("code")
        if isinstance(kind, str):
            kind = kind.rsplit("#", 1)[-1].split(":", 1)[0]
        if isinstance(msg, str):
            return ErrorInfo(message=msg, type=kind if isinstance(kind, str) else None)
    return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])


class BedrockConverseDialect:
    """Adapter for Bedrock Runtime's Converse and ConverseStream."""

    name = "bedrock_converse"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["converse_stream" if req.stream else "converse"]
        return WireRequest(
            method=op.method,
            path=_path(op.path, req.model),
            body=build_body(req, ctx),
            headers={"Accept": "application/vnd.amazon.eventstream"} if req.stream else {},
            stream=req.stream,
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = structure(data, wire.ConverseResponse)
        msg = resp.output.message
        parts, calls = _parts(msg.content if msg is not None else [])
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) for p in parts):
            content = "".join(p.text for p in parts if isinstance(p, TextPart))
        else:
            content = parts
        return ChatResponse(
            id=None,
            provider=ctx.provider,
            model=ctx.model,
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=finish_reason(resp.stop_reason),
            raw_finish_reason=resp.stop_reason,
            usage=_usage(resp.usage),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        return error_info(data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=_path(op.path, req.model), body=count_body(req, ctx))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return int(structure(data, wire.CountTokensResponse).input_tokens)


_EVENTS: dict[str, type] = {
    "messageStart": wire.MessageStartEvent,
    "contentBlockStart": wire.ContentBlockStartEvent,
    "contentBlockDelta": wire.ContentBlockDeltaEvent,
    "contentBlockStop": wire.ContentBlockStopEvent,
    "messageStop": wire.MessageStopEvent,
    "metadata": wire.ConverseStreamMetadataEvent,
}


def stream_exception(msg: EventStreamMessage, provider: str) -> APIError:
    """An `exception` (or `error`) message as the typed error it stands for."""
    try:
        payload: Any = json.loads(msg.payload) if msg.payload else {}
    except ValueError:
        payload = {"message": msg.payload[:300].decode("utf-8", "replace")}
    if msg.message_type == "error":
        code = msg.headers.get(":error-code")
        text = msg.headers.get(":error-message")
        info = ErrorInfo(message=str(text or "error event in the stream"), type=str(code) if code else None)
        return error_for_status(None, info, provider=provider, body=payload, request_id=None)
    kind = str(msg.headers.get(":exception-type") or "")
    info = error_info(payload)
    info.type = kind or info.type
    info.message = f"{kind}: {info.message}" if kind else info.message
    status = EXCEPTION_STATUS.get(kind)
    if kind == "modelStreamErrorException":
        return ServerError(info.message, provider=provider, status=status, body=payload, code=kind)
    return error_for_status(status, info, provider=provider, body=payload, request_id=None)


class BedrockStreamDecoder:
    """ConverseStream event-stream messages -> unified events.

    `messageStop` is the terminator that must arrive (its absence raises StreamError);
    `metadata` (usage) follows it. Unknown event types are skipped; `p` padding is ignored.
    """

    framing = "eventstream"

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.kinds: dict[int, str] = {}
        self.stopped = False
        self.finish_raw: str | None = None

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: EventStreamMessage) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if event.message_type in ("exception", "error"):
            raise stream_exception(event, self.ctx.provider)
        cls = _EVENTS.get(event.event_type or "")
        if cls is None:
            return out
        try:
            payload = json.loads(event.payload)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a {event.event_type} event that is not JSON: {event.payload[:200]!r}",
                provider=self.ctx.provider,
            )
        ev: Any = structure(payload, cls)
        if isinstance(ev, wire.ContentBlockStartEvent):
            tu = ev.start.tool_use
            if tu is not None:
                self.kinds[ev.content_block_index] = "tool"
                self._emit(out, ToolCallStart(index=ev.content_block_index, id=tu.tool_use_id, name=tu.name))
        elif isinstance(ev, wire.ContentBlockDeltaEvent):
            self._delta(ev.content_block_index, ev.delta, out)
        elif isinstance(ev, wire.ContentBlockStopEvent):
            self._close(ev.content_block_index, out)
        elif isinstance(ev, wire.MessageStopEvent):
            self.stopped = True
            self.finish_raw = ev.stop_reason
        elif isinstance(ev, wire.ConverseStreamMetadataEvent):
            self._emit(out, UsageEvent(usage=_usage(ev.usage)))
        return out

    def _delta(self, index: int, d: wire.ContentBlockDelta, out: list[StreamEvent]) -> None:
        if d.text is not None:
            if d.text:
                self._emit(out, TextDelta(text=d.text))
        elif d.tool_use is not None:
            if self.kinds.get(index) == "tool" and d.tool_use.input:
                self._emit(out, ToolCallDelta(index=index, arguments=d.tool_use.input))
        elif d.reasoning_content is not None:
            rc = d.reasoning_content
            if rc.text:
                self._emit(out, ReasoningDelta(text=rc.text))
            if rc.signature:
                self._emit(out, ReasoningDelta(signature=rc.signature))
            if rc.redacted_content:
                self._emit(out, ReasoningDelta(redacted=rc.redacted_content))

    def _close(self, index: int, out: list[StreamEvent]) -> None:
        if self.kinds.pop(index, None) == "tool" and index in self.acc.open_calls():
            self._emit(out, self.acc.close_tool_call(index))

    def end(self) -> list[StreamEvent]:
        if not self.stopped:
            raise StreamError(
                f"{self.ctx.provider} stream ended before `messageStop`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        out: list[StreamEvent] = []
        for index in list(self.kinds):
            self._close(index, out)
        raw = self.finish_raw
        self._emit(out, FinishEvent(finish_reason=finish_reason(raw), raw_finish_reason=raw))
        return out


DIALECT = BedrockConverseDialect()
