"""Unified, provider-neutral types: messages, content parts, responses, usage.

Every dialect adapter maps these to its wire format and back. They carry what the strongest
providers offer (tool calls, reasoning with signatures, cache usage), so nothing is dropped on
the way through; a provider's untouched answer stays on `ChatResponse.raw`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ._errors import ConfigError

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "DocumentPart",
    "FinishReason",
    "ImagePart",
    "Message",
    "ReasoningPart",
    "Role",
    "TextPart",
    "ToolCall",
    "Usage",
    "coerce_messages",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


@attrs.define(kw_only=True, slots=True)
class TextPart:
    """Plain text. `cache_control` marks a prompt-cache breakpoint where the provider has them."""

    text: str
    cache_control: dict[str, Any] | None = None
    type: Literal["text"] = "text"


@attrs.define(kw_only=True, slots=True)
class ImagePart:
    """An image given by URL (http(s) or data:) or by raw bytes with a media type."""

    url: str | None = None
    data: bytes | None = attrs.field(default=None, repr=False)
    media_type: str | None = None
    detail: str | None = None
    type: Literal["image"] = "image"

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ConfigError("an image part needs exactly one of `url` or `data`")
        if self.data is not None and not self.media_type:
            raise ConfigError("an image given as bytes needs `media_type`, e.g. 'image/png'")


@attrs.define(kw_only=True, slots=True)
class DocumentPart:
    """A document (PDF or text) by URL or bytes, for providers that read documents."""

    url: str | None = None
    data: bytes | None = attrs.field(default=None, repr=False)
    media_type: str | None = None
    type: Literal["document"] = "document"


@attrs.define(kw_only=True, slots=True)
class ReasoningPart:
    """Model reasoning. `signature`/`redacted` must go back unchanged on the next turn."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    type: Literal["reasoning"] = "reasoning"


ContentPart = TextPart | ImagePart | DocumentPart | ReasoningPart


@attrs.define(kw_only=True, slots=True)
class ToolCall:
    """A function call the model asked for. `arguments` is parsed; `raw_arguments` is as sent."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str | None = None
    provider_data: dict[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class Message:
    """One conversation turn.

    `content` is a string or a list of parts; `tool_calls` live on assistant turns; a `tool`
    turn answers the call named by `tool_call_id`.
    """

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = attrs.field(factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    @property
    def parts(self) -> list[ContentPart]:
        """The content as a list of parts, whatever form it was given in."""
        if isinstance(self.content, str):
            return [TextPart(text=self.content)] if self.content else []
        return self.content

    @property
    def text(self) -> str:
        """The concatenated text parts (reasoning excluded)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def to_dict(self) -> dict[str, Any]:
        """This turn as an OpenAI-style dict, e.g. to keep a history as JSON."""
        out: dict[str, Any] = {"role": self.role}
        if isinstance(self.content, str):
            out["content"] = self.content
        else:
            out["content"] = [_part_to_dict(p) for p in self.content]
        if self.tool_calls:
            out["tool_calls"] = [_call_to_dict(c) for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


@attrs.define(kw_only=True, slots=True)
class Usage:
    """Token counts, normalised across providers.

    `input_tokens` counts the whole prompt, cached and cache-written tokens included;
    `output_tokens` counts everything generated, reasoning included.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    # Of cache_write_tokens, those written with Anthropic's 1-hour TTL (priced at Price.cache_write_1h).
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )


@attrs.define(kw_only=True, slots=True)
class ChatResponse:
    """One model answer, the same for a plain call and a finished stream."""

    id: str | None
    provider: str
    model: str
    message: Message
    finish_reason: FinishReason
    raw_finish_reason: str | None
    usage: Usage
    cost_usd: float | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)
    errors: list[Exception] = attrs.field(factory=list, repr=False, eq=False)
    # The structured answer when `response_format` asked for JSON: an instance of the attrs class
    # or dataclass given, or the validated JSON value for a schema or JSON mode; else None.
    parsed: Any = attrs.field(default=None, eq=False)

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls

    @property
    def reasoning(self) -> str:
        """The reasoning text the provider returned, if any."""
        if isinstance(self.message.content, str):
            return ""
        return "".join(p.text for p in self.message.content if isinstance(p, ReasoningPart))


@attrs.define(kw_only=True, slots=True)
class ChatRequest:
    """A chat call after validation: what every dialect adapter receives."""

    model: str
    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    reasoning_budget: int | None = None
    stream: bool = False
    user: str | None = None
    extra_body: dict[str, Any] | None = None
    provider_options: dict[str, Any] | None = None


def _call_to_dict(c: ToolCall) -> dict[str, Any]:
    d: dict[str, Any] = {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _dump_args(c)}}
    if c.provider_data:
        d["provider_data"] = c.provider_data  # e.g. Gemini thought signatures, needed on the next turn
    return d


def _dump_args(call: ToolCall) -> str:
    if call.raw_arguments is not None:
        return call.raw_arguments
    import json

    return json.dumps(call.arguments, ensure_ascii=False)


def _part_to_dict(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        d: dict[str, Any] = {"type": "text", "text": part.text}
        if part.cache_control:
            d["cache_control"] = part.cache_control
        return d
    if isinstance(part, ImagePart):
        return {"type": "image_url", "image_url": {"url": image_url(part)}}
    if isinstance(part, ReasoningPart):
        return {"type": "reasoning", "text": part.text, "signature": part.signature}
    return {"type": "document", "url": part.url, "media_type": part.media_type}


def image_url(part: ImagePart) -> str:
    """The image as a URL, turning bytes into a data: URL."""
    if part.url is not None:
        return part.url
    import base64

    assert part.data is not None
    return f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"


def split_data_url(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,xxxx` -> ("image/png", "xxxx"); None for other URLs."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        raise ConfigError("only base64 data: URLs are supported for images, e.g. data:image/png;base64,...")
    return head[: -len(";base64")], data


# --- accepting OpenAI-style dicts -----------------------------------------------------------

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def coerce_messages(messages: Sequence[Message | Mapping[str, Any]] | str) -> list[Message]:
    """Turn OpenAI-style dicts (or llmkit Messages, or a bare string) into Messages.

    Raises ConfigError naming the first bad message, so nothing malformed is sent.
    """
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    if not isinstance(messages, Sequence) or not messages:
        raise ConfigError("`messages` must be a non-empty list of messages")
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, Mapping):
            out.append(_message_from_dict(m, i))
        else:
            raise ConfigError(f"messages[{i}] must be a dict or llmkit.Message, got {type(m).__name__}")
    return out


def _message_from_dict(d: Mapping[str, Any], i: int) -> Message:
    role = d.get("role")
    if role not in _ROLES:
        raise ConfigError(f"messages[{i}].role must be one of {sorted(_ROLES)}, got {role!r}")
    raw = d.get("content")
    content: str | list[ContentPart]
    if raw is None:
        content = ""
    elif isinstance(raw, str):
        content = raw
    elif isinstance(raw, list):
        content = [_part_from_dict(p, i, j) for j, p in enumerate(raw)]
    else:
        raise ConfigError(f"messages[{i}].content must be a string or a list of parts")
    calls = [_call_from_dict(c, i) for c in d.get("tool_calls") or []]
    if role == "tool" and not d.get("tool_call_id"):
        raise ConfigError(f"messages[{i}] has role 'tool' but no `tool_call_id`")
    return Message(
        role=role,
        content=content,
        tool_calls=calls,
        tool_call_id=d.get("tool_call_id"),
        name=d.get("name"),
        is_error=bool(d.get("is_error", False)),
    )


def _part_from_dict(p: Any, i: int, j: int) -> ContentPart:
    if isinstance(p, (TextPart, ImagePart, DocumentPart, ReasoningPart)):
        return p
    if not isinstance(p, Mapping):
        raise ConfigError(f"messages[{i}].content[{j}] must be a dict")
    kind = p.get("type")
    if kind == "text":
        return TextPart(text=str(p.get("text", "")), cache_control=p.get("cache_control"))
    if kind in ("image_url", "image"):
        src = p.get("image_url")
        if isinstance(src, Mapping):
            return ImagePart(url=src.get("url"), detail=src.get("detail"))
        if isinstance(src, str):
            return ImagePart(url=src)
        if "data" in p:
            data = p["data"]
            return ImagePart(
                data=data if isinstance(data, bytes) else _b64decode(data),
                media_type=p.get("media_type"),
            )
        return ImagePart(url=p.get("url"))
    if kind == "redacted_thinking":
        return ReasoningPart(redacted=str(p.get("data", "")))
    if kind in ("reasoning", "thinking"):
        return ReasoningPart(text=p.get("text") or p.get("thinking") or "", signature=p.get("signature"))
    if kind == "document":
        return DocumentPart(url=p.get("url"), media_type=p.get("media_type"))
    raise ConfigError(
        f"messages[{i}].content[{j}] has unknown type {kind!r}; use 'text', 'image_url', 'reasoning' or 'document'"
    )


def _call_from_dict(c: Any, i: int) -> ToolCall:
    if isinstance(c, ToolCall):
        return c
    import json

    fn = c.get("function") or {}
    args = fn.get("arguments", "{}")
    try:
        parsed = json.loads(args) if isinstance(args, str) else dict(args)
    except ValueError as exc:
        raise ConfigError(f"messages[{i}].tool_calls: arguments are not valid JSON: {exc}")
    return ToolCall(
        id=str(c.get("id", "")),
        name=str(fn.get("name", "")),
        arguments=parsed,
        raw_arguments=args if isinstance(args, str) else None,
        provider_data=c.get("provider_data"),
    )


def _b64decode(data: str) -> bytes:
    import base64

    return base64.b64decode(data)
