"""The Anthropic Messages dialect (`POST {base}/v1/messages`).

Anthropic differs from the OpenAI family in ways a naive mapping gets wrong, so each is
handled here: the system prompt is a top-level field, tool results travel inside a *user*
turn, tool input is a JSON object, thinking blocks (with their opaque signature) must go back
unchanged, `max_tokens` is required, `input_tokens` excludes cache reads and writes, and a
stream ends with a typed `message_stop` event instead of `[DONE]`. Responses go through the
generated wire models, so an unknown block, delta or stop reason is kept rather than fatal.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import StreamError
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
from ..generated.wire import anthropic_messages as wire
from ._anthropic_request import (
    DEFAULT_MAX_TOKENS,
    EFFORT_BUDGETS,
    JSON_TOOL,
    build_body,
    convert_messages,
)
from ._base import CallContext, ErrorInfo, WireRequest

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DIALECT",
    "EFFORT_BUDGETS",
    "JSON_TOOL",
    "AnthropicMessagesDialect",
    "convert_messages",
    "finish_reason",
]

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",  # output cut by the context window: a length stop
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(raw: str | None, json_mode: bool = False) -> FinishReason:
    """Unified finish reason; a forced JSON tool call is a normal stop, not a tool call.

    pause_turn and reasons newer than this table map to "other"; the raw value is kept.
    """
    if json_mode and raw == "tool_use":
        return "stop"
    return _FINISH.get(raw or "", "other")


def _usage(
    input_tokens: int, output_tokens: int, cache_write: int | None, cache_read: int | None, write_1h: int = 0
) -> Usage:
    """Anthropic's input_tokens excludes cache reads and writes; the unified count includes them.
    `write_1h` is the part of the writes made with the 1-hour TTL (`cache_creation`)."""
    w = cache_write or 0
    r = cache_read or 0
    return Usage(
        input_tokens=input_tokens + w + r,
        output_tokens=output_tokens,
        cached_input_tokens=r,
        cache_write_tokens=w,
        cache_write_1h_tokens=write_1h,
    )


def _write_1h(u: Any) -> int:
    """The 1-hour-TTL cache writes of a usage object (0 when it has no `cache_creation` split)."""
    cc = getattr(u, "cache_creation", None)
    return (getattr(cc, "ephemeral_1h_input_tokens", None) or 0) if cc is not None else 0


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


_FAST_DELTA_EVENT = frozenset({"type", "index", "delta"})
_FAST_TEXT_KEYS = frozenset({"type", "text"})


class AnthropicMessagesDialect:
    """Adapter for Anthropic's Messages API."""

    name = "anthropic_messages"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["create_message"]
        return WireRequest(method=op.method, path=op.path, body=build_body(req, ctx, count=False), stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        msg = structure(data, wire.Message)
        parts: list[ContentPart] = []
        calls: list[ToolCall] = []
        json_mode = False
        for block in msg.content:
            if isinstance(block, wire.TextBlock):
                parts.append(TextPart(text=block.text))
            elif isinstance(block, wire.ThinkingBlock):
                parts.append(ReasoningPart(text=block.thinking, signature=block.signature))
            elif isinstance(block, wire.RedactedThinkingBlock):
                parts.append(ReasoningPart(redacted=block.data))
            elif isinstance(block, wire.ToolUseBlock):
                raw = json.dumps(block.input, ensure_ascii=False)
                if block.name == JSON_TOOL:
                    json_mode = True
                    parts.append(TextPart(text=raw))
                else:
                    calls.append(ToolCall(id=block.id, name=block.name, arguments=block.input, raw_arguments=raw))
            # UnknownContentBlock: new block types stay in `raw`, never fatal.
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) for p in parts):
            content = "".join(p.text for p in parts if isinstance(p, TextPart))
        else:
            content = parts
        u = msg.usage
        usage = (
            _usage(
                u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens, _write_1h(u)
            )
            if u is not None
            else Usage()
        )
        return ChatResponse(
            id=msg.id,
            provider=ctx.provider,
            model=msg.model,
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=finish_reason(msg.stop_reason, json_mode),
            raw_finish_reason=msg.stop_reason,
            usage=usage,
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """`{"type": "error", "error": {"type", "message"}, "request_id"}`, or anything else."""
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict):
                return ErrorInfo(message=str(err.get("message") or json.dumps(data)[:500]), type=_str(err.get("type")))
            if isinstance(err, str):
                return ErrorInfo(message=err)
            if isinstance(data.get("message"), str):
                return ErrorInfo(message=data["message"], type=_str(data.get("type")))
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        """The same body as a message (system, tools, thinking) minus max_tokens and sampling."""
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=op.path, body=build_body(req, ctx, count=True))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return int(structure(data, wire.CountTokensResponse).input_tokens)


_EVENTS: dict[str, type] = {
    "message_start": wire.MessageStartEvent,
    "content_block_start": wire.ContentBlockStartEvent,
    "content_block_delta": wire.ContentBlockDeltaEvent,
    "content_block_stop": wire.ContentBlockStopEvent,
    "message_delta": wire.MessageDeltaEvent,
}


class _Decoder:
    """Anthropic stream events -> unified events; `message_stop` is the required terminator.

    Blocks are tracked by their index: text -> TextDelta, tool_use -> ToolCallStart/Delta and
    a ToolCallEnd at its content_block_stop, thinking -> ReasoningDelta (text, then the
    signature). `message_delta.usage` is cumulative, so the last one wins. `ping` and event
    types this decoder does not know are skipped; an `error` event raises its typed error.
    """

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.done = False
        self.kinds: dict[int, str] = {}
        self.pending_input: dict[int, dict[str, Any]] = {}
        self.got_json: set[int] = set()
        self.json_mode = False
        self.finish_raw: str | None = None
        self.tokens = [0, 0, 0, 0, 0]  # input, output, cache write, cache read, 1-hour cache write

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def _usage_event(self, out: list[StreamEvent]) -> None:
        i, o, w, r, h = self.tokens
        self._emit(out, UsageEvent(usage=_usage(i, o, w, r, h)))

    def _raise(self, payload: dict[str, Any]) -> None:
        info = DIALECT.error_info(0, payload)
        raise error_for_status(
            None, info, provider=self.ctx.provider, body=payload, request_id=_str(payload.get("request_id"))
        )

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if event.event == "raw":
            try:
                payload = json.loads(event.data)
            except ValueError:
                return out
            if isinstance(payload, dict) and "error" in payload:
                self._raise(payload)
            return out
        if self.done:
            return out
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a stream event that is not JSON: {event.data[:200]!r}",
                provider=self.ctx.provider,
            )
        if not isinstance(payload, dict):
            return out
        kind = payload.get("type") or event.event
        if kind == "content_block_delta" and self._fast_text(payload, out):
            return out
        if kind == "error":
            self._raise(payload)
        if kind == "message_stop":
            self._stop(out)
            return out
        cls = _EVENTS.get(str(kind))
        if cls is None:  # ping, or an event type newer than this decoder
            return out
        ev: Any = structure(payload, cls)
        if isinstance(ev, wire.MessageStartEvent):
            m = ev.message
            self.acc.id = m.id
            self.acc.model = m.model
            if m.usage is not None:
                u = m.usage
                self.tokens = [
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_creation_input_tokens or 0,
                    u.cache_read_input_tokens or 0,
                    _write_1h(u),
                ]
                self._usage_event(out)
        elif isinstance(ev, wire.ContentBlockStartEvent):
            self._start(ev.index, ev.content_block, out)
        elif isinstance(ev, wire.ContentBlockDeltaEvent):
            self._delta(ev.index, ev.delta, out)
        elif isinstance(ev, wire.ContentBlockStopEvent):
            self._block_stop(ev.index, out)
        elif isinstance(ev, wire.MessageDeltaEvent):
            if ev.delta.stop_reason is not None:
                self.finish_raw = ev.delta.stop_reason
            if ev.usage is not None:
                u2 = ev.usage
                self.tokens[1] = u2.output_tokens
                for slot, value in (
                    (0, u2.input_tokens),
                    (2, u2.cache_creation_input_tokens),
                    (3, u2.cache_read_input_tokens),
                ):
                    if value is not None:
                        self.tokens[slot] = value
                self._usage_event(out)
        return out

    def _fast_text(self, payload: dict[str, Any], out: list[StreamEvent]) -> bool:
        """The common text_delta event read straight from the dict (no wire model); anything
        else (another delta type, an extra key) returns False and takes the general path."""
        delta = payload.get("delta")
        if (
            payload.keys() <= _FAST_DELTA_EVENT
            and type(payload.get("index")) is int
            and type(delta) is dict
            and delta.keys() == _FAST_TEXT_KEYS
            and delta.get("type") == "text_delta"
            and type(delta.get("text")) is str
        ):
            if delta["text"]:
                self._emit(out, TextDelta(text=delta["text"]))
            return True
        return False

    def _start(self, index: int, block: Any, out: list[StreamEvent]) -> None:
        if isinstance(block, wire.TextBlock):
            self.kinds[index] = "text"
            if block.text:
                self._emit(out, TextDelta(text=block.text))
        elif isinstance(block, wire.ToolUseBlock):
            self.pending_input[index] = block.input
            if block.name == JSON_TOOL:
                self.kinds[index] = "json"
                self.json_mode = True
            else:
                self.kinds[index] = "tool"
                self._emit(out, ToolCallStart(index=index, id=block.id, name=block.name))
        elif isinstance(block, wire.ThinkingBlock):
            self.kinds[index] = "thinking"
            if block.thinking or block.signature:
                self._emit(out, ReasoningDelta(text=block.thinking, signature=block.signature or None))
        elif isinstance(block, wire.RedactedThinkingBlock):
            self.kinds[index] = "redacted"
            self._emit(out, ReasoningDelta(redacted=block.data))
        else:
            self.kinds[index] = "unknown"

    def _delta(self, index: int, delta: Any, out: list[StreamEvent]) -> None:
        kind = self.kinds.get(index)
        if isinstance(delta, wire.TextDelta):
            if delta.text:
                self._emit(out, TextDelta(text=delta.text))
        elif isinstance(delta, wire.InputJSONDelta):
            self.got_json.add(index)
            if not delta.partial_json:
                return
            if kind == "json":
                self._emit(out, TextDelta(text=delta.partial_json))
            elif kind == "tool":
                self._emit(out, ToolCallDelta(index=index, arguments=delta.partial_json))
        elif isinstance(delta, wire.ThinkingDelta):
            if delta.thinking:
                self._emit(out, ReasoningDelta(text=delta.thinking))
        elif isinstance(delta, wire.SignatureDelta):
            self._emit(out, ReasoningDelta(signature=delta.signature))
        # citations_delta and unknown deltas carry nothing the unified events hold.

    def _block_stop(self, index: int, out: list[StreamEvent]) -> None:
        kind = self.kinds.get(index)
        if kind not in ("tool", "json"):
            return
        start_input = self.pending_input.pop(index, None)
        if index not in self.got_json and start_input:  # whole input came in the start event
            text = json.dumps(start_input, ensure_ascii=False)
            self._emit(out, TextDelta(text=text) if kind == "json" else ToolCallDelta(index=index, arguments=text))
        if kind == "tool" and index in self.acc.open_calls():
            self._emit(out, self.acc.close_tool_call(index))

    def _stop(self, out: list[StreamEvent]) -> None:
        self.done = True
        for index in list(self.kinds):
            self._block_stop(index, out)
        self._emit(
            out,
            FinishEvent(
                finish_reason=finish_reason(self.finish_raw, self.json_mode), raw_finish_reason=self.finish_raw
            ),
        )

    def end(self) -> list[StreamEvent]:
        if not self.done:
            raise StreamError(
                f"{self.ctx.provider} stream ended before `message_stop`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = AnthropicMessagesDialect()
