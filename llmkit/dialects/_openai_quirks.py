"""Named hooks for the OpenAI-compatible family, each switched on by a quirk flag in a spec.

The openai_chat adapter speaks OpenAI's dialect; where a compatible provider differs, its spec
lists a flag from `QUIRKS` and the adapter calls the hook below. No hook looks at a provider
id, so a new provider with the same difference is one YAML line, not new code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import ConfigError, UnsupportedFeatureError
from .._spec import Operation
from .._types import ChatResponse, Message, ReasoningPart, Usage
from ._base import CallContext

__all__ = [
    "QUIRKS",
    "Citation",
    "adapt_request",
    "chat_operation",
    "citations",
    "echo_reasoning",
    "expand_query",
    "extra_usage",
    "normalise_payload",
    "reasoning_extra",
    "stream_extra_usage",
]

QUIRKS: dict[str, str] = {
    "max_tokens_field": "send the output limit as `max_tokens`, not `max_completion_tokens`",
    "no_stream_options": "never send `stream_options`; usage arrives on the last chunk anyway",
    "random_seed_field": "send `seed` as `random_seed`",
    "tool_choice_any": "send a forced tool choice (`required`) as `any`",
    "tool_call_id_alnum9": "rewrite tool-call ids that are not 9 letters/digits into ones that are (stable per id)",
    "no_user_field": "the `user` parameter is refused: raise UnsupportedFeatureError before sending",
    "no_message_name": "a `name` on a non-tool message is refused: raise UnsupportedFeatureError before sending",
    "developer_as_system": "send `developer` messages with role `system` (the provider has no developer role)",
    "content_chunks": "`content` may be a list of typed chunks (`text`, `thinking`): read text and reasoning",
    "reasoning_content_echo": "assistant turns with tool calls carry their reasoning back as `reasoning_content`",
    "reasoning_field": "reasoning text arrives in `reasoning` (message and delta) besides `reasoning_content`",
    "prompt_cache_usage": "usage `prompt_cache_hit_tokens` counts cached input tokens",
    "num_cached_tokens_usage": "usage `num_cached_tokens` counts cached input tokens",
    "x_groq_usage": "stream usage may come only in the final chunk's `x_groq.usage`",
    "search_citations": "responses carry `citations` and `search_results`; read them with `citations(resp)`",
    "api_version_v1": "setting `api_version` of `v1` (or `preview`) selects the v1 path `create_chat_completion_v1`",
    "stream_no_done": "a stream may end after its finish chunk without `data: [DONE]`",
}

_ALNUM9 = re.compile(r"^[A-Za-z0-9]{9}$")
_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# -- requests --------------------------------------------------------------------------------


def chat_operation(ctx: CallContext) -> tuple[Operation, dict[str, str]]:
    """The chat operation and its query for this call (quirk `api_version_v1` picks a variant)."""
    if ctx.quirk("api_version_v1"):
        version = str(ctx.settings.get("api_version") or "")
        if version in ("v1", "preview"):
            op = ctx.spec.operations.get("create_chat_completion_v1")
            if op is None:
                raise ConfigError(
                    f"{ctx.provider}: quirk api_version_v1 needs an operation `create_chat_completion_v1` in its spec",
                    provider=ctx.provider,
                )
            return op, ({"api-version": "preview"} if version == "preview" else {})
    op = ctx.spec.operations["create_chat_completion"]
    return op, expand_query(op, ctx)


def expand_query(op: Operation, ctx: CallContext) -> dict[str, str]:
    """An operation's query, with `{setting}` values filled from the provider's settings."""
    out: dict[str, str] = {}
    for key, value in op.query:
        m = _PLACEHOLDER.match(value)
        if m is None:
            out[key] = value
            continue
        setting = ctx.settings.get(m.group(1))
        if setting is None or setting == "":
            raise ConfigError(
                f"{ctx.provider} needs the setting {m.group(1)!r} for query parameter {key!r}: "
                f"pass providers={{{ctx.provider!r}: {{{m.group(1)!r}: ...}}}}",
                provider=ctx.provider,
            )
        out[key] = str(setting)
    return out


def alnum9(call_id: str) -> str:
    """A stable 9-character alphanumeric stand-in for a tool-call id another provider made."""
    if _ALNUM9.match(call_id):
        return call_id
    n = int.from_bytes(hashlib.sha256(call_id.encode("utf-8")).digest()[:8], "big")
    out = []
    for _ in range(9):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)


def adapt_request(body: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """Apply the request-side quirks to a built OpenAI body (in place; returned for chaining)."""
    if ctx.quirk("no_stream_options"):
        body.pop("stream_options", None)
    if ctx.quirk("random_seed_field") and "seed" in body:
        body["random_seed"] = body.pop("seed")
    if ctx.quirk("tool_choice_any") and body.get("tool_choice") == "required":
        body["tool_choice"] = "any"
    if ctx.quirk("no_user_field") and "user" in body:
        raise UnsupportedFeatureError(
            f"{ctx.provider} does not accept the `user` parameter; drop it from the call",
            provider=ctx.provider,
            code="user",
        )
    for msg in body.get("messages", []):
        role = msg.get("role")
        if ctx.quirk("developer_as_system") and role == "developer":
            msg["role"] = "system"
        if ctx.quirk("no_message_name") and role != "tool" and "name" in msg:
            raise UnsupportedFeatureError(
                f"{ctx.provider} does not accept `name` on {role} messages; drop it from the message",
                provider=ctx.provider,
                code="name",
            )
        if ctx.quirk("tool_call_id_alnum9"):
            if role == "tool" and isinstance(msg.get("tool_call_id"), str):
                msg["tool_call_id"] = alnum9(msg["tool_call_id"])
            for call in msg.get("tool_calls") or []:
                call["id"] = alnum9(call["id"])
    return body


def echo_reasoning(messages: list[Message], wire_messages: list[dict[str, Any]], ctx: CallContext) -> None:
    """Quirk `reasoning_content_echo`: put each tool-call turn's reasoning back on the wire.

    DeepSeek's thinking mode answers 400 when an assistant turn with `tool_calls` comes back
    without the `reasoning_content` it was produced with.
    """
    if not ctx.quirk("reasoning_content_echo"):
        return
    for m, d in zip(messages, wire_messages, strict=True):
        if m.role != "assistant" or not m.tool_calls or isinstance(m.content, str):
            continue
        text = "".join(p.text for p in m.content if isinstance(p, ReasoningPart))
        if text:
            d["reasoning_content"] = text


# -- responses -------------------------------------------------------------------------------


def _flatten_chunks(holder: dict[str, Any]) -> None:
    """`content: [{type: thinking, thinking: [...]}, {type: text, text}]` -> text + reasoning_content."""
    content = holder.get("content")
    if not isinstance(content, list):
        return
    text: list[str] = []
    thinking: list[str] = []
    for chunk in content:
        if not isinstance(chunk, Mapping):
            continue
        kind = chunk.get("type")
        if kind == "text":
            text.append(str(chunk.get("text") or ""))
        elif kind == "thinking":
            inner = chunk.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            elif isinstance(inner, list):
                thinking.extend(str(p.get("text") or "") for p in inner if isinstance(p, Mapping))
    holder["content"] = "".join(text)
    if thinking:
        holder["reasoning_content"] = (holder.get("reasoning_content") or "") + "".join(thinking)


def normalise_payload(data: Any, ctx: CallContext, *, stream: bool) -> Any:
    """Make a response or chunk dict fit the OpenAI wire model before parsing.

    Tolerant of what compatible servers leave out (`id`, `object`, `created`, `model` on a
    response); `content_chunks` flattens typed content lists. Works on a copy: the provider's
    own body stays untouched in `ChatResponse.raw`.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if not stream:
        data.setdefault("id", None)
        data.setdefault("object", "chat.completion")
        data.setdefault("created", 0)
        if data.get("model") is None:
            data["model"] = ctx.model
    elif data.get("id") is None:
        data["id"] = ""
    if ctx.quirk("content_chunks") and isinstance(data.get("choices"), list):
        choices = []
        for choice in data["choices"]:
            if isinstance(choice, dict):
                choice = dict(choice)
                for key in ("message", "delta"):
                    if isinstance(choice.get(key), dict):
                        choice[key] = dict(choice[key])
                        _flatten_chunks(choice[key])
            choices.append(choice)
        data["choices"] = choices
    return data


def reasoning_extra(extras: Mapping[str, Any], ctx: CallContext) -> str:
    """Reasoning text a `reasoning_field` provider puts in `reasoning`."""
    if ctx.quirk("reasoning_field"):
        value = extras.get("reasoning")
        if isinstance(value, str):
            return value
    return ""


def extra_usage(usage: Usage, extras: Mapping[str, Any], ctx: CallContext) -> Usage:
    """Cached-input counts some providers report in fields of their own."""
    if usage.cached_input_tokens == 0:
        if ctx.quirk("prompt_cache_usage") and isinstance(extras.get("prompt_cache_hit_tokens"), int):
            usage.cached_input_tokens = extras["prompt_cache_hit_tokens"]
        elif ctx.quirk("num_cached_tokens_usage") and isinstance(extras.get("num_cached_tokens"), int):
            usage.cached_input_tokens = extras["num_cached_tokens"]
    return usage


def stream_extra_usage(chunk_extras: Mapping[str, Any], ctx: CallContext) -> Mapping[str, Any] | None:
    """The usage dict of `x_groq.usage` when quirk `x_groq_usage` is on."""
    if not ctx.quirk("x_groq_usage"):
        return None
    xg = chunk_extras.get("x_groq")
    usage = xg.get("usage") if isinstance(xg, Mapping) else None
    return usage if isinstance(usage, Mapping) else None


# -- citations -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Citation:
    """A source a search-grounded answer cites: its URL, and title/date when the provider gives them."""

    url: str
    title: str | None = None
    date: str | None = None
    snippet: str | None = None


def citations(resp: ChatResponse) -> list[Citation]:
    """The sources behind a search-grounded answer (Perplexity-style `search_results`/`citations`).

    Works on a plain response (read from `resp.raw`) and on a finished stream (whose `raw`
    keeps the response-level fields the chunks carried). Rich `search_results` win over bare
    `citations` URLs; an answer without sources gives [].
    """
    raw = resp.raw if isinstance(resp.raw, Mapping) else {}
    results = raw.get("search_results")
    if isinstance(results, list) and results:
        out = []
        for r in results:
            if isinstance(r, Mapping) and isinstance(r.get("url"), str):
                out.append(
                    Citation(
                        url=r["url"],
                        title=_opt_str(r.get("title")),
                        date=_opt_str(r.get("date")),
                        snippet=_opt_str(r.get("snippet")),
                    )
                )
        return out
    urls = raw.get("citations")
    if isinstance(urls, list):
        return [Citation(url=u) for u in urls if isinstance(u, str)]
    return []


def _opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None
