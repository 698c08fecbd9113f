"""Emulated Gemini embeddings (`:embedContent`, `:batchEmbedContents`) under the Gemini
prefix (`/gemini/v1beta`).

The Gemini handler owns the prefix and hands these verbs here (`EMBED_VERBS`); until it
does, `with_embeddings(handler)` wraps it. As strict as Gemini: each batch request must
repeat the URL's `models/{id}`, at most 100 requests per batch, known fields only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .._wire import WireValidationError, structure_strict
from ..generated.wire import gemini as wire
from ._media_emu import catalog_models, vector
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["EMBED_VERBS", "embedding_vector", "handle_embeddings", "with_embeddings"]

EMBED_VERBS = (":embedContent", ":batchEmbedContents")
MAX_BATCH = 100
_DIMS = {"gemini-embedding-001": 3072}


def embedding_vector(text: str, task: str | None, dims: int) -> list[float]:
    return vector(f"{task}:{text}" if task else text, dims)


def handle_embeddings(req: EmuRequest, emu: Emulator, base: Any) -> EmuResponse:
    """Answer an embedContent or batchEmbedContents call (auth already checked)."""
    name, _, verb = req.subpath[len("/models/") :].rpartition(":")
    mid = unquote(name)
    if req.method != "POST" or not req.subpath.startswith("/models/"):
        resp: EmuResponse = base.error(404, f"The requested URL {req.path} was not found on this server.")
        return resp
    if mid not in catalog_models("gemini", "embeddings") or mid not in _DIMS:
        resp = base.error(404, f"models/{mid} is not found for API version v1beta, or is not supported for {verb}.")
        return resp
    try:
        data = req.json()
        body = structure_strict(
            data, wire.BatchEmbedContentsRequest if verb == "batchEmbedContents" else wire.EmbedContentRequest
        )
    except (ValueError, WireValidationError) as exc:
        resp = base.error(400, f"Invalid JSON payload received. {exc}")
        return resp
    items = body.requests if isinstance(body, wire.BatchEmbedContentsRequest) else [body]
    if len(items) > MAX_BATCH:
        resp = base.error(
            400, f"* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests can be in one batch"
        )
        return resp
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if verb == "batchEmbedContents" and item.model != f"models/{mid}":
            resp = base.error(
                400,
                f"* BatchEmbedContentsRequest.requests[{i}].model: the model of each request must match "
                f"the batch model models/{mid}",
            )
            return resp
        dims = item.output_dimensionality or _DIMS[mid]
        if not 1 <= dims <= _DIMS[mid]:
            resp = base.error(400, f"outputDimensionality must be between 1 and {_DIMS[mid]}")
            return resp
        text = " ".join(p.text or "" for p in item.content.parts or [])
        out.append({"values": embedding_vector(text, item.task_type, dims)})
    if verb == "embedContent":
        return EmuResponse.json({"embedding": out[0]})
    return EmuResponse.json({"embeddings": out})


class _WithEmbeddings:
    """A Gemini handler that serves EMBED_VERBS here and everything else as before."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.prefix = inner.prefix

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        resp: EmuResponse = self.inner.error(status, message, kind)
        return resp

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if req.subpath.endswith(EMBED_VERBS):
            denied: EmuResponse | None = self.inner._auth(req, emu)
            return denied if denied is not None else handle_embeddings(req, emu, self)
        resp: EmuResponse = self.inner.handle(req, emu)
        return resp


def with_embeddings(handler: Any) -> Any:
    """`handler` (the Gemini emulator) extended with embeddings."""
    return handler if isinstance(handler, _WithEmbeddings) else _WithEmbeddings(handler)
