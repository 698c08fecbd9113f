"""Voyage AI embeddings and rerank.

Voyage takes `input_type` ("query" or "document", which prepends its own retrieval prompt)
and `output_dimension`; rerank answers under `data` and takes `top_k`. At most 1000 texts
per embeddings request.

A multimodal model (its catalog entry takes images: voyage-multimodal-3) is served on
`/multimodalembeddings` only, even for text: each input is a `content` list of
`{"type": "text", "text"}`, `{"type": "image_url", "image_url": "<url>"}` (a bare string) or
`{"type": "image_base64", "image_base64": "data:image/png;base64,..."}` pieces. Voyage refuses
a request that mixes image URLs and base64 images, and has no output dimension there, so
both raise before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ConfigError, LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._types import ImagePart
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import voyage as wire
from ._base import (
    EmbedOptions,
    ModalAdapter,
    ModalRequest,
    RerankOptions,
    json_request,
    merged,
    operation,
    unsupported,
)
from ._multimodal import EmbedItem, image_data_url
from .openai import decode_float32

__all__ = ["ADAPTER", "VoyageAdapter"]

_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


def _piece(part: str | ImagePart, ctx: CallContext) -> dict[str, str]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    data = image_data_url(part)
    if data is None:
        assert part.url is not None
        return {"type": "image_url", "image_url": part.url}
    media = data[5:].partition(";")[0]
    if media not in _IMAGE_TYPES:
        raise ConfigError(
            f"{ctx.provider}/{ctx.model} takes PNG, JPEG, WebP or GIF images, not {media or 'an untyped image'}",
            provider=ctx.provider,
        )
    return {"type": "image_base64", "image_base64": data}


class VoyageAdapter(ModalAdapter):
    max_embed_inputs = 1000

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        if ctx.model_info is not None and ctx.model_info.capabilities.vision:
            return self.embed_multimodal_request(list(inputs), opts, ctx)
        op = operation(ctx, "create_embedding", "embeddings")
        body: dict[str, Any] = {"input": list(inputs), "model": ctx.model}
        if opts.input_type is not None:
            body["input_type"] = opts.input_type
        if opts.dimensions is not None:
            body["output_dimension"] = opts.dimensions
        return json_request(op, merged(body, opts.extra_body))

    def embed_multimodal_request(
        self, inputs: Sequence[EmbedItem], opts: EmbedOptions, ctx: CallContext
    ) -> ModalRequest:
        op = operation(ctx, "create_multimodal_embedding", "multimodal embeddings")
        if opts.dimensions is not None:
            raise unsupported(ctx, "dimensions", "Voyage's multimodal embeddings have one fixed size")
        content = [
            [_piece(item, ctx)] if isinstance(item, str) else [_piece(p, ctx) for p in item.parts] for item in inputs
        ]
        kinds = {piece["type"] for pieces in content for piece in pieces}
        if {"image_url", "image_base64"} <= kinds:
            raise ConfigError(
                f"{ctx.provider} takes image URLs or base64 images in one request, not both: "
                "embed them in separate calls (or pass every image as bytes)",
                provider=ctx.provider,
            )
        body: dict[str, Any] = {"inputs": [{"content": pieces} for pieces in content], "model": ctx.model}
        if opts.input_type is not None:
            body["input_type"] = opts.input_type
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.VoyageEmbedResponse)
        items = sorted(resp.data, key=lambda d: d.index)
        if len(items) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(items)} embeddings for {count} inputs", provider=ctx.provider
            )
        vectors = [
            decode_float32(d.embedding, ctx.provider)
            if isinstance(d.embedding, str)
            else [float(x) for x in d.embedding]
            for d in items
        ]
        tokens = resp.usage.total_tokens if resp.usage is not None else None
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
        op = operation(ctx, "rerank", "rerank")
        body: dict[str, Any] = {"query": query, "documents": list(documents), "model": ctx.model}
        if opts.top_n is not None:
            body["top_k"] = opts.top_n
        if opts.return_documents:
            body["return_documents"] = True
        return json_request(op, merged(body, opts.extra_body))

    def parse_rerank(self, data: Any, ctx: CallContext, documents: Sequence[str]) -> RerankResponse:
        resp = structure(data, wire.VoyageRerankResponse)
        return RerankResponse(
            results=[RerankResult(index=r.index, score=float(r.relevance_score)) for r in resp.data],
            model=resp.model or ctx.model,
            provider=ctx.provider,
            input_tokens=resp.usage.total_tokens if resp.usage is not None else None,
            raw=data,
        )


ADAPTER = VoyageAdapter()
