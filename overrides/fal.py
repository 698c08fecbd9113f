"""fal's job flow: `Key` auth, then submit, poll, fetch the result, or cancel on timeout.

Named by specs/providers/fal.yaml (`overrides: {auth: fal}`). A queued fal request is not one
HTTP exchange, and httpx models multi-request exchanges as auth flows (as digest auth does),
so this is an `httpx.Auth` whose flow may send more requests after the first:

- every queue submit (a POST to an app, `{base_url}/<app_id>`) gets `?fal_webhook=` when the
  `webhook_url` setting is given;
- a submit sent with `Prefer: wait` (the unified generate_image sends it; the header itself
  is fal-unknown and removed here) is followed through: GET `.../<owner>/<alias>/requests/<id>/status`
  every `poll_interval` seconds until `COMPLETED`, then GET `.../requests/<id>`, whose answer
  (the output, or fal's error for a failed request) is what the caller receives;
- past `job_timeout` seconds the request is cancelled (PUT `.../requests/<id>/cancel`) and
  TimeoutError is raised, coded `total_timeout` so it is never retried;
- with the `mode` setting `sync`, such a submit goes to `{run_url}/<app_id>` instead, fal's
  sync route, whose answer is the output itself.

fal's answers carry `status_url` and `response_url`; they are followed only when they are on
the queue host itself, else the URLs are built from `base_url`, so the key never goes to a
host the user did not configure. Status and result URLs use owner/alias only: fal drops an
app's sub-path (`fal-ai/flux/schnell` -> `fal-ai/flux`) there.
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

__all__ = ["FalJobAuth", "auth", "owner_alias"]

_NONE = "no API key for 'fal': pass providers={'fal': {'api_key': ...}} (or set FAL_KEY)"


def owner_alias(app_id: str) -> str:
    """The part of an app id that status and result URLs use: `owner/alias`."""
    return "/".join(app_id.strip("/").split("/")[:2])


def _number(settings: ResolvedSettings, name: str, default: float) -> float:
    raw = settings.get(name)
    try:
        value = float(raw) if raw is not None else default
    except (TypeError, ValueError):
        raise ConfigError(f"fal {name} must be a number of seconds, got {raw!r}", provider="fal") from None
    if value <= 0:
        raise ConfigError(f"fal {name} must be positive, got {raw!r}", provider="fal")
    return value


class FalJobAuth(httpx.Auth):
    """`Authorization: Key` plus the queue flow, for sync and async clients alike."""

    def __init__(self, settings: ResolvedSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.base = httpx.URL(settings.base_url)
        self.mode = str(settings.get("mode") or "queue")

    def __repr__(self) -> str:
        return "FalJobAuth('**********')"

    def _sign(self, request: httpx.Request) -> httpx.Request:
        key = self.settings.values.get("api_key")
        if not isinstance(key, Secret):
            raise ConfigError(_NONE, provider="fal")
        request.headers["Authorization"] = f"Key {key.get()}"
        return request

    def _app(self, request: httpx.Request) -> str | None:
        """The app id of a submit (a POST to an app), or None for any other request."""
        prefix = self.base.path.rstrip("/") + "/"
        path = request.url.raw_path.decode("ascii").partition("?")[0]
        if request.method != "POST" or not path.startswith(prefix) or "/requests/" in path:
            return None
        return path[len(prefix) :]

    def _prepare(self, request: httpx.Request, app: str) -> bool:
        """Set up a submit; True when the caller wants the finished output (the queue flow)."""
        wait = "wait" in request.headers.get("Prefer", "")
        request.headers.pop("Prefer", None)
        if wait and self.mode == "sync":
            run = httpx.URL(str(self.settings.get("run_url") or "https://fal.run"))
            request.url = run.copy_with(raw_path=(run.path.rstrip("/") + "/" + app).encode("ascii"))
            return False
        hook = self.settings.get("webhook_url")
        if hook:
            request.url = request.url.copy_set_param("fal_webhook", str(hook))
        return wait

    def _url(self, given: Any, app: str, request_id: str, suffix: str) -> httpx.URL:
        if isinstance(given, str):
            url = httpx.URL(given)
            if (url.scheme, url.host, url.port) == (self.base.scheme, self.base.host, self.base.port):
                return url
        path = f"{self.base.path.rstrip('/')}/{owner_alias(app)}/requests/{encode_path_segment(request_id)}{suffix}"
        return self.base.copy_with(raw_path=path.encode("ascii"))

    def _follow(self, method: str, url: httpx.URL, template: httpx.Request) -> httpx.Request:
        headers = {"User-Agent": template.headers.get("User-Agent", ""), "Accept": "application/json"}
        return self._sign(httpx.Request(method, url, headers=headers, extensions=template.extensions))

    def _timeout(self, request_id: str, limit: float) -> TimeoutError:
        return TimeoutError(
            f"fal request {request_id} did not finish within job_timeout={limit:g}s; it was cancelled. "
            "Raise job_timeout for slow apps",
            provider="fal",
            code=DEADLINE_CODE,
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        app = self._app(request)
        wait = app is not None and self._prepare(request, app)
        response = yield self._sign(request)
        if not wait or app is None:
            return
        response.read()
        sub = _object(response)
        if sub is None or not isinstance(sub.get("request_id"), str):
            return
        rid: str = sub["request_id"]
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 0.5)
        started = self.clock()
        status_url = self._url(sub.get("status_url"), app, rid, "/status")
        while True:
            response = yield self._follow("GET", status_url, request)
            response.read()
            status = _object(response)
            if status is None:
                return  # the poll failed: its error response is the answer
            if status.get("status") == "COMPLETED":
                break
            if self.clock() - started >= limit:
                cancel = yield self._follow("PUT", self._url(sub.get("cancel_url"), app, rid, "/cancel"), request)
                cancel.read()
                raise self._timeout(rid, limit)
            time.sleep(interval)
        yield self._follow("GET", self._url(sub.get("response_url"), app, rid, ""), request)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        app = self._app(request)
        wait = app is not None and self._prepare(request, app)
        response = yield self._sign(request)
        if not wait or app is None:
            return
        await response.aread()
        sub = _object(response)
        if sub is None or not isinstance(sub.get("request_id"), str):
            return
        rid: str = sub["request_id"]
        limit = _number(self.settings, "job_timeout", 600.0)
        interval = _number(self.settings, "poll_interval", 0.5)
        started = self.clock()
        status_url = self._url(sub.get("status_url"), app, rid, "/status")
        while True:
            response = yield self._follow("GET", status_url, request)
            await response.aread()
            status = _object(response)
            if status is None:
                return
            if status.get("status") == "COMPLETED":
                break
            if self.clock() - started >= limit:
                cancel = yield self._follow("PUT", self._url(sub.get("cancel_url"), app, rid, "/cancel"), request)
                await cancel.aread()
                raise self._timeout(rid, limit)
            await asyncio.sleep(interval)
        yield self._follow("GET", self._url(sub.get("response_url"), app, rid, ""), request)


def _object(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON object of a successful answer, or None (an error answer is the caller's to map)."""
    if response.status_code >= 300:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The fal hook; ConfigError before any request for a missing key or a bad setting."""
    if settings.values.get("api_key") is None:
        raise ConfigError(_NONE, provider="fal")
    mode = settings.get("mode") or "queue"
    if mode not in ("queue", "sync"):
        raise ConfigError(f"fal mode must be 'queue' or 'sync', got {mode!r}", provider="fal")
    run_url = str(settings.get("run_url") or "https://fal.run")
    if not run_url.startswith(("https://", "http://")):
        raise ConfigError(f"fal run_url must start with http:// or https://, got {run_url!r}", provider="fal")
    for name, default in (("poll_interval", 0.5), ("job_timeout", 600.0)):
        _number(settings, name, default)
    return FalJobAuth(settings)
