"""Chat streams: iterate typed events, read `.text_stream`, or `get_final_response()`.

A stream is a context manager and closes its connection on exit, on error and when fully
consumed. A cut connection, an error event or a missing terminator raises; a stream never
ends quietly with a short answer, and is never retried once it has opened (events may already
have reached the caller). A stall or the call's total_timeout raises StreamTimeoutError (both
a StreamError and a TimeoutError). Whatever a decoder trips over becomes a StreamError: only
llmkit errors ever leave a stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

import httpx

from ._errors import LLMKitError, StreamError
from ._events import StreamEvent, TextDelta
from ._sse import SSEDecoder
from ._transport import aiter_chunks, iter_chunks
from ._types import ChatResponse
from .dialects._base import StreamDecoder

__all__ = ["AsyncChatStream", "ChatStream"]


class _Framer(Protocol):
    def feed(self, chunk: bytes) -> list[Any]: ...

    def flush(self) -> list[Any]: ...


def _framer(decoder: StreamDecoder, provider: str) -> _Framer:
    """The byte-level framing a dialect's stream uses: its decoder's `framing` attribute.

    "sse" (the default) feeds SSEEvents, "ndjson" feeds decoded JSON values (Ollama),
    "eventstream" feeds EventStreamMessages (AWS binary event-stream, Bedrock).
    """
    framing = getattr(decoder, "framing", "sse")
    if framing == "sse":
        return SSEDecoder(provider=provider)
    if framing == "ndjson":
        from ._ndjson import NDJSONDecoder

        return NDJSONDecoder(provider=provider)
    if framing == "eventstream":
        from ._eventstream import EventStreamDecoder

        return EventStreamDecoder(provider=provider)
    raise StreamError(f"unknown stream framing {framing!r} for {provider}", provider=provider)


def _decode(decoder: StreamDecoder, ev: Any, provider: str) -> list[StreamEvent]:
    """One framed event (None: the end) through the dialect decoder; any non-llmkit error is typed."""
    try:
        return decoder.feed(ev) if ev is not None else decoder.end()
    except LLMKitError:
        raise
    except Exception as exc:
        what = f"event {getattr(ev, 'event', type(ev).__name__)!r}" if ev is not None else "the end of the stream"
        raise StreamError(
            f"could not decode {what} from {provider}: {type(exc).__name__}: {exc}", provider=provider
        ) from exc


class ChatStream:
    """A streamed chat answer (sync). Iterate it for StreamEvents."""

    def __init__(
        self,
        opener: AbstractContextManager[httpx.Response],
        decoder: StreamDecoder,
        provider: str,
        on_done: Callable[[ChatResponse], None] | None = None,
    ) -> None:
        self._opener = opener
        self._decoder = decoder
        self.provider = provider
        self._on_done = on_done
        self._response: httpx.Response | None = None
        self._iter: Generator[StreamEvent, None, None] | None = None
        self._final: ChatResponse | None = None
        self._closed = False

    def _open(self) -> httpx.Response:
        if self._response is None:
            self._response = self._opener.__enter__()
        return self._response

    def _events(self) -> Generator[StreamEvent, None, None]:
        resp = self._open()
        sse = _framer(self._decoder, self.provider)
        p = self.provider
        try:
            for chunk in iter_chunks(resp, p):
                for ev in sse.feed(chunk):
                    yield from _decode(self._decoder, ev, p)
            for ev in sse.flush():
                yield from _decode(self._decoder, ev, p)
            yield from _decode(self._decoder, None, p)
            self._final = self._decoder.acc.response()
            if self._on_done is not None:
                self._on_done(self._final)
        finally:
            self.close()

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._iter is None:
            self._iter = self._events()
        return self._iter

    def __next__(self) -> StreamEvent:
        return next(iter(self))

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the answer text, piece by piece."""
        for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    def get_final_response(self) -> ChatResponse:
        """Read the rest of the stream; the same ChatResponse a non-streamed call returns."""
        for _ in self:
            pass
        if self._final is None:
            raise StreamError("the stream was closed before it finished", provider=self.provider)
        return self._final

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._response is not None:
            self._opener.__exit__(None, None, None)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._iter is not None:
            self._iter.close()
        self.close()


class AsyncChatStream:
    """A streamed chat answer (async). `async for` it for StreamEvents."""

    def __init__(
        self,
        opener: AbstractAsyncContextManager[httpx.Response],
        decoder: StreamDecoder,
        provider: str,
        on_done: Callable[[ChatResponse], None] | None = None,
    ) -> None:
        self._opener = opener
        self._decoder = decoder
        self.provider = provider
        self._on_done = on_done
        self._response: httpx.Response | None = None
        self._iter: AsyncGenerator[StreamEvent, None] | None = None
        self._final: ChatResponse | None = None
        self._closed = False

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        if self._response is None:
            self._response = await self._opener.__aenter__()
        resp = self._response
        sse = _framer(self._decoder, self.provider)
        p = self.provider
        try:
            async for chunk in aiter_chunks(resp, p):
                for ev in sse.feed(chunk):
                    for out in _decode(self._decoder, ev, p):
                        yield out
            for ev in sse.flush():
                for out in _decode(self._decoder, ev, p):
                    yield out
            for out in _decode(self._decoder, None, p):
                yield out
            self._final = self._decoder.acc.response()
            if self._on_done is not None:
                self._on_done(self._final)
        finally:
            await self.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._iter is None:
            self._iter = self._events()
        return self._iter

    async def __anext__(self) -> StreamEvent:
        return await self.__aiter__().__anext__()

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the answer text, piece by piece (`async for t in stream.text_stream`)."""
        return self._text()

    async def _text(self) -> AsyncIterator[str]:
        async for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    async def get_final_response(self) -> ChatResponse:
        async for _ in self:
            pass
        if self._final is None:
            raise StreamError("the stream was closed before it finished", provider=self.provider)
        return self._final

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._response is not None:
            await self._opener.__aexit__(None, None, None)

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._iter is not None:
            await self._iter.aclose()
        await self.aclose()
