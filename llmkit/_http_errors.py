"""Mapping of provider failures to typed llmkit errors, and retry hints out of headers."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamError,
    TimeoutError,
)

if TYPE_CHECKING:
    from .dialects._base import ErrorInfo

__all__ = ["StreamTimeoutError", "backoff", "error_for_status", "parse_duration", "retry_after_seconds"]


class StreamTimeoutError(StreamError, TimeoutError):
    """A stream stalled past its read timeout or ran past its total_timeout after it opened.

    Both a StreamError (the answer so far is incomplete and was not retried) and a
    TimeoutError, so either `except` catches it.
    """


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped at 8 s, each minus up to 25%."""
    delay: float = min(INITIAL_RETRY_DELAY * (2**attempt), MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())


_CONTEXT_HINTS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input token count",
    "exceeds the maximum number of tokens",
)
_FILTER_HINTS = ("content_filter", "content_policy", "safety", "responsibleaipolicyviolation")
_OVERLOAD_TYPES = ("overloaded_error", "api_error", "server_error", "internal", "unavailable")
_RATE_TYPES = ("rate_limit", "resource_exhausted", "rate_limit_error", "too_many_requests")


def error_for_status(
    status: int | None,
    info: ErrorInfo,
    *,
    provider: str,
    body: Any,
    request_id: str | None,
    retry_after: float | None = None,
) -> APIError:
    """The typed error for an HTTP status (or, inside a stream, for the error's own type)."""
    kw: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "request_id": request_id,
        "body": body,
        "code": info.code or info.type,
    }
    msg = info.message
    low = f"{info.code or ''} {info.type or ''} {msg}".lower()
    kind = (info.type or info.code or "").lower()
    if status is None:
        # An error event inside a 200 stream: type it by the provider's error type.
        if any(t in kind for t in _RATE_TYPES):
            return RateLimitError(msg, retry_after=info.retry_after, **kw)
        if any(t in kind for t in _OVERLOAD_TYPES):
            return ServerError(msg, **kw)
        if any(h in low for h in _CONTEXT_HINTS):
            return ContextLengthError(msg, **kw)
        if "authentication" in kind or "permission" in kind:
            return AuthenticationError(msg, **kw)
        if "invalid_request" in kind:
            return BadRequestError(msg, **kw)
        return APIError(msg, **kw)
    if status in (401, 403) or "api_key_invalid" in low:
        return AuthenticationError(msg, **kw)
    if status == 404:
        return NotFoundError(msg, **kw)
    if status == 429:
        return RateLimitError(msg, retry_after=retry_after or info.retry_after, **kw)
    if status in (408, 409):
        err = APIError(msg, **kw)
        err.retry_after = retry_after
        return err
    if status in (400, 413, 422):
        if any(h in low for h in _CONTEXT_HINTS) or status == 413:
            return ContextLengthError(msg, **kw)
        if any(h in low for h in _FILTER_HINTS):
            return ContentFilterError(msg, **kw)
        return BadRequestError(msg, **kw)
    if status >= 500:
        err = ServerError(msg, **kw)
        err.retry_after = retry_after
        return err
    if 400 <= status < 500:
        return BadRequestError(msg, **kw)
    return APIError(msg, **kw)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The server's wait hint: `retry-after-ms`, then `retry-after` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(float(ra), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(ra)
    if parsed is None:
        return None
    return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def parse_duration(value: str) -> float | None:
    """Google-style durations like `37s` or `1.5s` -> seconds."""
    v = value.strip()
    if v.endswith("s"):
        try:
            return float(v[:-1])
        except ValueError:
            return None
    return None
