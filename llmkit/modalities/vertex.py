"""Vertex AI text embeddings (`…/publishers/google/models/{model}:predict`).

Vertex's embedding models answer the generic `predict` method, not Gemini's embedContent: one
`instance` per text, `{"content", "task_type"?, "title"?}` (snake_case), and `parameters`
`{"outputDimensionality", "autoTruncate"}` (camelCase). The unified `input_type` maps to
`task_type` RETRIEVAL_QUERY / RETRIEVAL_DOCUMENT; `extra_body` keys `task_type` and `title`
are set on every instance (for the other task types), anything else goes into `parameters`.

Per-request limits (recalled): text-embedding-005 and text-multilingual-embedding-002 take
up to 250 instances, gemini-embedding-001 one. Usage is the sum of each prediction's
`statistics.token_count`. The path needs a project: express mode (an API key and no project)
serves Gemini's generateContent only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ConfigError, LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import gemini as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, operation

__all__ = ["ADAPTER", "VertexModalAdapter", "embed_limit"]

_TASKS = {"query": "RETRIEVAL_QUERY", "document": "RETRIEVAL_DOCUMENT"}
_INSTANCE_KEYS = frozenset({"task_type", "title"})
_MAX_INSTANCES = 250


def embed_limit(model: str) -> int:
    """Instances per `predict` request: gemini-embedding models take one text at a time."""
    return 1 if model.rsplit("/", 1)[-1].startswith("gemini-embedding") else _MAX_INSTANCES


class VertexModalAdapter(ModalAdapter):
    max_embed_inputs = _MAX_INSTANCES

    def embed_limit(self, ctx: CallContext) -> int:
        return embed_limit(ctx.model_info.id if ctx.model_info is not None else ctx.model)

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "predict_embeddings", "embeddings")
        project = ctx.settings.get("project")
        if not project:
            raise ConfigError(
                f"no Google Cloud project for vertex/{ctx.model}: embeddings need one (express mode serves "
                "Gemini chat only); pass providers={'vertex': {'project': ...}} (or set GOOGLE_CLOUD_PROJECT)",
                provider=ctx.provider,
            )
        extra = dict(opts.extra_body or {})
        per_text = {k: extra.pop(k) for k in list(extra) if k in _INSTANCE_KEYS}
        if opts.input_type is not None and "task_type" not in per_text:
            per_text["task_type"] = _TASKS[opts.input_type]
        instances = [{"content": text, **per_text} for text in inputs]
        if opts.dimensions is not None:
            extra["outputDimensionality"] = opts.dimensions
        body: dict[str, Any] = {"instances": instances}
        if extra:
            body["parameters"] = extra
        location = str(ctx.settings.get("location") or "global")
        return json_request(op, body, project=str(project), location=location, model=ctx.model)

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.VertexPredictEmbeddingsResponse)
        if len(resp.predictions) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(resp.predictions)} predictions for {count} inputs",
                provider=ctx.provider,
                body=data,
            )
        stats = [p.embeddings.statistics for p in resp.predictions]
        counts = [s.token_count if s is not None else None for s in stats]
        tokens = None if any(c is None for c in counts) else sum(round(c) for c in counts if c is not None)
        return EmbeddingResponse(
            vectors=[[float(x) for x in p.embeddings.values] for p in resp.predictions],
            usage=EmbeddingUsage(input_tokens=tokens),
            model=ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = VertexModalAdapter()
