"""Building Yandex Foundation Models request bodies from unified chat requests.

Kept apart from the response side (llmkit/dialects/yandex.py) because the mapping has its own
rules: model URIs need the folder id, int64 fields travel as strings, tool calls and results
are lists inside a message rather than messages of their own, and what Yandex lacks is refused
here, before any request.
"""

from __future__ import annotations

from typing import Any

from .._errors import BadRequestError, ConfigError, UnsupportedFeatureError
from .._types import ChatRequest, Message
from ._base import CallContext

__all__ = ["build_body", "call_id", "model_uri"]


def model_uri(model: str, ctx: CallContext, scheme: str = "gpt") -> str:
    """`gpt://<folder_id>/<model>`; a model given as a full URI (gpt://, ds://, emb://) is kept."""
    if "://" in model:
        return model
    folder = ctx.settings.get("folder_id")
    if not folder:
        raise ConfigError(
            f"yandex model {model!r} needs a folder id to become {scheme}://<folder_id>/{model}: pass "
            "providers={'yandex': {'folder_id': ...}} (or set YC_FOLDER_ID), or give the full URI as the model",
            provider=ctx.provider,
        )
    return f"{scheme}://{folder}/{model}"


def call_id(index: int, name: str) -> str:
    """Yandex tool calls have no ids; this one is stable for the n-th call of an answer."""
    return f"call_{index}_{name}"


def _unsupported(ctx: CallContext, what: str, code: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{ctx.provider}/{ctx.model} does not support {what}; drop it from the call", provider=ctx.provider, code=code
    )


def _check(req: ChatRequest, ctx: CallContext) -> None:
    for what, value in (("stop", req.stop), ("seed", req.seed), ("user", req.user)):
        if value is not None:
            raise _unsupported(ctx, what, what)
    if req.response_format is not None and req.response_format.get("type") != "text":
        raise _unsupported(ctx, "response_format", "response_format")
    choice = req.tool_choice
    if choice is not None and choice not in ("auto", "none"):
        raise _unsupported(ctx, f"a forced tool choice ({choice!r}); use 'auto' or 'none'", "tool_choice")


def _messages(messages: list[Message], ctx: CallContext) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # call id -> function name, for the results that answer them
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "")
            if not name:
                raise BadRequestError(
                    f"{ctx.provider}: the tool result for call {m.tool_call_id!r} answers no earlier tool call; "
                    "set `name` on the tool message",
                    provider=ctx.provider,
                )
            result = {"functionResult": {"name": name, "content": m.text}}
            last = out[-1] if out else None
            if last is not None and "toolResultList" in last:  # results of one turn travel together
                last["toolResultList"]["toolResults"].append(result)
            else:
                out.append({"role": "user", "toolResultList": {"toolResults": [result]}})
            continue
        role = "system" if m.role == "developer" else m.role
        if m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                names[c.id] = c.name
            calls = [{"functionCall": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
            out.append({"role": role, "toolCallList": {"toolCalls": calls}})
            continue
        out.append({"role": role, "text": m.text})
    return out


def build_body(req: ChatRequest, ctx: CallContext, *, stream: bool) -> dict[str, Any]:
    """The completion request body (also what tokenizeCompletion and completionAsync take)."""
    _check(req, ctx)
    options: dict[str, Any] = {"stream": stream}
    if req.temperature is not None:
        options["temperature"] = req.temperature
    if req.max_tokens is not None:
        options["maxTokens"] = str(req.max_tokens)  # int64: a JSON string in proto3 JSON
    body: dict[str, Any] = {
        "modelUri": model_uri(req.model, ctx),
        "completionOptions": options,
        "messages": _messages(req.messages, ctx),
    }
    if req.top_p is not None:
        raise _unsupported(ctx, "top_p", "top_p")
    if req.tools and req.tool_choice != "none":
        body["tools"] = [
            {"function": {k: t[k] for k in ("name", "description", "parameters") if k in t}} for t in req.tools
        ]
    if req.provider_options:
        body.update(req.provider_options)
    if req.extra_body:
        body.update(req.extra_body)
    return body
