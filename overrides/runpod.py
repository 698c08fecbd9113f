"""RunPod's job flow: the key as a bearer token, then wait, poll and cancel a /runsync job.

Named by specs/providers/runpod.yaml (`overrides: {auth: runpod}`). A RunPod job is not one
HTTP exchange: /runsync holds its answer for about 90 s and then answers the job still
`IN_QUEUE` or `IN_PROGRESS`, to be polled. httpx models multi-request exchanges as auth flows
(as digest auth does), so this is an `httpx.Auth` whose flow may send more requests:

- a POST to `/runsync` answered with an unfinished job is polled with GET
  `{base_url}/status/{id}` every `poll_interval` seconds until it is `COMPLETED`, `FAILED`,
  `CANCELLED` or `TIMED_OUT`; that final job is what the caller receives;
- past `job_timeout` seconds the job is cancelled (POST `{base_url}/cancel/{id}`) and
  TimeoutError is raised, coded `total_timeout` so it is never retried (a retry would queue the
  job again).

Every other request (the chat route, /run, /status, /stream, /cancel) is signed and passes
through. Poll and cancel URLs are built from `base_url` and the percent-encoded job id, never
taken from an answer, so the key never leaves the endpoint's host.
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
from llmkit.dialects._base import encode_path_segment

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = ["TERMINAL", "RunPodJobAuth", "auth"]

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
_NONE = "no API key for 'runpod': pass providers={'runpod': {'api_key': ...}} (or set RUNPOD_API_KEY)"


def _number(settings: ResolvedSettings, name: str, default: float) -> float:
    raw = settings.get(name)
    try:
        value = float(raw) if raw is not None else default
    except (TypeError, ValueError):
        raise ConfigError(f"runpod {name} must be a number of seconds, got {raw!r}", provider="runpod") from None
    if value <= 0:
        raise ConfigError(f"runpod {name} must be positive, got {raw!r}", provider="runpod")
    return value


class RunPodJobAuth(httpx.Auth):
    """Bearer key plus the /runsync job flow, for sync and async clients alike."""

    def __init__(self, settings: ResolvedSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.base = httpx.URL(settings.base_url)

    def __repr__(self) -> str:
        return "RunPodJobAuth('**********')"

    def _sign(self, request: httpx.Request) -> httpx.Request:
        key = self.settings.values.get("api_key")
        if not isinstance(key, Secret):
            raise ConfigError(_NONE, provider="runpod")
        request.headers["Authorization"] = f"Bearer {key.get()}"
        return request

    def _is_runsync(self, request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path.rstrip("/").endswith("/runsync")

    def _follow(self, method: str, action: str, job_id: str, template: httpx.Request) -> httpx.Request:
        path = self.base.path.rstrip("/") + f"/{action}/{encode_path_segment(job_id)}"
        headers = {k: v for k, v in template.headers.items() if k.lower() in ("user-agent", "accept")}
        return self._sign(
            httpx.Request(method, self.base.copy_with(path=path), headers=headers, extensions=template.extensions)
        )

    def _timeout(self, job_id: str, limit: float) -> TimeoutError:
        return TimeoutError(
            f"runpod job {job_id} did not finish within job_timeout={limit:g}s; it was cancelled. "
            "Raise job_timeout for slow handlers, or queue it with run() and poll get_status()",
            provider="runpod",
            code=DEADLINE_CODE,
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield self._sign(request)
        if not self._is_runsync(request):
            return
        response.read()
        job = _job(response)
        if job is None:
            return
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 1.0)
        started = self.clock()
        while job.get("status") not in TERMINAL:
            if self.clock() - started >= limit:
                cancel = yield self._follow("POST", "cancel", job["id"], request)
                cancel.read()
                raise self._timeout(job["id"], limit)
            time.sleep(interval)
            response = yield self._follow("GET", "status", job["id"], request)
            response.read()
            nxt = _job(response)
            if nxt is None:
                return  # the poll failed: its error response is the answer
            job = nxt

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        response = yield self._sign(request)
        if not self._is_runsync(request):
            return
        await response.aread()
        job = _job(response)
        if job is None:
            return
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 1.0)
        started = self.clock()
        while job.get("status") not in TERMINAL:
            if self.clock() - started >= limit:
                cancel = yield self._follow("POST", "cancel", job["id"], request)
                await cancel.aread()
                raise self._timeout(job["id"], limit)
            await asyncio.sleep(interval)
            response = yield self._follow("GET", "status", job["id"], request)
            await response.aread()
            nxt = _job(response)
            if nxt is None:
                return
            job = nxt


def _job(response: httpx.Response) -> dict[str, Any] | None:
    """The job object of a successful answer, or None (an error answer is the caller's to map)."""
    if response.status_code >= 300:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The RunPod hook; ConfigError before any request for a missing key or a misplaced base_url."""
    if settings.values.get("api_key") is None:
        raise ConfigError(_NONE, provider="runpod")
    if settings.base_url.rstrip("/").endswith("/openai/v1"):
        raise ConfigError(
            f"runpod base_url must be the endpoint itself (https://api.runpod.ai/v2/<endpoint_id>), without "
            f"/openai/v1: llmkit adds that route for chat; got {settings.base_url!r}",
            provider="runpod",
        )
    for name, default in (("poll_interval", 1.0), ("job_timeout", 600.0)):
        _number(settings, name, default)
    return RunPodJobAuth(settings)
