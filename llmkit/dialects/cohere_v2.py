"""Cohere's v2 chat dialect (`POST {base}/v2/chat`).

Cohere differs from the OpenAI family in ways a naive mapping gets wrong, each handled here:
top-p is `p` and stops are `stop_sequences`; `tool_choice` is UPPER-CASE (`REQUIRED`/`NONE`,
omitted for auto) and cannot name one tool; an answer's content is a LIST of typed items
(`text`, `thinking`) while a stream's content delta is an OBJECT; a tool-call delta carries one
call object, not an array; the text a model says before calling tools is `tool_plan`; finish
reasons are UPPER-CASE; usage comes as billed units and as tokens; and a stream ends with a
typed `message-end` event (which may carry `delta.error`) instead of `[DONE]`. Documents and
citations are Cohere's own: citations are read with `citations(resp)`.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import APIError, StreamError, UnsupportedFeatureError
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
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
    image_url,
)
from .._wire import structure
from ..generated.wire import cohere_v2 as wire
from ._base import CallContext, ErrorInfo, WireRequest

__all__ = ["DIALECT", "Citation", "CohereV2Dialect", "citations", "finish_reason"]

_FINISH: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
}


def finish_reason(raw: str | None) -> FinishReason:
    """Unified finish reason; reasons newer than this table map to "other" (raw kept)."""
    return _FINISH.get(raw or "", "other")


@attrs.frozen(kw_only=True, slots=True)
class Citation:
    """A span of the answer (`start`..`end`, `text`) grounded in documents or tool outputs."""

    start: int | None
    end: int | None
    text: str
    source_ids: tuple[str, ...] = ()
    sources: tuple[dict[str, Any], ...] = ()


def citations(resp: ChatResponse) -> list[Citation]:
    """The citations of a Cohere answer (plain or finished stream); [] when there are none."""
    raw = resp.raw if isinstance(resp.raw, Mapping) else {}
    msg = raw.get("message")
    items = msg.get("citations") if isinstance(msg, Mapping) else None
    out: list[Citation] = []
    for c in items or []:
        cit = structure(c, wire.Citation)
        srcs = tuple(s for s in c.get("sources") or [] if isinstance(s, dict))
        out.append(
            Citation(
                start=cit.start,
                end=cit.end,
                text=cit.text or "",
                source_ids=tuple(str(s["id"]) for s in srcs if s.get("id") is not None),
                sources=srcs,
            )
        )
    return out


def _unsupported(ctx: CallContext, what: str, code: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{ctx.provider}/{ctx.model}: {what}", provider=ctx.provider, code=code)


def _user_content(m: Message, ctx: CallContext) -> str | list[dict[str, Any]]:
    if isinstance(m.content, str):
        return m.content
    out: list[dict[str, Any]] = []
    for p in m.content:
        if isinstance(p, TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            img: dict[str, Any] = {"url": image_url(p)}
            if p.detail:
                img["detail"] = p.detail
            out.append({"type": "image_url", "image_url": img})
        elif isinstance(p, DocumentPart):
            raise _unsupported(
                ctx, "Cohere takes documents as provider_options={'documents': [...]}, not message parts", "documents"
            )
    return out


def _message(m: Message, ctx: CallContext) -> dict[str, Any]:
    if m.role in ("system", "developer"):
        return {"role": "system", "content": m.text}
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text}
    if m.role == "user":
        return {"role": "user", "content": _user_content(m, ctx)}
    out: dict[str, Any] = {"role": "assistant"}
    if m.tool_calls:
        if m.text:
            out["tool_plan"] = m.text  # what the model said before calling: its tool plan
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.raw_arguments
                    if c.raw_arguments is not None
                    else json.dumps(c.arguments, ensure_ascii=False),
                },
            }
            for c in m.tool_calls
        ]
        return out
    thinking = [p for p in m.parts if isinstance(p, ReasoningPart) and p.text]
    if thinking:
        items: list[dict[str, Any]] = [{"type": "thinking", "thinking": p.text} for p in thinking]
        if m.text:
            items.append({"type": "text", "text": m.text})
        out["content"] = items
    else:
        out["content"] = m.text
    return out


def _tool_choice(choice: str | dict[str, Any], ctx: CallContext) -> str | None:
    if choice == "auto":
        return None
    if choice == "none":
        return "NONE"
    if choice in ("required", "any"):
        return "REQUIRED"
    raise _unsupported(
        ctx,
        f"Cohere cannot force one named tool (tool_choice={choice!r}); use 'required', 'none' or 'auto'",
        "tool_choice",
    )


def build_body(req: ChatRequest, ctx: CallContext) -> dict[str, Any]:
    """The `/v2/chat` body; provider_options (documents, citation_options, ...) go top-level."""
    if req.user is not None:
        raise _unsupported(ctx, "Cohere chat has no `user` field; drop it", "user")
    body: dict[str, Any] = {"model": req.model, "messages": [_message(m, ctx) for m in req.messages]}
    if req.tools:
        body["tools"] = [
            {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters") if k in t}}
            for t in req.tools
        ]
    if req.tool_choice is not None:
        tc = _tool_choice(req.tool_choice, ctx)
        if tc is not None:
            body["tool_choice"] = tc
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["p"] = req.top_p
    if req.seed is not None:
        body["seed"] = req.seed
    if req.stop:
        body["stop_sequences"] = req.stop
    rf = req.response_format or {}
    if rf.get("type") == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif rf.get("type") == "json_schema":
        js = rf.get("json_schema") or {}
        body["response_format"] = {"type": "json_object", "json_schema": js.get("schema", js)}
    if req.reasoning_budget is not None:
        body["thinking"] = (
            {"type": "enabled", "token_budget": req.reasoning_budget}
            if req.reasoning_budget > 0
            else {"type": "disabled"}
        )
    elif req.reasoning_effort is not None:
        body["thinking"] = {"type": "disabled"} if req.reasoning_effort == "none" else {"type": "enabled"}
    body["stream"] = req.stream
    if req.provider_options:
        body.update(req.provider_options)
    if req.extra_body:
        body.update(req.extra_body)
    return body


def usage_of(u: wire.Usage | None) -> Usage:
    """Billed units (what Cohere charges) when given, else tokens; cached tokens kept apart."""
    if u is None:
        return Usage()
    billed, tokens = u.billed_units, u.tokens
    src_in = billed.input_tokens if billed is not None and billed.input_tokens is not None else None
    src_out = billed.output_tokens if billed is not None and billed.output_tokens is not None else None
    if src_in is None and tokens is not None:
        src_in = tokens.input_tokens
    if src_out is None and tokens is not None:
        src_out = tokens.output_tokens
    return Usage(
        input_tokens=int(src_in or 0), output_tokens=int(src_out or 0), cached_input_tokens=int(u.cached_tokens or 0)
    )


def _args(raw: str | None, provider: str) -> dict[str, Any]:
    try:
        args = json.loads(raw) if raw and raw.strip() else {}
    except ValueError as exc:
        raise APIError(f"{provider} returned tool arguments that are not JSON: {exc}", provider=provider) from None
    if not isinstance(args, dict):
        raise APIError(f"{provider} returned tool arguments that are not a JSON object", provider=provider)
    return args


class CohereV2Dialect:
    """Adapter for Cohere's v2 chat API."""

    name = "cohere_v2"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["chat"]
        return WireRequest(method=op.method, path=op.path, body=build_body(req, ctx), stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = structure(data, wire.ChatResponse)
        msg = resp.message
        parts: list[ContentPart] = []
        for item in msg.content or []:
            if isinstance(item, wire.ThinkingContent):
                parts.append(ReasoningPart(text=item.thinking))
            elif isinstance(item, wire.TextContent):
                parts.append(TextPart(text=item.text))
        if msg.tool_plan and not any(isinstance(p, TextPart) for p in parts):
            parts.append(TextPart(text=msg.tool_plan))
        calls = [
            ToolCall(
                id=c.id or f"call_{i}",
                name=c.function.name or "" if c.function else "",
                arguments=_args(c.function.arguments if c.function else None, ctx.provider),
                raw_arguments=c.function.arguments if c.function else None,
            )
            for i, c in enumerate(msg.tool_calls or [])
        ]
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) for p in parts):
            content = "".join(p.text for p in parts if isinstance(p, TextPart))
        else:
            content = parts
        return ChatResponse(
            id=resp.id,
            provider=ctx.provider,
            model=ctx.model,  # Cohere answers do not name the model
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=finish_reason(resp.finish_reason),
            raw_finish_reason=resp.finish_reason,
            usage=usage_of(resp.usage),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """`{"id"?: ..., "message": "..."}`; 498 (blocked as unsafe) is typed as a content filter."""
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return ErrorInfo(message=data["message"], type="content_filter" if status == 498 else None)
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("Cohere's chat dialect has no token counting endpoint")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("Cohere's chat dialect has no token counting endpoint")


class _Accumulator(StreamAccumulator):
    """Keeps what a stream says beyond the unified events (citations) as the final `raw`."""

    def __init__(self, provider: str, model: str) -> None:
        super().__init__(provider, model)
        self.citations: list[dict[str, Any]] = []

    def response(self, raw: Any = None) -> ChatResponse:
        if raw is None:
            raw = {"id": self.id, "message": {"citations": list(self.citations)}}
        return super().response(raw)


class _Decoder:
    """Cohere stream events -> unified events; `message-end` is the required terminator."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = _Accumulator(ctx.provider, ctx.model)
        self.done = False
        self.kinds: dict[int, str] = {}

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        data = event.data.strip()
        if data == "[DONE]":
            return out
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a stream event that is not JSON: {data[:200]!r}", provider=self.ctx.provider
            ) from None
        if not isinstance(payload, dict):
            return out
        if event.event == "raw" or ("message" in payload and "type" not in payload):
            info = DIALECT.error_info(0, payload)
            raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)
        if self.done:
            return out
        ev: Any = structure(payload, wire.StreamEvent)
        if isinstance(ev, wire.MessageStartEvent):
            self.acc.id = ev.id
        elif isinstance(ev, (wire.ContentStartEvent, wire.ContentDeltaEvent)):
            self._content(ev, out)
        elif isinstance(ev, wire.ToolPlanDeltaEvent):
            plan = ev.delta.message.tool_plan if ev.delta and ev.delta.message else None
            if plan:
                self._emit(out, TextDelta(text=plan))
        elif isinstance(ev, (wire.ToolCallStartEvent, wire.ToolCallDeltaEvent)):
            self._tool(ev, out)
        elif isinstance(ev, wire.ToolCallEndEvent):
            index = ev.index or 0
            if index in self.acc.open_calls():
                self._emit(out, self.acc.close_tool_call(index))
        elif isinstance(ev, wire.CitationStartEvent):
            cit = ev.delta.message.citations if ev.delta and ev.delta.message else None
            if cit is not None:
                self.acc.citations.append(payload["delta"]["message"]["citations"])
        elif isinstance(ev, wire.MessageEndEvent):
            self._end(ev, payload, out)
        # content-end, citation-end, debug and newer event types carry nothing to emit.
        return out

    def _content(self, ev: wire.ContentStartEvent | wire.ContentDeltaEvent, out: list[StreamEvent]) -> None:
        content = ev.delta.message.content if ev.delta and ev.delta.message else None
        if content is None:
            return
        index = ev.index or 0
        if content.type:
            self.kinds[index] = content.type
        if content.thinking:
            self._emit(out, ReasoningDelta(text=content.thinking))
        if content.text:
            self._emit(out, TextDelta(text=content.text))

    def _tool(self, ev: wire.ToolCallStartEvent | wire.ToolCallDeltaEvent, out: list[StreamEvent]) -> None:
        call = ev.delta.message.tool_calls if ev.delta and ev.delta.message else None
        index = ev.index or 0
        fn = call.function if call is not None else None
        if isinstance(ev, wire.ToolCallStartEvent):
            name = fn.name if fn is not None and fn.name else ""
            self._emit(out, ToolCallStart(index=index, id=(call.id if call else None) or f"call_{index}", name=name))
        if fn is not None and fn.arguments:
            self._emit(out, ToolCallDelta(index=index, arguments=fn.arguments))

    def _end(self, ev: wire.MessageEndEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        delta = ev.delta
        if delta is not None and delta.error:
            raise error_for_status(
                None, ErrorInfo(message=delta.error), provider=self.ctx.provider, body=payload, request_id=None
            )
        self.done = True
        for index in self.acc.open_calls():
            self._emit(out, self.acc.close_tool_call(index))
        raw = delta.finish_reason if delta is not None else None
        self._emit(out, UsageEvent(usage=usage_of(delta.usage if delta is not None else None)))
        self._emit(out, FinishEvent(finish_reason=finish_reason(raw), raw_finish_reason=raw))

    def end(self) -> list[StreamEvent]:
        if not self.done:
            raise StreamError(
                f"{self.ctx.provider} stream ended before `message-end`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = CohereV2Dialect()
