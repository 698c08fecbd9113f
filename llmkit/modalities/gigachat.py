"""GigaChat embeddings (`POST /embeddings`, models `Embeddings` and `EmbeddingsGigaR`).

The body is OpenAI's minus the options: `{"model", "input": [...]}`, no dimensions and no
query/document hint, so asking for either is UnsupportedFeatureError before any request.
Usage comes per item (`data[i].usage.prompt_tokens`, no top-level usage): llmkit sums it.
At most 90 texts per request, the batch size GigaChat's own LangChain integration used
(third-party, recalled; the API documents no limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import gigachat as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, merged, operation, unsupported

__all__ = ["ADAPTER", "GigaChatModalAdapter"]


class GigaChatModalAdapter(ModalAdapter):
    max_embed_inputs = 90

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "create_embeddings", "embeddings")
        if opts.input_type is not None:
            raise unsupported(ctx, "input_type", "GigaChat embeddings take no query/document hint; leave it out")
        if opts.dimensions is not None:
            raise unsupported(ctx, "dimensions", "GigaChat embedding models have a fixed size")
        return json_request(op, merged({"model": ctx.model, "input": list(inputs)}, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.GigaEmbeddingsResponse)
        items = sorted(resp.data, key=lambda d: d.index)
        if [d.index for d in items] != list(range(count)):
            raise LLMKitError(
                f"{ctx.provider} returned embeddings for indexes {[d.index for d in items]} of {count} inputs",
                provider=ctx.provider,
                body=data,
            )
        counts = [d.usage.prompt_tokens if d.usage is not None else None for d in items]
        tokens = None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
        return EmbeddingResponse(
            vectors=[[float(x) for x in d.embedding] for d in items],
            usage=EmbeddingUsage(input_tokens=tokens),
            model=resp.model or ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = GigaChatModalAdapter()
