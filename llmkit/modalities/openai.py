"""OpenAI's embeddings, audio, images and rerank endpoints (and every provider that copies them).

Serves any spec whose dialect is openai_chat and that declares the operations
`create_embedding`, `create_transcription`, `create_speech`, `create_image` or `rerank`:
Azure's deployments, Mistral's and Together's embeddings, Groq's Whisper, Together's rerank
and images reuse this adapter. What differs between them is the request schema each
operation names (see `_fields`): `dimensions` goes out under the size field that schema has,
and a field it lacks is an UnsupportedFeatureError before any request. Embeddings are asked
for as base64 where the schema offers it (as openai-python does: a quarter of the bytes) and
decoded here; a server that ignores the option and sends floats is read as well.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .._errors import ConfigError, LLMKitError
from .._modal_types import (
    EmbeddingResponse,
    EmbeddingUsage,
    GeneratedImage,
    ImageResponse,
    RerankResponse,
    RerankResult,
    Transcription,
    TranscriptionSegment,
    TranscriptionWord,
)
from .._spec import ModelOptions
from .._transport import decode_json
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import openai_chat as wire
from ._base import (
    EmbedOptions,
    ImageOptions,
    ModalAdapter,
    ModalRequest,
    RerankOptions,
    SpeechOptions,
    TranscribeOptions,
    json_request,
    merged,
    operation,
    unsupported,
    upload_name,
)
from ._fields import literals, model_class, request_fields, resolved_operation, spec_request
from ._http import content_type

__all__ = ["ADAPTER", "OpenAIModalAdapter", "decode_float32"]

_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
_IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_SIZE_FIELDS = ("dimensions", "output_dimension")  # OpenAI's name, then Mistral's
_WXH = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
_NO_OPTIONS = ModelOptions()


def _options(ctx: CallContext) -> ModelOptions:
    """The catalog's per-model narrowing of the request schema (none for unknown models)."""
    info = ctx.model_info
    return info.options if info is not None and info.options is not None else _NO_OPTIONS


def _refuse_format(ctx: CallContext, value: str, what: str) -> None:
    """UnsupportedFeatureError when the catalog says this model does not take `response_format=value`."""
    formats = _options(ctx).response_formats
    if formats is not None and value not in formats:
        takes = f"it takes {', '.join(formats)}" if formats else "it takes no response_format"
        raise unsupported(ctx, what, takes)


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
    """Embeddings (2048 inputs per request), rerank, transcription, speech and image generation."""

    max_embed_inputs = 2048

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op, query = resolved_operation(ctx, "create_embedding", "embeddings")
        if opts.input_type is not None:
            raise unsupported(ctx, "input_type", "these embeddings take no query/document hint; leave it out")
        fields = request_fields(ctx, op, "CreateEmbeddingRequest")
        body: dict[str, Any] = {"model": ctx.model, "input": list(inputs)}
        dtype = (opts.extra_body or {}).get("output_dtype", "float")
        if "base64" in literals(fields.get("encoding_format")) and dtype == "float":
            body["encoding_format"] = "base64"  # base64 float32 only: other dtypes come as lists
        if opts.dimensions is not None:
            if _options(ctx).dimensions is False:
                raise unsupported(ctx, "dimensions", "its vectors have one fixed size; leave dimensions out")
            key = next((k for k in _SIZE_FIELDS if k in fields), None)
            if key is None:
                raise unsupported(ctx, "dimensions", f"its embeddings request ({op.request}) has no size field")
            body[key] = opts.dimensions
        return spec_request(ctx, op, query, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.CreateEmbeddingResponse)
        items = sorted(resp.data, key=lambda d: d.index)
        if len(items) != count or [d.index for d in items] != list(range(count)):
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

    def rerank_request(
        self, query: str, documents: Sequence[str], opts: RerankOptions, ctx: CallContext
    ) -> ModalRequest:
        """POST the spec's `rerank` operation. Documents are not asked back: llmkit fills them
        in from the input when `return_documents` is set."""
        op, params = resolved_operation(ctx, "rerank", "rerank")
        body: dict[str, Any] = {"model": ctx.model, "query": query, "documents": list(documents)}
        if opts.top_n is not None:
            body["top_n"] = opts.top_n
        return spec_request(ctx, op, params, merged(body, opts.extra_body))

    def parse_rerank(self, data: Any, ctx: CallContext, documents: Sequence[str]) -> RerankResponse:
        resp = structure(data, wire.RerankResponse)
        return RerankResponse(
            results=[RerankResult(index=r.index, score=float(r.relevance_score)) for r in resp.results],
            model=ctx.model,
            provider=ctx.provider,
            input_tokens=resp.usage.prompt_tokens if resp.usage is not None else None,
            raw=data,
        )

    def transcribe_request(self, audio: bytes, opts: TranscribeOptions, ctx: CallContext) -> ModalRequest:
        """A multipart upload. OpenAI's form (and Groq's, Together's) picks the answer with
        `response_format`; a form without one (Mistral's) always answers JSON and takes its
        timestamps as `timestamp_granularities=segment`."""
        op = operation(ctx, "create_transcription", "transcription")
        fields = request_fields(ctx, op, "CreateTranscriptionRequest")
        form: dict[str, Any] = {"model": ctx.model}
        if opts.language:
            form["language"] = opts.language
        if opts.prompt:
            if "prompt" not in fields:
                raise unsupported(ctx, "a transcription prompt", f"its form ({op.request}) has no `prompt`")
            form["prompt"] = opts.prompt
        if "response_format" not in fields:
            if opts.timestamps:
                if "timestamp_granularities" not in fields:
                    raise unsupported(ctx, "timestamps", f"its form ({op.request}) has no timestamp_granularities")
                form["timestamp_granularities"] = "segment"
        elif opts.timestamps:
            # Only verbose_json carries segments and words (whisper-1; the gpt-4o models refuse it).
            _refuse_format(ctx, "verbose_json", "timestamps (response_format verbose_json)")
            form["response_format"] = "verbose_json"
            form["timestamp_granularities[]"] = ["word", "segment"]
        else:
            form["response_format"] = "json"
        form.update(opts.extra or {})
        fmt = form.get("response_format")
        if isinstance(fmt, str):
            _refuse_format(ctx, fmt, f"response_format {fmt!r}")
        name = upload_name(opts.filename, opts.media_type)
        return ModalRequest(
            wire=WireRequest(method=op.method, path=op.path, query=dict(op.query)),
            data=form,
            files={"file": (name, audio, opts.media_type)},
        )

    def parse_transcription_http(self, resp: httpx.Response, ctx: CallContext) -> Transcription:
        """JSON transcripts as `parse_transcription`; the text, srt and vtt formats answer
        text/plain: that text, whitespace-trimmed, is `text`, and the exact body is `raw`."""
        if content_type(resp) == "text/plain":
            body = resp.text
            return Transcription(text=body.strip(), model=ctx.model, provider=ctx.provider, raw=body)
        return self.parse_transcription(decode_json(resp, ctx.provider), ctx)

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
            if _options(ctx).instructions is False:
                raise unsupported(ctx, "instructions", "voice instructions need gpt-4o-mini-tts")
            body["instructions"] = opts.instructions
        req = json_request(op, merged(body, opts.extra_body))
        req.wire.headers["Accept"] = "*/*"
        return req

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        op, query = resolved_operation(ctx, "create_image", "image generation")
        fields = request_fields(ctx, op, "CreateImageRequest")
        body: dict[str, Any] = {"model": ctx.model, "prompt": prompt}
        for key in ("n", "quality"):
            value = getattr(opts, key)
            if value is not None:
                if key not in fields:
                    raise unsupported(ctx, f"image {key}", f"its images request ({op.request}) has no `{key}`")
                body[key] = value
        max_n = _options(ctx).max_n
        if opts.n is not None and max_n is not None and opts.n > max_n:
            raise unsupported(ctx, f"n={opts.n} images per request", f"it makes at most {max_n}")
        if opts.size is not None:
            body.update(_size(opts.size, fields, ctx, op.request))
        if opts.response_format is not None and _options(ctx).response_formats == ():
            # A model that takes no response_format (GPT image models) always answers base64.
            if opts.response_format != "b64_json":
                raise unsupported(ctx, f"response_format {opts.response_format!r}", "it always returns base64 images")
        elif opts.response_format is not None:
            _refuse_format(ctx, opts.response_format, f"response_format {opts.response_format!r}")
            allowed = literals(fields.get("response_format"))
            value = opts.response_format
            if value == "b64_json" and value not in allowed and "base64" in allowed:
                value = "base64"  # the same choice under the provider's own name
            if value not in allowed:
                raise unsupported(ctx, f"response_format {opts.response_format!r}", f"it takes {sorted(allowed)}")
            body["response_format"] = value
        return spec_request(ctx, op, query, merged(body, opts.extra_body))

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        op = ctx.spec.operation("create_image")
        resp = structure(data, model_class(ctx, (op.response if op else None) or "ImagesResponse"))
        declared = getattr(resp, "output_format", None)
        images = []
        for d in resp.data or []:
            raw = base64.b64decode(d.b64_json) if d.b64_json else None
            media = (_image_type(raw) or _IMAGE_TYPES.get(declared or "png", "image/png")) if raw is not None else None
            images.append(
                GeneratedImage(data=raw, url=d.url, media_type=media, revised_prompt=getattr(d, "revised_prompt", None))
            )
        return ImageResponse(images=images, model=ctx.model, provider=ctx.provider, raw=data)


def _size(size: str, fields: Mapping[str, Any], ctx: CallContext, schema: str | None) -> dict[str, Any]:
    """`size` as the provider's request has it: the string, or `width` and `height` in pixels."""
    if "size" in fields:
        return {"size": size}
    if "width" in fields and "height" in fields:
        m = _WXH.match(size)
        if m is None:
            raise ConfigError(f"size must be 'WIDTHxHEIGHT' in pixels (e.g. '1024x768'), got {size!r}")
        return {"width": int(m.group(1)), "height": int(m.group(2))}
    raise unsupported(ctx, "image size", f"its images request ({schema}) has no size field")


def _image_type(data: bytes) -> str | None:
    """The media type of image bytes from their signature (providers differ in what they say)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


ADAPTER = OpenAIModalAdapter()
