"""Building Bedrock Converse request bodies from unified requests (pure, no I/O).

Split out of `bedrock_converse` to keep each module small. The rules that matter, and why:

* every content block is a one-member union (`{"text": ...}`, `{"image": ...}`, ...), and
  the system prompt is a top-level list of blocks;
* roles must alternate: consecutive tool results become ONE user turn of `toolResult`
  blocks, and any two turns of the same role are merged (Bedrock rejects the repeat);
* `cache_control` on a part or tool becomes a `cachePoint` block right after it;
* images and documents travel as base64 bytes or `s3://` locations; Bedrock never fetches an
  http(s) URL, so one is refused before the call rather than sent to fail;
* reasoning goes back first in an assistant turn, text and signature unchanged, because the
  Anthropic models behind Converse verify it; reasoning without a signature is dropped;
* Bedrock has no `tool_choice: none` and no way to forbid parallel calls, so both raise
  UnsupportedFeatureError instead of being silently ignored.
"""

from __future__ import annotations

import base64
import json
import re
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
from ._anthropic_request import DEFAULT_MAX_TOKENS, EFFORT_BUDGETS
from ._base import CallContext

__all__ = ["build_body", "convert_messages", "count_body"]

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOC_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}
_TOP_LEVEL_DICTS = ("additionalModelRequestFields", "inferenceConfig", "toolConfig", "outputConfig")


def _unsupported(ctx: CallContext, model: str, what: str, code: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{ctx.provider}/{model}: {what}", provider=ctx.provider, code=code)


def _cache_point(cache_control: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cache_control:
        return []
    point: dict[str, Any] = {"type": "default"}
    if cache_control.get("ttl") in ("5m", "1h"):
        point["ttl"] = cache_control["ttl"]
    return [{"cachePoint": point}]


def _source(url: str | None, data: bytes | None, kind: str) -> tuple[dict[str, Any], str | None]:
    """(Bedrock source, media type from a data: URL). bytes -> base64; s3:// -> s3Location."""
    if data is not None:
        return {"bytes": base64.b64encode(data).decode("ascii")}, None
    assert url is not None
    split = split_data_url(url)
    if split is not None:
        return {"bytes": split[1]}, split[0]
    if url.startswith("s3://"):
        return {"s3Location": {"uri": url}}, None
    raise UnsupportedFeatureError(
        f"bedrock cannot fetch {kind} URLs ({url[:60]!r}): pass the {kind} as bytes (data=..., media_type=...), "
        "a data: URL, or an s3:// URI",
        provider="bedrock",
        code=f"{kind}_url",
    )


def _image(p: ImagePart) -> dict[str, Any]:
    source, media = _source(p.url, p.data, "image")
    media = media or p.media_type or ("image/" + (p.url or "").rsplit(".", 1)[-1].lower())
    fmt = _IMAGE_FORMATS.get(media.lower())
    if fmt is None:
        raise ConfigError(f"bedrock takes png, jpeg, gif or webp images, not {media!r}", provider="bedrock")
    return {"image": {"format": fmt, "source": source}}


def _document(p: DocumentPart, index: int) -> dict[str, Any]:
    if p.url is None and p.data is None:
        raise ConfigError("a document part needs `url` or `data`", provider="bedrock")
    source, media = _source(p.url, p.data, "document")
    media = (media or p.media_type or "application/pdf").lower()
    fmt = _DOC_FORMATS.get(media)
    if fmt is None:
        raise ConfigError(
            f"bedrock takes documents of types {', '.join(sorted(_DOC_FORMATS))}, not {media!r}", provider="bedrock"
        )
    # Bedrock names must be unique per request and hold only letters, digits, spaces, -()[].
    return {"document": {"format": fmt, "name": f"document-{index}", "source": source}}


class _Counter:
    """Numbers documents across the whole request, so their names are unique."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def _blocks(parts: list[ContentPart], docs: _Counter) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if p.text:
                out.append({"text": p.text})
                out.extend(_cache_point(p.cache_control))
        elif isinstance(p, ImagePart):
            out.append(_image(p))
        elif isinstance(p, DocumentPart):
            out.append(_document(p, docs.next()))
    return out


def _assistant(m: Message) -> list[dict[str, Any]]:
    thinking: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for p in m.parts:
        if isinstance(p, ReasoningPart):
            if p.redacted:
                thinking.append({"reasoningContent": {"redactedContent": p.redacted}})
            elif p.signature:
                thinking.append({"reasoningContent": {"reasoningText": {"text": p.text, "signature": p.signature}}})
        elif isinstance(p, TextPart):
            if p.text:
                rest.append({"text": p.text})
                rest.extend(_cache_point(p.cache_control))
        else:
            raise ConfigError("an assistant turn sent to bedrock may not hold images or documents", provider="bedrock")
    for c in m.tool_calls:
        rest.append({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.arguments}})
    return thinking + rest


def _tool_result(m: Message, docs: _Counter) -> dict[str, Any]:
    if isinstance(m.content, str):
        content: list[dict[str, Any]] = [{"text": m.content}] if m.content else []
    else:
        content = [b for b in _blocks(m.content, docs) if "cachePoint" not in b]
    block: dict[str, Any] = {"toolUseId": m.tool_call_id or "", "content": content or [{"text": ""}]}
    if m.is_error:
        block["status"] = "error"
    return {"toolResult": block}


def convert_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Unified turns -> (Converse `system` blocks, alternating `messages`)."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    docs = _Counter()
    for m in messages:
        if m.role in ("system", "developer"):
            for p in m.parts:
                if isinstance(p, TextPart) and p.text:
                    system.append({"text": p.text})
                    system.extend(_cache_point(p.cache_control))
            continue
        if m.role == "tool":
            role, blocks = "user", [_tool_result(m, docs)]
        elif m.role == "assistant":
            role, blocks = "assistant", _assistant(m)
        else:
            role, blocks = "user", _blocks(m.parts, docs)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _tools(req: ChatRequest, ctx: CallContext) -> dict[str, Any] | None:
    if not req.tools:
        return None
    tools: list[dict[str, Any]] = []
    for t in req.tools:
        spec: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            spec["description"] = t["description"]
        spec["inputSchema"] = {"json": t.get("parameters") or {"type": "object", "properties": {}}}
        tools.append({"toolSpec": spec})
        tools.extend(_cache_point(t.get("cache_control")))
    config: dict[str, Any] = {"tools": tools}
    choice = req.tool_choice
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else choice.get("name")
        choice = name or str(choice.get("type") or "auto")
    if choice is not None:
        if choice == "none":
            raise _unsupported(ctx, req.model, "Converse has no tool_choice 'none'; leave the tools out", "tool_choice")
        if choice == "auto":
            config["toolChoice"] = {"auto": {}}
        elif choice in ("required", "any"):
            config["toolChoice"] = {"any": {}}
        else:
            config["toolChoice"] = {"tool": {"name": choice}}
    return config


def _thinking(req: ChatRequest, ctx: CallContext) -> int | None:
    if req.reasoning_budget is not None:
        budget = req.reasoning_budget
    elif req.reasoning_effort is not None:
        if req.reasoning_effort in ("none", "disabled"):
            return None
        if req.reasoning_effort not in EFFORT_BUDGETS:
            raise ConfigError(
                f"unknown reasoning_effort {req.reasoning_effort!r}; use one of {', '.join(EFFORT_BUDGETS)} or 'none'",
                provider=ctx.provider,
            )
        budget = EFFORT_BUDGETS[req.reasoning_effort]
    else:
        return None
    if budget < 1024:
        raise ConfigError(f"reasoning_budget must be at least 1024 for {ctx.provider}, got {budget}")
    return budget


def _inference(req: ChatRequest, ctx: CallContext, budget: int | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    max_tokens = req.max_tokens
    if budget is not None:
        if max_tokens is not None and budget >= max_tokens:
            raise ConfigError(
                f"the thinking budget ({budget}) must be less than max_tokens ({max_tokens})", provider=ctx.provider
            )
        if max_tokens is None:
            info = ctx.model_info
            max_tokens = info.max_output_tokens if info is not None and info.max_output_tokens else None
            if max_tokens is None or max_tokens <= budget:
                max_tokens = budget + DEFAULT_MAX_TOKENS
    for key, value in (("maxTokens", max_tokens), ("temperature", req.temperature), ("topP", req.top_p)):
        if value is not None:
            cfg[key] = value
    if req.stop:
        cfg["stopSequences"] = list(req.stop)
    return cfg


def _output_config(req: ChatRequest) -> dict[str, Any] | None:
    rf = req.response_format or {}
    if rf.get("type") != "json_schema":
        return None
    js = rf.get("json_schema") or {}
    definition: dict[str, Any] = {"schema": json.dumps(js.get("schema") or {}, ensure_ascii=False)}
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(js.get("name") or "response"))[:64]
    definition["name"] = name
    if js.get("description"):
        definition["description"] = js["description"]
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if k in _TOP_LEVEL_DICTS and isinstance(v, dict) and isinstance(into.get(k), dict):
            into[k] = {**into[k], **v}
        else:
            into[k] = v


def build_body(req: ChatRequest, ctx: CallContext) -> dict[str, Any]:
    """The Converse (and ConverseStream) body; the model id travels in the path only."""
    if req.seed is not None:
        raise _unsupported(ctx, req.model, "Converse has no seed parameter", "seed")
    if req.parallel_tool_calls is False:
        raise _unsupported(ctx, req.model, "Converse cannot forbid parallel tool calls", "parallel_tool_calls")
    budget = _thinking(req, ctx)
    system, messages = convert_messages(req.messages)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system
    inference = _inference(req, ctx, budget)
    if inference:
        body["inferenceConfig"] = inference
    tools = _tools(req, ctx)
    if tools is not None:
        body["toolConfig"] = tools
    if budget is not None:
        body["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
    output = _output_config(req)
    if output is not None:
        body["outputConfig"] = output
    if req.user is not None:
        body["requestMetadata"] = {"user": req.user}
    for extra in (req.provider_options, req.extra_body):
        if extra:
            _merge(body, extra)
    return body


def count_body(req: ChatRequest, ctx: CallContext) -> dict[str, Any]:
    """CountTokens' `{"input": {"converse": {...}}}`: what the prompt holds, no sampling settings."""
    full = build_body(req, ctx)
    keys = ("messages", "system", "toolConfig", "additionalModelRequestFields")
    return {"input": {"converse": {k: full[k] for k in keys if k in full}}}
