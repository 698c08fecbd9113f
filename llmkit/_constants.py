"""Defaults in one place, as DESIGN.md states them; every one can be changed per provider."""

from __future__ import annotations

from ._version import __version__

__all__ = [
    "COMMON_SETTINGS",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_READ_TIMEOUT",
    "EVENTSTREAM_MAX_HEADERS_BYTES",
    "EVENTSTREAM_MAX_PAYLOAD_BYTES",
    "INITIAL_RETRY_DELAY",
    "INSECURE_TLS_SETTING",
    "MAX_CONNECTIONS",
    "MAX_KEEPALIVE_CONNECTIONS",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "MAX_STREAM_LINE_BYTES",
    "QUOTA_CODES",
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
USER_AGENT = f"llmkit/{__version__}"
# Connection pool per provider per client (httpx's defaults, stated here so the transport's
# in-flight limit matches the pool).
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20

# A stream line (SSE or NDJSON) longer than this without a newline is an error, not a buffer
# that grows until the process runs out of memory.
MAX_STREAM_LINE_BYTES = 16 * 1024 * 1024
# AWS event-stream limits (botocore): 128 KiB of headers, 24 MiB of payload per message.
EVENTSTREAM_MAX_HEADERS_BYTES = 128 * 1024
EVENTSTREAM_MAX_PAYLOAD_BYTES = 24 * 1024 * 1024

# The only setting that turns TLS verification off; its name says what it does.
INSECURE_TLS_SETTING = "insecure_skip_tls_verify"

# Settings every provider accepts, whatever its spec declares.
COMMON_SETTINGS = frozenset(
    {
        "api_key",
        "base_url",
        "headers",
        "timeout",
        "total_timeout",
        "max_retries",
        "dialect",
        "verify",
        INSECURE_TLS_SETTING,
        "allow_retired_models",  # llmkit._lifecycle: retired models to call anyway
    }
)

# Error codes of a 429 that means "out of credit", not "slow down" (OpenAI, Zhipu, Moonshot):
# never retried, since waiting will not help.
QUOTA_CODES = frozenset({"insufficient_quota", "1113", "exceeded_current_quota_error"})
