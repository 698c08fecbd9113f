"""ElevenLabs text-to-speech and Scribe speech-to-text.

The voice id goes in the path and the audio format in the `output_format` query parameter
(llmkit's short names map to ElevenLabs' own: mp3 -> mp3_44100_128; its full names pass
through). Speech-to-text is a multipart upload with `model_id`.
"""

from __future__ import annotations

from typing import Any

from .._modal_types import Transcription, TranscriptionWord
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import elevenlabs as wire
from ._base import (
    ModalAdapter,
    ModalRequest,
    SpeechOptions,
    TranscribeOptions,
    json_request,
    merged,
    operation,
    unsupported,
    upload_name,
)

__all__ = ["ADAPTER", "ElevenLabsAdapter", "output_format"]

_SHORT = {
    "mp3": "mp3_44100_128",
    "pcm": "pcm_24000",
    "opus": "opus_48000_128",
    "ulaw": "ulaw_8000",
    "alaw": "alaw_8000",
}
_PREFIXES = ("mp3_", "pcm_", "opus_", "ulaw_", "alaw_")


def output_format(fmt: str | None, ctx: CallContext) -> str | None:
    if fmt is None:
        return None
    if fmt in _SHORT:
        return _SHORT[fmt]
    if fmt.startswith(_PREFIXES):
        return fmt
    raise unsupported(ctx, f"audio format {fmt!r}", f"use one of {', '.join(_SHORT)} or a name like mp3_44100_192")


class ElevenLabsAdapter(ModalAdapter):
    def speech_request(self, text: str, opts: SpeechOptions, ctx: CallContext, *, stream: bool) -> ModalRequest:
        op = operation(ctx, "text_to_speech_stream" if stream else "text_to_speech", "speech")
        if not opts.voice:
            raise unsupported(
                ctx, "speech without a voice", "pass voice= a voice id (client.native('elevenlabs').list_voices())"
            )
        if opts.instructions is not None:
            raise unsupported(ctx, "speech instructions")
        body: dict[str, Any] = {"text": text, "model_id": ctx.model}
        if opts.speed is not None:
            body["voice_settings"] = {"speed": opts.speed}
        req = json_request(op, merged(body, opts.extra_body), voice_id=opts.voice)
        fmt = output_format(opts.format, ctx)
        if fmt is not None:
            req.wire.query["output_format"] = fmt
        req.wire.headers["Accept"] = "*/*"
        return req

    def transcribe_request(self, audio: bytes, opts: TranscribeOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "speech_to_text", "transcription")
        if opts.prompt:
            raise unsupported(ctx, "a transcription prompt")
        form: dict[str, Any] = {"model_id": ctx.model, "timestamps_granularity": "word" if opts.timestamps else "none"}
        if opts.language:
            form["language_code"] = opts.language
        for k, v in (opts.extra or {}).items():
            form[k] = ("true" if v else "false") if isinstance(v, bool) else v
        return ModalRequest(
            wire=WireRequest(method=op.method, path=op.path, query=dict(op.query)),
            data=form,
            files={"file": (upload_name(opts.filename, opts.media_type), audio, opts.media_type)},
        )

    def parse_transcription(self, data: Any, ctx: CallContext) -> Transcription:
        resp = structure(data, wire.SpeechToTextResponse)
        words = [
            TranscriptionWord(
                text=w.text,
                start=float(w.start),
                end=float(w.end),
                speaker=w.speaker_id,
            )
            for w in resp.words or []
            if w.type == "word" and w.start is not None and w.end is not None
        ]
        return Transcription(
            text=resp.text,
            model=ctx.model,
            provider=ctx.provider,
            language=resp.language_code,
            words=words,
            raw=data,
        )


ADAPTER = ElevenLabsAdapter()
