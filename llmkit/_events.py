"""Typed stream events, the same for every provider, and the accumulator that turns them
back into the ChatResponse a non-streamed call would have returned."""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from ._errors import StreamError
from ._types import (
    ChatResponse,
    ContentPart,
    FinishReason,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
)

__all__ = [
    "FinishEvent",
    "ReasoningDelta",
    "StreamAccumulator",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "UsageEvent",
]


@attrs.frozen(kw_only=True, slots=True)
class TextDelta:
    """A piece of answer text."""

    text: str
    type: Literal["text_delta"] = "text_delta"


@attrs.frozen(kw_only=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning text, or the signature that closes a reasoning block."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    type: Literal["reasoning_delta"] = "reasoning_delta"


@attrs.frozen(kw_only=True, slots=True)
class ToolCallStart:
    """The model began a tool call; `index` keys the deltas that follow."""

    index: int
    id: str
    name: str
    type: Literal["tool_call_start"] = "tool_call_start"


@attrs.frozen(kw_only=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments."""

    index: int
    arguments: str
    type: Literal["tool_call_delta"] = "tool_call_delta"


@attrs.frozen(kw_only=True, slots=True)
class ToolCallEnd:
    """A tool call is complete; `tool_call.arguments` is parsed."""

    index: int
    tool_call: ToolCall
    type: Literal["tool_call_end"] = "tool_call_end"


@attrs.frozen(kw_only=True, slots=True)
class UsageEvent:
    """Token usage so far (cumulative: the last one is the total)."""

    usage: Usage
    type: Literal["usage"] = "usage"


@attrs.frozen(kw_only=True, slots=True)
class FinishEvent:
    """The answer is complete."""

    finish_reason: FinishReason
    raw_finish_reason: str | None
    type: Literal["finish"] = "finish"


StreamEvent = TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | ToolCallEnd | UsageEvent | FinishEvent


_BLOCK = 256


class _PendingCall:
    __slots__ = ("args", "done", "id", "name", "provider_data")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.args: list[str] = []
        self.done = False
        self.provider_data: dict[str, Any] | None = None


class StreamAccumulator:
    """Collects unified events into the final ChatResponse.

    Dialect decoders emit ToolCallStart/Delta only; `close_tool_call` (called by the decoder,
    or by `finish` for calls still open) parses the JSON arguments and emits ToolCallEnd.
    """

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.id: str | None = None
        self.parts: list[ContentPart] = []
        self.calls: dict[int, _PendingCall] = {}
        self.usage = Usage()
        self.finish: FinishEvent | None = None
        self.raw_chunks = 0
        self._tail: list[str] | None = None  # pieces of parts[-1].text not yet joined
        self._blocks: list[str] = []  # runs of _BLOCK pieces already joined, same part

    def _append(self, piece: str) -> None:
        tail = self._tail
        assert tail is not None
        tail.append(piece)
        if len(tail) >= _BLOCK:  # bounded memory for tiny pieces: one str per block, not per piece
            self._blocks.append("".join(tail))
            tail.clear()

    def _flush(self) -> None:
        if self._tail is not None:
            part = self.parts[-1]
            assert isinstance(part, TextPart | ReasoningPart)
            self._blocks.extend(self._tail)
            part.text = "".join(self._blocks)
            self._tail = None
            self._blocks = []

    def add(self, event: StreamEvent) -> None:
        # Text and reasoning pieces of the last part are kept in `_tail` and joined once, in
        # `_flush`: `part.text += piece` would copy the whole answer on every chunk (quadratic).
        if isinstance(event, TextDelta):
            last = self.parts[-1] if self.parts else None
            if isinstance(last, TextPart):
                if self._tail is None:
                    self._tail = [last.text]
                self._append(event.text)
            else:
                self._flush()
                self.parts.append(TextPart(text=""))
                self._tail = [event.text]
        elif isinstance(event, ReasoningDelta):
            last = self.parts[-1] if self.parts else None
            if isinstance(last, ReasoningPart) and last.signature is None and last.redacted is None:
                if self._tail is None:
                    self._tail = [last.text]
                self._append(event.text)
                last.signature = event.signature
                last.redacted = event.redacted
            else:
                self._flush()
                self.parts.append(ReasoningPart(text="", signature=event.signature, redacted=event.redacted))
                self._tail = [event.text]
        elif isinstance(event, ToolCallStart):
            self.calls[event.index] = _PendingCall(event.id, event.name)
        elif isinstance(event, ToolCallDelta):
            call = self.calls.get(event.index)
            if call is None:
                raise StreamError(f"tool call delta for index {event.index} before its start", provider=self.provider)
            call.args.append(event.arguments)
        elif isinstance(event, UsageEvent):
            self.usage = event.usage
        elif isinstance(event, FinishEvent):
            self.finish = event

    def close_tool_call(self, index: int, provider_data: dict[str, Any] | None = None) -> ToolCallEnd:
        call = self.calls[index]
        call.done = True
        if provider_data:
            call.provider_data = provider_data
        raw = "".join(call.args)
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise StreamError(f"tool call {call.name!r} arguments are not valid JSON: {exc}", provider=self.provider)
        if not isinstance(args, dict):
            raise StreamError(f"tool call {call.name!r} arguments are not a JSON object", provider=self.provider)
        tc = ToolCall(id=call.id, name=call.name, arguments=args, raw_arguments=raw, provider_data=call.provider_data)
        return ToolCallEnd(index=index, tool_call=tc)

    def open_calls(self) -> list[int]:
        return [i for i, c in sorted(self.calls.items()) if not c.done]

    def response(self, raw: Any = None) -> ChatResponse:
        self._flush()
        if self.finish is None:
            raise StreamError("stream ended without a finish event", provider=self.provider)
        calls = []
        for _, c in sorted(self.calls.items()):
            raw_args = "".join(c.args)
            calls.append(
                ToolCall(
                    id=c.id,
                    name=c.name,
                    arguments=json.loads(raw_args) if raw_args.strip() else {},
                    raw_arguments=raw_args,
                    provider_data=c.provider_data,
                )
            )
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) and not p.cache_control for p in self.parts):
            content = "".join(p.text for p in self.parts if isinstance(p, TextPart))
        else:
            content = self.parts
        return ChatResponse(
            id=self.id,
            provider=self.provider,
            model=self.model,
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=self.finish.finish_reason,
            raw_finish_reason=self.finish.raw_finish_reason,
            usage=self.usage,
            raw=raw,
        )
