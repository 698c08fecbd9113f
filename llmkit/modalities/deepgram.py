"""Deepgram pre-recorded speech-to-text and Aura text-to-speech.

Listen takes the audio itself as the body (with its Content-Type) and every option as a
query parameter: booleans as `true`/`false`, repeatable ones (`keyterm`, `keywords`, `tag`)
once per value. Speak picks the voice by model id and the format by `encoding`/`container`.

Deepgram's audio intelligence (`diarize`, `detect_language`, `utterances`, `smart_format` map
onto the Transcription's words, segments and language; `sentiment`, `summarize="v2"`,
`topics`, `intents` have no unified field) is read typed by `intelligence(transcription)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import UnsupportedFeatureError
from .._modal_types import Transcription, TranscriptionSegment, TranscriptionWord
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import deepgram as wire
from ._base import ModalAdapter, ModalRequest, SpeechOptions, TranscribeOptions, json_request, operation, unsupported

__all__ = [
    "ADAPTER",
    "DeepgramAdapter",
    "Intelligence",
    "Label",
    "LabelledSegment",
    "SentimentSegment",
    "intelligence",
    "query_value",
]

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


@attrs.define(kw_only=True, slots=True)
class SentimentSegment:
    """A stretch of text with one sentiment (`positive`, `neutral`, `negative`) and its score
    (-1..1); `start_word`/`end_word` index the transcription's words."""

    text: str
    sentiment: str | None
    score: float | None
    start_word: int | None = None
    end_word: int | None = None


@attrs.define(kw_only=True, slots=True)
class Label:
    """A topic or intent Deepgram found, with its confidence (0..1)."""

    name: str
    confidence: float | None = None


@attrs.define(kw_only=True, slots=True)
class LabelledSegment:
    """A stretch of text and the topics or intents found in it."""

    text: str
    labels: list[Label]
    start_word: int | None = None
    end_word: int | None = None


@attrs.define(kw_only=True, slots=True)
class Intelligence:
    """Deepgram's audio-intelligence results of one transcription; empty where not asked for."""

    summary: str | None = None
    sentiment: str | None = None  # the average over the whole audio
    sentiment_score: float | None = None
    sentiments: list[SentimentSegment] = attrs.field(factory=list)
    topics: list[LabelledSegment] = attrs.field(factory=list)
    intents: list[LabelledSegment] = attrs.field(factory=list)
    language: str | None = None
    language_confidence: float | None = None


def intelligence(transcription: Transcription) -> Intelligence:
    """The summary, sentiment, topics, intents and detected language of a Deepgram
    transcription (`client.transcribe("deepgram/nova-3", audio, options={"sentiment": True})`),
    read from its raw listen response."""
    if transcription.provider != "deepgram" or not isinstance(transcription.raw, dict):
        raise UnsupportedFeatureError(
            f"intelligence() reads Deepgram transcriptions, not {transcription.provider!r} ones "
            "(pass the result of client.transcribe('deepgram/...', ...))",
            provider=transcription.provider,
        )
    resp = structure(transcription.raw, wire.ListenResponse)
    res = resp.results
    channel = res.channels[0] if res.channels else None
    average = res.sentiments.average if res.sentiments is not None else None
    return Intelligence(
        summary=res.summary.short if res.summary is not None else None,
        sentiment=average.sentiment if average is not None else None,
        sentiment_score=average.sentiment_score if average is not None else None,
        sentiments=[
            SentimentSegment(
                text=seg.text,
                sentiment=seg.sentiment,
                score=seg.sentiment_score,
                start_word=seg.start_word,
                end_word=seg.end_word,
            )
            for seg in (res.sentiments.segments or [] if res.sentiments is not None else [])
        ],
        topics=[
            LabelledSegment(
                text=seg.text,
                labels=[Label(name=t.topic, confidence=t.confidence_score) for t in seg.topics or []],
                start_word=seg.start_word,
                end_word=seg.end_word,
            )
            for seg in (res.topics.segments or [] if res.topics is not None else [])
        ],
        intents=[
            LabelledSegment(
                text=seg.text,
                labels=[Label(name=i.intent, confidence=i.confidence_score) for i in seg.intents or []],
                start_word=seg.start_word,
                end_word=seg.end_word,
            )
            for seg in (res.intents.segments or [] if res.intents is not None else [])
        ],
        language=channel.detected_language if channel is not None else None,
        language_confidence=channel.language_confidence if channel is not None else None,
    )


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


def _channel(ch: Any, index: int | None, ctx: CallContext) -> Transcription:
    """One channel's best alternative; `index` tags its words when there are several channels."""
    alt = ch.alternatives[0] if ch.alternatives else None
    words = [
        TranscriptionWord(
            text=w.punctuated_word or w.word,
            start=float(w.start),
            end=float(w.end),
            confidence=w.confidence,
            speaker=None if w.speaker is None else str(w.speaker),
            channel=index,
        )
        for w in (alt.words or [] if alt is not None else [])
    ]
    return Transcription(
        text=alt.transcript if alt is not None else "",
        model=ctx.model,
        provider=ctx.provider,
        language=ch.detected_language,
        words=words,
    )


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
        """One channel as before; with several (`multichannel=true`) every channel is kept:
        each in `channels`, their texts one per line, their words and utterances tagged."""
        resp = structure(data, wire.ListenResponse)
        multi = len(resp.results.channels or []) > 1
        per = [_channel(ch, i if multi else None, ctx) for i, ch in enumerate(resp.results.channels or [])]
        segments = [
            TranscriptionSegment(
                text=u.transcript,
                start=float(u.start),
                end=float(u.end),
                speaker=None if u.speaker is None else str(u.speaker),
                channel=u.channel if multi else None,
            )
            for u in resp.results.utterances or []
        ]
        for i, c in enumerate(per):
            c.segments = [s for s in segments if s.channel == (i if multi else None)]
            c.duration = resp.metadata.duration
        first = per[0] if per else Transcription(text="", model=ctx.model, provider=ctx.provider)
        return Transcription(
            text="\n".join(c.text for c in per) if multi else first.text,
            model=ctx.model,
            provider=ctx.provider,
            language=first.language,
            duration=resp.metadata.duration,
            segments=segments,
            words=[w for c in per for w in c.words],
            raw=data,
            channels=per if multi else [],
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
