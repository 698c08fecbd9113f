"""Emulated Voyage AI embeddings and rerank under `/voyage/v1`, as strict as Voyage.

Bearer key, `{"detail": ...}` errors, at most 1000 texts or documents per request,
`output_dimension` only on the models that offer it, and `input_type` changing the vectors
(Voyage prepends a retrieval prompt), so tests can tell that it was sent.

`/multimodalembeddings` serves the multimodal models (catalog `vision`) and only them (and
they only there): each input's `content` pieces must carry the field their `type` names,
`image_base64` must be a base64 data: URL of a PNG, JPEG, WebP or GIF, and one request may
not mix image URLs with base64 images; an image over 16M pixels or a request over 320,000
tokens is a 400. Usage counts text tokens and image pixels (a PNG's
own size; 1024x1024 for a URL), 560 pixels to a token.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import voyage as wire
from ._media_emu import catalog_models, input_tokens, relevance, vector
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "VoyageHandler"]

MAX_ITEMS = 1000
_FLEXIBLE = {"voyage-3.5", "voyage-3.5-lite", "voyage-3-large", "voyage-code-3"}
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_URL_PIXELS = 1024 * 1024
_MAX_PIXELS = 16_000_000  # per image (wire-facts-more.md §11)
_MAX_REQUEST_TOKENS = 320_000  # per request, 560 pixels to a token


def _pixels(data_url: str) -> int | None:
    """The pixel count of a base64 image data: URL (a PNG's from its header), or None if invalid."""
    head, sep, payload = data_url[5:].partition(",")
    if not data_url.startswith("data:") or not sep or head not in [t + ";base64" for t in _IMAGE_TYPES]:
        return None
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        width, height = struct.unpack(">II", raw[16:24])
        return int(width * height)
    return _URL_PIXELS if raw else None


def embedding_vector(text: str, input_type: str | None, dims: int) -> list[float]:
    """What the emulator returns for one text: the input type is part of what is embedded."""
    return vector(f"{input_type}:{text}" if input_type else text, dims)


class VoyageHandler:
    provider = "voyage"
    prefix = "/voyage/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json({"detail": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (emu.require_key is not None and auth[7:] != emu.require_key):
            return self.error(401, "Provided API key is invalid.")
        if req.method != "POST" or req.subpath not in ("/embeddings", "/rerank", "/multimodalembeddings"):
            return self.error(404, "Not Found")
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "Request body is not valid JSON.")
        if req.subpath == "/multimodalembeddings":
            try:
                mm = structure_strict(data, wire.VoyageMultimodalRequest)
            except WireValidationError as exc:
                return self.error(400, f"Invalid request: {exc.reason} at {exc.path}")
            return self._multimodal(mm)
        cls = wire.VoyageEmbedRequest if req.subpath == "/embeddings" else wire.VoyageRerankRequest
        try:
            body = structure_strict(data, cls)
        except WireValidationError as exc:
            return self.error(400, f"Invalid request: {exc.reason} at {exc.path}")
        if isinstance(body, wire.VoyageEmbedRequest):
            return self._embed(body)
        return self._rerank(body)

    def _multimodal(self, body: wire.VoyageMultimodalRequest) -> EmuResponse:
        if body.model not in catalog_models(self.provider, "vision"):
            return self.error(400, f"Model {body.model} is not supported. Supported models are voyage-multimodal-3.")
        if not body.inputs or len(body.inputs) > MAX_ITEMS:
            return self.error(400, f"The batch size limit is {MAX_ITEMS}. Your batch size is {len(body.inputs)}.")
        kinds = {piece.type for item in body.inputs for piece in item.content}
        if {"image_url", "image_base64"} <= kinds:
            return self.error(400, "A request cannot mix image_url and image_base64 inputs.")
        text_tokens = pixels = 0
        data: list[dict[str, Any]] = []
        for i, item in enumerate(body.inputs):
            if not item.content:
                return self.error(400, f"inputs[{i}].content must not be empty.")
            keys = []
            for j, piece in enumerate(item.content):
                value = getattr(piece, piece.type)
                others = [f for f in ("text", "image_url", "image_base64") if f != piece.type and getattr(piece, f)]
                if not isinstance(value, str) or others:
                    return self.error(
                        400, f"inputs[{i}].content[{j}] of type {piece.type} needs exactly `{piece.type}`."
                    )
                if piece.type == "image_base64":
                    n = _pixels(value)
                    if n is None:
                        return self.error(
                            400,
                            f"inputs[{i}].content[{j}].image_base64 is not a base64 PNG, JPEG, WebP or GIF data URL.",
                        )
                    if n > _MAX_PIXELS:
                        return self.error(400, f"inputs[{i}].content[{j}]: an image may have at most 16M pixels.")
                    pixels += n
                elif piece.type == "image_url":
                    pixels += _URL_PIXELS
                else:
                    text_tokens += input_tokens([value])
                keys.append(f"{piece.type}:{value}")
            vec = embedding_vector("\n".join(keys), body.input_type, 1024)
            data.append({"object": "embedding", "embedding": vec, "index": i})
        total = text_tokens + pixels // 560
        if total > _MAX_REQUEST_TOKENS:
            return self.error(400, f"The request has {total} tokens; at most {_MAX_REQUEST_TOKENS} are allowed.")
        usage = {"text_tokens": text_tokens, "image_pixels": pixels, "total_tokens": total}
        return EmuResponse.json({"object": "list", "data": data, "model": body.model, "usage": usage})

    def _embed(self, body: wire.VoyageEmbedRequest) -> EmuResponse:
        if body.model in catalog_models(self.provider, "vision"):
            return self.error(400, f"Model {body.model} is only served on /multimodalembeddings.")
        if body.model not in catalog_models(self.provider, "embeddings"):
            return self.error(400, f"Model {body.model} is not supported. Supported models are voyage-3.5, ...")
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        if not texts or len(texts) > MAX_ITEMS:
            return self.error(400, f"The batch size limit is {MAX_ITEMS}. Your batch size is {len(texts)}.")
        dims = 512 if body.model.endswith("-lite") and body.model != "voyage-3.5-lite" else 1024
        if body.output_dimension is not None:
            if body.model not in _FLEXIBLE or body.output_dimension not in (256, 512, 1024, 2048):
                return self.error(400, f"output_dimension {body.output_dimension} is not supported for {body.model}.")
            dims = body.output_dimension
        data: list[dict[str, Any]] = [
            {"object": "embedding", "embedding": embedding_vector(t, body.input_type, dims), "index": i}
            for i, t in enumerate(texts)
        ]
        usage = {"total_tokens": input_tokens(texts)}
        return EmuResponse.json({"object": "list", "data": data, "model": body.model, "usage": usage})

    def _rerank(self, body: wire.VoyageRerankRequest) -> EmuResponse:
        if body.model not in catalog_models(self.provider, "rerank"):
            return self.error(400, f"Model {body.model} is not supported for rerank.")
        if not body.documents or len(body.documents) > MAX_ITEMS:
            return self.error(400, f"The number of documents must be between 1 and {MAX_ITEMS}.")
        scored = sorted(
            ((relevance(body.query, d), i) for i, d in enumerate(body.documents)), key=lambda p: (-p[0], p[1])
        )
        if body.top_k is not None:
            scored = scored[: body.top_k]
        data = []
        for score, i in scored:
            item: dict[str, Any] = {"relevance_score": score, "index": i}
            if body.return_documents:
                item["document"] = body.documents[i]
            data.append(item)
        usage = {"total_tokens": input_tokens([body.query, *body.documents])}
        return EmuResponse.json({"object": "list", "data": data, "model": body.model, "usage": usage})


HANDLER = VoyageHandler()
