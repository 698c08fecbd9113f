"""Ollama embeddings through its native `POST /api/embed` (batch input).

The body is `{model, input, truncate?, dimensions?, keep_alive?, options?}`; the answer is
`{model, embeddings: [[...]], total_duration, load_duration, prompt_eval_count}`, vectors in
input order. `prompt_eval_count` is the token usage; a local model has no price. The
provider's `keep_alive` setting applies as it does to chat, and `extra_body` passes
`truncate` and `options` (e.g. `{"num_ctx": 8192}` inside `options`) as they are. Ollama
documents no limit on inputs per request; llmkit sends at most 512 at a time so one call
never holds a local server for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._wire import structure
from ..dialects._base import CallContext
from ..dialects.ollama import _keep_alive
from ..generated.wire import ollama as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, merged, operation, unsupported

__all__ = ["ADAPTER", "OllamaModalAdapter"]


class OllamaModalAdapter(ModalAdapter):
    max_embed_inputs = 512

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "embed", "embeddings")
        if opts.input_type is not None:
            raise unsupported(
                ctx, "input_type", "Ollama embeds text as given; add the model's own prefix (e.g. 'search_query: ')"
            )
        body: dict[str, Any] = {"model": ctx.model, "input": list(inputs)}
        if opts.dimensions is not None:
            body["dimensions"] = opts.dimensions
        keep_alive = ctx.settings.get("keep_alive")
        if keep_alive not in (None, ""):
            body["keep_alive"] = _keep_alive(str(keep_alive))
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.EmbedResponse)
        embeddings = resp.embeddings or []
        if len(embeddings) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(embeddings)} embeddings for {count} inputs",
                provider=ctx.provider,
                body=data,
            )
        return EmbeddingResponse(
            vectors=[[float(x) for x in v] for v in embeddings],
            usage=EmbeddingUsage(input_tokens=resp.prompt_eval_count),
            model=resp.model or ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = OllamaModalAdapter()
