"""Emulated embeddings, rerank, images and transcription of the OpenAI-compatible hosts (and
Azure's embedding deployments).

Which endpoints a host has, and the exact request schema each takes, come from its spec: an
operation's `request` names the wire model the body is checked against, strictly (a field
the schema lacks is refused with the host's own status and error shape, as Mistral's 422
`extra_forbidden`). Models must be catalogued for the job; vectors, relevance, images and
transcripts are the deterministic ones of `_media_emu`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from .._spec import ProviderSpec
from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._compat_profiles import Profile
from ._media_emu import (
    FormData,
    MultipartError,
    catalog_models,
    image_bytes,
    input_tokens,
    parse_multipart,
    relevance,
    transcript_of,
    vector,
    vector_base64,
    words_with_times,
)
from ._server import EmuRequest, EmuResponse

__all__ = ["DEFAULT_DIMS", "MAX_EMBED_INPUTS", "MODEL_DIMS", "ErrorFn", "embeddings", "handle_media"]

ErrorFn = Callable[[int, str, str | None], EmuResponse]  # (status, message, param)

DEFAULT_DIMS = 1024  # an any-model server's vectors for a model this table does not know
MAX_EMBED_INPUTS = 2048  # OpenAI's documented bound; the others document none (recalled)
# Native vector sizes (model cards, recalled); the emulator needs one per embedding model.
MODEL_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "mistral-embed": 1024,
    "codestral-embed": 1536,
    "codestral-embed-2505": 1536,
    "BAAI/bge-large-en-v1.5": 1024,
    "BAAI/bge-base-en-v1.5": 768,
    "WhereIsAI/UAE-Large-V1": 1024,
    "togethercomputer/m2-bert-80M-8k-retrieval": 768,
    "nomic-ai/nomic-embed-text-v1.5": 768,
    "nomic-ai/nomic-embed-text-v1": 768,
    "thenlper/gte-large": 1024,
    "BAAI/bge-m3": 1024,
    "intfloat/e5-large-v2": 1024,
    "sentence-transformers/all-MiniLM-L6-v2": 384,
    "E5-Mistral-7B-Instruct": 4096,
}
# Models that can shorten their vectors, with the sizes they take (Matryoshka; recalled).
_RESIZABLE = {
    "text-embedding-3-small": (1, 1536),
    "text-embedding-3-large": (1, 3072),
    "codestral-embed": (1, 3072),
    "codestral-embed-2505": (1, 3072),
    "nomic-ai/nomic-embed-text-v1.5": (64, 768),
}
_AUDIO_EXT = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
_JPEG = b"\xff\xd8\xff\xe0"
_LANG = re.compile(r"^\w{2}$")


def handle_media(req: EmuRequest, spec: ProviderSpec, err: ErrorFn, prof: Profile) -> EmuResponse | None:
    """Answer `req` if it is one of the spec's media operations; None if it is not one."""
    if req.method != "POST":
        return None
    status = prof.unknown_status
    for name, op in spec.operations.items():
        if op.path != req.subpath or op.method != "POST":
            continue
        if name.startswith("create_embedding"):
            cls = _model_of(op.request or "CreateEmbeddingRequest")
            return embeddings(req, spec.id, cls, err, status, prof.embed_usage, any_model=prof.any_model)
        if name == "rerank":
            return _rerank(req, spec.id, err, status, prof.any_model)
        if name == "create_image":
            return _images(req, spec.id, _model_of(op.request or "SizedImageRequest"), err, status)
        if name == "create_transcription":
            return _transcriptions(req, spec.id, err, prof)
    return None


def _model_of(name: str) -> type[Any]:
    cls: type[Any] = getattr(wire, name)
    return cls


def _body(req: EmuRequest, cls: type[Any], err: ErrorFn, unknown_status: int) -> Any:
    """The JSON body as `cls`, strictly: what the host's schema lacks is refused."""
    try:
        data = req.json()
    except ValueError:
        return err(400, "The request body is not valid JSON.", None)
    if not isinstance(data, dict):
        return err(400, "The request body must be a JSON object.", None)
    try:
        return structure_strict(data, cls)
    except WireValidationError as exc:
        if exc.reason.startswith("unknown field"):
            field = exc.reason.split("'")[1]
            text = "Extra inputs are not permitted" if unknown_status == 422 else "Unrecognized request argument"
            return err(unknown_status, f"{text}: {field}", field)
        status = unknown_status if unknown_status == 422 else 400
        return err(status, f"Invalid request: {exc.reason} at {exc.path}", None)


def _no_model(err: ErrorFn, model: str, job: str) -> EmuResponse:
    return err(404, f"The model `{model}` does not exist or cannot be used for {job}.", "model")


def embeddings(
    req: EmuRequest,
    provider: str,
    cls: type[Any],
    err: ErrorFn,
    unknown_status: int,
    usage: bool,
    *,
    model: str | None = None,
    any_model: bool = False,
) -> EmuResponse:
    """An OpenAI-shaped embeddings answer; `model` is the deployment when the URL names it.

    A server that runs whatever it was started with (`any_model`) embeds any model name, at
    its known size or else at `DEFAULT_DIMS`.
    """
    body = _body(req, cls, err, unknown_status)
    if isinstance(body, EmuResponse):
        return body
    name = model or body.model
    known = name in catalog_models(provider, "embeddings") and name in MODEL_DIMS
    if not (known or (any_model and name)):
        return _no_model(err, name, "embeddings")
    inputs = [body.input] if isinstance(body.input, str) else list(body.input)
    if not inputs or any(not isinstance(t, str) or t == "" for t in inputs):
        return err(400, "input must be a non-empty string or a non-empty list of non-empty strings.", "input")
    if len(inputs) > MAX_EMBED_INPUTS:
        return err(400, f"input has {len(inputs)} items; at most {MAX_EMBED_INPUTS} are allowed.", "input")
    dims = MODEL_DIMS.get(name, DEFAULT_DIMS)
    size, field = getattr(body, "dimensions", None), "dimensions"
    if size is None:
        size, field = getattr(body, "output_dimension", None), "output_dimension"
    if size is not None:
        low, high = _RESIZABLE.get(name, (0, 0))
        if not low <= size <= high:
            what = f"must be between {low} and {high}" if high else "is not supported by this model"
            return err(400, f"{field} {size} {what}.", field)
        dims = size
    dtype = getattr(body, "output_dtype", None) or "float"
    as_b64 = getattr(body, "encoding_format", None) == "base64"
    if dtype not in ("float", "int8", "uint8") or (as_b64 and dtype != "float"):
        return err(400, f"output_dtype {dtype!r} with encoding_format {body.encoding_format!r} is not emulated.", None)
    data = []
    for i, text in enumerate(inputs):
        v = vector(text, dims)
        item: Any = vector_base64(v) if as_b64 else v
        if dtype != "float":  # each value is k/256 for k in [-128, 127]: exact as int8
            item = [round(x * 256) + (128 if dtype == "uint8" else 0) for x in v]
        data.append({"object": "embedding", "embedding": item, "index": i})
    out: dict[str, Any] = {"object": "list", "data": data, "model": name}
    if usage:
        tokens = input_tokens(inputs)
        out["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}
        out["id"] = "emb-emu"
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_embed"})


def _rerank(req: EmuRequest, provider: str, err: ErrorFn, unknown_status: int, any_model: bool) -> EmuResponse:
    body = _body(req, wire.RerankRequest, err, unknown_status)
    if isinstance(body, EmuResponse):
        return body
    if not (any_model and body.model) and body.model not in catalog_models(provider, "rerank"):
        return _no_model(err, body.model, "rerank")
    docs = list(body.documents)
    if not docs:
        return err(400, "documents must not be empty.", "documents")
    texts = []
    for d in docs:
        if isinstance(d, dict):
            fields = body.rank_fields or sorted(d)
            texts.append(" ".join(str(d.get(f, "")) for f in fields))
        else:
            texts.append(d)
    order = sorted(range(len(texts)), key=lambda i: -relevance(body.query, texts[i]))
    top = order[: body.top_n] if body.top_n else order
    results = [
        {
            "index": i,
            "relevance_score": relevance(body.query, texts[i]),
            "document": {"text": texts[i] if body.return_documents else None},
        }
        for i in top
    ]
    tokens = input_tokens([body.query, *texts])
    usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
    out = {"object": "rerank", "id": "rerank-emu", "model": body.model, "results": results, "usage": usage}
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_rerank"})


def _images(req: EmuRequest, provider: str, cls: type[Any], err: ErrorFn, unknown_status: int) -> EmuResponse:
    body = _body(req, cls, err, unknown_status)
    if isinstance(body, EmuResponse):
        return body
    if body.model not in catalog_models(provider, "image_generation"):
        return _no_model(err, body.model, "image generation")
    if (body.width or 1024) % 8 or (body.height or 1024) % 8:
        return err(400, "width and height must be multiples of 8.", "width")
    jpeg = (body.output_format or "jpeg") == "jpeg"
    data = []
    for i in range(body.n or 1):
        if body.response_format == "base64":
            raw = image_bytes(body.prompt, i)
            if jpeg:
                raw = _JPEG + raw[8:]
            data.append({"index": i, "type": "b64_json", "b64_json": base64.b64encode(raw).decode()})
        else:
            ext = "jpg" if jpeg else "png"
            data.append({"index": i, "type": "url", "url": f"https://images.emulator.invalid/{body.model}/{i}.{ext}"})
    out = {"id": "img-emu", "model": body.model, "object": "list", "data": data}
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_images"})


def _transcriptions(req: EmuRequest, provider: str, err: ErrorFn, prof: Profile) -> EmuResponse:
    """Whisper over multipart: only the host's own form fields, a file with an audio
    extension, a transcription model; Groq adds `x_groq` to the answer."""
    allowed = prof.form_fields
    try:
        form = parse_multipart(req.headers.get("content-type", ""), req.body)
    except MultipartError as exc:
        return err(400, f"could not parse multipart form: {exc}", None)
    unknown = sorted(set(form.fields) - allowed)
    if unknown:
        status = prof.unknown_status
        return err(
            status,
            f"{'Extra inputs are not permitted' if status == 422 else 'unknown parameter'}: {unknown[0]}",
            unknown[0],
        )
    upload = form.files.get("file")
    if upload is None:
        return err(400, "either a file or a url must be provided", "file")
    filename, _ctype, audio = upload
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in _AUDIO_EXT:
        return err(400, f"file must be one of the following types: {list(_AUDIO_EXT)}", "file")
    model = form.one("model")
    if model is None:
        return err(400, "model is required", "model")
    if model not in catalog_models(provider, "transcription"):
        return _no_model(err, model, "transcription")
    if "response_format" not in allowed:
        return _segment_transcription(form, model, audio, err, prof.unknown_status)
    fmt = form.one("response_format") or "json"
    if fmt not in prof.transcript_formats:
        allowed_formats = ", ".join(prof.transcript_formats)
        return err(400, f"response_format must be one of {allowed_formats}, got {fmt!r}", "response_format")
    granularities = form.fields.get("timestamp_granularities[]", [])
    if granularities and fmt != "verbose_json":
        return err(400, "timestamp_granularities requires response_format=verbose_json", "timestamp_granularities")
    if any(g not in ("word", "segment") for g in granularities):
        return err(400, "timestamp_granularities must be word or segment", "timestamp_granularities")
    text = transcript_of(audio)
    if fmt == "text":
        return EmuResponse(status=200, headers={"content-type": "text/plain"}, body=text.encode())
    out: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        timed = words_with_times(text)
        out = {"task": "transcribe", "language": form.one("language") or "English", "duration": len(timed) * 0.5}
        out["text"] = text
        if "segment" in granularities or not granularities:
            out["segments"] = [
                {"id": 0, "seek": 0, "start": 0.0, "end": len(timed) * 0.5, "text": " " + text, "tokens": []}
            ]
        if "word" in granularities:
            out["words"] = [{"word": w, "start": s, "end": e} for w, s, e in timed]
    if prof.x_groq:
        out["x_groq"] = {"id": "req_emu_transcribe"}
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_transcribe"})


def _segment_transcription(form: FormData, model: str, audio: bytes, err: ErrorFn, status: int) -> EmuResponse:
    """Mistral's answer: always JSON with the model, language, segments when asked, and usage."""
    language = form.one("language")
    if language is not None and not _LANG.match(language):
        return err(status, "String should match pattern '^\\w{2}$'", "language")
    granularities = form.fields.get("timestamp_granularities", [])
    if any(g not in ("segment", "word") for g in granularities):
        return err(status, "Input should be 'segment' or 'word'", "timestamp_granularities")
    text = transcript_of(audio)
    timed = words_with_times(text)
    segments = []
    if granularities:
        segments = [{"type": "transcription_segment", "text": text, "start": 0.0, "end": len(timed) * 0.5}]
    seconds = max(1, len(timed) // 2)
    usage = {"prompt_audio_seconds": seconds, "prompt_tokens": 4, "total_tokens": 4 + len(timed) + seconds * 13}
    usage["completion_tokens"] = len(timed)
    out = {"model": model, "text": text, "language": language, "segments": segments, "usage": usage}
    return EmuResponse.json(out, headers={"x-request-id": "req_emu_transcribe"})
