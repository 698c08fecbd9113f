"""Deepgram pre-recorded speech-to-text and Aura text-to-speech.

Listen takes the audio itself as the body (with its Content-Type) and every option as a
query parameter: booleans as `true`/`false`, repeatable ones (`keyterm`, `keywords`, `tag`)
once per value. Speak picks the voice by model id and the format by `encoding`/`container`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._modal_types import Transcription, TranscriptionSegment, TranscriptionWord
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import deepgram as wire
from ._base import ModalAdapter, ModalRequest, SpeechOptions, TranscribeOptions, json_request, operation, unsupported

__all__ = ["ADAPTER", "DeepgramAdapter", "query_value"]

# llmkit format -> Deepgram speak query (encoding, container)
_FORMATS: dict[str, dict[str, str]] = {
    "mp3": {"encoding": "mp3"},
    "wav": {"encoding": "linear16", "container": "wav"},
    "pcm": {"encoding": "linear16", "container": "none"},
    "opus": {"encoding": "opus"},
    "flac": {"encoding": "flac"},
    "aac": {"encoding": "aac"},
    "mulaw": {"encoding": "mulaw"},
    "alaw": {"encoding": "alaw"},
}


def query_value(value: Any) -> str | list[str]:
    """A Deepgram query value: booleans lower-case, lists repeated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [str(query_value(v)) for v in value]
    return str(value)


def _split(options: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for k, v in options.items():
        q = query_value(v)
        if isinstance(q, list):
            repeated[k] = q
        else:
            single[k] = q
    return single, repeated


class DeepgramAdapter(ModalAdapter):
    def transcribe_request(self, audio: bytes, opts: TranscribeOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "listen", "transcription")
        if opts.prompt:
            raise unsupported(
                ctx, "a transcription prompt", "boost words with options={'keyterm': [...]} (nova-3) instead"
            )
        params: dict[str, Any] = {"model": ctx.model}
        if opts.language:
            params["language"] = opts.language
        if opts.timestamps:
            params["utterances"] = True
        params.update(opts.extra or {})
        single, repeated = _split(params)
        req = WireRequest(method=op.method, path=op.path, query={**dict(op.query), **single})
        req.headers["Content-Type"] = opts.media_type
        return ModalRequest(wire=req, content=audio, repeated_query=repeated or None)

    def parse_transcription(self, data: Any, ctx: CallContext) -> Transcription:
        resp = structure(data, wire.ListenResponse)
        channels = resp.results.channels or []
        alt = channels[0].alternatives[0] if channels and channels[0].alternatives else None
        words = [
            TranscriptionWord(
                text=w.punctuated_word or w.word,
                start=float(w.start),
                end=float(w.end),
                confidence=w.confidence,
                speaker=None if w.speaker is None else str(w.speaker),
            )
            for w in (alt.words or [] if alt is not None else [])
        ]
        segments = [
            TranscriptionSegment(
                text=u.transcript,
                start=float(u.start),
                end=float(u.end),
                speaker=None if u.speaker is None else str(u.speaker),
            )
            for u in resp.results.utterances or []
        ]
        return Transcription(
            text=alt.transcript if alt is not None else "",
            model=ctx.model,
            provider=ctx.provider,
            language=channels[0].detected_language if channels else None,
            duration=resp.metadata.duration,
            segments=segments,
            words=words,
            raw=data,
        )

    def speech_request(self, text: str, opts: SpeechOptions, ctx: CallContext, *, stream: bool) -> ModalRequest:
        op = operation(ctx, "speak", "speech")
        if opts.voice is not None:
            raise unsupported(
                ctx, "a separate voice", "the Deepgram voice is the model id, e.g. deepgram/aura-2-thalia-en"
            )
        if opts.instructions is not None:
            raise unsupported(ctx, "speech instructions")
        query: dict[str, str] = {"model": ctx.model}
        if opts.format is not None:
            fmt = _FORMATS.get(opts.format)
            if fmt is None:
                raise unsupported(ctx, f"audio format {opts.format!r}", f"use one of {', '.join(_FORMATS)}")
            query.update(fmt)
        if opts.speed is not None:
            query["speed"] = str(opts.speed)
        body: dict[str, Any] = {"text": text}
        body.update(opts.extra_body or {})
        req = json_request(op, body)
        req.wire.query.update(query)
        req.wire.headers["Accept"] = "*/*"
        return req


ADAPTER = DeepgramAdapter()
