"""Emulated OpenAI embeddings, audio and images, under the OpenAI prefix (`/openai/v1`).

The OpenAI handler owns the prefix and hands these paths here (`MEDIA_PATHS`); until it
does, `with_media(handler)` wraps it. As strict as OpenAI: unknown fields are rejected,
models must exist and do the job asked, audio uploads must be multipart with a known file
extension, the gpt-4o transcription models answer json only, tts-1 takes no instructions,
dall-e-3 makes one image, gpt-image-1 takes no response_format, ada-002 no dimensions.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._media_emu import (
    MultipartError,
    audio_for,
    catalog_models,
    image_bytes,
    input_tokens,
    parse_multipart,
    transcript_of,
    vector,
    vector_base64,
    words_with_times,
)
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["MEDIA_PATHS", "handle_media", "with_media"]

MEDIA_PATHS = ("/embeddings", "/audio/", "/images/")
MAX_EMBED_INPUTS = 2048
MAX_REQUEST_TOKENS = 300_000  # summed over a request's inputs (OpenAPI CreateEmbeddingRequest.input)
_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
_AUDIO_EXT = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")


class _ErrorMaker(Protocol):
    provider: str

    def error(self, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse: ...


def handle_media(req: EmuRequest, emu: Emulator, base: _ErrorMaker) -> EmuResponse:
    """Answer an embeddings, audio or images request (auth already checked by the caller)."""
    routes = {
        "/embeddings": _embeddings,
        "/audio/speech": _speech,
        "/audio/transcriptions": _transcriptions,
        "/images/generations": _images,
    }
    fn = routes.get(req.subpath)
    if fn is None or req.method != "POST":
        return base.error(404, f"Invalid URL ({req.method} {req.path})")
    return fn(req, base)


def _json_body(req: EmuRequest, base: _ErrorMaker, cls: type[Any]) -> Any:
    try:
        data = req.json()
    except ValueError:
        return base.error(400, "We could not parse the JSON body of your request.")
    if not isinstance(data, dict):
        return base.error(400, "The request body must be a JSON object.")
    try:
        return structure_strict(data, cls)
    except WireValidationError as exc:
        if exc.reason.startswith("unknown field"):
            field = exc.reason.split("'")[1]
            return base.error(400, f"Unrecognized request argument supplied: {field}", param=field)
        return base.error(400, f"Invalid request: {exc.reason} at {exc.path}")


def _unknown_model(base: _ErrorMaker, model: str) -> EmuResponse:
    return base.error(404, f"The model `{model}` does not exist or you do not have access to it.", param="model")


def _embeddings(req: EmuRequest, base: _ErrorMaker) -> EmuResponse:
    body = _json_body(req, base, wire.CreateEmbeddingRequest)
    if isinstance(body, EmuResponse):
        return body
    if body.model not in catalog_models(base.provider, "embeddings") or body.model not in _DIMS:
        return _unknown_model(base, body.model)
    inputs = [body.input] if isinstance(body.input, str) else list(body.input)
    if not inputs or not all(isinstance(t, str) for t in inputs):
        return base.error(400, "'$.input' is invalid: give a string or a non-empty list of strings.", param="input")
    if len(inputs) > MAX_EMBED_INPUTS:
        return base.error(400, f"'$.input' has {len(inputs)} items; at most {MAX_EMBED_INPUTS} are allowed.")
    if any(t == "" for t in inputs):
        return base.error(400, "'$.input' is invalid: empty strings are not allowed.", param="input")
    tokens = input_tokens(inputs)
    if tokens > MAX_REQUEST_TOKENS:
        return base.error(400, f"Requested {tokens} tokens, max {MAX_REQUEST_TOKENS} tokens per request", param="input")
    dims = _DIMS[body.model]
    if body.dimensions is not None:
        if body.model == "text-embedding-ada-002":
            return base.error(400, "This model does not support specifying dimensions.", param="dimensions")
        if not 1 <= body.dimensions <= dims:
            return base.error(400, f"dimensions must be between 1 and {dims}.", param="dimensions")
        dims = body.dimensions
    as_b64 = body.encoding_format == "base64"
    data = []
    for i, text in enumerate(inputs):
        v = vector(text, dims)
        data.append({"object": "embedding", "index": i, "embedding": vector_base64(v) if as_b64 else v})
    return EmuResponse.json(
        {
            "object": "list",
            "data": data,
            "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        headers={"x-request-id": "req_emu_embed"},
    )


def _speech(req: EmuRequest, base: _ErrorMaker) -> EmuResponse:
    body = _json_body(req, base, wire.CreateSpeechRequest)
    if isinstance(body, EmuResponse):
        return body
    if body.model not in catalog_models(base.provider, "speech"):
        return _unknown_model(base, body.model)
    if body.voice not in _VOICES:
        return base.error(400, f"Invalid value for 'voice': {body.voice!r}.", param="voice")
    if len(body.input) > 4096:
        return base.error(400, "'input' is longer than 4096 characters.", param="input")
    if body.instructions is not None and body.model in ("tts-1", "tts-1-hd"):
        return base.error(400, "instructions are not supported for tts-1 and tts-1-hd.", param="instructions")
    audio, media = audio_for(body.input, body.voice, body.response_format or "mp3")
    pieces = [audio[i : i + 64] for i in range(0, len(audio), 64)]
    return EmuResponse(status=200, headers={"content-type": media, "x-request-id": "req_emu_speech"}, chunks=pieces)


_FORM_FIELDS = {
    "model",
    "language",
    "prompt",
    "response_format",
    "temperature",
    "timestamp_granularities[]",
    "stream",
    "include[]",
    "chunking_strategy",
}


_TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


def _plain(text: str, fmt: str) -> str:
    """A transcript as text, SubRip or WebVTT (one cue spanning the audio)."""
    end = f"00:00:{len(text.split()) * 0.5:06.3f}"
    if fmt == "srt":
        return f"1\n00:00:00,000 --> {end.replace('.', ',')}\n{text}\n\n"
    if fmt == "vtt":
        return f"WEBVTT\n\n00:00:00.000 --> {end}\n{text}\n\n"
    return text + "\n"


def _transcriptions(req: EmuRequest, base: _ErrorMaker) -> EmuResponse:
    try:
        form = parse_multipart(req.headers.get("content-type", ""), req.body)
    except MultipartError as exc:
        return base.error(400, f"Could not parse multipart form: {exc}")
    unknown = sorted(set(form.fields) - _FORM_FIELDS)
    if unknown:
        return base.error(400, f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    upload = form.files.get("file")
    if upload is None:
        return base.error(400, "Missing required parameter: 'file'.", param="file")
    filename, _ctype, audio = upload
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in _AUDIO_EXT:
        return base.error(400, f"Invalid file format. Supported formats: {list(_AUDIO_EXT)}", param="file")
    model = form.one("model")
    if model is None:
        return base.error(400, "Missing required parameter: 'model'.", param="model")
    if model not in catalog_models(base.provider, "transcription"):
        return _unknown_model(base, model)
    fmt = form.one("response_format") or "json"
    if fmt not in _TRANSCRIPT_FORMATS:
        return base.error(400, f"Invalid value for 'response_format': {fmt!r}.", param="response_format")
    if fmt != "json" and model.startswith("gpt-4o"):
        # OpenAPI AudioResponseFormat: json is the only format of the gpt-4o transcription models.
        return base.error(
            400,
            f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' instead.",
            param="response_format",
        )
    granularities = form.fields.get("timestamp_granularities[]", [])
    if granularities and fmt != "verbose_json":
        return base.error(400, "timestamp_granularities requires response_format=verbose_json.")
    text = transcript_of(audio)
    if fmt in ("text", "srt", "vtt"):
        return EmuResponse(status=200, headers={"content-type": "text/plain"}, body=_plain(text, fmt).encode())
    out: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        timed = words_with_times(text)
        out = {"task": "transcribe", "language": form.one("language") or "english", "duration": len(timed) * 0.5}
        out["text"] = text
        if "segment" in granularities or not granularities:
            out["segments"] = [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": len(timed) * 0.5,
                    "text": " " + text,
                    "tokens": [],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.0,
                    "no_speech_prob": 0.01,
                }
            ]
        if "word" in granularities:
            out["words"] = [{"word": w, "start": s, "end": e} for w, s, e in timed]
    elif model.startswith("gpt-4o"):
        n = len(text.split())
        out["usage"] = {
            "type": "tokens",
            "input_tokens": len(audio) // 100 + 1,
            "output_tokens": n,
            "total_tokens": len(audio) // 100 + 1 + n,
        }
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_transcribe"})


def _images(req: EmuRequest, base: _ErrorMaker) -> EmuResponse:
    body = _json_body(req, base, wire.CreateImageRequest)
    if isinstance(body, EmuResponse):
        return body
    model = body.model or "dall-e-2"
    if model not in catalog_models(base.provider, "image_generation"):
        return _unknown_model(base, model)
    gpt_image = model.startswith("gpt-image")
    if gpt_image and body.response_format is not None:
        return base.error(400, "Unknown parameter: 'response_format'.", param="response_format")
    n = body.n or 1
    if model == "dall-e-3" and n != 1:
        return base.error(400, "You must provide n=1 for this model.", param="n")
    b64 = gpt_image or body.response_format == "b64_json"
    data = []
    for i in range(n):
        item: dict[str, Any] = (
            {"b64_json": base64.b64encode(image_bytes(body.prompt, i)).decode()}
            if b64
            else {"url": f"https://images.emulator.invalid/{model}/{i}.png"}
        )
        if model == "dall-e-3":
            item["revised_prompt"] = f"A detailed rendering of: {body.prompt}"
        data.append(item)
    out: dict[str, Any] = {"created": 1700000000, "data": data}
    if gpt_image:
        tokens = input_tokens([body.prompt])
        out.update(
            {
                "output_format": "png",
                "size": body.size or "1024x1024",
                "quality": body.quality or "medium",
                "usage": {"input_tokens": tokens, "output_tokens": 272 * n, "total_tokens": tokens + 272 * n},
            }
        )
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_images"})


class _WithMedia:
    """An OpenAI handler that serves MEDIA_PATHS here and everything else as before."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.prefix = inner.prefix

    def error(self, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse:
        resp: EmuResponse = self.inner.error(status, message, kind, param)
        return resp

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if req.subpath.startswith(MEDIA_PATHS):
            denied = self.inner._auth(req, emu)
            if denied is not None:
                return denied  # type: ignore[no-any-return]
            return handle_media(req, emu, self)
        resp: EmuResponse = self.inner.handle(req, emu)
        return resp


def with_media(handler: Any) -> Any:
    """`handler` (the OpenAI emulator) extended with embeddings, audio and images."""
    return handler if isinstance(handler, _WithMedia) else _WithMedia(handler)
