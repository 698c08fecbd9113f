"""The contract of a modality adapter, and the request shape it returns.

A modality adapter maps one provider family's embeddings, rerank, audio and image endpoints
to llmkit's unified results and back; like a chat dialect it does no I/O and never branches
on a provider id, only on the operations its spec declares. An adapter implements the calls
its family has; the base class answers the rest with UnsupportedFeatureError, which the
client raises before any request.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

import attrs
import httpx

from .._errors import ConfigError, UnsupportedFeatureError
from .._modal_types import (
    EmbeddingResponse,
    ImageResponse,
    RerankResponse,
    Transcription,
)
from .._spec import Operation
from .._transport import decode_json
from ..dialects._base import CallContext, WireRequest, expand_path

if TYPE_CHECKING:
    from ._multimodal import EmbedItem

__all__ = [
    "AudioInput",
    "EmbedOptions",
    "ImageOptions",
    "ModalAdapter",
    "ModalRequest",
    "RerankOptions",
    "SpeechOptions",
    "TranscribeOptions",
    "audio_bytes",
    "operation",
]

AudioInput = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
InputType = Literal["query", "document"]


@attrs.define(kw_only=True, slots=True)
class ModalRequest:
    """A request: JSON (`wire.body`), raw bytes (`content`) or multipart (`data` + `files`)."""

    wire: WireRequest
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    repeated_query: dict[str, list[str]] | None = None  # query parameters given more than once

    @property
    def is_json(self) -> bool:
        return self.content is None and self.files is None and self.data is None and not self.repeated_query


@attrs.define(kw_only=True, slots=True)
class EmbedOptions:
    input_type: InputType | None = None
    dimensions: int | None = None
    extra_body: Mapping[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class RerankOptions:
    top_n: int | None = None
    return_documents: bool = False
    extra_body: Mapping[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class TranscribeOptions:
    language: str | None = None
    prompt: str | None = None
    timestamps: bool = False
    filename: str = "audio"
    media_type: str = "application/octet-stream"
    extra: Mapping[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class SpeechOptions:
    voice: str | None = None
    format: str | None = None
    speed: float | None = None
    instructions: str | None = None
    extra_body: Mapping[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class ImageOptions:
    n: int | None = None
    size: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    quality: str | None = None
    extra_body: Mapping[str, Any] | None = None


def unsupported(ctx: CallContext, what: str, hint: str = "") -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{ctx.provider}/{ctx.model} does not support {what}{'; ' + hint if hint else ''}",
        provider=ctx.provider,
    )


def operation(ctx: CallContext, name: str, what: str) -> Operation:
    """The spec's operation `name`, or UnsupportedFeatureError naming the feature."""
    op = ctx.spec.operation(name)
    if op is None:
        raise unsupported(ctx, what, f"its spec declares no `{name}` operation")
    return op


def json_request(op: Operation, body: Any, **path: str) -> ModalRequest:
    return ModalRequest(
        wire=WireRequest(
            method=op.method, path=expand_path(op.path, **path), body=body, query=dict(op.query), operation=op.name
        )
    )


def merged(body: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The body with `extra_body` fields laid over it (provider-only options)."""
    if extra:
        body.update(extra)
    return body


class ModalAdapter:
    """Base of every modality adapter: each call unsupported until a family implements it.

    `max_embed_inputs` is the family's documented per-request limit on inputs; the client
    splits longer lists into that many per request and keeps the order.
    """

    max_embed_inputs = 96

    def embed_limit(self, ctx: CallContext) -> int:
        """Inputs per embeddings request for this model; families whose models differ
        (Bedrock's Titan takes one text, its Cohere models 96) answer per model."""
        return self.max_embed_inputs

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        raise unsupported(ctx, "embeddings")

    def embed_multimodal_request(
        self, inputs: Sequence[EmbedItem], opts: EmbedOptions, ctx: CallContext
    ) -> ModalRequest:
        """A request for inputs with images (see modalities/_multimodal); families without
        multimodal embeddings leave this unsupported."""
        raise unsupported(ctx, "image inputs to embeddings")

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        raise unsupported(ctx, "embeddings")

    def parse_embed_http(self, resp: httpx.Response, ctx: CallContext, count: int) -> EmbeddingResponse:
        """The embeddings of one response; a family whose usage travels in headers reads them here."""
        return self.parse_embed(decode_json(resp, ctx.provider), ctx, count)

    def rerank_request(
        self, query: str, documents: Sequence[str], opts: RerankOptions, ctx: CallContext
    ) -> ModalRequest:
        raise unsupported(ctx, "rerank")

    def parse_rerank(self, data: Any, ctx: CallContext, documents: Sequence[str]) -> RerankResponse:
        raise unsupported(ctx, "rerank")

    def transcribe_request(self, audio: bytes, opts: TranscribeOptions, ctx: CallContext) -> ModalRequest:
        raise unsupported(ctx, "transcription")

    def parse_transcription(self, data: Any, ctx: CallContext) -> Transcription:
        raise unsupported(ctx, "transcription")

    def parse_transcription_http(self, resp: httpx.Response, ctx: CallContext) -> Transcription:
        """The transcript of an HTTP answer: its JSON through `parse_transcription`, unless a
        family also answers plain text (OpenAI's text/srt/vtt formats) and reads it here."""
        return self.parse_transcription(decode_json(resp, ctx.provider), ctx)

    def speech_request(self, text: str, opts: SpeechOptions, ctx: CallContext, *, stream: bool) -> ModalRequest:
        raise unsupported(ctx, "speech")

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        raise unsupported(ctx, "image generation")

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        raise unsupported(ctx, "image generation")

    def parse_image_response(self, resp: httpx.Response, ctx: CallContext) -> ImageResponse:
        """The images of an HTTP answer: its JSON through `parse_image`, unless a family
        answers raw image bytes (Workers AI's SDXL models) and reads them here instead."""
        return self.parse_image(decode_json(resp, ctx.provider), ctx)


def audio_bytes(audio: AudioInput, filename: str | None, media_type: str | None) -> tuple[bytes, str, str]:
    """Read audio given as bytes, a path or a binary file; returns (bytes, filename, media type)."""
    name = filename
    if isinstance(audio, (bytes, bytearray, memoryview)):
        data = bytes(audio)
    elif isinstance(audio, (str, os.PathLike)):
        path = os.fspath(audio)
        if not os.path.isfile(path):
            raise ConfigError(f"audio file {path!r} does not exist; pass bytes, a path or an open binary file")
        with open(path, "rb") as f:
            data = f.read()
        name = name or os.path.basename(path)
    elif hasattr(audio, "read"):
        raw = audio.read()
        if not isinstance(raw, bytes):
            raise ConfigError("an audio file object must be opened in binary mode ('rb')")
        data = raw
        given = getattr(audio, "name", None)
        name = name or (os.path.basename(given) if isinstance(given, str) else None)
    else:
        raise ConfigError(f"audio must be bytes, a path or a binary file, not {type(audio).__name__}")
    if not data:
        raise ConfigError("the audio is empty")
    name = name or "audio"
    mt = media_type or mimetypes.guess_type(name)[0] or _sniff(data)
    return data, name, mt


def _sniff(data: bytes) -> str:
    """A media type from the first bytes, for audio given without a file name."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "audio/webm"
    return "application/octet-stream"


_EXT = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/webm": ".webm",
}


def upload_name(name: str, media_type: str) -> str:
    """A file name with an extension: multipart endpoints (OpenAI) infer the format from it."""
    if os.path.splitext(name)[1]:
        return name
    return name + _EXT.get(media_type, "")
