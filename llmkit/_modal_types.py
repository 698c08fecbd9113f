"""Unified result types of the calls beyond chat: embed, rerank, transcribe, speak,
generate_image and count_tokens.

Each keeps the provider's untouched answer on `raw` (for what only one provider returns) and
names the provider and model that produced it, so results from a fallback chain or a router
say who answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

import attrs

from ._deadline import aiter_chunks, iter_chunks

__all__ = [
    "AsyncSpeechStream",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "GeneratedImage",
    "ImageResponse",
    "RerankResponse",
    "RerankResult",
    "SpeechResponse",
    "SpeechStream",
    "TokenCount",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionWord",
]


@attrs.define(kw_only=True, slots=True)
class EmbeddingUsage:
    """Tokens the provider billed; None when it did not say (Gemini reports none)."""

    input_tokens: int | None = None

    def __add__(self, other: EmbeddingUsage) -> EmbeddingUsage:
        if self.input_tokens is None and other.input_tokens is None:
            return EmbeddingUsage()
        return EmbeddingUsage(input_tokens=(self.input_tokens or 0) + (other.input_tokens or 0))


@attrs.define(kw_only=True, slots=True)
class EmbeddingResponse:
    """One vector per input, in input order, however many requests it took."""

    vectors: list[list[float]]
    usage: EmbeddingUsage
    model: str
    provider: str
    cost_usd: float | None = None
    raw: list[Any] = attrs.field(factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.vectors)


@attrs.define(kw_only=True, slots=True)
class RerankResult:
    """One document's relevance: `index` into the documents given, `document` if returned."""

    index: int
    score: float
    document: str | None = None


@attrs.define(kw_only=True, slots=True)
class RerankResponse:
    """Results sorted by score, best first (ties keep the original order)."""

    results: list[RerankResult]
    model: str
    provider: str
    input_tokens: int | None = None
    cost_usd: float | None = None  # from `input_tokens` at the catalog's price, when both are known
    raw: Any = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True, slots=True)
class TranscriptionWord:
    """A word with its start and end in seconds, and its speaker where diarization ran."""

    text: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None
    channel: int | None = None  # the audio channel, in a multichannel transcription


@attrs.define(kw_only=True, slots=True)
class TranscriptionSegment:
    """A stretch of speech (a segment, an utterance or a paragraph, as the provider cuts it)."""

    text: str
    start: float
    end: float
    speaker: str | None = None
    channel: int | None = None  # the audio channel, in a multichannel transcription


@attrs.define(kw_only=True, slots=True)
class Transcription:
    """Text of an audio file, with segments and words where the provider gave them.

    A multichannel answer (Deepgram `multichannel=true`) has one entry per audio channel in
    `channels`, each a Transcription of that channel alone; then `text` is the channels' texts
    one per line, and `words` and `segments` hold every channel's, tagged with `channel`.
    """

    text: str
    model: str
    provider: str
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] = attrs.field(factory=list)
    words: list[TranscriptionWord] = attrs.field(factory=list)
    raw: Any = attrs.field(default=None, repr=False)
    channels: list[Transcription] = attrs.field(factory=list, repr=False)


@attrs.define(kw_only=True, slots=True)
class SpeechResponse:
    """Synthesised audio: the bytes and their media type (e.g. `audio/mpeg`)."""

    audio: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    content_type: str
    model: str
    provider: str
    request_id: str | None = None

    def save(self, path: str) -> None:
        """Write the audio to a file."""
        with open(path, "wb") as f:
            f.write(self.audio)


class SpeechStream:
    """Audio chunks as the provider sends them; use in a `with` block, or iterate to the end.

    The connection closes when iteration ends, on `close()`, or when the `with` block exits. A
    body that breaks mid-read raises `StreamError` and ends the call as failed (its `on_error`
    hook, no usage booked), never as a short success.
    """

    def __init__(
        self,
        opener: AbstractContextManager[Any],
        content_type: Callable[[Any], str],
        model: str,
        provider: str,
    ) -> None:
        self._opener = opener
        self._response: Any = opener.__enter__()
        self.content_type: str = content_type(self._response)
        self.model = model
        self.provider = provider
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in iter_chunks(self._response, self.provider):
                if chunk:
                    yield chunk
        except GeneratorExit:  # the reader stopped early: the call still happened
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self.close()

    def _fail(self, exc: BaseException) -> None:
        """End the call with this error: the opener's call books it as failed."""
        if not self._closed:
            self._closed = True
            self._opener.__exit__(type(exc), exc, exc.__traceback__)

    def read(self) -> bytes:
        """All the remaining audio, as one bytes object."""
        return b"".join(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._opener.__exit__(None, None, None)

    def __enter__(self) -> SpeechStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncSpeechStream:
    """The async twin of SpeechStream: `async for chunk in stream`, `async with`."""

    def __init__(
        self,
        opener: AbstractAsyncContextManager[Any],
        content_type: Callable[[Any], str],
        model: str,
        provider: str,
    ) -> None:
        self._opener = opener
        self._response: Any = None
        self._content_type = content_type
        self.content_type = ""
        self.model = model
        self.provider = provider
        self._closed = False

    async def _open(self) -> AsyncSpeechStream:
        self._response = await self._opener.__aenter__()
        self.content_type = self._content_type(self._response)
        return self

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in aiter_chunks(self._response, self.provider):
                if chunk:
                    yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            await self._fail(exc)
            raise
        finally:
            await self.aclose()

    async def _fail(self, exc: BaseException) -> None:
        if not self._closed:
            self._closed = True
            await self._opener.__aexit__(type(exc), exc, exc.__traceback__)

    async def read(self) -> bytes:
        return b"".join([c async for c in self])

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._opener.__aexit__(None, None, None)

    async def __aenter__(self) -> AsyncSpeechStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


@attrs.define(kw_only=True, slots=True)
class GeneratedImage:
    """One image: its bytes (when the provider sent them inline) or its URL, or both."""

    data: bytes | None = attrs.field(default=None, repr=lambda b: "None" if b is None else f"<{len(b)} bytes>")
    url: str | None = None
    media_type: str | None = None
    revised_prompt: str | None = None
    width: int | None = None
    height: int | None = None


@attrs.define(kw_only=True, slots=True)
class ImageResponse:
    """Images generated for one prompt."""

    images: list[GeneratedImage]
    model: str
    provider: str
    raw: Any = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True, slots=True, eq=False)
class TokenCount:
    """Input tokens of a prompt. `exact` is False when llmkit estimated the count locally.

    Compares equal to, and converts to, the plain int count.
    """

    count: int
    exact: bool
    model: str
    provider: str
    method: str = "provider"  # "provider" (its count endpoint), "tokenizer" or "estimate"

    def __int__(self) -> int:
        return self.count

    def __index__(self) -> int:
        return self.count

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TokenCount):
            return (self.count, self.exact, self.model, self.provider) == (
                other.count,
                other.exact,
                other.model,
                other.provider,
            )
        if isinstance(other, int) and not isinstance(other, bool):
            return self.count == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.count)
