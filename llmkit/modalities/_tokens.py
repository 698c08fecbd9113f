"""count_tokens planning: the provider's own count endpoint where the spec has one, else a
provider tokenizer of raw text (Cohere's `tokenize`: an estimate, see `TextTokenizer`), else a
local count for OpenAI-family models, without network.

The local count uses `bpe-openai` (the `llmkit[tokens]` extra), whose wheels ship the
o200k_base and cl100k_base encodings; tiktoken fetches its encodings at run time, which
fails offline. A count is `exact` only when the tokenizer is there and the prompt is plain
text: images, tools and response formats add tokens OpenAI does not document, so those
counts (and every count without the tokenizer) are estimates and say so.
"""

from __future__ import annotations

import importlib
import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol, runtime_checkable

import attrs

from .._chat_params import chat_request
from .._errors import UnsupportedFeatureError
from .._modal_types import TokenCount
from .._registry import dialect as dialect_for
from .._registry import split_model
from .._spec import ProviderSpec
from .._types import ChatRequest, ImagePart, Message, TextPart, coerce_messages
from ..dialects._base import CallContext, WireRequest
from ._plan import CoreHelpers, adapter_for, supports

__all__ = ["CountPlan", "TextTokenizer", "encoding_name", "local_count", "plan_count", "text_counter"]

# Model-name prefixes of OpenAI's encodings (as tiktoken maps them); longest prefix wins.
_ENCODINGS = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)
_FT = re.compile(r"^ft:([^:]+):")
# OpenAI's chat format: each message is wrapped in 3 tokens (+1 for a name) and the reply
# is primed with 3 more (the published counting recipe for gpt-3.5-turbo-0613 and later).
_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3
_IMAGE_ESTIMATE = 765  # a 1024x1024 high-detail image on gpt-4o (85 + 4 * 170)


@runtime_checkable
class TextTokenizer(Protocol):
    """A modality adapter whose provider tokenizes raw text, not a chat prompt (Cohere's
    `/v1/tokenize`): llmkit builds the prompt's text itself, so the count is an estimate."""

    def tokenize_requests(self, req: ChatRequest, ctx: CallContext) -> list[WireRequest]: ...

    def parse_tokenize(self, data: Any, ctx: CallContext) -> int: ...


@attrs.define(kw_only=True, slots=True)
class CountPlan:
    """Either a finished local count, or the requests to the provider whose answers `parse`
    turns into token counts that add up to the prompt's (`exact` False for raw-text tokenizers)."""

    provider: str
    spec: ProviderSpec
    ctx: CallContext
    local: TokenCount | None = None
    wires: list[WireRequest] = attrs.field(factory=list)
    parse: Callable[[Any, CallContext], int] | None = None
    exact: bool = True

    def result(self, answers: Sequence[Any]) -> TokenCount:
        """The count from the decoded JSON answers to `wires`, in order."""
        assert self.parse is not None
        n = sum(self.parse(data, self.ctx) for data in answers)
        return TokenCount(count=n, exact=self.exact, model=self.ctx.model, provider=self.provider, method="provider")


class _Encoding(Protocol):
    def encode(self, text: str) -> list[int]: ...


def encoding_name(model: str) -> str | None:
    """The OpenAI encoding of a model id (fine-tuned ids count as their base), or None."""
    m = _FT.match(model)
    base = m.group(1) if m else model
    best: tuple[int, str] | None = None
    for prefix, enc in _ENCODINGS:
        if base.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), enc)
    return best[1] if best else None


@cache
def _encoding(name: str) -> _Encoding | None:
    # bpe-openai reads its bundled data with a deprecated importlib.resources call, at import.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            bpe_openai: Any = importlib.import_module("bpe_openai")
        except ImportError:
            return None
        enc: _Encoding = bpe_openai.get_encoding(name)
        enc.encode("warm up")  # the encoding data loads on first use
    return enc


def text_counter(model: str) -> Callable[[str], int]:
    """Tokens of a text for `model`: exact with its OpenAI encoding (bpe-openai installed),
    else generous: a token per four ASCII characters and one per other character."""
    name = encoding_name(model)
    enc = _encoding(name) if name is not None else None
    if enc is not None:
        return lambda text: len(enc.encode(text))
    return _safe_estimate


def _safe_estimate(text: str) -> int:
    wide = sum(1 for ch in text if ord(ch) >= 128)
    return (len(text) - wide + 3) // 4 + wide


def _text_tokens(text: str, enc: _Encoding | None) -> int:
    if enc is not None:
        return len(enc.encode(text))
    # About four characters per token for English text: the usual rule of thumb.
    return (len(text) + 3) // 4 if text else 0


def local_count(model: str, provider: str, messages: list[Message], params: Mapping[str, Any]) -> TokenCount | None:
    """The chat-format token count of OpenAI-family messages, or None for other models."""
    name = encoding_name(model)
    if name is None:
        return None
    enc = _encoding(name)
    exact = enc is not None
    total = _REPLY_PRIMING
    for m in messages:
        total += _PER_MESSAGE + _text_tokens(m.role, enc)
        if m.name:
            total += _PER_NAME + _text_tokens(m.name, enc)
        for part in m.parts:
            if isinstance(part, TextPart):
                total += _text_tokens(part.text, enc)
            elif isinstance(part, ImagePart):
                total += _IMAGE_ESTIMATE
                exact = False
            else:
                total += _text_tokens(json.dumps(attrs.asdict(part), default=str), enc)
                exact = False
        for call in m.tool_calls:
            total += _text_tokens(call.name + json.dumps(call.arguments), enc)
            exact = False
    for key in ("tools", "response_format"):
        if params.get(key):
            total += _text_tokens(json.dumps(params[key], sort_keys=True), enc)
            exact = False
    return TokenCount(
        count=total, exact=exact, model=model, provider=provider, method="tokenizer" if enc else "estimate"
    )


def plan_count(core: CoreHelpers, model: str, messages: Any, params: dict[str, Any]) -> CountPlan:
    """How to count: the provider's endpoint, a local count, or UnsupportedFeatureError."""
    provider, model_id = split_model(model)
    spec = core._spec(provider)
    ctx = core._context(provider, model_id, spec)
    msgs = coerce_messages(messages)
    plan = CountPlan(provider=provider, spec=spec, ctx=ctx)
    if supports(ctx, "count_tokens") and spec.operation("count_tokens") is not None:
        d = dialect_for(spec.dialect)
        plan.wires = [d.count_tokens_request(chat_request(model_id, msgs, params), ctx)]
        plan.parse = d.parse_count_tokens
        # A dialect whose endpoint counts pieces of the prompt rather than the prompt as the
        # model sees it (GigaChat: each message's text, no chat template) says so.
        plan.exact = bool(getattr(d, "count_exact", True))
        return plan
    if spec.operation("tokenize") is not None:
        adapter = adapter_for(spec.dialect)
        if isinstance(adapter, TextTokenizer):
            if not supports(ctx, "count_tokens"):
                raise UnsupportedFeatureError(
                    f"{provider}/{model_id} does not support token counting: {provider} counts tokens for its "
                    "chat models only, and llmkit's catalog marks this one count_tokens: false",
                    provider=provider,
                    code="count_tokens",
                )
            plan.wires = adapter.tokenize_requests(chat_request(model_id, msgs, params), ctx)
            plan.parse = adapter.parse_tokenize
            plan.exact = False
            return plan
    if spec.dialect == "openai_chat":
        plan.local = local_count(model_id, provider, msgs, params)
        if plan.local is not None:
            return plan
    raise UnsupportedFeatureError(
        f"{provider}/{model_id} does not support token counting: {provider} has no count endpoint and "
        "llmkit has no local tokenizer for this model",
        provider=provider,
        code="count_tokens",
    )
