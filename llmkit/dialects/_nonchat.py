"""The dialect of a provider with no chat endpoint (embeddings, rerank, audio, images).

The client needs a dialect for every provider: for these it maps error bodies and refuses
chat before any request. The modality adapters in `llmkit.modalities` do the rest.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from .._errors import UnsupportedFeatureError
from .._types import ChatRequest, ChatResponse
from ._base import CallContext, ErrorInfo, StreamDecoder, WireRequest

__all__ = ["NonChatDialect", "detail_error_info"]


def detail_error_info(data: Any) -> ErrorInfo:
    """FastAPI-style errors: `{"detail": "msg"}`, `{"detail": {"status", "message"}}` or a
    list of validation errors `{"detail": [{"loc", "msg", "type"}]}` (Voyage, Jina, fal,
    ElevenLabs)."""
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, str):
        return ErrorInfo(message=detail)
    if isinstance(detail, dict):
        message = detail.get("message") or detail.get("msg") or json.dumps(detail, ensure_ascii=False)
        status = detail.get("status")
        return ErrorInfo(message=str(message), code=str(status) if status is not None else None)
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc") or [])
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", item)))
            else:
                parts.append(str(item))
        return ErrorInfo(message="; ".join(parts), type="validation_error")
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return ErrorInfo(message=data["message"])
    return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])


class NonChatDialect:
    """Errors mapped, chat refused: the dialect of a provider that has no chat."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _no_chat(self, ctx: CallContext) -> NoReturn:
        raise UnsupportedFeatureError(
            f"{ctx.provider}/{ctx.model} does not support chat: {ctx.spec.name} offers no chat endpoint",
            provider=ctx.provider,
            code="chat",
        )

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        self._no_chat(ctx)

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        self._no_chat(ctx)

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder:
        self._no_chat(ctx)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise UnsupportedFeatureError(f"{ctx.provider} has no token counting", provider=ctx.provider)

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise UnsupportedFeatureError(f"{ctx.provider} has no token counting", provider=ctx.provider)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        return detail_error_info(data)
