"""Cached answers: ChatResponse to JSON and back, and replaying one as a stream.

JSON (not pickle) because a shared cache is written by other processes: reading it must never
run code. A cached answer replays through the ordinary ChatStream / AsyncChatStream, so the
caller sees the same event types and the same `get_final_response()` as from the network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from ._events import (
    FinishEvent,
    ReasoningDelta,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageEvent,
)
from ._sse import SSEEvent
from ._streaming import AsyncChatStream, ChatStream
from ._types import (
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
)

__all__ = ["dump_response", "load_response", "replay_async_stream", "replay_stream", "response_events"]

_FORMAT = 1


def _bytes(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode("ascii")


def _unbytes(s: str | None) -> bytes | None:
    return None if s is None else base64.b64decode(s)


def _dump_part(p: ContentPart) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "text", "text": p.text, "cache_control": p.cache_control}
    if isinstance(p, ReasoningPart):
        return {"type": "reasoning", "text": p.text, "signature": p.signature, "redacted": p.redacted}
    if isinstance(p, ImagePart):
        return {"type": "image", "url": p.url, "data": _bytes(p.data), "media_type": p.media_type, "detail": p.detail}
    return {"type": "document", "url": p.url, "data": _bytes(p.data), "media_type": p.media_type}


def _load_part(d: dict[str, Any]) -> ContentPart:
    kind = d["type"]
    if kind == "text":
        return TextPart(text=d["text"], cache_control=d.get("cache_control"))
    if kind == "reasoning":
        return ReasoningPart(text=d["text"], signature=d.get("signature"), redacted=d.get("redacted"))
    if kind == "image":
        return ImagePart(url=d["url"], data=_unbytes(d["data"]), media_type=d["media_type"], detail=d["detail"])
    return DocumentPart(url=d["url"], data=_unbytes(d["data"]), media_type=d["media_type"])


def dump_response(resp: ChatResponse) -> bytes:
    """The answer as JSON bytes; `raw` is kept when it is JSON (it is the provider's body)."""
    m = resp.message
    data: dict[str, Any] = {
        "format": _FORMAT,
        "id": resp.id,
        "provider": resp.provider,
        "model": resp.model,
        "finish_reason": resp.finish_reason,
        "raw_finish_reason": resp.raw_finish_reason,
        "usage": {
            "input_tokens": resp.usage.input_tokens,
            "output_tokens": resp.usage.output_tokens,
            "cached_input_tokens": resp.usage.cached_input_tokens,
            "cache_write_tokens": resp.usage.cache_write_tokens,
            "reasoning_tokens": resp.usage.reasoning_tokens,
        },
        "cost_usd": resp.cost_usd,
        "message": {
            "role": m.role,
            "content": m.content if isinstance(m.content, str) else [_dump_part(p) for p in m.content],
            "tool_calls": [
                {
                    "id": c.id,
                    "name": c.name,
                    "arguments": c.arguments,
                    "raw_arguments": c.raw_arguments,
                    "provider_data": c.provider_data,
                }
                for c in m.tool_calls
            ],
        },
    }
    try:
        return json.dumps({**data, "raw": resp.raw}, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def load_response(blob: bytes) -> ChatResponse | None:
    """The cached answer, or None for an entry this version cannot read (treated as a miss)."""
    try:
        d = json.loads(blob)
        if d.get("format") != _FORMAT:
            return None
        m = d["message"]
        content = m["content"] if isinstance(m["content"], str) else [_load_part(p) for p in m["content"]]
        return ChatResponse(
            id=d["id"],
            provider=d["provider"],
            model=d["model"],
            message=Message(
                role=m["role"],
                content=content,
                tool_calls=[ToolCall(**c) for c in m["tool_calls"]],
            ),
            finish_reason=d["finish_reason"],
            raw_finish_reason=d["raw_finish_reason"],
            usage=Usage(**d["usage"]),
            cost_usd=d["cost_usd"],
            raw=d.get("raw"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def response_events(resp: ChatResponse) -> list[StreamEvent]:
    """The stream events that build up this answer, in the order a provider would send them."""
    out: list[StreamEvent] = []
    for p in resp.message.parts:
        if isinstance(p, ReasoningPart):
            out.append(ReasoningDelta(text=p.text, signature=p.signature, redacted=p.redacted))
        elif isinstance(p, TextPart):
            out.append(TextDelta(text=p.text))
    for i, c in enumerate(resp.message.tool_calls):
        out.append(ToolCallStart(index=i, id=c.id, name=c.name))
        out.append(ToolCallDelta(index=i, arguments=c.raw_arguments or json.dumps(c.arguments)))
        out.append(ToolCallEnd(index=i, tool_call=c))
    out.append(UsageEvent(usage=resp.usage))
    out.append(FinishEvent(finish_reason=resp.finish_reason, raw_finish_reason=resp.raw_finish_reason))
    return out


class _Acc(StreamAccumulator):
    """Hands back the cached answer itself, not a rebuilt copy."""

    def __init__(self, resp: ChatResponse) -> None:
        super().__init__(resp.provider, resp.model)
        self._resp = resp

    def response(self, raw: Any = None) -> ChatResponse:
        return self._resp


class _ReplayDecoder:
    """A StreamDecoder whose one input event releases every event of the cached answer."""

    def __init__(self, resp: ChatResponse) -> None:
        self.acc: StreamAccumulator = _Acc(resp)
        self._events = response_events(resp)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out, self._events = self._events, []
        return out

    def end(self) -> list[StreamEvent]:
        return []


_BODY = b"data: cached\n\n"


class _SyncBody(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield _BODY


class _AsyncBody(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield _BODY


def replay_stream(resp: ChatResponse) -> ChatStream:
    """A ChatStream that replays a cached answer, without a network connection."""

    @contextmanager
    def opener() -> Iterator[httpx.Response]:
        yield httpx.Response(200, stream=_SyncBody())

    s = ChatStream(opener(), _ReplayDecoder(resp), resp.provider)
    s._open()
    return s


def replay_async_stream(resp: ChatResponse) -> AsyncChatStream:
    """An AsyncChatStream that replays a cached answer."""

    @asynccontextmanager
    async def opener() -> AsyncIterator[httpx.Response]:
        yield httpx.Response(200, stream=_AsyncBody())

    return AsyncChatStream(opener(), _ReplayDecoder(resp), resp.provider)
