"""Gemini embeddings through `batchEmbedContents` (up to 100 texts per call).

Each request in the batch repeats the `models/{id}` of the URL, as Gemini requires;
llmkit's input_type maps to `taskType` (RETRIEVAL_QUERY / RETRIEVAL_DOCUMENT) and
dimensions to `outputDimensionality`. Gemini reports no token usage for embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import gemini as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, operation

__all__ = ["ADAPTER", "GeminiModalAdapter"]

_TASKS = {"query": "RETRIEVAL_QUERY", "document": "RETRIEVAL_DOCUMENT"}


class GeminiModalAdapter(ModalAdapter):
    max_embed_inputs = 100

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "batch_embed_contents", "embeddings")
        name = f"models/{ctx.model}"
        requests = []
        for text in inputs:
            item: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
            if opts.input_type is not None:
                item["taskType"] = _TASKS[opts.input_type]
            if opts.dimensions is not None:
                item["outputDimensionality"] = opts.dimensions
            item.update(opts.extra_body or {})  # per-text fields such as taskType or title
            requests.append(item)
        return json_request(op, {"requests": requests}, model=ctx.model)

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.BatchEmbedContentsResponse)
        embeddings = resp.embeddings or []
        if len(embeddings) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(embeddings)} embeddings for {count} inputs", provider=ctx.provider
            )
        return EmbeddingResponse(
            vectors=[[float(x) for x in e.values or []] for e in embeddings],
            usage=EmbeddingUsage(),
            model=ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = GeminiModalAdapter()
