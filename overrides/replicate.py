"""Replicate's job flow: bearer token, then wait, poll, cancel on timeout, or follow the stream.

Named by specs/providers/replicate.yaml (`overrides: {auth: replicate}`). A prediction is not
one HTTP exchange, and httpx models multi-request exchanges as auth flows (as digest auth
does), so this is an `httpx.Auth` whose flow may send more requests after the first:

- a create call (POST .../predictions) sent with `Prefer: wait` (the unified chat sends it;
  a native call may) that is answered with a prediction not yet finished is
  polled with GET `{base_url}/predictions/{id}` every `poll_interval` seconds until it is
  `succeeded`, `failed` or `canceled`; that final prediction is what the caller receives;
- past `job_timeout` seconds the prediction is cancelled (POST .../cancel) and TimeoutError is
  raised, coded `total_timeout` so it is never retried (a retry would start the job again);
- a streamed create (the request accepts `text/event-stream`) is followed by GET `urls.stream`;
  its SSE response is what the caller reads. The token goes there only when the stream host is
  the API host or shares its domain (`stream.replicate.com` for `api.replicate.com`).

Poll URLs are built from `base_url` and the prediction id, never taken from the answer, so the
token never leaves the API host; non-create requests (the native get, cancel, list) pass
through with the token only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

import httpx

from llmkit._errors import ConfigError, TimeoutError
from llmkit._settings import Secret
from llmkit._transport import DEADLINE_CODE

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["ReplicateJobAuth", "auth"]

_TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_NONE = "no API token for 'replicate': pass providers={'replicate': {'api_key': ...}} (or set REPLICATE_API_TOKEN)"


def _number(settings: ResolvedSettings, name: str, default: float) -> float:
    raw = settings.get(name)
    try:
        value = float(raw) if raw is not None else default
    except (TypeError, ValueError):
        raise ConfigError(f"replicate {name} must be a number of seconds, got {raw!r}", provider="replicate") from None
    if value <= 0:
        raise ConfigError(f"replicate {name} must be positive, got {raw!r}", provider="replicate")
    return value


def _domain(host: str) -> str:
    return ".".join(host.split(".")[-2:])


class ReplicateJobAuth(httpx.Auth):
    """Bearer token plus the prediction job flow, for sync and async clients alike."""

    def __init__(self, settings: ResolvedSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.base = httpx.URL(settings.base_url)

    def __repr__(self) -> str:
        return "ReplicateJobAuth('**********')"

    # -- pieces shared by both flows ----------------------------------------------------------
    def _token(self) -> str:
        key = self.settings.values.get("api_key")
        if not isinstance(key, Secret):
            raise ConfigError(_NONE, provider="replicate")
        return key.get()

    def _sign(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._token()}"
        return request

    def _is_create(self, request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path.endswith("/predictions")

    def _url(self, suffix: str) -> httpx.URL:
        return self.base.copy_with(path=self.base.path.rstrip("/") + suffix)

    def _prediction(self, response: httpx.Response) -> dict[str, Any] | None:
        if response.status_code >= 300:
            return None  # an error answer is the caller's to map
        try:
            data = json.loads(response.content)
        except ValueError:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("id"), str) else None

    def _poll(self, pred_id: str, template: httpx.Request) -> httpx.Request:
        return self._sign(
            httpx.Request(
                "GET", self._url(f"/predictions/{pred_id}"), headers=_plain(template), extensions=template.extensions
            )
        )

    def _cancel(self, pred_id: str, template: httpx.Request) -> httpx.Request:
        return self._sign(
            httpx.Request(
                "POST",
                self._url(f"/predictions/{pred_id}/cancel"),
                headers=_plain(template),
                extensions=template.extensions,
            )
        )

    def _stream(self, pred: dict[str, Any], template: httpx.Request) -> httpx.Request:
        url = (pred.get("urls") or {}).get("stream")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"replicate prediction {pred['id']} has no stream URL: this model does not stream; "
                "call it without stream=True",
                provider="replicate",
            )
        target = httpx.URL(url)
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-store",
            "User-Agent": template.headers.get("User-Agent", ""),
        }
        request = httpx.Request("GET", target, headers=headers, extensions=template.extensions)
        if target.host == self.base.host or _domain(target.host) == _domain(self.base.host):
            self._sign(request)
        return request

    def _timeout(self, pred_id: str, limit: float) -> TimeoutError:
        return TimeoutError(
            f"replicate prediction {pred_id} did not finish within job_timeout={limit:g}s; it was cancelled. "
            "Raise job_timeout for slow models",
            provider="replicate",
            code=DEADLINE_CODE,
        )

    # -- the flows -----------------------------------------------------------------------------
    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield self._sign(request)
        if not self._is_create(request):
            return
        response.read()
        pred = self._prediction(response)
        if pred is None:
            return
        if "text/event-stream" in request.headers.get("Accept", ""):
            yield self._stream(pred, request)
            return
        if "wait" not in request.headers.get("Prefer", ""):
            return  # a create that did not ask to wait (a native call) gets the prediction as it is
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 0.5)
        started = self.clock()
        while pred.get("status") not in _TERMINAL:
            if self.clock() - started >= limit:
                cancel = yield self._cancel(pred["id"], request)
                cancel.read()
                raise self._timeout(pred["id"], limit)
            time.sleep(interval)
            response = yield self._poll(pred["id"], request)
            response.read()
            nxt = self._prediction(response)
            if nxt is None:
                return  # the poll failed: its error response is the answer
            pred = nxt

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        response = yield self._sign(request)
        if not self._is_create(request):
            return
        await response.aread()
        pred = self._prediction(response)
        if pred is None:
            return
        if "text/event-stream" in request.headers.get("Accept", ""):
            yield self._stream(pred, request)
            return
        if "wait" not in request.headers.get("Prefer", ""):
            return  # a create that did not ask to wait (a native call) gets the prediction as it is
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 0.5)
        started = self.clock()
        while pred.get("status") not in _TERMINAL:
            if self.clock() - started >= limit:
                cancel = yield self._cancel(pred["id"], request)
                await cancel.aread()
                raise self._timeout(pred["id"], limit)
            await asyncio.sleep(interval)
            response = yield self._poll(pred["id"], request)
            await response.aread()
            nxt = self._prediction(response)
            if nxt is None:
                return
            pred = nxt


def _plain(template: httpx.Request) -> dict[str, str]:
    """The headers a follow-up request keeps: none of the body's, none of the wait."""
    return {
        k: v for k, v in template.headers.items() if k.lower() in ("user-agent", "accept") and "event-stream" not in v
    }


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The Replicate hook; ConfigError before any request when no token is set."""
    if settings.values.get("api_key") is None:
        raise ConfigError(_NONE, provider="replicate")
    for name, default in (("poll_interval", 0.5), ("job_timeout", 600.0), ("wait", 60.0)):
        _number(settings, name, default)
    return ReplicateJobAuth(settings)
