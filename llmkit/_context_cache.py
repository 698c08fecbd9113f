"""Explicit context caching: a long prompt stored once at the provider and reused by name.

    cache = client.context_caches.create("gemini/gemini-2.5-flash", [{"role": "user", "content": big_doc}],
                                         system="Answer from the document.", ttl=600)
    resp = client.chat("gemini/gemini-2.5-flash", "Summarise it", provider_options={"cachedContent": cache.name})
    resp.usage.cached_input_tokens      # the cached tokens, billed at the cached input price
    client.context_caches.update(cache, ttl=3600); client.context_caches.delete(cache)

Gemini's `cachedContents` is the provider with this API (a spec declaring the
`create_cached_content` operation); any other provider is refused before any request.
Messages and tools are converted exactly as `client.chat` converts them, so what is cached is
what the chat would have sent. Storage is billed by the provider until the cache expires or
is deleted; the catalog prices only the cached reads (`Usage.cached_input_tokens`).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import ConfigError, UnsupportedFeatureError
from ._gate import AsyncGate, Gate
from ._native import expand_reserved
from ._registry import split_model
from ._transport import decode_json
from ._wire import structure
from .dialects._base import WireRequest

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._spec import ProviderSpec

__all__ = ["AsyncContextCaches", "ContextCache", "ContextCaches"]

_NAME = re.compile(r"^cachedContents/[A-Za-z0-9_-]+$")
_TTL = re.compile(r"^\d{1,10}(\.\d{1,9})?s$")


@attrs.define(kw_only=True, slots=True)
class ContextCache:
    """A cached context: pass `name` to chat as `provider_options={"cachedContent": name}`."""

    name: str
    provider: str
    model: str | None = None
    display_name: str | None = None
    create_time: str | None = None
    update_time: str | None = None
    expire_time: str | None = None
    tokens: int | None = None  # what the cache holds (usageMetadata.totalTokenCount)
    raw: Any = attrs.field(default=None, repr=False)


CacheRef = ContextCache | str


def _ttl(ttl: float | str | None, expire_time: datetime | str | None) -> dict[str, str]:
    """The expiry fields: `ttl` as "<seconds>s" or `expireTime` as RFC 3339 UTC."""
    if ttl is not None and expire_time is not None:
        raise ConfigError("give ttl or expire_time, not both")
    if isinstance(ttl, str):
        if not _TTL.match(ttl):
            raise ConfigError(f'ttl must be seconds, as a number or a string like "300s", got {ttl!r}')
        return {"ttl": ttl}
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            raise ConfigError(f"ttl must be a positive number of seconds, got {ttl!r}")
        return {"ttl": f"{ttl:g}s" if float(ttl).is_integer() else f"{ttl}s"}
    if isinstance(expire_time, datetime):
        if expire_time.tzinfo is None:
            raise ConfigError("expire_time must be timezone-aware (e.g. datetime.now(timezone.utc) + ...)")
        stamp = expire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"expireTime": stamp}
    if isinstance(expire_time, str):
        return {"expireTime": expire_time}
    if expire_time is not None:
        raise ConfigError(f"expire_time must be a datetime or an RFC 3339 string, got {type(expire_time).__name__}")
    return {}


def _parse(data: Any, provider: str) -> ContextCache:
    from .generated.wire import gemini as wire

    c = structure(data, wire.CachedContent)
    if not c.name:
        raise ConfigError(f"{provider} answered a cached content without a name", provider=provider)
    usage = c.usage_metadata
    return ContextCache(
        name=c.name,
        provider=provider,
        model=c.model.removeprefix("models/") if c.model else None,
        display_name=c.display_name,
        create_time=c.create_time,
        update_time=c.update_time,
        expire_time=c.expire_time,
        tokens=usage.total_token_count if usage is not None else None,
        raw=data,
    )


class _Planner:
    """Builds the requests; the sync and async front ends only send them."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self._client = client

    def spec(self, provider: str) -> ProviderSpec:
        spec = self._client._spec(provider)
        if spec.operation("create_cached_content") is None:
            raise UnsupportedFeatureError(
                f"{provider} has no explicit context caching in llmkit (Gemini's cachedContents); "
                "for Anthropic and Bedrock prompt caching mark blocks with cache_control in chat",
                provider=provider,
                code="context_cache",
            )
        return spec

    def ref(self, cache: CacheRef, provider: str | None) -> tuple[str, str]:
        if isinstance(cache, ContextCache):
            name, provider = cache.name, provider or cache.provider
        else:
            name = cache
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"a context cache name looks like 'cachedContents/abc123', got {name!r}")
        return name, provider or "gemini"

    def op(self, spec: ProviderSpec, op_name: str, name: str | None = None, body: Any = None) -> WireRequest:
        op = spec.operations[op_name]
        path = expand_reserved(op.path, {"name": name}) if name is not None else op.path
        return WireRequest(method=op.method, path=path, body=body, query=dict(op.query), operation=op_name)

    def create(
        self,
        model: str,
        messages: Any,
        *,
        system: str | None,
        tools: Sequence[Any] | None,
        tool_choice: Any,
        ttl: float | str | None,
        expire_time: datetime | str | None,
        display_name: str | None,
    ) -> tuple[str, ProviderSpec, WireRequest]:
        provider, model_id = split_model(model)
        spec = self.spec(provider)
        expiry = _ttl(ttl, expire_time)
        if display_name is not None and (not isinstance(display_name, str) or len(display_name) > 128):
            raise ConfigError("display_name must be a string of at most 128 characters")
        msgs = [{"role": "user", "content": messages}] if isinstance(messages, str) else list(messages or [])
        if system is not None:
            msgs.insert(0, {"role": "system", "content": system})
        if not msgs:
            raise ConfigError("a context cache needs messages or a system prompt to cache")
        params: dict[str, Any] = {"tools": list(tools) if tools else None, "tool_choice": tool_choice}
        _, _, _, _, _, chat_wire = self._client._prepare(model, msgs, {k: v for k, v in params.items() if v})
        chat_body = chat_wire.body
        body: dict[str, Any] = {"model": f"models/{model_id}"}
        for key in ("contents", "systemInstruction", "tools", "toolConfig"):
            if chat_body.get(key):
                body[key] = chat_body[key]
        if display_name:
            body["displayName"] = display_name
        body.update(expiry)
        return provider, spec, self.op(spec, "create_cached_content", body=body)

    def update(
        self, cache: CacheRef, provider: str | None, ttl: Any, expire_time: Any
    ) -> tuple[str, ProviderSpec, WireRequest]:
        name, provider = self.ref(cache, provider)
        spec = self.spec(provider)
        expiry = _ttl(ttl, expire_time)
        if not expiry:
            raise ConfigError("update needs a new ttl or expire_time (nothing else of a cache can change)")
        req = self.op(spec, "update_cached_content", name, body=expiry)
        req.query["updateMask"] = ",".join(expiry)
        return provider, spec, req


class ContextCaches:
    """`client.context_caches`: create, get, list, update (expiry) and delete cached contexts."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._plan = _Planner(client)

    def _send(self, provider: str, spec: ProviderSpec, req: WireRequest, timeout: float | None) -> Any:
        gate = Gate(self._client, provider, spec, "context_caches")  # the client's orchestration
        return decode_json(gate.send(req, timeout=timeout), provider)

    def create(
        self,
        model: str,
        messages: Any = (),
        *,
        system: str | None = None,
        tools: Sequence[Any] | None = None,
        tool_choice: Any = None,
        ttl: float | str | None = None,
        expire_time: datetime | str | None = None,
        display_name: str | None = None,
        timeout: float | None = None,
    ) -> ContextCache:
        """Cache these messages (and system prompt and tools) for `model`, for `ttl` seconds
        or until `expire_time` (the provider's default, one hour on Gemini, otherwise)."""
        provider, spec, req = self._plan.create(
            model,
            messages,
            system=system,
            tools=tools,
            tool_choice=tool_choice,
            ttl=ttl,
            expire_time=expire_time,
            display_name=display_name,
        )
        return _parse(self._send(provider, spec, req, timeout), provider)

    def get(self, cache: CacheRef, *, provider: str | None = None, timeout: float | None = None) -> ContextCache:
        name, provider = self._plan.ref(cache, provider)
        spec = self._plan.spec(provider)
        return _parse(self._send(provider, spec, self._plan.op(spec, "get_cached_content", name), timeout), provider)

    def list(self, provider: str = "gemini", *, timeout: float | None = None) -> builtins.list[ContextCache]:
        """Every live cache of the key, all pages followed."""
        spec = self._plan.spec(provider)
        out: builtins.list[ContextCache] = []
        token: str | None = None
        while True:
            req = self._plan.op(spec, "list_cached_contents")
            if token:
                req.query["pageToken"] = token
            page = self._send(provider, spec, req, timeout)
            out.extend(_parse(c, provider) for c in page.get("cachedContents") or [])
            token = page.get("nextPageToken")
            if not token:
                return out

    def update(
        self,
        cache: CacheRef,
        *,
        ttl: float | str | None = None,
        expire_time: datetime | str | None = None,
        provider: str | None = None,
        timeout: float | None = None,
    ) -> ContextCache:
        """A new expiry: `ttl` seconds from now, or `expire_time`."""
        provider, spec, req = self._plan.update(cache, provider, ttl, expire_time)
        return _parse(self._send(provider, spec, req, timeout), provider)

    def delete(self, cache: CacheRef, *, provider: str | None = None, timeout: float | None = None) -> None:
        name, provider = self._plan.ref(cache, provider)
        spec = self._plan.spec(provider)
        self._send(provider, spec, self._plan.op(spec, "delete_cached_content", name), timeout)


class AsyncContextCaches:
    """`aclient.context_caches`: the async twin of ContextCaches."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._plan = _Planner(client)

    async def _send(self, provider: str, spec: ProviderSpec, req: WireRequest, timeout: float | None) -> Any:
        gate = AsyncGate(self._client, provider, spec, "context_caches")
        return decode_json(await gate.send(req, timeout=timeout), provider)

    async def create(
        self,
        model: str,
        messages: Any = (),
        *,
        system: str | None = None,
        tools: Sequence[Any] | None = None,
        tool_choice: Any = None,
        ttl: float | str | None = None,
        expire_time: datetime | str | None = None,
        display_name: str | None = None,
        timeout: float | None = None,
    ) -> ContextCache:
        provider, spec, req = self._plan.create(
            model,
            messages,
            system=system,
            tools=tools,
            tool_choice=tool_choice,
            ttl=ttl,
            expire_time=expire_time,
            display_name=display_name,
        )
        return _parse(await self._send(provider, spec, req, timeout), provider)

    async def get(self, cache: CacheRef, *, provider: str | None = None, timeout: float | None = None) -> ContextCache:
        name, provider = self._plan.ref(cache, provider)
        spec = self._plan.spec(provider)
        data = await self._send(provider, spec, self._plan.op(spec, "get_cached_content", name), timeout)
        return _parse(data, provider)

    async def list(self, provider: str = "gemini", *, timeout: float | None = None) -> builtins.list[ContextCache]:
        spec = self._plan.spec(provider)
        out: builtins.list[ContextCache] = []
        token: str | None = None
        while True:
            req = self._plan.op(spec, "list_cached_contents")
            if token:
                req.query["pageToken"] = token
            page = await self._send(provider, spec, req, timeout)
            out.extend(_parse(c, provider) for c in page.get("cachedContents") or [])
            token = page.get("nextPageToken")
            if not token:
                return out

    async def update(
        self,
        cache: CacheRef,
        *,
        ttl: float | str | None = None,
        expire_time: datetime | str | None = None,
        provider: str | None = None,
        timeout: float | None = None,
    ) -> ContextCache:
        provider, spec, req = self._plan.update(cache, provider, ttl, expire_time)
        return _parse(await self._send(provider, spec, req, timeout), provider)

    async def delete(self, cache: CacheRef, *, provider: str | None = None, timeout: float | None = None) -> None:
        name, provider = self._plan.ref(cache, provider)
        spec = self._plan.spec(provider)
        await self._send(provider, spec, self._plan.op(spec, "delete_cached_content", name), timeout)
