"""Building Anthropic Messages request bodies from unified requests (pure, no I/O).

Split out of `anthropic_messages` to keep each module small. The rules that matter: system
and developer turns go to the top-level `system`; consecutive tool turns become ONE user turn
of tool_result blocks; assistant tool calls become tool_use blocks whose `input` is an object;
signed (or redacted) reasoning goes back first, unchanged; `max_tokens` is always sent.
"""

from __future__ import annotations

import base64
from typing import Any

from .._errors import ConfigError, UnsupportedFeatureError
from .._types import (
    ChatRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    split_data_url,
)
from ._base import CallContext

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "EFFORT_BUDGETS",
    "JSON_TOOL",
    "build_body",
    "convert_messages",
]

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` when the caller gave none and the catalog does not know the model."""

EFFORT_BUDGETS: dict[str, int] = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
"""`reasoning_effort` -> thinking `budget_tokens` (Anthropic's minimum budget is 1024)."""

JSON_TOOL = "llmkit_json_response"
"""The forced tool that carries structured output; its input comes back as the answer text."""

_COUNT_KEYS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management"}
)


def _cache(block: dict[str, Any], cache_control: dict[str, Any] | None) -> dict[str, Any]:
    if cache_control:
        block["cache_control"] = cache_control
    return block


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _image(p: ImagePart) -> dict[str, Any]:
    if p.data is not None:
        source: dict[str, Any] = {"type": "base64", "media_type": p.media_type, "data": _b64(p.data)}
    else:
        assert p.url is not None
        split = split_data_url(p.url)
        if split is not None:
            source = {"type": "base64", "media_type": split[0], "data": split[1]}
        else:
            source = {"type": "url", "url": p.url}
    return {"type": "image", "source": source}


def _document(p: DocumentPart) -> dict[str, Any]:
    media = p.media_type or "application/pdf"
    if p.data is None and p.url is not None:
        split = split_data_url(p.url)
        if split is None:
            return {"type": "document", "source": {"type": "url", "url": p.url}}
        media, encoded = split
        raw = base64.b64decode(encoded)
    elif p.data is not None:
        raw = p.data
    else:
        raise ConfigError("a document part needs `url` or `data`")
    if media.startswith("text/"):
        source = {"type": "text", "media_type": "text/plain", "data": raw.decode("utf-8")}
    else:
        source = {"type": "base64", "media_type": media, "data": _b64(raw)}
    return {"type": "document", "source": source}


def _blocks(parts: list[ContentPart]) -> list[dict[str, Any]]:
    """User-side content blocks. Reasoning is never sent from a user turn, and empty text is
    dropped (Anthropic rejects empty text blocks)."""
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if p.text:
                out.append(_cache({"type": "text", "text": p.text}, p.cache_control))
        elif isinstance(p, ImagePart):
            out.append(_image(p))
        elif isinstance(p, DocumentPart):
            out.append(_document(p))
    return out


def _assistant(m: Message) -> dict[str, Any]:
    """Thinking first (signed or redacted, unchanged), then text, then tool_use blocks.

    Reasoning without a signature (e.g. from another provider) is dropped: Anthropic only
    accepts thinking it signed itself.
    """
    thinking: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for p in m.parts:
        if isinstance(p, ReasoningPart):
            if p.redacted:
                thinking.append({"type": "redacted_thinking", "data": p.redacted})
            elif p.signature:
                thinking.append({"type": "thinking", "thinking": p.text, "signature": p.signature})
        elif isinstance(p, TextPart):
            if p.text:
                rest.append(_cache({"type": "text", "text": p.text}, p.cache_control))
        else:
            raise ConfigError("an assistant turn sent to Anthropic may not hold images or documents")
    for c in m.tool_calls:
        rest.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
    if not thinking and not m.tool_calls and isinstance(m.content, str):
        return {"role": "assistant", "content": m.content}
    return {"role": "assistant", "content": thinking + rest}


def _tool_result(m: Message) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id}
    if isinstance(m.content, str):
        if m.content:
            block["content"] = m.content
    else:
        block["content"] = _blocks(m.content)
    if m.is_error:
        block["is_error"] = True
    return block


def _system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    if not blocks:
        return None
    if len(blocks) == 1 and "cache_control" not in blocks[0]:
        text: str = blocks[0]["text"]
        return text
    return blocks


def convert_messages(messages: list[Message]) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Unified turns -> (top-level `system`, Anthropic `messages`).

    System and developer turns, wherever they are, become the top-level system prompt (a
    string, or text blocks when there are several or one carries cache_control).
    Consecutive tool turns become ONE user turn of tool_result blocks, as Anthropic requires
    every result of an assistant turn's tool_use blocks in the very next message.
    """
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None
    for m in messages:
        if m.role in ("system", "developer"):
            for p in m.parts:
                if isinstance(p, TextPart) and p.text:
                    system.append(_cache({"type": "text", "text": p.text}, p.cache_control))
            continue
        if m.role == "tool":
            if results is None:
                results = []
                out.append({"role": "user", "content": results})
            results.append(_tool_result(m))
            continue
        results = None
        if m.role == "assistant":
            out.append(_assistant(m))
        elif isinstance(m.content, str):
            out.append({"role": "user", "content": m.content})
        else:
            out.append({"role": "user", "content": _blocks(m.content)})
    return _system(system), out


def _tool(t: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t["name"]}
    if t.get("description"):
        out["description"] = t["description"]
    out["input_schema"] = t.get("parameters") or {"type": "object", "properties": {}}
    return _cache(out, t.get("cache_control"))


def _tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    """auto/none stay; required/any -> {type: any}; a name -> {type: tool, name}."""
    if isinstance(choice, str):
        if choice in ("auto", "none", "any"):
            return {"type": choice}
        if choice == "required":
            return {"type": "any"}
        return {"type": "tool", "name": choice}
    if choice.get("type") == "function":
        fn = choice.get("function") or {}
        return {"type": "tool", "name": fn.get("name", choice.get("name"))}
    if choice.get("type") in ("auto", "any", "none", "tool"):
        return dict(choice)
    if "name" in choice:
        return {"type": "tool", "name": choice["name"]}
    return dict(choice)


def _thinking(req: ChatRequest, provider: str) -> tuple[dict[str, Any] | None, int | None]:
    """`reasoning_budget` wins; else `reasoning_effort` maps through EFFORT_BUDGETS ("none" disables)."""
    if req.reasoning_budget is not None:
        budget = req.reasoning_budget
    elif req.reasoning_effort is not None:
        if req.reasoning_effort in ("none", "disabled"):
            return {"type": "disabled"}, None
        if req.reasoning_effort not in EFFORT_BUDGETS:
            raise ConfigError(
                f"unknown reasoning_effort {req.reasoning_effort!r}; use one of {', '.join(EFFORT_BUDGETS)} or 'none'",
                provider=provider,
            )
        budget = EFFORT_BUDGETS[req.reasoning_effort]
    else:
        return None, None
    if budget < 1024:
        raise ConfigError(f"reasoning_budget must be at least 1024 for {provider}, got {budget}", provider=provider)
    return {"type": "enabled", "budget_tokens": budget}, budget


def _json_tool(req: ChatRequest, ctx: CallContext, thinking: bool) -> dict[str, Any] | None:
    """Structured output as a forced tool whose input_schema is the requested schema."""
    rf = req.response_format or {}
    kind = rf.get("type")
    if kind not in ("json_schema", "json_object"):
        return None
    where = f"{ctx.provider}/{req.model}"
    if req.tools:
        raise UnsupportedFeatureError(
            f"{where}: response_format cannot be combined with tools (structured output is a forced tool here)",
            provider=ctx.provider,
            code="json_schema",
        )
    if thinking:
        raise UnsupportedFeatureError(
            f"{where}: response_format cannot be combined with thinking (Anthropic forbids forced tools with it)",
            provider=ctx.provider,
            code="json_schema",
        )
    js = rf.get("json_schema") or {}
    schema = dict(js.get("schema") or {}) if kind == "json_schema" else {"type": "object"}
    if schema.get("type") != "object":
        raise UnsupportedFeatureError(
            f"{where}: a response_format schema must have an object root", provider=ctx.provider, code="json_schema"
        )
    desc = "Answer by calling this tool; its input is the JSON response."
    if js.get("description"):
        desc += f" {js['description']}"
    return {"name": JSON_TOOL, "description": desc, "input_schema": schema}


def _max_tokens(req: ChatRequest, ctx: CallContext, budget: int | None) -> int:
    """The caller's `max_tokens`; else the catalog model's max output, else DEFAULT_MAX_TOKENS.

    Anthropic requires the field. When thinking is on and no `max_tokens` was given, the
    default is raised above the budget (thinking tokens count towards max_tokens).
    """
    if req.max_tokens is not None:
        if budget is not None and budget >= req.max_tokens:
            raise ConfigError(
                f"the thinking budget ({budget}) must be less than max_tokens ({req.max_tokens})", provider=ctx.provider
            )
        return req.max_tokens
    info = ctx.model_info
    mt = info.max_output_tokens if info is not None and info.max_output_tokens else DEFAULT_MAX_TOKENS
    if budget is not None and mt <= budget:
        mt = budget + DEFAULT_MAX_TOKENS
    return mt


def build_body(req: ChatRequest, ctx: CallContext, *, count: bool) -> dict[str, Any]:
    """The Messages body for a chat call (`count=False`) or a count_tokens call (`count=True`)."""
    if req.seed is not None:
        raise UnsupportedFeatureError(
            f"{ctx.provider}/{req.model} does not support seed", provider=ctx.provider, code="seed"
        )
    thinking, budget = _thinking(req, ctx.provider)
    system, messages = convert_messages(req.messages)
    body: dict[str, Any] = {"model": req.model}
    if not count:
        body["max_tokens"] = _max_tokens(req, ctx, budget)
    body["messages"] = messages
    if system is not None:
        body["system"] = system
    for name in ("temperature", "top_p"):
        v = getattr(req, name)
        if v is not None:
            body[name] = v
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.user is not None:
        body["metadata"] = {"user_id": req.user}
    if thinking is not None:
        body["thinking"] = thinking
    json_tool = _json_tool(req, ctx, budget is not None)
    if json_tool is not None:
        body["tools"] = [json_tool]
        body["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    elif req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
        choice = _tool_choice(req.tool_choice) if req.tool_choice is not None else None
        if req.parallel_tool_calls is False:
            choice = choice or {"type": "auto"}
            if choice["type"] != "none":
                choice["disable_parallel_tool_use"] = True
        if choice is not None:
            body["tool_choice"] = choice
    if req.stream and not count:
        body["stream"] = True
    if req.provider_options:
        body.update(req.provider_options)
    if req.extra_body:
        body.update(req.extra_body)
    if count:
        body = {k: v for k, v in body.items() if k in _COUNT_KEYS}
    return body
