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
    "enable_thinking_flag": "reasoning is switched by a boolean `enable_thinking`, only in streams; "
    "non-stream calls send `enable_thinking: false` (DashScope)",
    "thinking_type_switch": "reasoning is switched by `thinking: {type: enabled|disabled}` (Zhipu, Kimi)",
    "choice_usage": "a stream's usage may sit inside `choices[i].usage` of the finish chunk (Moonshot)",
    "tool_call_index_fallback": "streamed tool-call deltas may lack `index`: use their position in the list",
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
    if ctx.quirk("enable_thinking_flag"):
        _enable_thinking(body, ctx)
    if ctx.quirk("thinking_type_switch") and "reasoning_effort" in body:
        effort = body.pop("reasoning_effort")
        body["thinking"] = {"type": "disabled" if effort == "none" else "enabled"}
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


def _enable_thinking(body: dict[str, Any], ctx: CallContext) -> None:
    """Quirk `enable_thinking_flag`: `reasoning_effort` becomes DashScope's `enable_thinking`.

    DashScope thinks only in streams: a non-stream call with thinking on is a 400, and the
    open-source Qwen3 models think by default, so a plain call says `enable_thinking: false`
    out loud. Asking for reasoning without streaming is refused here, before any request.
    """
    effort = body.pop("reasoning_effort", None)
    thinking = effort is not None and effort != "none"
    if body.get("stream"):
        if effort is not None:
            body["enable_thinking"] = thinking
        return
    if thinking:
        raise UnsupportedFeatureError(
            f"{ctx.provider} reasons only in streams: pass stream=True, or reasoning_effort='none'",
            provider=ctx.provider,
            code="reasoning_effort",
        )
    body["enable_thinking"] = False


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
    if stream and isinstance(data.get("choices"), list):
        if ctx.quirk("choice_usage"):
            _hoist_choice_usage(data)
        if ctx.quirk("tool_call_index_fallback"):
            _index_tool_calls(data)
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


def _hoist_choice_usage(data: dict[str, Any]) -> None:
    """Quirk `choice_usage`: Moonshot's finish chunk carries usage in `choices[0].usage`.

    Newer models may also send the same usage top-level; the top-level one wins and the
    choice-level copy is dropped, so the tokens are counted once.
    """
    choices = []
    for choice in data["choices"]:
        if isinstance(choice, dict) and "usage" in choice:
            choice = dict(choice)
            usage = choice.pop("usage")
            if isinstance(usage, dict) and data.get("usage") is None:
                data["usage"] = usage
        choices.append(choice)
    data["choices"] = choices


def _index_tool_calls(data: dict[str, Any]) -> None:
    """Quirk `tool_call_index_fallback`: a tool-call delta without `index` gets its list position."""
    choices = []
    for choice in data["choices"]:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        calls = delta.get("tool_calls") if isinstance(delta, dict) else None
        if (
            isinstance(delta, dict)
            and isinstance(calls, list)
            and any(isinstance(c, dict) and c.get("index") is None for c in calls)
        ):
            fixed = [
                {**c, "index": i} if isinstance(c, dict) and c.get("index") is None else c for i, c in enumerate(calls)
            ]
            choice = {**choice, "delta": {**delta, "tool_calls": fixed}}
        choices.append(choice)
    data["choices"] = choices


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
