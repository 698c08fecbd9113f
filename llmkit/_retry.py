"""What an attempt's outcome means: a typed error, whether to retry and how long to wait.

Retries cover connection errors, timeouts and the retryable statuses, honour the server's
wait hints (capped), never wait past the call's deadline, and never retry once the call's
whole `total_timeout` is spent or the account is out of credit. A 3xx is an error naming
where it pointed: redirects are never followed, so no credential can reach another host.
The loops that use this policy live in `_sync_transport` and `_async_transport`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from ._constants import MAX_RETRY_AFTER, QUOTA_CODES, RETRY_STATUSES
from ._deadline import DEADLINE_CODE, Deadline
from ._errors import APIError, ConfigError, ConnectionError, LLMKitError, TimeoutError
from ._http_errors import backoff, error_for_status, retry_after_seconds
from ._log import log_failure, log_retry, redact_url
from ._settings import ResolvedSettings
from .dialects._base import Dialect, ErrorInfo

__all__ = ["RetryPolicy", "decode_json", "request_id"]

# Indirections the tests replace to record waits instead of sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep


class RetryPolicy:
    """The retry and error-mapping half of a provider transport (a mixin of `TransportBase`)."""

    provider: str
    settings: ResolvedSettings
    dialect: Dialect

    def timeouts(self, timeout: float | None, deadline: Deadline) -> httpx.Timeout:
        base = self.settings.timeout if timeout is None else httpx.Timeout(timeout)
        return deadline.clip(base)

    def deadline(self, total_timeout: float | None = None) -> Deadline:
        """A call's deadline: make one per call and pass it to every attempt and to should_retry."""
        total = self.settings.total_timeout if total_timeout is None else total_timeout
        if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float)) or total <= 0):
            raise ConfigError(f"total_timeout must be a positive number of seconds, got {total!r}")
        return Deadline(total)

    def error_from_response(self, status: int, headers: httpx.Headers, body: bytes) -> APIError:
        if 300 <= status < 400:
            location = headers.get("location")
            where = redact_url(location) if location else "(no location)"
            return APIError(
                f"{self.provider} answered HTTP {status}, a redirect to {where}; "
                "llmkit never follows redirects (your key must not go to another host): set base_url to the final URL",
                provider=self.provider,
                status=status,
                request_id=request_id(headers),
            )
        text = body.decode("utf-8", errors="replace")
        data: Any
        try:
            data = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            data = None
        info: ErrorInfo | None = None
        if data is not None:
            try:
                info = self.dialect.error_info(status, data)
            except Exception:  # an adapter must not turn a provider error into a crash
                info = None
        if info is None:
            snippet = " ".join(text.split())[:300]
            kind = "a non-JSON body"
            if "<html" in text[:500].lower():
                kind += ", an HTML page (from a proxy or gateway, not the API)"
            info = ErrorInfo(message=f"HTTP {status} with {kind}: {snippet or '(empty)'}")
        if info.type is None and self.settings.spec.error_type_header:
            # AWS names the error in a header (`ValidationException:http://...`), not the body.
            named = headers.get(self.settings.spec.error_type_header, "").split(":", 1)[0].strip()
            if named:
                info.type = named
        return error_for_status(
            status,
            info,
            provider=self.provider,
            body=data if data is not None else text,
            request_id=request_id(headers),
            retry_after=retry_after_seconds(headers),
        )

    def should_retry(
        self, exc: Exception, attempt: int, max_retries: int, deadline: Deadline | None = None
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= max_retries:
            return None
        wait: float | None = None
        if isinstance(exc, TimeoutError) and exc.code == DEADLINE_CODE:
            return None  # the call's whole time is spent
        if isinstance(exc, (ConnectionError, TimeoutError)):
            wait = backoff(attempt)
        elif isinstance(exc, APIError) and exc.status in RETRY_STATUSES:
            if exc.code in QUOTA_CODES:
                return None  # out of credit: waiting will not help
            hint = exc.retry_after
            if hint is not None:
                wait = None if hint > MAX_RETRY_AFTER else hint
            else:
                wait = backoff(attempt)
        left = deadline.remaining() if deadline is not None else None
        if wait is not None and left is not None and wait >= left:
            return None  # waiting would pass the deadline: the caller gets the error now
        return wait

    def transport_error(self, exc: httpx.HTTPError) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(f"request to {self.provider} timed out ({type(exc).__name__})", provider=self.provider)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigError(f"bad base_url for {self.provider}: {exc}", provider=self.provider)
        return ConnectionError(
            f"could not reach {self.provider} at {_where(exc, self.settings.base_url)}: {type(exc).__name__}: {exc}",
            provider=self.provider,
        )

    def _retry_or_raise(self, err: Exception, attempt: int, retries: int, deadline: Deadline) -> float:
        wait = self.should_retry(err, attempt, retries, deadline)
        if wait is None:
            log_failure(self.provider, err)
            raise err
        log_retry(self.provider, attempt, wait, err)
        return wait


def _where(exc: httpx.HTTPError, default: str) -> str:
    """The origin a failed request was for (an operation may have a host of its own)."""
    try:
        url = exc.request.url
    except RuntimeError:
        return default
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def request_id(headers: httpx.Headers) -> str | None:
    for name in ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id", "cf-ray"):
        v: str | None = headers.get(name)
        if v:
            return v
    return None


def decode_json(resp: httpx.Response, provider: str) -> Any:
    """The JSON body of a successful response, or an LLMKitError quoting what came instead."""
    try:
        return json.loads(resp.content)
    except ValueError as exc:
        snippet = " ".join(resp.text.split())[:200]
        raise LLMKitError(
            f"{provider} answered HTTP {resp.status_code} with a body that is not JSON: {snippet!r}",
            provider=provider,
            status=resp.status_code,
        ) from exc
