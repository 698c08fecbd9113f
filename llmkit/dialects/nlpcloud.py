"""The NLP Cloud dialect: a conversation mapped onto the `chatbot` task.

NLP Cloud has no messages list: a chat turn is the new `input`, a `context` (the instructions)
and a `history` of earlier `{input, response}` exchanges, posted to the model's own URL
(`/gpu/<model>/chatbot`). This adapter folds unified messages into that shape and refuses what
the task cannot carry (sampling options, tools, images, a conversation that does not end with
the user) before any request. Answers carry no token counts.
"""

from __future__ import annotations

from typing import Any

from .._errors import BadRequestError, UnsupportedFeatureError
from .._types import ChatRequest, ChatResponse, Message, Usage
from .._wire import structure
from ..generated.wire import nlpcloud as wire
from ._base import CallContext, ErrorInfo, StreamDecoder, WireRequest, expand_path
from ._nonchat import detail_error_info

__all__ = ["DIALECT", "NLPCloudDialect", "chatbot_body"]

_OPTIONS = ("max_tokens", "top_p", "stop", "seed", "user", "response_format", "reasoning_effort", "reasoning_budget")


def _unsupported(ctx: CallContext, what: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{ctx.provider}/{ctx.model} does not support {what} (the chatbot task takes none); "
        f"use client.native({ctx.provider!r}).generation(...) for sampling options",
        provider=ctx.provider,
        code=what,
    )


def chatbot_body(messages: list[Message], ctx: CallContext) -> dict[str, Any]:
    """{input, context, history} from a conversation that ends with a user message."""
    context = [m.text for m in messages if m.role in ("system", "developer")]
    turns = [m for m in messages if m.role not in ("system", "developer")]
    if not turns or turns[-1].role != "user":
        raise BadRequestError(f"{ctx.provider}: the conversation must end with a user message", provider=ctx.provider)
    history: list[dict[str, str]] = []
    pending: str | None = None
    for m in turns[:-1]:
        if m.role == "tool" or m.tool_calls:
            raise _unsupported(ctx, "tool messages")
        if m.role == "user":
            if pending is not None:  # two user turns in a row: the first got no answer
                history.append({"input": pending, "response": ""})
            pending = m.text
        else:
            history.append({"input": pending or "", "response": m.text})
            pending = None
    if pending is not None:
        history.append({"input": pending, "response": ""})
    body: dict[str, Any] = {"input": turns[-1].text}
    if context:
        body["context"] = "\n\n".join(context)
    if history:
        body["history"] = history
    return body


class NLPCloudDialect:
    """Adapter for NLP Cloud's chatbot task."""

    name = "nlpcloud"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        for name in _OPTIONS:
            if getattr(req, name) is not None:
                raise _unsupported(ctx, name)
        body = chatbot_body(req.messages, ctx)
        if req.provider_options:
            body.update(req.provider_options)
        if req.extra_body:
            body.update(req.extra_body)
        op = ctx.spec.operations["chatbot"]
        return WireRequest(method=op.method, path=expand_path(op.path, model=req.model), body=body)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        try:
            resp = structure(data, wire.NLPCloudChatbotResponse)
        except ValueError as exc:
            raise BadRequestError(
                f"{ctx.provider} answered with a body that is not a chatbot answer: {exc}",
                provider=ctx.provider,
                body=data,
            ) from exc
        return ChatResponse(
            id=None,
            provider=ctx.provider,
            model=ctx.model,
            message=Message(role="assistant", content=resp.response),
            finish_reason="stop",
            raw_finish_reason=None,
            usage=Usage(),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder:
        raise _unsupported(ctx, "streaming")

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        return detail_error_info(data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise UnsupportedFeatureError(f"{ctx.provider} has no token counting", provider=ctx.provider)

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise UnsupportedFeatureError(f"{ctx.provider} has no token counting", provider=ctx.provider)


DIALECT = NLPCloudDialect()
