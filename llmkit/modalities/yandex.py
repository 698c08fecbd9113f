"""Yandex Foundation Models embeddings (`POST /foundationModels/v1/textEmbedding`).

Yandex embeds one text per call, so a list of N texts is N requests, sent in order (the
async client overlaps them) and joined in input order. The model is a URI naming the folder
and one of two models, `text-search-doc` for the corpus and `text-search-query` for
queries. llmkit's model names:

* `text-search-doc/latest`, `text-search-query/latest` (any branch), or a full
  `emb://<folder>/...` URI: used as given; an `input_type` that contradicts the name is a
  ConfigError before any request, since embedding a query with the document model quietly
  hurts retrieval;
* `text-search` (or `text-search/<branch>`): the generic name, which `input_type` turns into
  the query model (`"query"`) or the document model (`"document"`, and the default).

The folder comes from the `folder_id` setting, as for chat. `dimensions` is sent as `dim`
(an int64, so a JSON string); `numTokens` comes back as a string too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ConfigError, LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._wire import structure
from ..dialects._base import CallContext
from ..dialects._yandex_request import model_uri
from ..generated.wire import yandex as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, merged, operation

__all__ = ["ADAPTER", "GENERIC_MODEL", "YandexModalAdapter", "embedding_model"]

GENERIC_MODEL = "text-search"
_MODELS = {"query": "text-search-query", "document": "text-search-doc"}
_KINDS = {v: k for k, v in _MODELS.items()}


def embedding_model(model: str, input_type: str | None, ctx: CallContext) -> str:
    """The `emb://` URI for a model name and the unified `input_type`."""
    head, sep, rest = model.partition("://")
    path = rest if sep else model
    if sep and head != "emb":
        raise ConfigError(
            f"yandex/{model} is not an embedding model URI: embeddings take emb://<folder>/<model>/<branch>",
            provider=ctx.provider,
        )
    parts = path.split("/")
    name_at = 1 if sep else 0
    if len(parts) <= name_at:
        raise ConfigError(f"yandex/{model}: no model name in the URI", provider=ctx.provider)
    name = parts[name_at]
    if name == GENERIC_MODEL:
        parts[name_at] = _MODELS[input_type or "document"]
    elif input_type is not None and _KINDS.get(name, input_type) != input_type:
        raise ConfigError(
            f"yandex/{model} embeds {_KINDS[name]}s but input_type={input_type!r}: use "
            f"{_MODELS[input_type]} for {input_type}s, or the generic `{GENERIC_MODEL}` model, which input_type picks",
            provider=ctx.provider,
        )
    if not sep and len(parts) == 1:
        parts.append("latest")
    joined = "/".join(parts)
    return f"emb://{joined}" if sep else model_uri(joined, ctx, "emb")


class YandexModalAdapter(ModalAdapter):
    max_embed_inputs = 1

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "text_embedding", "embeddings")
        if len(inputs) != 1:
            raise ConfigError(f"yandex embeds one text per request, got {len(inputs)}", provider=ctx.provider)
        body: dict[str, Any] = {"modelUri": embedding_model(ctx.model, opts.input_type, ctx), "text": inputs[0]}
        if opts.dimensions is not None:
            body["dim"] = str(opts.dimensions)
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        resp = structure(data, wire.YandexTextEmbeddingResponse)
        if count != 1 or not resp.embedding:
            raise LLMKitError(f"{ctx.provider} returned no embedding", provider=ctx.provider, body=data)
        tokens = int(resp.num_tokens) if resp.num_tokens is not None else None
        return EmbeddingResponse(
            vectors=[[float(x) for x in resp.embedding]],
            usage=EmbeddingUsage(input_tokens=tokens),
            model=ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = YandexModalAdapter()
