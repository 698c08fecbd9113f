"""OpenAI's embeddings, audio and images endpoints (and every provider that copies them).

Serves any spec whose dialect is openai_chat and that declares the operations
`create_embedding`, `create_transcription`, `create_speech` or `create_image`: Groq's
Whisper, Together's images and the other OpenAI-compatible hosts reuse this adapter.
Embeddings are asked for as base64 (as openai-python does: a quarter of the bytes) and
decoded here; a server that ignores the option and sends floats is read as well.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import (
    EmbeddingResponse,
    EmbeddingUsage,
    GeneratedImage,
    ImageResponse,
    Transcription,
    TranscriptionSegment,
    TranscriptionWord,
)
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import openai_chat as wire
from ._base import (
    EmbedOptions,
    ImageOptions,
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

__all__ = ["ADAPTER", "OpenAIModalAdapter", "decode_float32"]

_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
_IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def decode_float32(b64: str, provider: str) -> list[float]:
    """A base64 string of little-endian float32 values, as floats."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LLMKitError(f"{provider} sent an embedding that is not valid base64", provider=provider) from exc
    if len(raw) % 4:
        raise LLMKitError(
            f"{provider} sent a base64 embedding of {len(raw)} bytes, not whole float32s", provider=provider
        )
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


class OpenAIModalAdapter(ModalAdapter):
    """Embeddings (2048 inputs per request), transcription, speech and image generation."""

    max_embed_inputs = 2048

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_embedding", "embeddings")
        if opts.input_type is not None:
            raise unsupported(ctx, "input_type", "OpenAI embeddings take no query/document hint; leave it out")
        body: dict[str, Any] = {"model": ctx.model, "input": list(inputs), "encoding_format": "base64"}
        if opts.dimensions is not None:
            body["dimensions"] = opts.dimensions
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.CreateEmbeddingResponse)
        items = sorted(resp.data, key=lambda d: d.index)
        if len(items) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(items)} embeddings for {count} inputs", provider=ctx.provider, body=data
            )
        vectors = [
            decode_float32(d.embedding, ctx.provider)
            if isinstance(d.embedding, str)
            else [float(x) for x in d.embedding]
            for d in items
        ]
        tokens = resp.usage.prompt_tokens if resp.usage is not None else None
        return EmbeddingResponse(
            vectors=vectors,
            usage=EmbeddingUsage(input_tokens=tokens),
            model=resp.model or ctx.model,
            provider=ctx.provider,
            raw=[data],
        )

    def transcribe_request(self, audio: bytes, opts: TranscribeOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_transcription", "transcription")
        form: dict[str, Any] = {"model": ctx.model}
        if opts.language:
            form["language"] = opts.language
        if opts.prompt:
            form["prompt"] = opts.prompt
        if opts.timestamps:
            # Only verbose_json carries segments and words (whisper-1; the gpt-4o models refuse it).
            form["response_format"] = "verbose_json"
            form["timestamp_granularities[]"] = ["word", "segment"]
        else:
            form["response_format"] = "json"
        form.update(opts.extra or {})
        name = upload_name(opts.filename, opts.media_type)
        return ModalRequest(
            wire=WireRequest(method=op.method, path=op.path, query=dict(op.query)),
            data=form,
            files={"file": (name, audio, opts.media_type)},
        )

    def parse_transcription(self, data: Any, ctx: CallContext) -> Transcription:
        resp = structure(data, wire.CreateTranscriptionResponse)
        return Transcription(
            text=resp.text,
            model=ctx.model,
            provider=ctx.provider,
            language=resp.language,
            duration=resp.duration,
            segments=[
                TranscriptionSegment(text=s.text.strip(), start=float(s.start), end=float(s.end))
                for s in resp.segments or []
            ],
            words=[TranscriptionWord(text=w.word, start=float(w.start), end=float(w.end)) for w in resp.words or []],
            raw=data,
        )

    def speech_request(self, text: str, opts: SpeechOptions, ctx: CallContext, *, stream: bool) -> ModalRequest:
        op = operation(ctx, "create_speech", "speech")
        if not opts.voice:
            raise unsupported(ctx, "speech without a voice", "pass voice=, e.g. 'alloy', 'coral' or 'nova'")
        body: dict[str, Any] = {"model": ctx.model, "input": text, "voice": opts.voice}
        if opts.format is not None:
            if opts.format not in _SPEECH_FORMATS:
                raise unsupported(ctx, f"audio format {opts.format!r}", f"use one of {', '.join(_SPEECH_FORMATS)}")
            body["response_format"] = opts.format
        if opts.speed is not None:
            body["speed"] = opts.speed
        if opts.instructions is not None:
            body["instructions"] = opts.instructions
        req = json_request(op, merged(body, opts.extra_body))
        req.wire.headers["Accept"] = "*/*"
        return req

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_image", "image generation")
        body: dict[str, Any] = {"model": ctx.model, "prompt": prompt}
        for key in ("n", "size", "quality", "response_format"):
            value = getattr(opts, key)
            if value is not None:
                body[key] = value
        return json_request(op, merged(body, opts.extra_body))

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        resp = structure(data, wire.ImagesResponse)
        media = _IMAGE_TYPES.get(resp.output_format or "png", "image/png")
        images = []
        for d in resp.data or []:
            raw = base64.b64decode(d.b64_json) if d.b64_json else None
            images.append(
                GeneratedImage(
                    data=raw, url=d.url, media_type=media if raw is not None else None, revised_prompt=d.revised_prompt
                )
            )
        return ImageResponse(images=images, model=ctx.model, provider=ctx.provider, raw=data)


ADAPTER = OpenAIModalAdapter()
