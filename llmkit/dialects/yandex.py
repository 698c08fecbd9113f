"""The YandexGPT dialect: Foundation Models `completion`, or the OpenAI-compatible route.

The native API differs from OpenAI's in ways a naive adapter gets wrong:

* the answer is wrapped in `result`, int64 counters are JSON strings, and statuses
  (`ALTERNATIVE_STATUS_FINAL`, `_TRUNCATED_FINAL`, `_TOOL_CALLS`, `_CONTENT_FILTER`) stand for
  finish reasons;
* a stream is newline-delimited JSON (no SSE, no terminator) and every line carries the WHOLE
  text so far: deltas are the new tail of each line's text, and a stream is complete only once
  a final status arrived;
* tool calls come whole in a `toolCallList` with object arguments and no ids.

With the setting `api="openai"` chat goes to `/v1/chat/completions` through the openai_chat
adapter instead, with the model as a `gpt://` URI; requests are built in _yandex_request.py.
"""

from __future__ import annotations

import json
from typing import Any, cast

import attrs

from .._errors import BadRequestError, StreamError
from .._events import (
    FinishEvent,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageEvent,
)
from .._http_errors import error_for_status
from .._types import ChatRequest, ChatResponse, FinishReason, Message, ToolCall, Usage
from .._wire import structure
from ..generated.wire import yandex as wire
from . import openai_chat
from ._base import CallContext, ErrorInfo, StreamDecoder, WireRequest
from ._yandex_request import build_body, call_id, model_uri

__all__ = ["DIALECT", "YandexDialect", "YandexStreamDecoder", "finish_reason"]

_FINISH: dict[str, FinishReason] = {
    "ALTERNATIVE_STATUS_FINAL": "stop",
    "ALTERNATIVE_STATUS_TRUNCATED_FINAL": "length",
    "ALTERNATIVE_STATUS_TOOL_CALLS": "tool_calls",
    "ALTERNATIVE_STATUS_CONTENT_FILTER": "content_filter",
}
_FINAL = frozenset(_FINISH)


def finish_reason(status: str | None) -> FinishReason:
    return _FINISH.get(status or "", "other")


def _openai(ctx: CallContext) -> bool:
    return ctx.settings.get("api") == "openai"


def _int(v: Any) -> int:
    return int(v) if v is not None else 0


def _usage(u: wire.YandexUsage | None) -> Usage:
    if u is None:
        return Usage()
    details = u.completion_tokens_details
    return Usage(
        input_tokens=_int(u.input_text_tokens),
        output_tokens=_int(u.completion_tokens),
        reasoning_tokens=_int(details.reasoning_tokens) if details else 0,
    )


def _calls(msg: wire.YandexMessage) -> list[ToolCall]:
    out = []
    for i, tc in enumerate(msg.tool_call_list.tool_calls if msg.tool_call_list else []):
        fc = tc.function_call
        args = fc.arguments or {}
        out.append(
            ToolCall(
                id=call_id(i, fc.name), name=fc.name, arguments=args, raw_arguments=json.dumps(args, ensure_ascii=False)
            )
        )
    return out


def _raise_error(payload: Any, provider: str) -> None:
    """An `{"error": ...}` body (inside a 200 stream) raises the typed error it stands for."""
    if isinstance(payload, dict) and "error" in payload and "result" not in payload:
        info = DIALECT.error_info(0, payload)
        err = payload["error"]
        code = err.get("httpCode") if isinstance(err, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else None
        raise error_for_status(status, info, provider=provider, body=payload, request_id=None)


class YandexDialect:
    """Adapter for Yandex Foundation Models (native) with the OpenAI-compatible route beside it."""

    name = "yandex"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        if _openai(ctx):
            return openai_chat.DIALECT.chat_request(attrs.evolve(req, model=model_uri(req.model, ctx)), ctx)
        op = ctx.spec.operations["completion"]
        body = build_body(req, ctx, stream=req.stream)
        return WireRequest(method=op.method, path=op.path, body=body, stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        if _openai(ctx):
            return openai_chat.DIALECT.parse_chat(data, ctx)
        try:
            result = structure(data, wire.YandexCompletionResponse).result
        except ValueError as exc:
            raise BadRequestError(
                f"{ctx.provider} answered with a body that is not a completion: {exc}", provider=ctx.provider, body=data
            ) from exc
        if not result.alternatives:
            raise BadRequestError(f"{ctx.provider} returned no alternatives", provider=ctx.provider, body=data)
        alt = result.alternatives[0]
        return ChatResponse(
            id=None,
            provider=ctx.provider,
            model=ctx.model,
            message=Message(role="assistant", content=alt.message.text or "", tool_calls=_calls(alt.message)),
            finish_reason=finish_reason(alt.status),
            raw_finish_reason=alt.status,
            usage=_usage(result.usage),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder:
        if _openai(ctx):
            return cast(StreamDecoder, openai_chat.DIALECT.stream_decoder(ctx))
        return YandexStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """`{"error": {grpcCode, httpCode, message, httpStatus, details}}`, the short
        `{"error": "text"}`, and the OpenAI-compatible endpoint's `{"error": {message, type, code}}`."""
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, str):
            return ErrorInfo(message=err)
        if not isinstance(err, dict):
            return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])
        code = err.get("grpcCode", err.get("code"))
        kind = err.get("httpStatus", err.get("type"))
        return ErrorInfo(
            message=str(err.get("message") or json.dumps(err, ensure_ascii=False)[:500]),
            code=None if code is None else str(code),
            type=None if kind is None else str(kind),
        )

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=op.path, body=build_body(req, ctx, stream=False))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return len(structure(data, wire.YandexTokenizeResponse).tokens)


class YandexStreamDecoder:
    """NDJSON lines of cumulative results -> unified deltas.

    Each line repeats the whole answer so far; only its new tail is emitted, so a caller that
    concatenates the deltas gets the answer once. A line whose text does not extend the last
    one can only be replaced text (a content filter); it is not re-emitted. Tool calls arrive
    whole with the final status. The stream has no terminator: it is complete only once a
    final status arrived, else `end()` raises StreamError.
    """

    framing = "ndjson"

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.text = ""
        self.status: str | None = None

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: Any) -> list[StreamEvent]:
        """One NDJSON value (a `{"result": ...}` line, or an `{"error": ...}` one)."""
        _raise_error(event, self.ctx.provider)
        out: list[StreamEvent] = []
        if self.status in _FINAL:
            return out
        result = structure(event, wire.YandexCompletionResponse).result
        alt = result.alternatives[0] if result.alternatives else None
        if alt is not None:
            text = alt.message.text or ""
            if text.startswith(self.text):
                if len(text) > len(self.text):
                    self._emit(out, TextDelta(text=text[len(self.text) :]))
                    self.text = text
            elif alt.status != "ALTERNATIVE_STATUS_CONTENT_FILTER":
                raise StreamError(
                    f"{self.ctx.provider} stream line does not extend the text so far (cumulative text expected)",
                    provider=self.ctx.provider,
                )
            for call in _calls(alt.message):
                index = len(self.acc.calls)
                self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
                self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
                self._emit(out, self.acc.close_tool_call(index))
            self.status = alt.status
        if result.usage is not None:
            self._emit(out, UsageEvent(usage=_usage(result.usage)))
        if self.status in _FINAL:
            self._emit(out, FinishEvent(finish_reason=finish_reason(self.status), raw_finish_reason=self.status))
        return out

    def end(self) -> list[StreamEvent]:
        if self.status not in _FINAL:
            raise StreamError(
                f"{self.ctx.provider} stream closed before a final status: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = YandexDialect()
