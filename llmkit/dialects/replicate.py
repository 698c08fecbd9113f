"""Replicate's predictions dialect: a chat is a prediction of a language model.

Replicate has no chat schema: each model defines its input, and the language models llmkit
lists take `prompt`, `system_prompt`, `max_tokens`, `temperature`, `top_p`, `seed` and
comma-separated `stop_sequences`. So this adapter turns the conversation into that input, and a
finished prediction back into an answer (`output` is usually an ARRAY of string tokens to
join). Waiting, polling, cancelling and following `urls.stream` are I/O and live in the job
flow of overrides/replicate.py; what reaches `parse_chat` is the prediction in its final state.
The stream is SSE whose `output` events carry PLAIN TEXT (not JSON), ended by `event: done`.

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import APIError, StreamError
from .._events import FinishEvent, StreamAccumulator, StreamEvent, TextDelta
from .._http_errors import error_for_status
from .._sse import SSEEvent
from .._types import ChatRequest, ChatResponse, Message, Usage
from .._wire import structure
from ..generated.wire import replicate as wire
from ._base import CallContext, ErrorInfo, WireRequest, encode_path_segment

__all__ = ["DIALECT", "ReplicateDialect", "build_input", "prediction_error"]

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})


def _transcript(messages: list[Message]) -> str:
    turns = [m for m in messages if m.role not in ("system", "developer")]
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].text
    labels = {"user": "User", "assistant": "Assistant", "tool": "Tool"}
    lines = [f"{labels[m.role]}: {m.text}" for m in turns]
    return "\n".join([*lines, "Assistant:"])


def build_input(req: ChatRequest) -> dict[str, Any]:
    """The model input for a chat: prompt, system_prompt and the sampling fields."""
    system = "\n\n".join(m.text for m in req.messages if m.role in ("system", "developer"))
    out: dict[str, Any] = {"prompt": _transcript(req.messages)}
    if system:
        out["system_prompt"] = system
    if req.max_tokens is not None:
        out["max_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "seed"):
        v = getattr(req, name)
        if v is not None:
            out[name] = v
    if req.stop:
        out["stop_sequences"] = ",".join(req.stop)
    if req.provider_options:
        out.update(req.provider_options)
    return out


def _model_path(model: str) -> str:
    return "/".join(encode_path_segment(seg) for seg in model.split("/"))


def prediction_error(pred: wire.Prediction, provider: str, body: Any) -> APIError:
    """The typed error of a failed or canceled prediction."""
    err = pred.error
    if isinstance(err, dict):
        message = str(err.get("detail") or err.get("message") or json.dumps(err))
    else:
        message = str(err) if err else f"prediction {pred.id} ended {pred.status}"
    return error_for_status(
        None, ErrorInfo(message=message, code=pred.status), provider=provider, body=body, request_id=pred.id
    )


class ReplicateDialect:
    """Adapter for Replicate predictions of language models."""

    name = "replicate"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        body: dict[str, Any] = {"input": build_input(req)}
        name, sep, version = req.model.partition(":")
        if sep:
            op = ctx.spec.operations["create_prediction"]
            body["version"] = req.model if "/" in name else version
            path = op.path
        else:
            op = ctx.spec.operations["create_model_prediction"]
            path = op.path.replace("{+model}", _model_path(req.model))
        headers: dict[str, str] = {}
        if req.stream:
            body["stream"] = True
        else:
            headers["Prefer"] = f"wait={int(float(ctx.settings.get('wait') or 60))}"
        if req.extra_body:
            body.update(req.extra_body)
        return WireRequest(method=op.method, path=path, body=body, headers=headers, stream=req.stream)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        pred = structure(data, wire.Prediction)
        if pred.status != "succeeded":
            raise prediction_error(pred, ctx.provider, data)
        output = pred.output
        if isinstance(output, list):
            text = "".join(str(x) for x in output)
        else:
            text = "" if output is None else str(output)
        m = pred.metrics
        usage = Usage(
            input_tokens=(m.input_token_count or 0) if m else 0, output_tokens=(m.output_token_count or 0) if m else 0
        )
        return ChatResponse(
            id=pred.id,
            provider=ctx.provider,
            model=ctx.model,
            message=Message(role="assistant", content=text),
            finish_reason="stop",
            raw_finish_reason=pred.status,
            usage=usage,
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> _Decoder:
        return _Decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """RFC 7807 problem details: `{"title", "detail", "status"}` (detail preferred)."""
        if isinstance(data, dict) and (data.get("detail") or data.get("title")):
            return ErrorInfo(message=str(data.get("detail") or data.get("title")), type=_str(data.get("title")))
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("Replicate has no token counting endpoint")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("Replicate has no token counting endpoint")


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


class _Decoder:
    """Replicate's stream: `output` (plain text) -> TextDelta; `done` ends it; `error` raises."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.done = False

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self.done:
            return out
        if event.event == "output":
            if event.data:
                ev = TextDelta(text=event.data)
                self.acc.add(ev)
                out.append(ev)
        elif event.event == "error" or event.event == "raw":
            self._raise(event.data)
        elif event.event == "done":
            reason = _reason(event.data)
            if reason in ("canceled", "error"):
                raise StreamError(f"{self.ctx.provider} prediction stream ended: {reason}", provider=self.ctx.provider)
            self.done = True
            fin = FinishEvent(finish_reason="stop", raw_finish_reason="succeeded")
            self.acc.add(fin)
            out.append(fin)
        # `logs` events and others carry nothing for the answer.
        return out

    def _raise(self, data: str) -> None:
        try:
            payload: Any = json.loads(data)
        except ValueError:
            payload = {"detail": data}
        info = DIALECT.error_info(0, payload if isinstance(payload, dict) else {"detail": str(payload)})
        raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)

    def end(self) -> list[StreamEvent]:
        if not self.done:
            raise StreamError(
                f"{self.ctx.provider} stream ended before `event: done`: the answer may be cut short",
                provider=self.ctx.provider,
            )
        return []


def _reason(data: str) -> str | None:
    try:
        payload = json.loads(data) if data.strip() else {}
    except ValueError:
        return None
    return str(payload.get("reason")) if isinstance(payload, dict) and payload.get("reason") else None


DIALECT = ReplicateDialect()
