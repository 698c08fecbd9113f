"""The Google Gemini API dialect (`POST {base}/models/{model}:generateContent`).

Gemini differs from the OpenAI family in ways a naive adapter gets wrong, so each is handled
here on purpose:

* the model goes in the URL path (percent-encoded) with a colon verb; streaming is a separate
  verb plus `?alt=sse`, and the stream has NO terminator: it simply closes, so a stream is
  complete only if a chunk carried a `finishReason`;
* roles are `user` and `model`; system text goes in `systemInstruction`; tool results are
  `functionResponse` parts of a user turn and tool arguments are JSON objects, not strings;
* a blocked prompt is HTTP 200 with no candidates (raised as ContentFilterError), and
  `thoughtsTokenCount` is not part of `candidatesTokenCount` (added to output tokens);
* `thoughtSignature`s must go back on the next turn (Gemini 3 with tools rejects a turn
  without them), so they are kept on ToolCall.provider_data and on ReasoningParts.

`reasoning_effort` maps to a thinking budget (low 1024, medium 8192, high 24576 tokens;
minimal/none 0) because `thinkingBudget` works on every thinking model; pass
`provider_options={"generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}}}` to use
Gemini 3's levels instead. Function schemas and response schemas are sent as
`parametersJsonSchema` / `responseJsonSchema` (full JSON Schema) rather than the OpenAPI-subset
`parameters` / `responseSchema`, which rejects common keys such as `additionalProperties`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .._errors import BadRequestError, ContentFilterError, StreamError
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
from .._http_errors import error_for_status, parse_duration
from .._sse import SSEEvent
from .._types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    FinishReason,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
)
from .._wire import structure
from ..generated.wire import gemini as wire
from ._base import CallContext, ErrorInfo, WireRequest, expand_path
from ._gemini_request import EFFORT_BUDGETS, SIGNATURE, SYNTHETIC, build_body, model_path

__all__ = ["DIALECT", "EFFORT_BUDGETS", "GeminiDialect", "GeminiStreamDecoder", "finish_reason"]

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}


def finish_reason(raw: str | None, has_calls: bool = False) -> FinishReason:
    """Gemini's finishReason in unified terms; STOP with function calls means tool_calls."""
    if raw == "STOP" and has_calls:
        return "tool_calls"
    return _FINISH.get(raw or "", "other")


class _Parsed:
    """The parts of one candidate (or one stream chunk) in unified form."""

    def __init__(self, parts: list[wire.Part] | None, first_call: int) -> None:
        self.items: list[ContentPart] = []
        self.calls: list[ToolCall] = []
        for p in parts or []:
            sig = p.thought_signature
            if p.function_call is not None:
                fc = p.function_call
                data: dict[str, Any] = {}
                if sig:
                    data[SIGNATURE] = sig
                if not fc.id:
                    data[SYNTHETIC] = True
                args = fc.args or {}
                self.calls.append(
                    ToolCall(
                        id=fc.id or f"call_{first_call + len(self.calls)}",
                        name=fc.name,
                        arguments=args,
                        raw_arguments=json.dumps(args, ensure_ascii=False),
                        provider_data=data or None,
                    )
                )
            elif p.thought:
                self.items.append(ReasoningPart(text=p.text or "", signature=sig))
            elif p.text is not None:
                last = self.items[-1] if self.items else None
                if sig:
                    self.items.append(ReasoningPart(signature=sig))
                elif isinstance(last, TextPart):  # one text block, as a finished stream has
                    last.text += p.text
                    continue
                self.items.append(TextPart(text=p.text))
            elif p.inline_data is not None:
                blob = p.inline_data
                self.items.append(ImagePart(data=base64.b64decode(blob.data), media_type=blob.mime_type))
            elif sig:
                self.items.append(ReasoningPart(signature=sig))


def _usage(u: wire.UsageMetadata | None) -> Usage:
    if u is None:
        return Usage()
    thoughts = u.thoughts_token_count or 0
    return Usage(
        input_tokens=(u.prompt_token_count or 0) + (u.tool_use_prompt_token_count or 0),
        output_tokens=(u.candidates_token_count or 0) + thoughts,
        cached_input_tokens=u.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _blocked(resp: wire.GenerateContentResponse, data: Any, provider: str) -> ContentFilterError | None:
    fb = resp.prompt_feedback
    if resp.candidates or fb is None or fb.block_reason is None:
        return None
    reason = str(fb.block_reason)
    return ContentFilterError(
        f"{provider} blocked the prompt (blockReason {reason})", provider=provider, body=data, code=reason
    )


def _candidate(resp: wire.GenerateContentResponse) -> wire.Candidate | None:
    cands = resp.candidates or []
    return next((c for c in cands if (c.index or 0) == 0), None)


def _model_name(resp: wire.GenerateContentResponse, default: str) -> str:
    return model_path(resp.model_version) if resp.model_version else default


def _raise_if_error(payload: Any, provider: str) -> None:
    """A google.rpc.Status body (inside a 200 stream) as the typed error it stands for."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return
    info = DIALECT.error_info(0, payload)
    code = payload["error"].get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    raise error_for_status(status, info, provider=provider, body=payload, request_id=None)


class GeminiDialect:
    """Adapter for the Gemini API (generativelanguage.googleapis.com)."""

    name = "gemini"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["stream_generate_content" if req.stream else "generate_content"]
        return WireRequest(
            method=op.method,
            path=expand_path(op.path, model=model_path(req.model)),
            body=build_body(req, ctx.provider),
            query=dict(op.query),
            stream=req.stream,
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = structure(data, wire.GenerateContentResponse)
        blocked = _blocked(resp, data, ctx.provider)
        if blocked is not None:
            raise blocked
        cand = _candidate(resp)
        if cand is None:
            raise BadRequestError(f"{ctx.provider} returned no candidates", provider=ctx.provider, body=data)
        parsed = _Parsed(cand.content.parts if cand.content else None, 0)
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) for p in parsed.items):
            content = "".join(p.text for p in parsed.items if isinstance(p, TextPart))
        else:
            content = parsed.items
        raw = cand.finish_reason
        return ChatResponse(
            id=resp.response_id,
            provider=ctx.provider,
            model=_model_name(resp, ctx.model),
            message=Message(role="assistant", content=content, tool_calls=parsed.calls),
            finish_reason=finish_reason(raw, bool(parsed.calls)),
            raw_finish_reason=raw,
            usage=_usage(resp.usage_metadata),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        if isinstance(data, list) and data and isinstance(data[0], dict):
            data = data[0]  # the non-SSE stream endpoint wraps bodies in a JSON array
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict):
            return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])
        status_name = err.get("status")
        reason: str | None = None
        retry: float | None = None
        daily = False
        for d in err.get("details") or []:
            if not isinstance(d, dict):
                continue
            kind = str(d.get("@type", ""))
            if kind.endswith("google.rpc.RetryInfo") and isinstance(d.get("retryDelay"), str):
                retry = parse_duration(d["retryDelay"])
            elif kind.endswith("google.rpc.ErrorInfo") and d.get("reason"):
                reason = str(d["reason"])
            elif kind.endswith("google.rpc.QuotaFailure") and any(
                "PerDay" in str(v.get("quotaId", "")) for v in d.get("violations") or [] if isinstance(v, dict)
            ):
                daily = True
        code = None if status_name is None else str(status_name)
        return ErrorInfo(
            message=str(err.get("message") or status_name or data),
            # A spent per-day quota: waiting seconds will not help, and the transport does not
            # retry the `insufficient_quota` code (the type still says RESOURCE_EXHAUSTED).
            code="insufficient_quota" if daily else code,
            type=reason or code,
            retry_after=retry,
        )

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        model = model_path(req.model)
        inner = build_body(req, ctx.provider, with_config=False)
        if len(inner) == 1:
            body: dict[str, Any] = inner  # only contents
        else:  # a system instruction or tools are counted only inside a generateContentRequest
            body = {"generateContentRequest": {"model": f"models/{model}", **inner}}
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=expand_path(op.path, model=model), body=body, query=dict(op.query))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return structure(data, wire.CountTokensResponse).total_tokens or 0


class GeminiStreamDecoder:
    """`?alt=sse` chunks -> unified events. Each chunk is a whole GenerateContentResponse
    with delta parts and running usage; there is no terminator, so `end()` checks that a
    finishReason arrived and otherwise raises StreamError (the answer may be cut short)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.finish_raw: str | None = None
        self.saw_finish = False
        self.raw_text: list[str] = []

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if event.event == "raw":
            # Gemini writes an error into the stream as a bare (maybe multi-line) JSON body.
            self.raw_text.append(event.data)
            try:
                payload = json.loads("\n".join(self.raw_text))
            except ValueError:
                return out
            _raise_if_error(payload, self.ctx.provider)
            return out
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a stream event that is not JSON: {event.data[:200]!r}",
                provider=self.ctx.provider,
            )
        _raise_if_error(payload, self.ctx.provider)
        chunk = structure(payload, wire.GenerateContentResponse)
        blocked = _blocked(chunk, payload, self.ctx.provider)
        if blocked is not None:
            raise blocked
        if self.acc.id is None:
            self.acc.id = chunk.response_id
        self.acc.model = _model_name(chunk, self.acc.model)
        cand = _candidate(chunk)
        if cand is not None:
            self._parts(cand, out)
        if chunk.usage_metadata is not None:
            self._emit(out, UsageEvent(usage=_usage(chunk.usage_metadata)))
        return out

    def _parts(self, cand: wire.Candidate, out: list[StreamEvent]) -> None:
        parsed = _Parsed(cand.content.parts if cand.content else None, len(self.acc.calls))
        for item in parsed.items:
            if isinstance(item, ReasoningPart):
                self._emit(out, ReasoningDelta(text=item.text, signature=item.signature))
            elif isinstance(item, TextPart):
                self._emit(out, TextDelta(text=item.text))
        for call in parsed.calls:  # function calls arrive whole, arguments complete
            index = len(self.acc.calls)
            self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
            self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
            self._emit(out, self.acc.close_tool_call(index, call.provider_data))
        if cand.finish_reason is not None:
            self.finish_raw = cand.finish_reason
            self.saw_finish = True

    def end(self) -> list[StreamEvent]:
        if self.raw_text:
            try:
                _raise_if_error(json.loads("\n".join(self.raw_text)), self.ctx.provider)
            except ValueError:
                pass
        if not self.saw_finish:
            raise StreamError(
                f"{self.ctx.provider} stream closed without a finishReason: the answer may be cut short",
                provider=self.ctx.provider,
            )
        out: list[StreamEvent] = []
        for index in self.acc.open_calls():
            self._emit(out, self.acc.close_tool_call(index))
        raw = self.finish_raw
        self._emit(out, FinishEvent(finish_reason=finish_reason(raw, bool(self.acc.calls)), raw_finish_reason=raw))
        return out


DIALECT = GeminiDialect()
