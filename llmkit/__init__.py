"""llmkit: one typed Python client for every LLM provider.

    import llmkit
    client = llmkit.Client()
    resp = client.chat("openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])

Providers are data: each is a YAML spec rendered into code by `make generate`. Importing
llmkit loads no provider module and, thanks to lazy exports, not even the runtime: each public
name is imported from its private module the first time it is touched (PEP 562), so
`import llmkit` costs about as much as an empty package and scripts pay only for what they use.
"""

from __future__ import annotations

from importlib import import_module

from ._version import __version__ as __version__  # a one-line module, the single source of the version

# Not `typing.TYPE_CHECKING`: importing typing alone would triple the cost of `import llmkit`.
# Type checkers treat any name `TYPE_CHECKING` as true, so they and IDEs see the real types.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._batches import AsyncBatchHandle, BatchHandle, BatchItemError, BatchPage, BatchStatus
    from ._cache import CacheUnavailableWarning, MemoryCache, RedisCache
    from ._catalog import models, providers
    from ._client import AsyncClient, Client
    from ._context_cache import ContextCache
    from ._errors import (
        APIError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        ConfigError,
        ConnectionError,
        ContentFilterError,
        ContextLengthError,
        LLMKitError,
        NotFoundError,
        RateLimitError,
        ServerError,
        StreamError,
        TimeoutError,
        UnsupportedFeatureError,
    )
    from ._events import (
        FinishEvent,
        ReasoningDelta,
        StreamEvent,
        TextDelta,
        ToolCallDelta,
        ToolCallEnd,
        ToolCallStart,
        UsageEvent,
    )
    from ._fine_tuning import AsyncFineTuneJob, FineTuneJob
    from ._hooks import HookEvent
    from ._latency import LatencyStats
    from ._live import LiveTranscriptStream, SpeechStartedEvent, TranscriptEvent, UtteranceEndEvent
    from ._modal_types import (
        AsyncSpeechStream,
        EmbeddingResponse,
        EmbeddingUsage,
        GeneratedImage,
        ImageResponse,
        RerankResponse,
        RerankResult,
        SpeechResponse,
        SpeechStream,
        TokenCount,
        Transcription,
        TranscriptionSegment,
        TranscriptionWord,
    )
    from ._models_list import ListedModel
    from ._registry import ModelDeprecationWarning
    from ._router import Router, RouteUnavailableError
    from ._state import BreakerState
    from ._streaming import AsyncChatStream, ChatStream
    from ._structured import StructuredOutputError
    from ._types import (
        ChatResponse,
        DocumentPart,
        ImagePart,
        Message,
        ReasoningPart,
        TextPart,
        ToolCall,
        Usage,
    )
    from ._usage import UsageTotals
    from .webhooks import WebhookVerificationError

# public name -> private module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    "APIError": "._errors",
    "AsyncChatStream": "._streaming",
    "AsyncClient": "._client",
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "BreakerState": "._state",
    "BudgetExceededError": "._errors",
    "CacheUnavailableWarning": "._cache",
    "ChatResponse": "._types",
    "ChatStream": "._streaming",
    "Client": "._client",
    "ConfigError": "._errors",
    "ConnectionError": "._errors",
    "ContentFilterError": "._errors",
    "ContextLengthError": "._errors",
    "DocumentPart": "._types",
    "FinishEvent": "._events",
    "HookEvent": "._hooks",
    "ImagePart": "._types",
    "LLMKitError": "._errors",
    "LatencyStats": "._latency",
    "ListedModel": "._models_list",
    "MemoryCache": "._cache",
    "Message": "._types",
    "ModelDeprecationWarning": "._registry",
    "NotFoundError": "._errors",
    "RateLimitError": "._errors",
    "ReasoningDelta": "._events",
    "ReasoningPart": "._types",
    "RedisCache": "._cache",
    "RouteUnavailableError": "._router",
    "StructuredOutputError": "._structured",
    "AsyncBatchHandle": "._batches",
    "AsyncFineTuneJob": "._fine_tuning",
    "FineTuneJob": "._fine_tuning",
    "BatchHandle": "._batches",
    "BatchItemError": "._batches",
    "BatchPage": "._batches",
    "BatchStatus": "._batches",
    "ContextCache": "._context_cache",
    "LiveTranscriptStream": "._live",
    "SpeechStartedEvent": "._live",
    "TranscriptEvent": "._live",
    "UtteranceEndEvent": "._live",
    "WebhookVerificationError": ".webhooks",
    "AsyncSpeechStream": "._modal_types",
    "EmbeddingResponse": "._modal_types",
    "EmbeddingUsage": "._modal_types",
    "GeneratedImage": "._modal_types",
    "ImageResponse": "._modal_types",
    "RerankResponse": "._modal_types",
    "RerankResult": "._modal_types",
    "SpeechResponse": "._modal_types",
    "SpeechStream": "._modal_types",
    "TokenCount": "._modal_types",
    "Transcription": "._modal_types",
    "TranscriptionSegment": "._modal_types",
    "TranscriptionWord": "._modal_types",
    "Router": "._router",
    "ServerError": "._errors",
    "StreamError": "._errors",
    "StreamEvent": "._events",
    "TextDelta": "._events",
    "TextPart": "._types",
    "TimeoutError": "._errors",
    "ToolCall": "._types",
    "ToolCallDelta": "._events",
    "ToolCallEnd": "._events",
    "ToolCallStart": "._events",
    "UnsupportedFeatureError": "._errors",
    "Usage": "._types",
    "UsageEvent": "._events",
    "UsageTotals": "._usage",
    "models": "._catalog",
    "providers": "._catalog",
}

__all__ = [
    "APIError",
    "AsyncBatchHandle",
    "AsyncChatStream",
    "AsyncClient",
    "AsyncFineTuneJob",
    "AsyncSpeechStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchHandle",
    "BatchItemError",
    "BatchPage",
    "BatchStatus",
    "BreakerState",
    "BudgetExceededError",
    "CacheUnavailableWarning",
    "ChatResponse",
    "ChatStream",
    "Client",
    "ConfigError",
    "ConnectionError",
    "ContentFilterError",
    "ContextCache",
    "ContextLengthError",
    "DocumentPart",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "FineTuneJob",
    "FinishEvent",
    "GeneratedImage",
    "HookEvent",
    "ImagePart",
    "ImageResponse",
    "LLMKitError",
    "LatencyStats",
    "ListedModel",
    "LiveTranscriptStream",
    "MemoryCache",
    "Message",
    "ModelDeprecationWarning",
    "NotFoundError",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningPart",
    "RedisCache",
    "RerankResponse",
    "RerankResult",
    "RouteUnavailableError",
    "Router",
    "ServerError",
    "SpeechResponse",
    "SpeechStartedEvent",
    "SpeechStream",
    "StreamError",
    "StreamEvent",
    "StructuredOutputError",
    "TextDelta",
    "TextPart",
    "TimeoutError",
    "TokenCount",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "TranscriptEvent",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionWord",
    "UnsupportedFeatureError",
    "Usage",
    "UsageEvent",
    "UsageTotals",
    "UtteranceEndEvent",
    "WebhookVerificationError",
    "models",
    "providers",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its private module on first access, then cache it here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmkit' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later lookups are plain module attributes, no hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
