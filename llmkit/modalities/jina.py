"""Jina AI embeddings and rerank.

Jina tunes vectors with `task` (`retrieval.query` / `retrieval.passage` for llmkit's
input_type), shortens them with `dimensions`, and reranks with `top_n`, answering under
`results`. Its rerank returns documents unless told not to, so llmkit always says which.
The per-request input limit is not in the facts llmkit was built from; 512 texts per request
is a conservative split.

The multimodal models (jina-clip-v2, jina-embeddings-v4) also take images: each input is
`{"text": ...}` or `{"image": <URL or bare base64>}`, text and images in one vector space.
jina-clip-v2's `task` accepts only `retrieval.query`, so documents are sent without one there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._types import ImagePart
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import jina as wire
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
from ._multimodal import EmbedItem, image_base64
from .openai import decode_float32

__all__ = ["ADAPTER", "JinaAdapter"]

_TASKS = {"query": "retrieval.query", "document": "retrieval.passage"}
_QUERY_TASK_ONLY = frozenset({"jina-clip-v1", "jina-clip-v2"})  # `task` is retrieval.query or unset


def _task(opts: EmbedOptions, ctx: CallContext) -> str | None:
    if opts.input_type is None or (opts.input_type == "document" and ctx.model in _QUERY_TASK_ONLY):
        return None
    return _TASKS[opts.input_type]


def _image(part: ImagePart) -> str:
    """An image as Jina takes it: its URL, or its bytes as bare base64 (no data: prefix)."""
    b64 = image_base64(part)
    if b64 is not None:
        return b64
    assert part.url is not None
    return part.url


class JinaAdapter(ModalAdapter):
    max_embed_inputs = 512

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_embedding", "embeddings")
        return json_request(op, self._body(list(inputs), opts, ctx))

    def embed_multimodal_request(
        self, inputs: Sequence[EmbedItem], opts: EmbedOptions, ctx: CallContext
    ) -> ModalRequest:
        op = operation(ctx, "create_embedding", "embeddings")
        items: list[Any] = []
        for item in inputs:
            if isinstance(item, str):
                items.append({"text": item})
                continue
            if len(item.parts) != 1:
                raise unsupported(
                    ctx,
                    "inputs combining several parts",
                    "Jina embeds each text or image alone: pass them as separate inputs",
                )
            part = item.parts[0]
            items.append({"text": part} if isinstance(part, str) else {"image": _image(part)})
        return json_request(op, self._body(items, opts, ctx))

    def _body(self, items: list[Any], opts: EmbedOptions, ctx: CallContext) -> dict[str, Any]:
        body: dict[str, Any] = {"model": ctx.model, "input": items}
        task = _task(opts, ctx)
        if task is not None:
            body["task"] = task
        if opts.dimensions is not None:
            body["dimensions"] = opts.dimensions
        return merged(body, opts.extra_body)

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
