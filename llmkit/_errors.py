"""The llmkit error hierarchy: every failure is one of these, never a bare httpx or json error."""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigError",
    "ConnectionError",
    "ContentFilterError",
    "ContextLengthError",
    "LLMKitError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "TimeoutError",
    "UnsupportedFeatureError",
]


class LLMKitError(Exception):
    """Base of every llmkit error.

    `provider`, `status`, `request_id` and `body` say who failed and how; `message` is the
    provider's own message where it sent one. None of them ever holds a credential.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.body = body
        self.code = code

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(self.provider)
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        prefix = f"[{' '.join(parts)}] " if parts else ""
        suffix = f" (request id: {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"status={self.status!r}, request_id={self.request_id!r})"
        )


class ConfigError(LLMKitError):
    """Bad settings, an unknown provider, a malformed model string or a retired model."""


class UnsupportedFeatureError(LLMKitError):
    """The provider or model lacks a feature the call asked for; raised before any request."""


class BudgetExceededError(LLMKitError):
    """The call would take spend past the client's `budget_usd`."""


class APIError(LLMKitError):
    """The provider answered with an error (HTTP status or an error inside a stream).

    `retry_after` is the server's wait hint in seconds, when it sent one.
    """

    retry_after: float | None = None


class BadRequestError(APIError):
    """400 or 422: the provider rejected the request; retrying will not help."""


class AuthenticationError(APIError):
    """401 or 403: the key is missing, wrong or lacks permission."""


class NotFoundError(APIError):
    """404: unknown model, deployment or path."""


class ContextLengthError(BadRequestError):
    """The prompt plus `max_tokens` exceeds the model's context window."""


class ContentFilterError(BadRequestError):
    """The provider's safety system blocked the prompt or the answer."""


class RateLimitError(APIError):
    """429: slow down. `retry_after` is the provider's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx or 529: the provider failed or is overloaded."""


class TimeoutError(LLMKitError):
    """The request did not complete within the configured timeout."""


class ConnectionError(LLMKitError):
    """The provider could not be reached (refused, reset, DNS, TLS)."""


class StreamError(LLMKitError):
    """A stream broke after it started: an error event, a cut connection or a missing end."""
