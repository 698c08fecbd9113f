"""Response caches: `llmkit.MemoryCache` (this process) and `llmkit.RedisCache` (shared).

`Client(cache=...)` answers a repeated chat call from the cache instead of the provider. The key
is a SHA-256 of the provider, the model and the request as it would go over the wire (method,
path, JSON body): never a header, so never an API key. Values are the answer as JSON, which a
cached stream replays as a stream. A cache that cannot be reached is skipped with a warning; the
call then goes to the provider as if there were no cache.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from ._errors import ConfigError
from ._state import LoopRedis, sync_redis

__all__ = ["Cache", "CacheUnavailableWarning", "MemoryCache", "RedisCache", "cache_key"]

_KEY_VERSION = 1


class CacheUnavailableWarning(RuntimeWarning):
    """The response cache could not be reached; calls go to the provider uncached."""


class Cache(Protocol):
    """What a Client needs from a cache: bytes in, bytes out, sync and async."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    async def aget(self, key: str) -> bytes | None: ...

    async def aset(self, key: str, value: bytes) -> None: ...


def cache_key(provider: str, model: str, method: str, path: str, body: Any) -> str:
    """A stable hash of what identifies an answer: same request, same key, in any process."""
    blob = json.dumps(
        {"v": _KEY_VERSION, "provider": provider, "model": model, "method": method, "path": path, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _check_ttl(ttl: float | None) -> float | None:
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0):
        raise ConfigError(f"cache ttl must be a positive number of seconds or None (no expiry), got {ttl!r}")
    return None if ttl is None else float(ttl)


class MemoryCache:
    """An in-process LRU cache with a time to live, safe from any thread."""

    def __init__(
        self, ttl: float | None = 600, max_entries: int = 1024, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigError(f"max_entries must be a positive integer, got {max_entries!r}")
        self.ttl = _check_ttl(ttl)
        self.max_entries = max_entries
        self.clock = clock
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryCache(ttl={self.ttl!r}, max_entries={self.max_entries}, entries={len(self._data)})"

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires and self.clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        expires = self.clock() + self.ttl if self.ttl else 0.0
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes) -> None:
        self.set(key, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """A cache in Redis (redis-py, sync and asyncio), shared by every client that points at it.

    A Redis outage never fails a call: the first failure warns (CacheUnavailableWarning) and
    calls go uncached until Redis answers again.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        ttl: float | None = 600,
        *,
        prefix: str = "llmkit:cache:",
        socket_timeout: float = 1.0,
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - redis is in the `redis` extra
            raise ConfigError("RedisCache needs redis-py: pip install 'llmkit[redis]'") from exc
        self.ttl = _check_ttl(ttl)
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        kw = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
        self._redis = sync_redis(url, **kw)
        self._aredis = LoopRedis(url, kw=kw)
        self._down = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisCache(prefix={self.prefix!r}, ttl={self.ttl!r})"  # the URL may hold a password

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first, self._down = not self._down, True
        if first:
            warnings.warn(
                f"the Redis response cache is unreachable ({type(exc).__name__}: {exc}); "
                "calls go to the provider uncached until it is back",
                CacheUnavailableWarning,
                stacklevel=4,
            )

    def _ok(self) -> None:
        if self._down:
            with self._lock:
                self._down = False

    def _px(self) -> int | None:
        return int(self.ttl * 1000) if self.ttl else None

    def get(self, key: str) -> bytes | None:
        try:
            value = self._redis.get(self.prefix + key)
        except self._errors as exc:
            self._failed(exc)
            return None
        self._ok()
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes) -> None:
        try:
            self._redis.set(self.prefix + key, value, px=self._px())
        except self._errors as exc:
            self._failed(exc)
            return
        self._ok()

    async def aget(self, key: str) -> bytes | None:
        try:
            value: bytes | None = await self._aredis.get()[0].get(self.prefix + key)
        except self._errors as exc:
            self._failed(exc)
            return None
        self._ok()
        return value

    async def aset(self, key: str, value: bytes) -> None:
        try:
            await self._aredis.get()[0].set(self.prefix + key, value, px=self._px())
        except self._errors as exc:
            self._failed(exc)
            return
        self._ok()

    def clear(self) -> None:
        """Delete every entry under this cache's prefix."""
        for k in self._redis.scan_iter(match=self.prefix + "*", count=500):
            self._redis.delete(k)

    def close(self) -> None:
        self._redis.connection_pool.disconnect()

    async def aclose(self) -> None:
        await self._aredis.aclose()
