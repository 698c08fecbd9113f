"""Defaults in one place, as DESIGN.md states them; every one can be changed per provider."""

from __future__ import annotations

__all__ = [
    "COMMON_SETTINGS",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READ_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRY_STATUSES",
    "USER_AGENT",
]

DEFAULT_MAX_RETRIES = 2
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 600.0
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server hint longer than this is not waited for: the error goes to the caller instead.
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
USER_AGENT = "llmkit/0.1.0"

# Settings every provider accepts, whatever its spec declares.
COMMON_SETTINGS = frozenset({"api_key", "base_url", "headers", "timeout", "max_retries", "dialect"})
