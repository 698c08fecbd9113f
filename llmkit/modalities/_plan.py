"""What the sync and async modality calls share: resolving the model, checking the
capability before any request, choosing the family adapter, splitting embedding batches and
joining their results.

Everything here is I/O-free and relies only on the client's `_spec` and `_context` helpers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar

import attrs

from .._errors import ConfigError, LLMKitError, UnsupportedFeatureError
from .._modal_types import EmbeddingResponse, EmbeddingUsage, RerankResponse
from .._registry import provider_capabilities, split_model
from .._spec import Capabilities, ProviderSpec
from ..dialects._base import CallContext
from ._base import ModalAdapter, SpeechOptions

__all__ = [
    "ADAPTER_MODULES",
    "Resolved",
    "adapter_for",
    "documents_list",
    "join_embeddings",
    "resolve",
    "sorted_rerank",
    "speech_options",
    "split_batches",
    "texts",
    "token_budget",
]

T = TypeVar("T")

# Wire dialect of a spec -> the module of its family's modality adapter (imported on first use).
ADAPTER_MODULES: dict[str, str] = {
    "openai_chat": "llmkit.modalities.openai",
    "gemini": "llmkit.modalities.gemini",
    "voyage": "llmkit.modalities.voyage",
    "jina": "llmkit.modalities.jina",
    "deepgram": "llmkit.modalities.deepgram",
    "elevenlabs": "llmkit.modalities.elevenlabs",
    "fal": "llmkit.modalities.fal",
    "cohere_v2": "llmkit.modalities.cohere",
    "replicate": "llmkit.modalities.replicate",
    "cloudflare": "llmkit.modalities.cloudflare",
    "bedrock_converse": "llmkit.modalities.bedrock",
    "vertex": "llmkit.modalities.vertex",
    "gigachat": "llmkit.modalities.gigachat",
    "yandex": "llmkit.modalities.yandex",
    "ollama": "llmkit.modalities.ollama",
}

_LABELS = {
    "embeddings": "embeddings",
    "rerank": "rerank",
    "transcription": "transcription (speech-to-text)",
    "speech": "speech (text-to-speech)",
    "image_generation": "image generation",
    "count_tokens": "token counting",
}


class CoreHelpers(Protocol):
    """The `_Core` helpers the modality mixins rely on."""

    def _spec(self, provider: str) -> ProviderSpec: ...

    def _context(self, provider: str, model_id: str, spec: ProviderSpec) -> CallContext: ...


@attrs.define(kw_only=True, slots=True)
class Resolved:
    provider: str
    spec: ProviderSpec
    ctx: CallContext
    adapter: ModalAdapter


@cache
def adapter_for(dialect: str) -> ModalAdapter | None:
    module = ADAPTER_MODULES.get(dialect)
    if module is None:
        return None
    adapter: ModalAdapter = importlib.import_module(module).ADAPTER
    return adapter


def capabilities(ctx: CallContext) -> Capabilities:
    if ctx.model_info is not None:
        return ctx.model_info.capabilities
    return provider_capabilities(ctx.provider) or ctx.spec.capabilities


def supports(ctx: CallContext, feature: str) -> bool:
    """Whether the model (or, for a model not in the catalog, its provider) has `feature`.

    A catalogued chat model inherits its provider's capabilities, so `openai/gpt-4o` would
    seem to embed; the endpoints beyond chat take their own models, so a chat model is never
    used for them (token counting is about chat models, so it is exempt).
    """
    caps = capabilities(ctx)
    if not caps.has(feature):
        return False
    return feature == "count_tokens" or ctx.model_info is None or not ctx.model_info.capabilities.chat


def resolve(core: CoreHelpers, model: str, feature: str) -> Resolved:
    """The provider, context and adapter of `model`, or UnsupportedFeatureError before I/O."""
    if not isinstance(model, str):
        raise ConfigError(f"model must be a 'provider/model' string, got {type(model).__name__}")
    provider, model_id = split_model(model)
    spec = core._spec(provider)
    ctx = core._context(provider, model_id, spec)
    label = _LABELS.get(feature, feature)
    if not supports(ctx, feature):
        hint = "pick a model that has it (see llmkit.models())"
        if ctx.model_info is not None and ctx.model_info.capabilities.chat:
            hint = f"{provider}/{model_id} is a chat model; {hint}"
        raise UnsupportedFeatureError(
            f"{provider}/{model_id} does not support {label}; {hint}", provider=provider, code=feature
        )
    adapter = adapter_for(spec.dialect)
    if adapter is None:
        raise UnsupportedFeatureError(
            f"{provider} ({spec.dialect} dialect) has no {label} adapter in llmkit", provider=provider, code=feature
        )
    return Resolved(provider=provider, spec=spec, ctx=ctx, adapter=adapter)


def texts(inputs: str | Sequence[str]) -> list[str]:
    """One string or a list of strings, as a non-empty list of strings."""
    items = [inputs] if isinstance(inputs, str) else list(inputs)
    if not items:
        raise ConfigError("embed needs at least one input text")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise ConfigError(f"inputs[{i}] must be a string, got {type(t).__name__}")
    return items


TokenBudget = tuple[int, Callable[[Any], int]]  # (most tokens per request, tokens of one input)


def split_batches(
    items: list[T], limit: int, batch_size: int | None, tokens: TokenBudget | None = None
) -> list[list[T]]:
    """Consecutive slices of at most `batch_size` (capped at the provider's limit) items and,
    given a token budget, of at most that many input tokens (an input over the budget on its
    own goes alone: the provider says whether it takes it)."""
    size = limit if batch_size is None else batch_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    size = min(size, limit)
    if tokens is None:
        return [items[i : i + size] for i in range(0, len(items), size)]
    budget, count = tokens
    batches: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        n = count(item)
        if current and (len(current) >= size or used + n > budget):
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += n
    if current:
        batches.append(current)
    return batches


def token_budget(ctx: CallContext) -> TokenBudget | None:
    """The model's per-request input-token limit (catalog `max_request_tokens`) and a counter
    of one input's tokens: the model's own encoding where `bpe-openai` has it, else an
    estimate on the safe side. None when the catalog gives no limit."""
    options = ctx.model_info.options if ctx.model_info is not None else None
    budget = options.max_request_tokens if options is not None else None
    if budget is None:
        return None
    from ._tokens import text_counter  # _tokens imports this module

    count = text_counter(ctx.model)

    def item_tokens(item: Any) -> int:
        if isinstance(item, str):
            return count(item)
        return sum(count(p) for p in getattr(item, "parts", ()) if isinstance(p, str))

    return budget, item_tokens


def join_embeddings(parts: Sequence[EmbeddingResponse], ctx: CallContext) -> EmbeddingResponse:
    """One response from the batches' responses, in order, usage summed, cost added."""
    vectors: list[list[float]] = []
    usage = EmbeddingUsage()
    raw: list[Any] = []
    for p in parts:
        vectors.extend(p.vectors)
        usage = usage + p.usage
        raw.extend(p.raw)
    out = EmbeddingResponse(vectors=vectors, usage=usage, model=parts[0].model, provider=ctx.provider, raw=raw)
    price = ctx.model_info.price.input if ctx.model_info is not None else None
    if price is not None and usage.input_tokens is not None:
        out.cost_usd = round(usage.input_tokens * price / 1_000_000, 10)
    return out


def documents_list(query: str, documents: Sequence[str], top_n: int | None) -> list[str]:
    """Validated rerank inputs: a query string, a non-empty list of strings, a positive top_n."""
    if not isinstance(query, str) or not query:
        raise ConfigError("rerank needs a non-empty query string")
    if isinstance(documents, str):
        raise ConfigError("rerank documents must be a list of strings, not one string")
    docs = list(documents)
    if not docs:
        raise ConfigError("rerank needs at least one document")
    for i, d in enumerate(docs):
        if not isinstance(d, str):
            raise ConfigError(f"documents[{i}] must be a string, got {type(d).__name__}")
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise ConfigError(f"top_n must be a positive integer, got {top_n!r}")
    return docs


def sorted_rerank(resp: RerankResponse, documents: Sequence[str], return_documents: bool) -> RerankResponse:
    """Results best first (stable for ties), with each document filled in from the input
    when asked for, so it does not depend on whether the provider echoed it."""
    for r in resp.results:
        if not 0 <= r.index < len(documents):
            raise LLMKitError(
                f"{resp.provider} returned rerank index {r.index} for {len(documents)} documents",
                provider=resp.provider,
            )
        r.document = documents[r.index] if return_documents else None
    resp.results.sort(key=lambda r: -r.score)
    return resp


def speech_options(
    text: str,
    voice: str | None,
    format: str | None,
    speed: float | None,
    instructions: str | None,
    extra_body: Mapping[str, Any] | None,
) -> SpeechOptions:
    if not isinstance(text, str) or not text:
        raise ConfigError("speak needs a non-empty text string")
    return SpeechOptions(voice=voice, format=format, speed=speed, instructions=instructions, extra_body=extra_body)
