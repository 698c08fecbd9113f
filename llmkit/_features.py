"""Capability checks before any request, and cost from catalog prices."""

from __future__ import annotations

from ._errors import UnsupportedFeatureError
from ._spec import Capabilities, ModelInfo
from ._types import ChatRequest, DocumentPart, ImagePart, Usage

__all__ = ["check_features", "cost_usd", "requested_features"]


def requested_features(req: ChatRequest) -> list[str]:
    """The capability names a request needs, in a stable order."""
    need: list[str] = ["chat"]
    if req.stream:
        need.append("streaming")
    if req.tools:
        need.append("tools")
    if req.parallel_tool_calls:
        need.append("parallel_tool_calls")
    if any(isinstance(p, (ImagePart, DocumentPart)) for m in req.messages for p in m.parts):
        need.append("vision")
    rf = req.response_format or {}
    if rf.get("type") == "json_schema":
        need.append("json_schema")
    elif rf.get("type") == "json_object":
        need.append("json_object")
    if req.reasoning_effort is not None or req.reasoning_budget is not None:
        need.append("reasoning")
    if req.temperature is not None:
        need.append("temperature")
    return need


_LABELS = {
    "chat": "chat",
    "streaming": "streaming",
    "tools": "tool calling",
    "parallel_tool_calls": "parallel tool calls",
    "vision": "image or document input",
    "json_schema": "structured output (response_format json_schema)",
    "json_object": "JSON mode (response_format json_object)",
    "reasoning": "reasoning controls (reasoning_effort / reasoning_budget)",
    "temperature": "the temperature parameter",
}


def check_features(req: ChatRequest, provider: str, caps: Capabilities) -> None:
    """Raise UnsupportedFeatureError naming the first feature asked for that is missing."""
    for name in requested_features(req):
        if not caps.has(name):
            raise UnsupportedFeatureError(
                f"{provider}/{req.model} does not support {_LABELS.get(name, name)}; "
                "drop it from the call or pick a model that has it (see llmkit.models())",
                provider=provider,
                code=name,
            )


def cost_usd(info: ModelInfo | None, usage: Usage) -> float | None:
    """What the call cost at catalog prices; None when a needed price is not known.

    Cache writes with the 1-hour TTL cost more than 5-minute ones (Anthropic: 2x input vs
    1.25x): they are priced at `cache_write_1h`, and a model without that price has no cost
    for a call that wrote any, rather than one at the cheaper rate.
    """
    if info is None:
        return None
    p = info.price
    if p.input is None or p.output is None:
        return None
    cached = usage.cached_input_tokens
    written = usage.cache_write_tokens
    hour = min(usage.cache_write_1h_tokens, written)
    if hour and p.cache_write_1h is None:
        return None
    fresh = max(usage.input_tokens - cached - written, 0)
    total = fresh * p.input + usage.output_tokens * p.output
    total += cached * (p.cached_input if p.cached_input is not None else p.input)
    total += (written - hour) * (p.cache_write if p.cache_write is not None else p.input)
    total += hour * (p.cache_write_1h or 0.0)
    return round(total / 1_000_000, 10)
