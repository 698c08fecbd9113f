"""The Writer dialect: OpenAI's chat-completions bodies on Writer's paths, with Writer's errors.

Writer's chat (`POST /v1/chat`) takes and returns OpenAI-shaped bodies, so this adapter is the
openai_chat adapter with three differences, each handled here:

* errors are `{"tpe": ..., "errors": [{"description", "key", "extras"}], "extras": {}}`;
* a stream may carry an `event: error` SSE event (its data is that error body), which must raise
  rather than be read as a chunk;
* cached prompt tokens are reported as `usage.prompt_token_details.cached_tokens` (singular
  "token"), which OpenAI's model does not know.
"""

from __future__ import annotations

import json
from typing import Any

from .._events import StreamEvent, UsageEvent
from .._http_errors import error_for_status
from .._sse import SSEEvent
from .._types import ChatResponse, Usage
from ._base import CallContext, ErrorInfo
from .openai_chat import OpenAIChatDialect, _Decoder

__all__ = ["DIALECT", "WriterDialect", "WriterStreamDecoder"]


def _cached(usage: Usage, raw: Any) -> None:
    details = raw.get("prompt_token_details") if isinstance(raw, dict) else None
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, int) and usage.cached_input_tokens == 0:
        usage.cached_input_tokens = cached


class WriterDialect(OpenAIChatDialect):
    """Adapter for Writer chat: openai_chat plus Writer's errors, error events and usage field."""

    name = "writer"

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = super().parse_chat(data, ctx)
        _cached(resp.usage, data.get("usage") if isinstance(data, dict) else None)
        return resp

    def stream_decoder(self, ctx: CallContext) -> WriterStreamDecoder:
        return WriterStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        errors = data.get("errors") if isinstance(data, dict) else None
        if not isinstance(errors, list) or not errors:
            return super().error_info(status, data)
        first = errors[0] if isinstance(errors[0], dict) else {}
        messages = [str(e.get("description")) for e in errors if isinstance(e, dict) and e.get("description")]
        tpe = data.get("tpe")
        return ErrorInfo(
            message="; ".join(messages) or json.dumps(data, ensure_ascii=False)[:500],
            code=None if first.get("key") is None else str(first["key"]),
            type=None if tpe is None else str(tpe),
        )


class WriterStreamDecoder(_Decoder):
    """openai_chat's chunk decoder, plus Writer's `error` events and cached-token usage."""

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if event.event == "error":
            try:
                payload: Any = json.loads(event.data)
            except ValueError:
                payload = {"errors": [{"description": event.data[:500]}]}
            info = DIALECT.error_info(0, payload)
            raise error_for_status(None, info, provider=self.ctx.provider, body=payload, request_id=None)
        out = super().feed(event)
        if "prompt_token_details" in event.data:
            payload = json.loads(event.data)
            for ev in out:
                if isinstance(ev, UsageEvent):
                    _cached(ev.usage, payload.get("usage"))
        return out


DIALECT = WriterDialect()
