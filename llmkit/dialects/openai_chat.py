"""The OpenAI chat-completions dialect (`POST {base}/chat/completions`).

Most providers speak it; their differences are quirk flags in their specs, never branches on
a provider id here. Responses go through the generated wire models, so a new finish reason
or an unknown field is kept rather than fatal.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import APIError, BadRequestError, ConfigError, StreamError
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
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
    image_url,
)
from .._wire import structure
from ..generated.wire import openai_chat as wire
from . import _openai_quirks as quirks
from ._base import CallContext, ErrorInfo, WireRequest, expand_path
from ._openai_quirks import Citation, citations

__all__ = ["DIALECT", "Citation", "OpenAIChatDialect", "citations"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
    "model_length": "length",  # Mistral: the model's context filled up
}


def finish_reason(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "", "other")


def _content_parts(parts: list[ContentPart], provider: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            img: dict[str, Any] = {"url": image_url(p)}
            if p.detail:
                img["detail"] = p.detail
            out.append({"type": "image_url", "image_url": img})
        elif isinstance(p, ReasoningPart):
            continue  # reasoning is not sent back in this dialect
        else:
            raise BadRequestError(f"{provider} chat does not accept document parts", provider=provider)
    return out


def _message(m: Message, provider: str) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text}
    out: dict[str, Any] = {"role": m.role}
    if m.role == "assistant":
        text = m.text
        out["content"] = text if text or not m.tool_calls else None
        if m.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": c.raw_arguments
                        if c.raw_arguments is not None
                        else _dump_args(c.name, c.arguments),
                    },
                }
                for c in m.tool_calls
            ]
    elif isinstance(m.content, str):
        out["content"] = m.content
    elif m.role in ("system", "developer"):
        out["content"] = m.text
    else:
        out["content"] = _content_parts(m.content, provider)
    if m.name is not None:
        out["name"] = m.name
    return out


def _dump_args(name: str, args: dict[str, Any]) -> str:
    """Tool-call arguments as the JSON string this dialect sends; unserialisable ones are refused."""
    try:
        return json.dumps(args, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"arguments of tool call {name!r} are not JSON-serialisable: {exc}") from exc


def _tool_choice(choice: str | dict[str, Any]) -> Any:
    if isinstance(choice, str):
        if choice in ("auto", "none", "required"):
            return choice
        if choice == "any":
            return "required"
        return {"type": "function", "function": {"name": choice}}
    if choice.get("type") == "function":
        return choice
    if "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


class OpenAIChatDialect:
    """Adapter for OpenAI chat completions and its compatible family."""

    name = "openai_chat"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        messages = [_message(m, ctx.provider) for m in req.messages]
        quirks.echo_reasoning(req.messages, messages, ctx)
        body: dict[str, Any] = {"model": req.model, "messages": messages}
        if req.max_tokens is not None:
            key = "max_tokens" if ctx.quirk("max_tokens_field") else "max_completion_tokens"
            body[key] = req.max_tokens
        for name in ("temperature", "top_p", "seed", "user", "parallel_tool_calls", "reasoning_effort"):
            v = getattr(req, name)
            if v is not None:
                body[name] = v
        if req.stop:
            body["stop"] = req.stop
        if req.tools:
            body["tools"] = [_tool(t) for t in req.tools]
        if req.tool_choice is not None:
            body["tool_choice"] = _tool_choice(req.tool_choice)
        if req.response_format is not None:
            body["response_format"] = req.response_format
        if req.stream:
            body["stream"] = True
            caps = ctx.model_info.capabilities if ctx.model_info else ctx.spec.capabilities
            if caps.stream_usage:
                body["stream_options"] = {"include_usage": True}
        quirks.adapt_request(body, ctx)
        if req.provider_options:
            body.update(req.provider_options)
        if req.extra_body:
            body.update(req.extra_body)
        op, query = quirks.chat_operation(ctx)
        path = expand_path(op.path, model=req.model) if op.model_in_path else op.path
        return WireRequest(method=op.method, path=path, body=body, query=query, stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        try:
            resp = structure(quirks.normalise_payload(data, ctx, stream=False), wire.CreateChatCompletionResponse)
        except ValueError as exc:
            raise APIError(
                f"{ctx.provider} answered with a body that is not a chat completion: {exc}",
                provider=ctx.provider,
                body=data,
            ) from exc
        if not resp.choices:
            raise BadRequestError(f"{ctx.provider} returned no choices", provider=ctx.provider, body=data)
        choice = resp.choices[0]
        msg = choice.message
        parts: list[ContentPart] = []
        reasoning = msg.reasoning_content or quirks.reasoning_extra(msg.additional_properties, ctx)
        if reasoning:
            parts.append(ReasoningPart(text=reasoning))
        calls = [
            ToolCall(
                id=c.id,
                name=c.function.name,
                arguments=_parse_args(c.function.arguments, ctx.provider),
                raw_arguments=c.function.arguments,
            )
            for c in msg.tool_calls or []
        ]
        text = msg.content or ""
        content: str | list[ContentPart]
        if parts:
            content = [*parts, TextPart(text=text)] if text else parts
        else:
            content = text
        raw_finish = choice.finish_reason
        return ChatResponse(
            id=data.get("id") if isinstance(data.get("id"), str) else None,  # Databricks sends null
            provider=ctx.provider,
            model=resp.model,
            message=Message(role="assistant", content=content, tool_calls=calls),
            finish_reason=finish_reason(raw_finish),
            raw_finish_reason=raw_finish,
            usage=_usage(resp.usage, ctx),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """Read every error shape the compatible family sends.

        `{"error": {...}}` (OpenAI, Azure, OpenRouter with a numeric code), `{"error": "...",
        "error_type": ...}` (TGI), `{"message": ..., "type": ...}` unwrapped (Mistral, vLLM,
        Cerebras; Mistral's message may be an object of validation details),
        `{"error_code": ..., "message": ...}` (Databricks) and `{"detail": ...}` (FastAPI servers).
        """
        if not isinstance(data, dict):
            return ErrorInfo(message=json.dumps(data)[:500])
        err = data.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            return ErrorInfo(
                message=_message_text(err.get("message")) or json.dumps(data)[:500],
                code=None if code is None else str(code),
                type=_str(err.get("type")),
            )
        if isinstance(err, str):
            return ErrorInfo(message=err, type=_str(data.get("error_type")), code=_str(data.get("code")))
        if "message" in data and data["message"] is not None:
            return ErrorInfo(
                message=_message_text(data["message"]),
                code=_str(data.get("code") if data.get("code") is not None else data.get("error_code")),
                type=_str(data.get("type")),
            )
        if "detail" in data:
            return ErrorInfo(message=_message_text(data["detail"]))
        return ErrorInfo(message=json.dumps(data)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("the openai_chat dialect has no token counting endpoint")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("the openai_chat dialect has no token counting endpoint")


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _tool(t: dict[str, Any]) -> dict[str, Any]:
    fn = {k: t[k] for k in ("name", "description", "parameters", "strict") if k in t}
    return {"type": "function", "function": fn}


def _parse_args(raw: str, provider: str) -> dict[str, Any]:
    try:
        args = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise BadRequestError(f"{provider} returned tool arguments that are not JSON: {exc}", provider=provider)
    if not isinstance(args, dict):
        raise BadRequestError(f"{provider} returned tool arguments that are not an object", provider=provider)
    return args


def _message_text(value: Any) -> str:
    """An error message that may be a string, a validation-detail object or a list of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "detail" in value:
        return _message_text(value["detail"])
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and "msg" in item:
                loc = ".".join(str(x) for x in item.get("loc") or [])
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(_message_text(item))
        return "; ".join(parts)
    return json.dumps(value)[:500]


def _usage(u: wire.CompletionUsage | None, ctx: CallContext) -> Usage:
    if u is None:
        return Usage()
    pd = u.prompt_tokens_details
    cd = u.completion_tokens_details
    usage = Usage(
        input_tokens=u.prompt_tokens,
        output_tokens=u.completion_tokens,
        cached_input_tokens=(pd.cached_tokens or 0) if pd else 0,
        cache_write_tokens=(pd.cache_write_tokens or 0) if pd else 0,
        reasoning_tokens=(cd.reasoning_tokens or 0) if cd else 0,
    )
    return quirks.extra_usage(usage, u.additional_properties, ctx)


_CHUNK_FIELDS = frozenset({"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "error"})


class _Accumulator(StreamAccumulator):
    """Keeps the response-level fields chunks carry beyond OpenAI's (`x_groq`, `citations`,
    `search_results`, `provider`, `prompt_filter_results`, ...) as the final response's `raw`."""

    def __init__(self, provider: str, model: str) -> None:
        super().__init__(provider, model)
        self.extras: dict[str, Any] = {}

    def response(self, raw: Any = None) -> ChatResponse:
        return super().response(raw if raw is not None else (dict(self.extras) or None))


_FAST_TOP = frozenset({"id", "object", "created", "model", "system_fingerprint", "choices", "usage"})
_FAST_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
_FAST_DELTA = frozenset({"role", "content", "refusal"})


class _Decoder:
    """Chat-completion chunks -> unified events; `[DONE]` is the required terminator."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = _Accumulator(ctx.provider, ctx.model)
        self.fast = not ctx.spec.quirks  # quirk hooks may rewrite chunks: they take the general path
        self.done = False
        self.finish_raw: str | None = None
        self.saw_finish = False

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        data = event.data
        if event.event == "raw":
            self._raise_error_body(data)
        if event.event not in ("message", "error"):
            return out  # a named event this dialect does not define (e.g. `event: ping`): ignored
        if self.done:
            return out
        if data.strip() == "[DONE]":
            self.done = True
            self._close(out)
            return out
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a stream event that is not JSON: {data[:200]!r}",
                provider=self.ctx.provider,
            )
        if isinstance(payload, dict) and payload.get("error"):
            # An error after the 200 (OpenRouter's finish_reason "error" chunk, OpenAI's error event).
            info = DIALECT.error_info(0, payload)
            raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)
        if self.fast and self._fast_text(payload, out):
            return out
        try:
            chunk = structure(quirks.normalise_payload(payload, self.ctx, stream=True), wire.ChatCompletionChunk)
        except ValueError as exc:
            raise StreamError(
                f"{self.ctx.provider} sent a chunk that is not a chat completion chunk: {exc}",
                provider=self.ctx.provider,
            )
        if not self.acc.id and chunk.id:
            self.acc.id = chunk.id  # Azure's first chunk has an empty id
        if chunk.model:
            self.acc.model = chunk.model
        for key, value in chunk.additional_properties.items():
            if key not in _CHUNK_FIELDS:
                self.acc.extras[key] = value
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            d = choice.delta
            reasoning = d.reasoning_content or quirks.reasoning_extra(d.additional_properties, self.ctx)
            if reasoning:
                self._emit(out, ReasoningDelta(text=reasoning))
            if d.content:
                self._emit(out, TextDelta(text=d.content))
            for tc in d.tool_calls or []:
                fn = tc.function
                if tc.index not in self.acc.calls:
                    self._emit(out, ToolCallStart(index=tc.index, id=tc.id or "", name=(fn.name if fn else "") or ""))
                if fn is not None and fn.arguments:
                    self._emit(out, ToolCallDelta(index=tc.index, arguments=fn.arguments))
            if choice.finish_reason is not None:
                self.finish_raw = choice.finish_reason
                self.saw_finish = True
                for index in self.acc.open_calls():
                    self._emit(out, self.acc.close_tool_call(index))
        if chunk.usage is not None:
            self._emit(out, UsageEvent(usage=_usage(chunk.usage, self.ctx)))
        else:
            extra = quirks.stream_extra_usage(chunk.additional_properties, self.ctx)
            if extra is not None:
                self._emit(out, UsageEvent(usage=_usage(structure(dict(extra), wire.CompletionUsage), self.ctx)))
        return out

    def _fast_text(self, payload: Any, out: list[StreamEvent]) -> bool:
        """The common chunk (one choice, a text delta, nothing else) without building a wire model.

        Only for providers without quirk flags, and only when every key is one the general
        path would read the same way; anything else returns False and takes that path.
        """
        if type(payload) is not dict or not payload.keys() <= _FAST_TOP or payload.get("usage") is not None:
            return False
        choices = payload.get("choices")
        if type(choices) is not list or len(choices) != 1:
            return False
        ch = choices[0]
        if (
            type(ch) is not dict
            or not ch.keys() <= _FAST_CHOICE
            or ch.get("index") != 0
            or ch.get("finish_reason") is not None
            or ch.get("logprobs") is not None
        ):
            return False
        d = ch.get("delta")
        if type(d) is not dict or not d.keys() <= _FAST_DELTA or d.get("refusal") is not None:
            return False
        content, cid, model = d.get("content"), payload.get("id"), payload.get("model")
        if (
            not isinstance(content, (str, type(None)))
            or not isinstance(cid, str)
            or not isinstance(model, (str, type(None)))
        ):
            return False
        if not self.acc.id and cid:
            self.acc.id = cid
        if model:
            self.acc.model = model
        if content:
            self._emit(out, TextDelta(text=content))
        return True

    def _close(self, out: list[StreamEvent]) -> None:
        for index in self.acc.open_calls():
            end = self.acc.close_tool_call(index)
            self._emit(out, end)
        if not self.saw_finish:
            raise StreamError(f"{self.ctx.provider} stream ended without a finish reason", provider=self.ctx.provider)
        self._emit(out, FinishEvent(finish_reason=finish_reason(self.finish_raw), raw_finish_reason=self.finish_raw))

    def _raise_error_body(self, text: str) -> None:
        try:
            payload = json.loads(text)
        except ValueError:
            return
        if isinstance(payload, dict) and "error" in payload:
            info = DIALECT.error_info(0, payload)
            raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)

    def end(self) -> list[StreamEvent]:
        if not self.done:
            if self.ctx.quirk("stream_no_done") and self.saw_finish:
                out: list[StreamEvent] = []
                self.done = True
                self._close(out)
                return out
            raise StreamError(
                f"{self.ctx.provider} stream ended before `data: [DONE]`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = OpenAIChatDialect()
