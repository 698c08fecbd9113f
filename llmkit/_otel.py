"""OpenTelemetry spans for every call, following the GenAI semantic conventions.

Only when `opentelemetry-api` is installed (`pip install 'llmkit[otel]'`): otherwise nothing is
imported and each call pays one `is None` check. With the API but no SDK configured, spans are
OpenTelemetry's no-ops. One span per chat call (`chat {model}`, kind CLIENT), started before the
first attempt and ended when the answer (or the stream) is complete or the call fails. Calls
beyond chat get one span each the same way, named `{operation} {model}`: `embeddings` (the
convention's name), `rerank`, `transcribe`, `speak`, `generate_image`, `count_tokens`, and for
native and management requests the spec operation (`pull`, `list_models`, `create_batch`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ._types import ChatRequest, ChatResponse
from ._version import __version__

__all__ = ["end_call_span", "end_span", "operation_name", "start_call_span", "start_span", "system_tracer"]

# llmkit provider ids whose GenAI `gen_ai.provider.name` differs from the id.
_PROVIDER_NAMES = {
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}


@cache
def system_tracer() -> Any:
    """The global tracer for llmkit, or None when opentelemetry-api is not installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace.get_tracer("llmkit", __version__)


def start_span(tracer: Any, provider: str, model: str, req: ChatRequest) -> Any:
    """A started span carrying the request attributes."""
    from opentelemetry.trace import SpanKind

    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _PROVIDER_NAMES.get(provider, provider),
        "gen_ai.request.model": model,
        "gen_ai.request.stream": req.stream,
    }
    for key, value in (
        ("gen_ai.request.max_tokens", req.max_tokens),
        ("gen_ai.request.temperature", req.temperature),
        ("gen_ai.request.top_p", req.top_p),
        ("gen_ai.request.seed", req.seed),
        ("gen_ai.request.stop_sequences", req.stop),
    ):
        if value is not None:
            attrs[key] = value
    return tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attrs)


def operation_name(kind: str, operation: str | None) -> str:
    """`gen_ai.operation.name` of a call: the convention's `embeddings` for embed, the spec
    operation for native and management requests, else the client call's own name."""
    if kind == "embed":
        return "embeddings"
    if kind in ("native", "batches", "context_caches", "list_models") and operation:
        return operation
    return kind


def start_call_span(tracer: Any, provider: str, model: str, kind: str, operation: str | None) -> Any:
    """A started span for a call beyond chat (`model` may be empty: then the provider names it)."""
    from opentelemetry.trace import SpanKind

    op = operation_name(kind, operation)
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": op,
        "gen_ai.provider.name": _PROVIDER_NAMES.get(provider, provider),
        "llmkit.kind": kind,
    }
    if model:
        attrs["gen_ai.request.model"] = model
    return tracer.start_span(f"{op} {model or provider}", kind=SpanKind.CLIENT, attributes=attrs)


def end_call_span(span: Any, input_tokens: int | None, cost: float | None) -> None:
    """Record what a call beyond chat used, and end its span."""
    if input_tokens is not None:
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    if cost is not None:
        span.set_attribute("llmkit.cost_usd", cost)
    span.end()


def end_span(span: Any, resp: ChatResponse | None, error: BaseException | None, cached: bool = False) -> None:
    """Record the answer's attributes (or the error) and end the span."""
    if resp is not None:
        u = resp.usage
        span.set_attributes(
            {
                "gen_ai.response.model": resp.model,
                "gen_ai.response.finish_reasons": [resp.raw_finish_reason or resp.finish_reason],
                "gen_ai.usage.input_tokens": u.input_tokens,
                "gen_ai.usage.output_tokens": u.output_tokens,
                "llmkit.cache_hit": cached,
            }
        )
        if resp.id:
            span.set_attribute("gen_ai.response.id", resp.id)
        if u.cached_input_tokens:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", u.cached_input_tokens)
        if u.cache_write_tokens:
            span.set_attribute("gen_ai.usage.cache_creation.input_tokens", u.cache_write_tokens)
        if resp.cost_usd is not None:
            span.set_attribute("llmkit.cost_usd", resp.cost_usd)
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(error)))
    span.end()
