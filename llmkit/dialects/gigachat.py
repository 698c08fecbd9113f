"""The GigaChat dialect (`POST {base}/chat/completions` of Sber's API v1).

It looks like OpenAI's chat completions and is not, in ways that break a naive adapter:

* tools are the legacy `functions` / `function_call` pair, one call per answer, with the call's
  `arguments` a JSON OBJECT; a tool result goes back as a `function` message that names the
  function, and its content must be JSON (plain text is wrapped as `{"result": ...}`);
* there are no call ids: llmkit makes stable ones (`call_<functions_state_id>`, else
  `call_<name>`) and finds the function name of a `tool` turn through them;
* answers have no `id`, the model comes back with its version (`GigaChat:2.0.28.2`), stream
  chunks say `"object": "chat.completion"` and the last one carries both the finish reason and
  the usage before `data: [DONE]`;
* errors are `{"status": 404, "message": "No such model"}` (OAuth ones `{"code", "message"}`).

Parameters GigaChat lacks (`stop`, `seed`, `user`, `response_format`) raise
UnsupportedFeatureError here, before any request.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import BadRequestError, StreamError, UnsupportedFeatureError
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
from .._sse import SSEEvent
from .._types import ChatRequest, ChatResponse, FinishReason, Message, ToolCall, Usage
from .._wire import structure
from ..generated.wire import gigachat as wire
from ._base import CallContext, ErrorInfo, WireRequest

__all__ = ["DIALECT", "GigaChatDialect", "GigaChatStreamDecoder", "finish_reason", "function_result"]

STATE = "functions_state_id"
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "function_call": "tool_calls",
    "blacklist": "content_filter",
    "error": "error",
}


def finish_reason(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "", "other")


def _unsupported(ctx: CallContext, what: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{ctx.provider}/{ctx.model} does not support {what}; drop it from the call", provider=ctx.provider, code=what
    )


def function_result(text: str) -> str:
    """A tool result as GigaChat wants it: JSON text; anything else becomes {"result": text}."""
    try:
        json.loads(text)
    except ValueError:
        return json.dumps({"result": text}, ensure_ascii=False)
    return text


def call_id(name: str, state: str | None) -> str:
    return f"call_{state}" if state else f"call_{name}"


def _arguments(value: Any, provider: str) -> dict[str, Any]:
    """Arguments are a JSON object on GigaChat's wire; a string is tolerated and parsed."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise BadRequestError(f"{provider} returned function arguments that are not JSON: {exc}", provider=provider)
    if not isinstance(value, dict):
        raise BadRequestError(f"{provider} returned function arguments that are not an object", provider=provider)
    return value


def _tool_call(fc: wire.GigaFunctionCall, state: str | None, provider: str) -> ToolCall:
    args = _arguments(fc.arguments, provider)
    return ToolCall(
        id=call_id(fc.name, state),
        name=fc.name,
        arguments=args,
        raw_arguments=json.dumps(args, ensure_ascii=False),
        provider_data={STATE: state} if state else None,
    )


def _messages(req: ChatRequest, ctx: CallContext) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # call id -> function name, for the `tool` turns that answer them
    out: list[dict[str, Any]] = []
    for m in req.messages:
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "")
            if not name:
                raise BadRequestError(
                    f"{ctx.provider}: the tool result for call {m.tool_call_id!r} answers no earlier tool call; "
                    "GigaChat needs the function name (set `name` on the tool message)",
                    provider=ctx.provider,
                )
            out.append({"role": "function", "name": name, "content": function_result(m.text)})
            continue
        role = "system" if m.role == "developer" else m.role
        item: dict[str, Any] = {"role": role, "content": m.text}
        if m.role == "assistant" and m.tool_calls:
            if len(m.tool_calls) > 1:
                raise _unsupported(ctx, "several tool calls in one assistant turn")
            call = m.tool_calls[0]
            names[call.id] = call.name
            item["function_call"] = {"name": call.name, "arguments": call.arguments}
            state = (call.provider_data or {}).get(STATE)
            if isinstance(state, str):
                item[STATE] = state
        out.append(item)
    return out


def _function_call(req: ChatRequest, ctx: CallContext) -> Any:
    choice = req.tool_choice
    names = [t["name"] for t in req.tools or []]
    if isinstance(choice, dict):
        fn = choice.get("function") if isinstance(choice.get("function"), dict) else choice
        choice = fn.get("name") if isinstance(fn, dict) else None
    if choice in ("auto", "none"):
        return choice
    if choice in ("required", "any"):
        if len(names) != 1:
            raise _unsupported(ctx, "tool_choice 'required' with more than one tool (name the function instead)")
        return {"name": names[0]}
    if isinstance(choice, str):
        if choice not in names:
            raise BadRequestError(f"tool_choice names {choice!r}, which is not among the tools", provider=ctx.provider)
        return {"name": choice}
    raise BadRequestError(f"unknown tool_choice {req.tool_choice!r}", provider=ctx.provider)


def _usage(u: wire.GigaUsage | None) -> Usage:
    if u is None:
        return Usage()
    return Usage(
        input_tokens=u.prompt_tokens,
        output_tokens=u.completion_tokens,
        cached_input_tokens=u.precached_prompt_tokens or 0,
    )


def _raise_error_body(payload: Any, provider: str) -> None:
    """An error body written into a 200 stream (`{"status", "message"}`) raises typed."""
    if isinstance(payload, dict) and "message" in payload and "choices" not in payload:
        status = payload.get("status")
        info = DIALECT.error_info(status if isinstance(status, int) else 0, payload)
        code = status if isinstance(status, int) and 400 <= status < 600 else None
        raise error_for_status(code, info, provider=provider, body=payload, request_id=None)


class GigaChatDialect:
    """Adapter for GigaChat chat completions, functions, streams and token counts."""

    name = "gigachat"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        for what, value in (("stop", req.stop), ("seed", req.seed), ("user", req.user)):
            if value is not None:
                raise _unsupported(ctx, what)
        if req.response_format is not None and req.response_format.get("type") != "text":
            raise _unsupported(ctx, "response_format")
        body: dict[str, Any] = {"model": req.model, "messages": _messages(req, ctx)}
        for name in ("temperature", "top_p", "max_tokens"):
            v = getattr(req, name)
            if v is not None:
                body[name] = v
        if req.tools:
            body["functions"] = [{k: t[k] for k in ("name", "description", "parameters") if k in t} for t in req.tools]
            if req.tool_choice is not None:
                body["function_call"] = _function_call(req, ctx)
        if req.stream:
            body["stream"] = True
        if req.provider_options:
            body.update(req.provider_options)
        if req.extra_body:
            body.update(req.extra_body)
        op = ctx.spec.operations["create_chat_completion"]
        headers = {"Cache-Control": "no-store"} if req.stream else {}
        return WireRequest(method=op.method, path=op.path, body=body, stream=req.stream, headers=headers)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        try:
            resp = structure(data, wire.GigaChatResponse)
        except ValueError as exc:
            raise BadRequestError(
                f"{ctx.provider} answered with a body that is not a chat completion: {exc}",
                provider=ctx.provider,
                body=data,
            ) from exc
        if not resp.choices:
            raise BadRequestError(f"{ctx.provider} returned no choices", provider=ctx.provider, body=data)
        choice = resp.choices[0]
        msg = choice.message
        calls = []
        if msg.function_call is not None:
            calls.append(_tool_call(msg.function_call, msg.functions_state_id, ctx.provider))
        return ChatResponse(
            id=None,
            provider=ctx.provider,
            model=resp.model,
            message=Message(role="assistant", content=msg.content or "", tool_calls=calls),
            finish_reason=finish_reason(choice.finish_reason),
            raw_finish_reason=choice.finish_reason,
            usage=_usage(resp.usage),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> GigaChatStreamDecoder:
        return GigaChatStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        if not isinstance(data, dict):
            return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])
        code = data.get("status", data.get("code"))
        message = data.get("message")
        return ErrorInfo(
            message=str(message) if message is not None else json.dumps(data, ensure_ascii=False)[:500],
            code=None if code is None else str(code),
        )

    # /tokens/count counts each text it is given, not the chat template, roles or functions
    # around them, so the sum of the messages' counts is an estimate of the prompt's tokens.
    count_exact = False

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        texts = [m.text for m in req.messages if m.text]
        if not texts:
            raise BadRequestError(f"{ctx.provider}: nothing to count, the messages have no text", provider=ctx.provider)
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=op.path, body={"model": req.model, "input": texts})

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        if not isinstance(data, list):
            raise BadRequestError(f"{ctx.provider} token count is not a JSON array", provider=ctx.provider, body=data)
        return sum(structure(item, wire.GigaTokensCount).tokens for item in data)


class GigaChatStreamDecoder:
    """`data:` chunks -> unified events; `[DONE]` is the required terminator.

    Text arrives as deltas; a function call arrives whole in one delta (arguments complete);
    the finishing chunk carries the usage too.
    """

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.finish_raw: str | None = None
        self.saw_finish = False
        self.done = False

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        data = event.data
        if self.done:
            return out
        if data.strip() == "[DONE]":
            self.done = True
            return self._close(out)
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamError(
                f"{self.ctx.provider} sent a stream event that is not JSON: {data[:200]!r}", provider=self.ctx.provider
            )
        _raise_error_body(payload, self.ctx.provider)
        if event.event == "raw":
            raise StreamError(f"{self.ctx.provider} sent a line that is not SSE: {data[:200]!r}")
        chunk = structure(payload, wire.GigaChatChunk)
        if chunk.model:
            self.acc.model = chunk.model
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            d = choice.delta
            if d.content:
                self._emit(out, TextDelta(text=d.content))
            if d.function_call is not None:
                call = _tool_call(d.function_call, d.functions_state_id, self.ctx.provider)
                index = len(self.acc.calls)
                self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
                self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
                self._emit(out, self.acc.close_tool_call(index, call.provider_data))
            if choice.finish_reason is not None:
                self.finish_raw = choice.finish_reason
                self.saw_finish = True
        if chunk.usage is not None:
            self._emit(out, UsageEvent(usage=_usage(chunk.usage)))
        return out

    def _close(self, out: list[StreamEvent]) -> list[StreamEvent]:
        if not self.saw_finish:
            raise StreamError(f"{self.ctx.provider} stream ended without a finish reason", provider=self.ctx.provider)
        self._emit(out, FinishEvent(finish_reason=finish_reason(self.finish_raw), raw_finish_reason=self.finish_raw))
        return out

    def end(self) -> list[StreamEvent]:
        if not self.done:
            raise StreamError(
                f"{self.ctx.provider} stream ended before `data: [DONE]`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


DIALECT = GigaChatDialect()
