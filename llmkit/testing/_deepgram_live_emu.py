"""Emulated Deepgram live listen: a real WebSocket server on 127.0.0.1 (a random port).

Like the real `wss://api.deepgram.com/v1/listen` it refuses a handshake without
`Authorization: Token <key>` (401) or with an unknown model or option (400), both with
Deepgram's JSON error body; "hears" UTF-8 text in the binary audio frames; answers each frame
with an interim `Results` (when `interim_results=true`); on `{"type": "Finalize"}` or
`{"type": "CloseStream"}` sends the final `Results` (`is_final`, `speech_final`), an
`UtteranceEnd` when `utterance_end_ms` was asked for, then on CloseStream the `Metadata`
message and a normal close. Audio that starts with `CORRUPT` is answered with an `Error`
message and a 1008 close, as Deepgram does for audio it cannot decode.

Every frame the client sent is kept in `frames` (`("binary", bytes)` or `("text", dict)`),
every handshake in `handshakes`, so tests assert exactly what went over the wire. Start it with
`async with DeepgramLiveEmulator() as live:` or, from sync code, `with live_emulator() as live:`
(a background thread); point Deepgram's `base_url` at `live.base_url`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from ._media_emu import catalog_models, transcript_of, words_with_times

__all__ = ["DeepgramLiveEmulator", "Handshake", "live_emulator"]

_REQUEST_ID = "6b1d1f5e-0000-4000-8000-00000000e0a1"
_OPTIONS = {
    "model", "language", "encoding", "sample_rate", "channels", "interim_results", "endpointing", "utterance_end_ms",
    "vad_events", "punctuate", "smart_format", "diarize", "multichannel", "numerals", "profanity_filter", "redact",
    "keyterm", "keywords", "search", "replace", "tag", "filler_words", "no_delay", "dictation", "mip_opt_out",
    "extra", "version", "callback", "callback_method",
}  # fmt: skip


@attrs.define(kw_only=True)
class Handshake:
    """One opening request as the server saw it."""

    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names


@attrs.define(kw_only=True)
class _Session:
    interim: bool
    diarize: bool
    utterance_end: bool
    heard: list[str] = attrs.field(factory=list)
    start: float = 0.0


class DeepgramLiveEmulator:
    """The live listen endpoint; `api_key` is the key it accepts."""

    def __init__(self, api_key: str = "emu-key") -> None:
        self.api_key = api_key
        self.frames: list[tuple[str, Any]] = []
        self.handshakes: list[Handshake] = []
        self.keepalive_seen = asyncio.Event()
        self._server: Any = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The http:// root to give as Deepgram's base_url (the client turns it into ws://)."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> DeepgramLiveEmulator:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _check(self, connection: Any, request: Any) -> Any:
        """Refuse a bad handshake with an HTTP error, as Deepgram does."""
        parts = urlsplit(request.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        self.handshakes.append(Handshake(path=parts.path, query=query, headers=headers))
        if headers.get("authorization") != f"Token {self.api_key}":
            return _reject(connection, 401, "INVALID_AUTH", "Invalid credentials.")
        if parts.path != "/v1/listen":
            return _reject(connection, 404, "NOT_FOUND", f"Not found: {parts.path}")
        unknown = sorted({k for k, _ in query} - _OPTIONS)
        if unknown:
            return _reject(connection, 400, "Bad Request", f"Unknown query parameter: {unknown[0]}")
        model = dict(query).get("model", "base")
        if model not in catalog_models("deepgram", "transcription"):
            return _reject(connection, 400, "INVALID_MODEL", f"No such model: {model}")
        return None

    async def _handle(self, ws: Any) -> None:
        query = dict(parse_qsl(urlsplit(ws.request.path).query))
        s = _Session(
            interim=query.get("interim_results") == "true",
            diarize=query.get("diarize") == "true",
            utterance_end="utterance_end_ms" in query,
        )
        async for message in ws:
            if isinstance(message, bytes):
                self.frames.append(("binary", message))
                if message.startswith(b"CORRUPT"):
                    error = {"type": "Error", "variant": "DATA-0000", "message": "DATA-0000",
                             "description": "Failed to decode the audio: the payload is not valid audio."}  # fmt: skip
                    await ws.send(json.dumps(error))
                    await ws.close(1008, "DATA-0000")
                    return
                s.heard.append(transcript_of(message))
                if s.interim:
                    await ws.send(json.dumps(_results(s, final=False)))
                continue
            data = json.loads(message)
            self.frames.append(("text", data))
            kind = data.get("type")
            if kind == "KeepAlive":
                self.keepalive_seen.set()
            elif kind in ("Finalize", "CloseStream"):
                if s.heard:
                    await ws.send(json.dumps(_results(s, final=True, from_finalize=kind == "Finalize")))
                    if s.utterance_end:
                        await ws.send(json.dumps({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": s.start}))
                    s.heard.clear()
                if kind == "CloseStream":
                    await ws.send(json.dumps(_metadata(s.start)))
                    await ws.close(1000)
                    return


def _reject(connection: Any, status: int, code: str, message: str) -> Any:
    from websockets.datastructures import Headers

    body = json.dumps({"err_code": code, "err_msg": message, "request_id": _REQUEST_ID}).encode()
    resp = connection.respond(status, "")
    resp.headers = Headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("dg-request-id", _REQUEST_ID)]
    )
    resp.body = body
    return resp


def _results(s: _Session, *, final: bool, from_finalize: bool = False) -> dict[str, Any]:
    text = " ".join(s.heard)
    words = []
    for w, a, b in words_with_times(text):
        item: dict[str, Any] = {"word": w.lower().strip(".,!?"), "start": s.start + a, "end": s.start + b,
                                "confidence": 0.98, "punctuated_word": w}  # fmt: skip
        if s.diarize:
            item["speaker"] = 0
        words.append(item)
    duration = len(words) * 0.5
    body = {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": duration,
        "start": s.start,
        "is_final": final,
        "speech_final": final,
        "from_finalize": from_finalize,
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.98, "words": words}]},
        "metadata": {"request_id": _REQUEST_ID, "model_info": {"name": "2-general-nova", "version": "2025-01-01",
                     "arch": "nova-3"}, "model_uuid": "30089e05-99d1-4376-b32e-c263170674af"},
    }  # fmt: skip
    if final:
        s.start += duration
    return body


def _metadata(duration: float) -> dict[str, Any]:
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": _REQUEST_ID,
        "sha256": "0" * 64,
        "created": "2026-01-01T00:00:00.000Z",
        "duration": duration,
        "channels": 1,
    }


@contextmanager
def live_emulator(api_key: str = "emu-key") -> Iterator[DeepgramLiveEmulator]:
    """The live emulator on a background thread's event loop, for sync code and docs."""
    loop = asyncio.new_event_loop()
    emu = DeepgramLiveEmulator(api_key)
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with emu:
            ready.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait()
    try:
        yield emu
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join()
        loop.close()
