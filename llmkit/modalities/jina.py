"""Jina AI embeddings and rerank.

Jina tunes vectors with `task` (`retrieval.query` / `retrieval.passage` for llmkit's
input_type), shortens them with `dimensions`, and reranks with `top_n`, answering under
`results`. Its rerank returns documents unless told not to, so llmkit always says which.
The per-request input limit is not in the facts llmkit was built from; 512 texts per request
is a conservative split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import jina as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, RerankOptions, json_request, merged, operation
from .openai import decode_float32

__all__ = ["ADAPTER", "JinaAdapter"]

_TASKS = {"query": "retrieval.query", "document": "retrieval.passage"}


class JinaAdapter(ModalAdapter):
    max_embed_inputs = 512

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_embedding", "embeddings")
        body: dict[str, Any] = {"model": ctx.model, "input": list(inputs)}
        if opts.input_type is not None:
            body["task"] = _TASKS[opts.input_type]
        if opts.dimensions is not None:
            body["dimensions"] = opts.dimensions
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.JinaEmbedResponse)
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
        usage = resp.usage
        tokens = (
            None if usage is None else (usage.total_tokens if usage.total_tokens is not None else usage.prompt_tokens)
        )
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
        body: dict[str, Any] = {
            "model": ctx.model,
            "query": query,
            "documents": list(documents),
            "return_documents": opts.return_documents,
        }
        if opts.top_n is not None:
            body["top_n"] = opts.top_n
        return json_request(op, merged(body, opts.extra_body))

    def parse_rerank(self, data: Any, ctx: CallContext, documents: Sequence[str]) -> RerankResponse:
        resp = structure(data, wire.JinaRerankResponse)
        return RerankResponse(
            results=[RerankResult(index=r.index, score=float(r.relevance_score)) for r in resp.results],
            model=resp.model or ctx.model,
            provider=ctx.provider,
            input_tokens=resp.usage.total_tokens if resp.usage is not None else None,
            raw=data,
        )


ADAPTER = JinaAdapter()
