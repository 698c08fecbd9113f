"""Chat-call arguments: the accepted parameters, checked and coerced into a ChatRequest.

Tools and response formats are accepted in the shapes users already have (OpenAI-style or
flat), and anything unknown is refused with the list of what is accepted: a typo never becomes
a silently ignored option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import ConfigError
from ._structured import ResponseFormat, is_structured_type, structured_format
from ._types import ChatRequest, Message

__all__ = ["CHAT_PARAMS", "chat_request", "check_params", "model_list"]


CHAT_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "reasoning_budget",
    "user",
    "extra_body",
    "provider_options",
)


def chat_request(model: str, messages: list[Message], params: dict[str, Any]) -> ChatRequest:
    """The validated request every dialect adapter receives."""
    stop = params.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    tools = params.get("tools")
    if tools is not None:
        tools = [_coerce_tool(t, i) for i, t in enumerate(tools)]
    rf = params.get("response_format")
    if rf is not None:
        rf = _coerce_response_format(rf)
    mt = params.get("max_tokens")
    if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 1):
        raise ConfigError(f"max_tokens must be a positive integer, got {mt!r}")
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=mt,
        temperature=params.get("temperature"),
        top_p=params.get("top_p"),
        stop=stop,
        seed=params.get("seed"),
        tools=tools,
        tool_choice=params.get("tool_choice"),
        parallel_tool_calls=params.get("parallel_tool_calls"),
        response_format=rf,
        reasoning_effort=params.get("reasoning_effort"),
        reasoning_budget=params.get("reasoning_budget"),
        stream=bool(params.get("stream")),
        user=params.get("user"),
        extra_body=params.get("extra_body"),
        provider_options=params.get("provider_options"),
    )


def _coerce_tool(t: Any, i: int) -> dict[str, Any]:
    """Tools are accepted in OpenAI form ({type: function, function: {...}}) or flat."""
    if not isinstance(t, Mapping):
        raise ConfigError(f"tools[{i}] must be a dict")
    fn = t.get("function") if t.get("type") == "function" else t
    if not isinstance(fn, Mapping) or not fn.get("name"):
        raise ConfigError(f"tools[{i}] needs a function name: {{'type': 'function', 'function': {{'name': ...}}}}")
    params = fn.get("parameters") or fn.get("input_schema") or {"type": "object", "properties": {}}
    out: dict[str, Any] = {"name": fn["name"], "parameters": dict(params)}
    if fn.get("description"):
        out["description"] = fn["description"]
    if fn.get("strict") is not None:
        out["strict"] = fn["strict"]
    if t.get("cache_control"):
        out["cache_control"] = t["cache_control"]
    return out


def _coerce_response_format(rf: Any) -> dict[str, Any]:
    """`{"type": "json_object"}`, `{"type": "json_schema", "json_schema": {...}}`, a bare schema,
    or an attrs class / dataclass (its schema is derived, and the answer is built into it)."""
    if isinstance(rf, ResponseFormat):
        return rf  # already coerced (a fallback chain or a router passes params on unchanged)
    if is_structured_type(rf):
        return structured_format(rf)
    if not isinstance(rf, Mapping):
        raise ConfigError("response_format must be a dict, an attrs class or a dataclass")
    kind = rf.get("type")
    if kind in ("json_object", "text"):
        return {"type": kind}
    if kind == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, Mapping) or not isinstance(js.get("schema"), Mapping):
            raise ConfigError("response_format json_schema needs {'json_schema': {'name': ..., 'schema': {...}}}")
        return {"type": "json_schema", "json_schema": {"name": js.get("name", "response"), **js}}
    if kind == "object" or "properties" in rf:
        return {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": dict(rf), "strict": True},
        }
    raise ConfigError(f"unknown response_format type {kind!r}; use 'json_object' or 'json_schema'")


def model_list(model: str | Sequence[str]) -> list[str]:
    """A model string or a fallback list of them, as a list."""
    if isinstance(model, str):
        return [model]
    models = list(model)
    if not models or not all(isinstance(m, str) for m in models):
        raise ConfigError("model must be a 'provider/model' string or a non-empty list of them")
    return models


def check_params(params: dict[str, Any]) -> None:
    unknown = sorted(set(params) - set(CHAT_PARAMS))
    if unknown:
        raise ConfigError(
            f"unknown chat parameter {unknown[0]!r}; accepted: {', '.join(CHAT_PARAMS)} "
            "(provider-only fields go in extra_body or provider_options)"
        )
