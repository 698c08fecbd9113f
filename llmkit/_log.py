"""The `llmkit` logger: what went over the wire, with every credential redacted.

Enable it with `logging.getLogger("llmkit").setLevel(logging.DEBUG)` (plus a handler). DEBUG
records each request (method, URL, headers) and response (status, request id, time); INFO
records each retry and why. Header and query values whose names look like credentials are
replaced by `[redacted]`, and the provider's own key header or query parameter always is,
whatever its name: a log file is never a place a key can leak from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

__all__ = [
    "REDACTED",
    "log_failure",
    "log_request",
    "log_response",
    "log_retry",
    "logger",
    "redact_headers",
    "redact_url",
]

logger = logging.getLogger("llmkit")

REDACTED = "[redacted]"

# Lower-cased fragments of header or parameter names that carry credentials.
_SENSITIVE = (
    "auth",
    "key",
    "token",
    "secret",
    "password",
    "signature",
    "cookie",
    "credential",
    "session",
    "x-amz-security",
)


def _sensitive(name: str, extra: Iterable[str]) -> bool:
    low = name.lower()
    return any(f in low for f in _SENSITIVE) or low in {e.lower() for e in extra}


def redact_headers(headers: Mapping[str, str] | httpx.Headers, extra: Iterable[str] = ()) -> dict[str, str]:
    """Headers safe to log: credential-like values replaced by `[redacted]`."""
    extra = tuple(extra)
    return {k: (REDACTED if _sensitive(k, extra) else v) for k, v in headers.items()}


def redact_url(url: str | httpx.URL, extra: Iterable[str] = ()) -> str:
    """A URL safe to log: credential-like query values and any userinfo replaced."""
    parts = urlsplit(str(url))
    extra = tuple(extra)
    query = urlencode(
        [(k, REDACTED if _sensitive(k, extra) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="[]",
    )
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def log_request(provider: str, request: httpx.Request, attempt: int, extra: Iterable[str]) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s request %s %s (attempt %d) headers=%s",
            provider,
            request.method,
            redact_url(request.url, extra),
            attempt + 1,
            redact_headers(request.headers, extra),
        )


def log_response(provider: str, response: httpx.Response, request_id: str | None, elapsed: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s response HTTP %d in %.3fs (request id: %s)", provider, response.status_code, elapsed, request_id
        )


def log_retry(provider: str, attempt: int, wait: float, error: Exception) -> None:
    logger.info(
        "%s attempt %d failed (%s: %s); retrying in %.2fs", provider, attempt + 1, type(error).__name__, error, wait
    )


def log_failure(provider: str, error: Exception) -> None:
    logger.debug("%s call failed: %s: %s", provider, type(error).__name__, error)
