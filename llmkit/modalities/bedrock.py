"""Bedrock embeddings through InvokeModel (`POST /model/{modelId}/invoke`).

InvokeModel takes each model family's own body, so the family is read from the model id
(never from the provider id): Amazon Titan Text Embeddings and Cohere Embed. The request is
signed (SigV4 over these exact bytes) or carries a Bedrock API key, as Converse is, by the
transport's auth (overrides/bedrock.py).

* Titan (`amazon.titan-embed-text-v2:0`) embeds ONE text per call: `{"inputText",
  "dimensions"?}`; a list of N texts is N requests, joined in input order. Usage is the
  body's `inputTextTokenCount`. Titan has no query/document hint, so `input_type` is refused.
* Cohere (`cohere.embed-english-v3`, `-multilingual-v3`, `cohere.embed-v4:0`) takes up to 96
  texts with a required `input_type` (the unified "query"/"document" map to Cohere's
  `search_query`/`search_document`, default `search_document`, as on Cohere's own API) and
  `embedding_types: ["float"]`; it answers with a list of vectors (`embeddings_floats`) or
  with vectors keyed by type (`embeddings_by_type`), both read here. Its body reports no
  tokens: Bedrock sends them in the `x-amzn-bedrock-input-token-count` header, so this
  adapter reads the HTTP response, not just its JSON. `dimensions` is `output_dimension`,
  which only Embed v4 has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import httpx

from .._errors import LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage
from .._transport import decode_json
from .._wire import structure
from ..dialects._base import CallContext
from ..generated.wire import bedrock_converse as wire
from ._base import EmbedOptions, ModalAdapter, ModalRequest, json_request, merged, operation, unsupported
from .cohere import cohere_input_type

__all__ = ["ADAPTER", "BedrockModalAdapter", "Family", "family"]

Family = Literal["titan", "cohere"]
TOKEN_HEADER = "x-amzn-bedrock-input-token-count"
_COHERE_MAX_TEXTS = 96
_HEADERS = {"accept": "application/json"}


def _model_id(ctx: CallContext) -> str:
    """The catalog id where there is one; an ARN's last segment (the model or profile id)."""
    model = ctx.model_info.id if ctx.model_info is not None else ctx.model
    return model.rsplit("/", 1)[-1]


def family(ctx: CallContext) -> Family:
    """The embedding family of a Bedrock model id (region prefixes such as `us.` allowed)."""
    name = _model_id(ctx)
    if "amazon.titan-embed-text" in name:
        return "titan"
    if "cohere.embed" in name:
        return "cohere"
    raise unsupported(
        ctx,
        "embeddings",
        "llmkit embeds on Bedrock with Amazon Titan Text Embeddings and Cohere Embed models "
        "(amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0)",
    )


class BedrockModalAdapter(ModalAdapter):
    max_embed_inputs = _COHERE_MAX_TEXTS

    def embed_limit(self, ctx: CallContext) -> int:
        return 1 if family(ctx) == "titan" else _COHERE_MAX_TEXTS

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "invoke_model", "embeddings")
        kind = family(ctx)
        body: dict[str, Any]
        if kind == "titan":
            if opts.input_type is not None:
                raise unsupported(ctx, "input_type", "Titan embeddings take no query/document hint; leave it out")
            if len(inputs) != 1:
                raise LLMKitError(f"Titan embeds one text per request, got {len(inputs)}", provider=ctx.provider)
            body = {"inputText": inputs[0]}
            if opts.dimensions is not None:
                body["dimensions"] = opts.dimensions
        else:
            body = {
                "texts": list(inputs),
                "input_type": cohere_input_type(opts.input_type),
                "embedding_types": ["float"],
            }
            if opts.dimensions is not None:
                if "cohere.embed-v4" not in _model_id(ctx):
                    raise unsupported(
                        ctx, "dimensions", "only Cohere Embed v4 (cohere.embed-v4:0) has output_dimension"
                    )
                body["output_dimension"] = opts.dimensions
        m = json_request(op, merged(body, opts.extra_body), model=ctx.model)
        m.wire.headers.update(_HEADERS)
        return m

    def parse_embed_http(self, resp: httpx.Response, ctx: CallContext, count: int) -> EmbeddingResponse:
        out = self.parse_embed(decode_json(resp, ctx.provider), ctx, count)
        header = resp.headers.get(TOKEN_HEADER)
        if out.usage.input_tokens is None and header is not None and header.strip().isdigit():
            out.usage = EmbeddingUsage(input_tokens=int(header))
        return out

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        if family(ctx) == "titan":
            titan = structure(data, wire.TitanEmbedResponse)
            vectors = [[float(x) for x in titan.embedding]]
            tokens = titan.input_text_token_count
        else:
            cohere = structure(data, wire.CohereBedrockEmbedResponse)
            found = cohere.embeddings if isinstance(cohere.embeddings, list) else cohere.embeddings.get("float")
            if found is None:
                raise LLMKitError(
                    f"{ctx.provider} returned no float embeddings (types {sorted(cohere.embeddings)})",
                    provider=ctx.provider,
                    body=data,
                )
            vectors = [[float(x) for x in v] for v in found]
            tokens = None
        if len(vectors) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(vectors)} embeddings for {count} inputs",
                provider=ctx.provider,
                body=data,
            )
        return EmbeddingResponse(
            vectors=vectors,
            usage=EmbeddingUsage(input_tokens=tokens),
            model=ctx.model,
            provider=ctx.provider,
            raw=[data],
        )


ADAPTER = BedrockModalAdapter()
