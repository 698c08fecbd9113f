"""Voyage AI embeddings and rerank.

Voyage takes `input_type` ("query" or "document", which prepends its own retrieval prompt)
and `output_dimension`; rerank answers under `data` and takes `top_k`. At most 1000 texts
per embeddings request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import voyage as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, RerankOptions, json_request, merged, operation
from .openai import decode_float32

__all__ = ["ADAPTER", "VoyageAdapter"]


class VoyageAdapter(ModalAdapter):
    max_embed_inputs = 1000

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_embedding", "embeddings")
        body: dict[str, Any] = {"input": list(inputs), "model": ctx.model}
        if opts.input_type is not None:
            body["input_type"] = opts.input_type
        if opts.dimensions is not None:
            body["output_dimension"] = opts.dimensions
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
