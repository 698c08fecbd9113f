"""Cohere embeddings (`POST /v2/embed`).

Cohere's v3+ embedding models refuse a request without `input_type`: the unified "query" and
"document" map to `search_query` / `search_document` (Cohere's own names, and `classification`
or `clustering`, pass through), and a call that gives none is embedded as `search_document`,
the retrieval corpus side, which is what an unqualified `embed(texts)` is almost always for.
Vectors come back keyed by type (`embeddings.float`), not as a list of objects. llmkit asks
for floats unless `extra_body={"embedding_types": [T]}` names one other type: int8/uint8
vectors come back as ints, binary/ubinary as their packed ints (one per 8 dimensions), base64
decoded to floats. `dimensions` maps to `output_dimension` (embed-v4.0 only). At most 96
texts per request.

Token counting goes through `POST /v1/tokenize`, which tokenizes raw text, not a chat prompt:
see `prompt_text` for the text llmkit builds and why the count is an estimate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import ConfigError, LLMKitError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse, RerankResult
from .._types import ChatRequest, ReasoningPart, TextPart
from .._wire import structure
from ..dialects._base import CallContext, WireRequest
from ..generated.wire import cohere_v2 as wire
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
from .openai import decode_float32

__all__ = [
    "ADAPTER",
    "EMBEDDING_TYPES",
    "TOKENIZE_MAX_CHARS",
    "CohereModalAdapter",
    "cohere_input_type",
    "prompt_text",
    "text_chunks",
]

_INPUT_TYPES = {"query": "search_query", "document": "search_document"}
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
# `text` of /v1/tokenize: 1 to 65536 characters (docs.cohere.com/reference/tokenize, recalled 2025).
TOKENIZE_MAX_CHARS = 65536


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def prompt_text(req: ChatRequest, ctx: CallContext) -> str:
    """The text llmkit tokenizes for a chat prompt: what the model reads, one piece a line.

    Pieces, in order: each message's text (system included; an assistant's reasoning; a tool
    result's text), each tool call as its name and JSON arguments, then each tool definition,
    the JSON schema of `response_format` and any `provider_options` documents, as compact JSON.
    Roles and Cohere's chat template are left out: the template's special tokens are added
    server-side and not billed (`usage.tokens` minus `usage.billed_units`), so this text
    approximates the billed input tokens that `resp.usage.input_tokens` reports. It is an
    estimate: the real prompt renders tools and documents in Cohere's own format. Images and
    documents given as message parts cannot be tokenized as text: UnsupportedFeatureError.
    """
    pieces: list[str] = []
    for m in req.messages:
        for part in m.parts:
            if isinstance(part, TextPart | ReasoningPart):
                pieces.append(part.text)
            else:
                raise unsupported(ctx, f"token counting of {part.type} parts", "Cohere's tokenizer counts text only")
        for call in m.tool_calls:
            pieces.append(f"{call.name} {_dumps(call.arguments)}")
    pieces.extend(_dumps(tool) for tool in req.tools or [])
    rf = req.response_format or {}
    if rf.get("type") == "json_schema":
        pieces.append(_dumps(rf["json_schema"].get("schema", {})))
    for doc in (req.provider_options or {}).get("documents") or []:
        pieces.append(doc if isinstance(doc, str) else _dumps(doc))
    text = "\n".join(p for p in pieces if p)
    if not text:
        raise ConfigError(f"{ctx.provider}/{ctx.model}: count_tokens needs messages with some text to count")
    return text


def text_chunks(text: str, limit: int = TOKENIZE_MAX_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut before the last line break (else
    the last whitespace) of each window, so few tokens straddle a cut; a window with no
    whitespace in its second half is cut at the limit."""
    out: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = max(window.rfind(" "), window.rfind("\t"))
        if cut < limit // 2:
            cut = limit
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return out


def cohere_input_type(input_type: str | None) -> str:
    """Cohere's `input_type` for the unified one (its own names pass through unchanged)."""
    if input_type is None:
        return "search_document"
    return _INPUT_TYPES.get(input_type, input_type)


def _embedding_type(extra: Mapping[str, Any] | None, ctx: CallContext) -> str:
    """The one embedding type asked for in `extra_body["embedding_types"]` (float if none)."""
    asked = (extra or {}).get("embedding_types")
    if asked is None:
        return "float"
    if isinstance(asked, str) or not isinstance(asked, (list, tuple)) or len(asked) != 1:
        raise ConfigError(
            f"{ctx.provider}/{ctx.model}: embedding_types must be a list of one type, e.g. ['int8'] "
            f"(EmbeddingResponse.vectors holds one type), got {asked!r}"
        )
    if asked[0] not in EMBEDDING_TYPES:
        raise ConfigError(
            f"{ctx.provider}/{ctx.model}: unknown embedding type {asked[0]!r}; use one of {', '.join(EMBEDDING_TYPES)}"
        )
    return str(asked[0])


class CohereModalAdapter(ModalAdapter):
    max_embed_inputs = 96

    def embed_request(self, inputs: Sequence[str], opts: EmbedOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "embed", "embeddings")
        body: dict[str, Any] = {
            "model": ctx.model,
            "texts": list(inputs),
            "input_type": cohere_input_type(opts.input_type),
            "embedding_types": [_embedding_type(opts.extra_body, ctx)],
        }
        if opts.dimensions is not None:
            body["output_dimension"] = opts.dimensions
        return json_request(op, merged(body, opts.extra_body))

    def parse_embed(self, data: Any, ctx: CallContext, count: int) -> EmbeddingResponse:
        """The vectors of the one type the answer carries (float, when it carries several)."""
        resp = structure(data, wire.EmbedResponse)
        by_type = resp.embeddings
        present = [t for t in EMBEDDING_TYPES if by_type is not None and getattr(by_type, t, None) is not None]
        kind = "float" if "float" in present else (present[0] if len(present) == 1 else None)
        if kind is None:
            what = f"embeddings of several types ({', '.join(present)})" if present else "no embeddings"
            raise LLMKitError(f"{ctx.provider} returned {what} for {count} inputs", provider=ctx.provider, body=data)
        values = getattr(by_type, kind)
        vectors: list[list[float]]
        if kind == "float":
            vectors = [[float(x) for x in v] for v in values]
        elif kind == "base64":
            vectors = [decode_float32(v, ctx.provider) for v in values]
        else:
            vectors = [[int(x) for x in v] for v in values]  # ints, as asked
        if len(vectors) != count:
            raise LLMKitError(
                f"{ctx.provider} returned {len(vectors)} {kind} embeddings for {count} inputs", provider=ctx.provider
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

    def tokenize_requests(self, req: ChatRequest, ctx: CallContext) -> list[WireRequest]:
        """POST /v1/tokenize, once per `text_chunks` piece of `prompt_text` (summed by the caller)."""
        op = operation(ctx, "tokenize", "token counting")
        return [
            json_request(op, {"text": chunk, "model": ctx.model}).wire for chunk in text_chunks(prompt_text(req, ctx))
        ]

    def parse_tokenize(self, data: Any, ctx: CallContext) -> int:
        return len(structure(data, wire.TokenizeResponse).tokens)


ADAPTER = CohereModalAdapter()
