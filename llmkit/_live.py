"""Live speech-to-text over Deepgram's WebSocket listen API: `aclient.transcribe_stream`.

The protocol (wss://api.deepgram.com/v1/listen, options as query parameters, the key as
`Authorization: Token <key>`): the client sends audio as binary frames; Deepgram answers with
`Results` messages (interim ones while a stretch of speech is still being heard, then a final
one), and `UtteranceEnd` / `SpeechStarted` when asked for. Deepgram closes a connection that
receives nothing for about ten seconds, so while the caller's audio source is idle a
`{"type": "KeepAlive"}` text frame goes out every `keepalive_interval` seconds; when the audio
ends, `{"type": "CloseStream"}` asks Deepgram to flush its last results, send `Metadata` and
close. An `Error` message, a refused handshake or an error close code becomes a typed llmkit
error, never a silently short transcript.

`websockets` is an optional extra (`pip install llmkit[live]`), imported only when a live
stream starts. The method reaches the clients through `LiveMixin`. A stream is one call of the
client's orchestration (`llmkit._gate.acall`, kind "transcribe_stream"): the budget refuses it
before connecting, the handshake waits for the rate limiter and is retried like any request,
hooks and the span see it, and it is booked once (an unpriced request) when it ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import attrs
import httpx

from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectionError,
    LLMKitError,
    ServerError,
    StreamError,
    TimeoutError,
    UnsupportedFeatureError,
)
from ._modal_types import TranscriptionWord
from ._types import Usage

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._transport import AsyncProviderTransport
    from .modalities._plan import Resolved

__all__ = [
    "DEFAULT_KEEPALIVE_INTERVAL",
    "LiveMixin",
    "LiveTranscriptStream",
    "SpeechStartedEvent",
    "TranscriptEvent",
    "UtteranceEndEvent",
    "live_error",
]

# Deepgram closes a socket idle for ~10 s (NET-0001); its docs ask for a KeepAlive every 3-5 s.
DEFAULT_KEEPALIVE_INTERVAL = 4.0
_CHUNK = 8192  # how a whole `bytes` buffer is cut into frames
_END = object()


@attrs.define(kw_only=True, slots=True)
class TranscriptEvent:
    """A `Results` message: interim (`is_final` False, may still change) or final text for a
    stretch of audio. `speech_final` marks the end of an utterance (Deepgram's endpointing)."""

    text: str
    is_final: bool
    speech_final: bool = False
    start: float | None = None
    duration: float | None = None
    confidence: float | None = None
    words: list[TranscriptionWord] = attrs.field(factory=list)
    channel: int = 0
    raw: Any = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True, slots=True)
class UtteranceEndEvent:
    """Sent when asked (`utterance_end_ms`): a gap in speech after the last final word."""

    last_word_end: float | None = None
    text: str = ""
    is_final: bool = True
    raw: Any = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True, slots=True)
class SpeechStartedEvent:
    """Sent when asked (`vad_events=True`): voice activity began at `timestamp` seconds."""

    timestamp: float | None = None
    text: str = ""
    is_final: bool = False
    raw: Any = attrs.field(default=None, repr=False)


LiveEvent = TranscriptEvent | UtteranceEndEvent | SpeechStartedEvent

# Deepgram's error families (the code in an Error message or a close reason) -> llmkit error.
_FAMILIES: dict[str, type[LLMKitError]] = {"DATA": BadRequestError, "NET": TimeoutError, "AUTH": AuthenticationError}


def live_error(code: str | None, message: str, *, request_id: str | None = None, body: Any = None) -> LLMKitError:
    """The typed error for a Deepgram live error code (`DATA-0000`, `NET-0001`, ...)."""
    family = (code or "").split("-")[0].upper()
    cls = _FAMILIES.get(family, ServerError)
    return cls(message, provider="deepgram", request_id=request_id, body=body, code=code)


def _word(w: Mapping[str, Any]) -> TranscriptionWord:
    speaker = w.get("speaker")
    return TranscriptionWord(
        text=str(w.get("punctuated_word") or w.get("word") or ""),
        start=float(w.get("start") or 0.0),
        end=float(w.get("end") or 0.0),
        confidence=w.get("confidence"),
        speaker=None if speaker is None else str(speaker),
    )


def parse_message(data: Mapping[str, Any]) -> LiveEvent | None:
    """One server text message as a typed event; `Metadata` and unknown types give None."""
    kind = data.get("type")
    if kind == "Results":
        alts = (data.get("channel") or {}).get("alternatives") or [{}]
        alt = alts[0]
        index = data.get("channel_index") or [0]
        return TranscriptEvent(
            text=str(alt.get("transcript") or ""),
            is_final=bool(data.get("is_final")),
            speech_final=bool(data.get("speech_final")),
            start=data.get("start"),
            duration=data.get("duration"),
            confidence=alt.get("confidence"),
            words=[_word(w) for w in alt.get("words") or []],
            channel=int(index[0]),
            raw=data,
        )
    if kind == "UtteranceEnd":
        return UtteranceEndEvent(last_word_end=data.get("last_word_end"), raw=data)
    if kind == "SpeechStarted":
        return SpeechStartedEvent(timestamp=data.get("timestamp"), raw=data)
    return None


def _ws_url(base_url: str, model: str, options: Mapping[str, Any]) -> str:
    from .modalities.deepgram import query_value

    if base_url.startswith("https://"):
        root = "wss://" + base_url[len("https://") :]
    elif base_url.startswith("http://"):
        root = "ws://" + base_url[len("http://") :]
    else:
        raise ConfigError(f"deepgram base_url {base_url!r} is not an http(s) URL; live transcription needs one")
    pairs: list[tuple[str, str]] = [("model", model)]
    for k, v in options.items():
        q = query_value(v)
        pairs.extend((k, item) for item in q) if isinstance(q, list) else pairs.append((k, q))
    return f"{root.rstrip('/')}/v1/listen?{urlencode(pairs)}"


async def _aiter_chunks(chunks: AsyncIterable[bytes] | Iterable[bytes] | bytes) -> AsyncIterator[bytes]:
    if isinstance(chunks, (bytes, bytearray, memoryview)):
        data = bytes(chunks)
        for i in range(0, len(data), _CHUNK):
            yield data[i : i + _CHUNK]
    elif isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


class LiveTranscriptStream:
    """The events of one live transcription, as an async iterator.

    It connects on first iteration and closes the socket when exhausted, on error or on
    `aclose()`. After the end, `metadata` holds Deepgram's closing `Metadata` message and
    `request_id` its request id.
    """

    def __init__(
        self,
        client: AsyncClient,
        resolved: Resolved,
        url: str,
        chunks: AsyncIterable[bytes] | Iterable[bytes] | bytes,
        *,
        keepalive_interval: float,
        open_timeout: float | None,
    ) -> None:
        self._client = client
        self._resolved = resolved
        self._url = url
        self._chunks = chunks
        self._keepalive = keepalive_interval
        self._open_timeout = open_timeout
        self._send_error: BaseException | None = None
        self.metadata: dict[str, Any] | None = None
        self.request_id: str | None = None
        self._gen = self._run()

    def __repr__(self) -> str:
        return f"LiveTranscriptStream(url={self._url.split('?')[0]!r})"

    def __aiter__(self) -> LiveTranscriptStream:
        return self

    async def __anext__(self) -> LiveEvent:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop early: the socket closes and the audio source is no longer read."""
        await self._gen.aclose()

    async def _connect(self, t: AsyncProviderTransport) -> Any:
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
        except ImportError:
            raise ConfigError("live transcription needs the `websockets` package: pip install 'llmkit[live]'") from None
        headers, _ = t.credentials()
        extra = {k: v for k, v in t.base_headers.items() if k.lower() not in ("user-agent", "accept")}
        try:
            return await connect(
                self._url,
                additional_headers={**extra, **headers},
                user_agent_header=t.base_headers.get("User-Agent"),
                open_timeout=self._open_timeout,
                max_size=2**24,
            )
        except InvalidStatus as exc:
            resp = exc.response
            hdrs = httpx.Headers(list(resp.headers.raw_items()))
            err = t.error_from_response(resp.status_code, hdrs, bytes(resp.body or b""))
            if err.request_id is None:
                err.request_id = hdrs.get("dg-request-id")
            raise err from None
        except (InvalidURI, InvalidHandshake) as exc:
            raise ConnectionError(f"deepgram live handshake failed: {exc}", provider=t.provider) from None
        except OSError as exc:  # TimeoutError included
            raise ConnectionError(
                f"could not open the deepgram live socket at {self._url.split('?')[0]}: {exc}", provider=t.provider
            ) from None

    async def _send(self, ws: Any) -> None:
        """Audio out as binary frames; KeepAlive while the source is idle; CloseStream at the end."""
        source = _aiter_chunks(self._chunks)
        pending: asyncio.Task[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(source, _END))
                done, _ = await asyncio.wait({pending}, timeout=self._keepalive)
                if not done:
                    await ws.send(json.dumps({"type": "KeepAlive"}))
                    continue
                chunk = pending.result()
                pending = None
                if chunk is _END:
                    break
                if chunk:  # an empty frame would mean "close" to older Deepgram servers
                    await ws.send(bytes(chunk))
            await ws.send(json.dumps({"type": "CloseStream"}))
        except asyncio.CancelledError:
            if pending is not None:
                pending.cancel()
            raise
        except Exception as exc:  # the caller's audio source failed: stop the stream with its error
            if pending is not None:
                pending.cancel()
            if not _is_closed(exc):
                self._send_error = exc
                await ws.close()

    async def _run(self) -> AsyncGenerator[LiveEvent, None]:
        """The stream as one call of the client's orchestration: the budget before connecting,
        the handshake through rate limits, hooks and retries, booked once when it ends."""
        from ._gate import acall

        r = self._resolved
        async with acall(
            self._client, r.provider, r.spec, "transcribe_stream", r.ctx.model, operation="listen", stream=True
        ) as c:
            ws = await c.connect(lambda: self._connect(c.transport))
            events = self._events(ws)
            try:
                async for event in events:
                    yield event
            except GeneratorExit:  # the caller stopped early: the audio sent so far was still used
                await events.aclose()
                await c.done(self.metadata, Usage())
                raise
            finally:
                await events.aclose()  # the socket closes here, whatever ended the stream
            await c.done(self.metadata, Usage())

    async def _events(self, ws: Any) -> AsyncGenerator[LiveEvent, None]:
        from websockets.exceptions import ConnectionClosedError

        self.request_id = ws.response.headers.get("dg-request-id") if ws.response is not None else None
        sender = asyncio.create_task(self._send(ws))
        try:
            try:
                async for message in ws:
                    if isinstance(message, bytes):
                        continue
                    event = self._message(message)
                    if event is not None:
                        yield event
            except ConnectionClosedError as exc:
                if self._send_error is None:
                    raise self._closed_error(exc.rcvd) from None
            if self._send_error is not None:
                raise self._send_error
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await ws.close()

    def _message(self, text: str) -> LiveEvent | None:
        try:
            data = json.loads(text)
        except ValueError:
            raise StreamError(f"deepgram sent a live message that is not JSON: {text[:200]!r}", provider="deepgram")
        if not isinstance(data, dict):
            raise StreamError(
                f"deepgram sent a live message that is not an object: {text[:200]!r}", provider="deepgram"
            )
        kind = data.get("type")
        if kind == "Error":
            message = str(data.get("description") or data.get("message") or "unknown error")
            code = data.get("variant") or data.get("message")
            raise live_error(str(code) if code else None, message, request_id=self.request_id, body=data)
        if kind == "Metadata":
            self.metadata = data
            self.request_id = data.get("request_id") or self.request_id
        return parse_message(data)

    def _closed_error(self, close: Any) -> LLMKitError:
        """An error close (1008 bad audio, 1011 timeout or server fault) as a typed error."""
        code = getattr(close, "code", None)
        reason = str(getattr(close, "reason", "") or "")
        label = reason.split()[0] if reason else None
        message = f"deepgram closed the live stream with code {code}" + (f": {reason}" if reason else "")
        if label and label.split("-")[0].upper() in _FAMILIES:
            return live_error(label, message, request_id=self.request_id)
        if code == 1008:
            return BadRequestError(message, provider="deepgram", request_id=self.request_id)
        return ServerError(message, provider="deepgram", request_id=self.request_id)


def _is_closed(exc: BaseException) -> bool:
    from websockets.exceptions import ConnectionClosed

    return isinstance(exc, ConnectionClosed)


class LiveMixin:
    """`transcribe_stream` for `llmkit.AsyncClient`: live speech-to-text over a WebSocket."""

    if TYPE_CHECKING:
        from ._spec import ProviderSpec
        from .dialects._base import CallContext

        def _spec(self, provider: str) -> ProviderSpec: ...

        def _context(self, provider: str, model_id: str, spec: ProviderSpec) -> CallContext: ...

        def _transport(self, provider: str, spec: ProviderSpec) -> AsyncProviderTransport: ...

        def _client_self(self) -> AsyncClient: ...

    def transcribe_stream(
        self,
        model: str,
        chunks: AsyncIterable[bytes] | Iterable[bytes] | bytes,
        *,
        keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL,
        open_timeout: float | None = 10.0,
        **options: Any,
    ) -> LiveTranscriptStream:
        """Transcribe audio as it is produced: `async for event in aclient.transcribe_stream(...)`.

        `chunks` is an async or sync iterable of audio byte chunks (or one bytes buffer); the
        options are Deepgram's live query parameters (`encoding="linear16"`, `sample_rate=16000`,
        `interim_results=True`, `diarize=True`, `utterance_end_ms=1000`, `vad_events=True`, ...).
        Events: `TranscriptEvent` (`.text`, `.is_final`, `.words` with speakers when diarized),
        and `UtteranceEndEvent` / `SpeechStartedEvent` when asked for.
        """
        from .modalities._plan import resolve

        if keepalive_interval <= 0:
            raise ConfigError(f"keepalive_interval must be a positive number of seconds, got {keepalive_interval!r}")
        r = resolve(self, model, "transcription")
        if r.spec.dialect != "deepgram":
            raise UnsupportedFeatureError(
                f"{r.provider} has no live transcription in llmkit; use deepgram/<model> "
                f"(or client.transcribe for a whole file)",
                provider=r.provider,
            )
        transport = self._transport(r.provider, r.spec)
        url = _ws_url(transport.settings.base_url, r.ctx.model, options)
        return LiveTranscriptStream(
            self._client_self(), r, url, chunks, keepalive_interval=keepalive_interval, open_timeout=open_timeout
        )
