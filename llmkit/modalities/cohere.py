"""Cohere embeddings (`POST /v2/embed`).

Cohere's v3+ embedding models refuse a request without `input_type`: the unified "query" and
"document" map to `search_query` / `search_document` (Cohere's own names, and `classification`
or `clustering`, pass through), and a call that gives none is embedded as `search_document`,
the retrieval corpus side, which is what an unqualified `embed(texts)` is almost always for.
Vectors come back keyed by type (`embeddings.float`), not as a list of objects; llmkit always
asks for floats. `dimensions` maps to `output_dimension` (embed-v4.0 only). At most 96 texts
per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import cohere_v2 as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, RerankOptions, json_request, merged, operation

__all__ = ["ADAPTER", "CohereModalAdapter", "cohere_input_type"]

_INPUT_TYPES = {"query": "search_query", "document": "search_document"}


def cohere_input_type(input_type: str | None) -> str:
    """Cohere's `input_type` for the unified one (its own names pass through unchanged)."""
    if input_type is None:
        return "search_document"
    return _INPUT_TYPES.get(input_type, input_type)


class CohereModalAdapter(ModalAdapter):
    max_embed_inputs = 96

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "embed", "embeddings")
        body: dict[str, Any] = {
            "model": ctx.model,
            "texts": list(inputs),
            "input_type": cohere_input_type(opts.input_type),
            "embedding_types": ["float"],
        }
        if opts.dimensions is not None:
            body["output_dimension"] = opts.dimensions
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.EmbedResponse)
        floats = resp.embeddings.float if resp.embeddings is not None else None
        vectors = [[float(x) for x in v] for v in floats or []]
        if len(vectors) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(vectors)} float embeddings for {count} inputs", provider=ctx.provider
            )
        billed = resp.meta.billed_units if resp.meta is not None else None
        tokens = billed.input_tokens if billed is not None else None
        return EmbeddingResponse(
            vectors=vectors,
            usage=EmbeddingUsage(input_tokens=int(tokens) if tokens is not None else None),
            model=ctx.model,
            provider=ctx.provider,
            raw=[data],
        )

    def rerank_request(
        self, query: str, documents: Sequence[str], opts: RerankOptions, ctx: CallContext
    ) -> ModalRequest:
        """POST /v2/rerank. v2 never echoes documents: llmkit fills them in from the input."""
        op = operation(ctx, "rerank", "rerank")
        body: dict[str, Any] = {"model": ctx.model, "query": query, "documents": list(documents)}
        if opts.top_n is not None:
            body["top_n"] = opts.top_n
        return json_request(op, merged(body, opts.extra_body))

    def parse_rerank(self, data: Any, ctx: CallContext, documents: Sequence[str]) -> RerankResponse:
        resp = structure(data, wire.RerankResponse)
        return RerankResponse(
            results=[RerankResult(index=r.index, score=float(r.relevance_score)) for r in resp.results],
            model=ctx.model,
            provider=ctx.provider,
            input_tokens=None,  # Cohere bills rerank in search units, kept in `raw`
            raw=data,
        )


ADAPTER = CohereModalAdapter()
