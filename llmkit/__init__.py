"""llmkit: one typed Python client for every LLM provider.

    import llmkit
    client = llmkit.Client()
    resp = client.chat("openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])

Providers are data: each is a YAML spec rendered into code by `make generate`. Importing
llmkit loads no provider module; each is imported the first time a call names it.
"""

from __future__ import annotations

from ._catalog import models, providers
from ._client import AsyncClient, Client
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
from ._registry import ModelDeprecationWarning
from ._streaming import AsyncChatStream, ChatStream
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

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncChatStream",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ChatResponse",
    "ChatStream",
    "Client",
    "ConfigError",
    "ConnectionError",
    "ContentFilterError",
    "ContextLengthError",
    "DocumentPart",
    "FinishEvent",
    "ImagePart",
    "LLMKitError",
    "Message",
    "ModelDeprecationWarning",
    "NotFoundError",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningPart",
    "ServerError",
    "StreamError",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "TimeoutError",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "UnsupportedFeatureError",
    "Usage",
    "UsageEvent",
    "models",
    "providers",
]
