"""Emulated Jina AI embeddings and rerank under `/jina` (paths keep Jina's `/v1`).

Bearer key; validation errors are 422 `{"detail", "errors": [...]}`; `task` changes the
vectors; rerank returns documents (as `{"text"}`) unless `return_documents` is false, under
`results`, cut to `top_n`.

The multimodal models (those the catalog marks `vision`: jina-clip-v2, jina-embeddings-v4)
take `{"image": ...}` inputs, an http(s) URL or bare base64 (a data: prefix or bad base64 is
a 422), each counted as 1000 tokens here; a text-only model refuses an image with 422, and
jina-clip-v2 refuses any `task` but `retrieval.query`. `embedding_type` "base64" answers
little-endian float32 base64 strings.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import jina as wire
from ._media_emu import catalog_models, input_tokens, relevance, vector, vector_base64
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "JinaHandler", "embedding_vector"]

_DIMS = {"jina-embeddings-v3": 1024, "jina-embeddings-v4": 2048, "jina-clip-v2": 1024}
_IMAGE_TOKENS = 1000  # the emulator's own count; Jina's depends on the image's tiles


def _encoded(values: list[float], kind: str) -> list[float] | str:
    return vector_base64(values) if kind == "base64" else values


def _bad_image(value: str) -> str | None:
    if value.startswith(("http://", "https://")):
        return None
    if value.startswith("data:"):
        return "image must be a URL or bare base64, without a data: prefix"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "image is neither a URL nor valid base64"
    return None


def embedding_vector(text: str, task: str | None, dims: int) -> list[float]:
    return vector(f"{task}:{text}" if task else text, dims)


class JinaHandler:
    provider = "jina"
    prefix = "/jina"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        body: dict[str, Any] = {"detail": message}
        if status == 422:
            body["errors"] = [{"field": kind or "body", "input": None, "message": message, "type": "value_error"}]
        return EmuResponse.json(body, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (emu.require_key is not None and auth[7:] != emu.require_key):
            return self.error(401, "Invalid API key: please provide a valid Jina API key.")
        if req.method != "POST" or req.subpath not in ("/v1/embeddings", "/v1/rerank"):
            return self.error(404, "Not Found")
        try:
            data = req.json()
        except ValueError:
            return self.error(422, "Request body is not valid JSON.")
        cls = wire.JinaEmbedRequest if req.subpath == "/v1/embeddings" else wire.JinaRerankRequest
        try:
            body = structure_strict(data, cls)
        except WireValidationError as exc:
            return self.error(422, f"{exc.reason} at {exc.path}", exc.path)
        if isinstance(body, wire.JinaEmbedRequest):
            return self._embed(body)
        return self._rerank(body)

    def _embed(self, body: wire.JinaEmbedRequest) -> EmuResponse:
        if body.model not in catalog_models(self.provider, "embeddings"):
            return self.error(422, f"Unknown model {body.model!r}", "model")
        raw = [body.input] if not isinstance(body.input, list) else list(body.input)
        for x in raw:
            if not isinstance(x, str) and (x.text is None) == (x.image is None):
                return self.error(422, "each input object needs exactly one of `text` or `image`", "input")
        images = [x.image for x in raw if not isinstance(x, str) and x.image is not None]
        if images and body.model not in catalog_models(self.provider, "vision"):
            return self.error(422, f"Model {body.model!r} does not accept image input", "input")
        problem = next((p for p in map(_bad_image, images) if p is not None), None)
        if problem is not None:
            return self.error(422, problem, "input")
        if body.model == "jina-clip-v2" and body.task not in (None, "retrieval.query"):
            return self.error(422, "jina-clip-v2 only supports task 'retrieval.query'", "task")
        texts = [x if isinstance(x, str) else x.text for x in raw if isinstance(x, str) or x.text is not None]
        keys = [x if isinstance(x, str) else x.text if x.text is not None else f"\0image:{x.image}" for x in raw]
        kind = body.embedding_type or "float"
        if kind not in ("float", "base64"):
            return self.error(422, f"embedding_type {kind!r} is not emulated (float and base64 are)", "embedding_type")
        dims = body.dimensions or _DIMS[body.model]
        if not 1 <= dims <= _DIMS[body.model]:
            return self.error(422, f"dimensions must be between 1 and {_DIMS[body.model]}", "dimensions")
        data = [
            {"object": "embedding", "index": i, "embedding": _encoded(embedding_vector(t, body.task, dims), kind)}
            for i, t in enumerate(keys)
        ]
        tokens = (input_tokens(texts) if texts else 0) + _IMAGE_TOKENS * len(images)
        return EmuResponse.json(
            {
                "model": body.model,
                "object": "list",
                "usage": {"total_tokens": tokens, "prompt_tokens": tokens},
                "data": data,
            }
        )

    def _rerank(self, body: wire.JinaRerankRequest) -> EmuResponse:
        if body.model not in catalog_models(self.provider, "rerank"):
            return self.error(422, f"Unknown model {body.model!r}", "model")
        docs = [d if isinstance(d, str) else d.text for d in body.documents]
        scored = sorted(((relevance(body.query, d), i) for i, d in enumerate(docs)), key=lambda p: (-p[0], p[1]))
        if body.top_n is not None:
            scored = scored[: body.top_n]
        give_docs = body.return_documents is not False
        results = [
            {"index": i, "relevance_score": s, "document": {"text": docs[i]} if give_docs else None} for s, i in scored
        ]
        usage = {"total_tokens": input_tokens([body.query, *docs])}
        return EmuResponse.json({"model": body.model, "object": "list", "usage": usage, "results": results})


HANDLER = JinaHandler()
