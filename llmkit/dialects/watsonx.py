"""IBM watsonx.ai's chat dialect (`POST {base}/ml/v1/text/chat[_stream]?version=...`).

The answers are OpenAI chat completions with extra keys, so parsing and stream decoding reuse
the openai_chat adapter. The requests are not: the model is `model_id`, the call must name
exactly one of `project_id` or `space_id`, a `tool_choice` of auto/none/required travels as
`tool_choice_option` while a named tool is the object `tool_choice`, streaming is a separate
path (no `stream` field), every call needs `?version=`, a stream ends without `[DONE]` (after
an optional `event: close`), and errors are `{"errors": [{code, message}], "trace"}`, also as an
`event: error` inside a stream.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import ConfigError, UnsupportedFeatureError
from .._events import StreamAccumulator, StreamEvent
from .._http_errors import error_for_status
from .._sse import SSEEvent
from .._types import ChatRequest, ChatResponse
from . import openai_chat
from ._base import CallContext, ErrorInfo, WireRequest
from ._openai_quirks import expand_query

__all__ = ["DIALECT", "WatsonxDialect", "build_body"]


def _scope(ctx: CallContext) -> dict[str, str]:
    project, space = ctx.settings.get("project_id"), ctx.settings.get("space_id")
    if bool(project) == bool(space):
        which = "both" if project else "neither"
        raise ConfigError(
            f"watsonx needs exactly one of project_id or space_id ({which} given): pass "
            "providers={'watsonx': {'project_id': ...}} (or set WATSONX_PROJECT_ID)",
            provider=ctx.provider,
        )
    return {"project_id": str(project)} if project else {"space_id": str(space)}


def build_body(req: ChatRequest, ctx: CallContext) -> dict[str, Any]:
    """The text/chat body: OpenAI-style messages and tools under watsonx's own field names."""
    if req.user is not None:
        raise UnsupportedFeatureError(
            f"{ctx.provider}/{req.model}: watsonx chat has no `user` field; drop it", provider=ctx.provider, code="user"
        )
    body: dict[str, Any] = {"model_id": req.model, **_scope(ctx)}
    body["messages"] = [openai_chat._message(m, ctx.provider) for m in req.messages]
    if req.tools:
        body["tools"] = [
            {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters") if k in t}}
            for t in req.tools
        ]
    choice = req.tool_choice
    if choice is not None:
        if choice in ("auto", "none", "required"):
            body["tool_choice_option"] = choice
        elif choice == "any":
            body["tool_choice_option"] = "required"
        else:
            name = choice if isinstance(choice, str) else (choice.get("function") or choice).get("name")
            body["tool_choice"] = {"type": "function", "function": {"name": name}}
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "seed", "reasoning_effort"):
        v = getattr(req, name)
        if v is not None:
            body[name] = v
    if req.stop:
        body["stop"] = req.stop
    if req.response_format is not None:
        body["response_format"] = req.response_format
    if req.provider_options:
        body.update(req.provider_options)
    if req.extra_body:
        body.update(req.extra_body)
    return body


class WatsonxDialect:
    """Adapter for watsonx.ai text chat."""

    name = "watsonx"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["text_chat_stream" if req.stream else "text_chat"]
        return WireRequest(
            method=op.method, path=op.path, body=build_body(req, ctx), query=expand_query(op, ctx), stream=req.stream
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        return openai_chat.DIALECT.parse_chat(data, ctx)

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """`{"errors": [{"code", "message", "more_info"}], "trace", "status_code"}`; others as OpenAI's."""
        if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
            first = data["errors"][0] if isinstance(data["errors"][0], dict) else {}
            code = first.get("code")
            return ErrorInfo(
                message=str(first.get("message") or json.dumps(data)[:500]),
                code=None if code is None else str(code),
                type=None if code is None else str(code),
            )
        return openai_chat.DIALECT.error_info(status, data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("llmkit does not use watsonx's tokenization endpoint for counting")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("llmkit does not use watsonx's tokenization endpoint for counting")


class _Decoder:
    """watsonx SSE -> unified events: `event: error` raises typed, `event: close` is skipped,
    and every `event: message` chunk goes through the openai_chat decoder (which, by the
    spec's `stream_no_done` quirk, accepts the end of the stream after a finish reason)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self._inner = openai_chat.DIALECT.stream_decoder(ctx)
        self.acc: StreamAccumulator = self._inner.acc

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if event.event == "close":
            return []
        if event.event in ("error", "raw") or '"errors"' in event.data[:200]:
            try:
                payload = json.loads(event.data)
            except ValueError:
                payload = None
            if isinstance(payload, dict) and ("errors" in payload or event.event == "error"):
                info = DIALECT.error_info(0, payload)
                trace = payload.get("trace")
                raise error_for_status(
                    None,
                    info,
                    provider=self.ctx.provider,
                    body=payload,
                    request_id=None if trace is None else str(trace),
                )
        return self._inner.feed(event)

    def end(self) -> list[StreamEvent]:
        return self._inner.end()


DIALECT = WatsonxDialect()
