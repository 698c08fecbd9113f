"""Orchestration state that may be shared: rate-limit buckets, budget spend, circuit breakers.

`LocalState` keeps it in this process; `RedisState` (from `Client(state_url="redis://...")`)
keeps it in Redis so every process pointing at the same server shares one limiter, one budget
and one view of which deployments are cooling down. Every mutation on Redis is one Lua script,
so it is atomic however many processes race. Times come from `state.clock` (seconds), which
tests replace to get exact, repeatable waits.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ._errors import ConfigError

__all__ = [
    "MAX_CONNECTIONS",
    "BreakerState",
    "LocalState",
    "LoopRedis",
    "RedisState",
    "State",
    "open_state",
    "sync_redis",
]

BreakerMode = Literal["closed", "open", "half_open"]


@attrs.frozen(kw_only=True)
class BreakerState:
    """The health of one deployment as a circuit breaker sees it."""

    state: BreakerMode
    failures: int
    retry_in: float  # seconds until a probe may go (0 when closed or half-open)


def _gcra(tat: float, now: float, inc: float, tau: float) -> tuple[float, float]:
    """Generic cell rate: reserve `inc` seconds of capacity; returns (new tat, wait seconds)."""
    new = max(tat, now) + inc
    new = max(new, now)
    return new, max(new - tau - now, 0.0)


@attrs.define
class _Breaker:
    failures: int = 0
    open_until: float = 0.0
    probe_until: float = 0.0


def _allow(b: _Breaker, now: float, probe_lease: float) -> bool:
    if b.open_until == 0.0:
        return True
    if now < b.open_until or now < b.probe_until:
        return False
    b.probe_until = now + probe_lease
    return True


def _record(b: _Breaker, ok: bool, now: float, threshold: int, cooldown: float) -> None:
    if ok:
        b.failures, b.open_until, b.probe_until = 0, 0.0, 0.0
        return
    b.failures += 1
    if b.failures >= threshold or b.open_until != 0.0:
        b.open_until, b.probe_until = now + cooldown, 0.0


def _view(b: _Breaker, now: float) -> BreakerState:
    if b.open_until == 0.0:
        return BreakerState(state="closed", failures=b.failures, retry_in=0.0)
    if now < b.open_until:
        return BreakerState(state="open", failures=b.failures, retry_in=b.open_until - now)
    return BreakerState(state="half_open", failures=b.failures, retry_in=0.0)


class LocalState:
    """State in this process, behind one lock (a lock-free read-modify-write per call)."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._spent = 0.0
        self._breakers: dict[str, _Breaker] = {}

    def take(self, key: str, cost: float, per_minute: float) -> float:
        """Reserve `cost` units of a `per_minute` bucket; the seconds to wait before using them."""
        interval = 60.0 / per_minute
        with self._lock:
            now = self.clock()
            self._tat[key], wait = _gcra(self._tat.get(key, 0.0), now, cost * interval, 60.0)
        return wait

    def budget_reserve(self, amount: float, limit: float) -> tuple[bool, float]:
        """Add `amount` to the spend unless it would pass `limit`: (accepted, spend)."""
        with self._lock:
            if self._spent + amount > limit:
                return False, self._spent
            self._spent += amount
            return True, self._spent

    def budget_add(self, delta: float) -> None:
        with self._lock:
            self._spent += delta

    def budget_spent(self) -> float:
        return self._spent

    def breaker_allow(self, key: str, probe_lease: float) -> bool:
        with self._lock:
            return _allow(self._breakers.setdefault(key, _Breaker()), self.clock(), probe_lease)

    def breaker_record(self, key: str, ok: bool, threshold: int, cooldown: float) -> None:
        with self._lock:
            _record(self._breakers.setdefault(key, _Breaker()), ok, self.clock(), threshold, cooldown)

    def breaker_state(self, key: str) -> BreakerState:
        with self._lock:
            return _view(self._breakers.get(key, _Breaker()), self.clock())

    # Async twins: nothing here waits on I/O, so they are the sync methods.
    async def atake(self, key: str, cost: float, per_minute: float) -> float:
        return self.take(key, cost, per_minute)

    async def abudget_reserve(self, amount: float, limit: float) -> tuple[bool, float]:
        return self.budget_reserve(amount, limit)

    async def abudget_add(self, delta: float) -> None:
        self.budget_add(delta)

    async def abreaker_allow(self, key: str, probe_lease: float) -> bool:
        return self.breaker_allow(key, probe_lease)

    async def abreaker_record(self, key: str, ok: bool, threshold: int, cooldown: float) -> None:
        self.breaker_record(key, ok, threshold, cooldown)


# -- Redis ------------------------------------------------------------------------------------
# Numbers travel as strings: Lua numbers returned to Redis are truncated to integers.

_TAKE = """
local now = tonumber(ARGV[1])
local inc = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + inc
if new < now then new = now end
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.ceil((new - now + tau + 1) * 1000))
local wait = new - tau - now
if wait < 0 then wait = 0 end
return string.format('%.6f', wait)
"""

_BUDGET = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if spent + amount > tonumber(ARGV[2]) then return {0, string.format('%.10f', spent)} end
return {1, redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])}
"""

_ALLOW = """
local now = tonumber(ARGV[1])
local open = tonumber(redis.call('HGET', KEYS[1], 'open') or '0')
if open == 0 then return 1 end
local probe = tonumber(redis.call('HGET', KEYS[1], 'probe') or '0')
if now < open or now < probe then return 0 end
redis.call('HSET', KEYS[1], 'probe', string.format('%.6f', now + tonumber(ARGV[2])))
return 1
"""

_RECORD = """
local now = tonumber(ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local open = tonumber(redis.call('HGET', KEYS[1], 'open') or '0')
if failures >= tonumber(ARGV[3]) or open ~= 0 then
  redis.call('HSET', KEYS[1], 'open', string.format('%.6f', now + tonumber(ARGV[4])), 'probe', '0')
end
return failures
"""


# Connections per pool: callers past this wait for a free connection (never an error, however
# long the queue), so a thousand concurrent calls share a bounded set of sockets.
MAX_CONNECTIONS = 64


def sync_redis(url: str, **kw: Any) -> Any:
    """A redis-py client whose pool blocks when all its connections are busy."""
    import redis

    return redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, **kw)
    )


class LoopRedis:
    """redis-py's asyncio client, one per event loop (its connections belong to the loop that
    opened them), each with `scripts` registered on it."""

    def __init__(self, url: str, scripts: dict[str, str] | None = None, kw: dict[str, Any] | None = None) -> None:
        self.url = url
        self._scripts = scripts or {}
        self._kw = kw or {}
        self._by_loop: weakref.WeakKeyDictionary[Any, tuple[Any, dict[str, Any]]] = weakref.WeakKeyDictionary()

    def get(self) -> tuple[Any, dict[str, Any]]:
        import asyncio

        import redis.asyncio

        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=MAX_CONNECTIONS, timeout=None, **self._kw
            )
            r = redis.asyncio.Redis(connection_pool=pool)
            entry = self._by_loop[loop] = (r, {n: r.register_script(src) for n, src in self._scripts.items()})
        return entry

    async def aclose(self) -> None:
        """Close the current loop's client."""
        import asyncio

        entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].aclose(close_connection_pool=True)


class RedisState:
    """State in Redis, shared by every client (in any process) given the same URL and namespace."""

    shared = True

    def __init__(self, url: str, namespace: str = "llmkit", clock: Callable[[], float] = time.time) -> None:
        try:
            import redis  # noqa: F401
        except ImportError as exc:  # pragma: no cover - redis is in the `redis` extra
            raise ConfigError("state_url needs redis-py: pip install 'llmkit[redis]'") from exc
        self.url = url
        self.clock = clock
        self._ns = namespace
        self._redis = sync_redis(url)
        self._aredis = LoopRedis(url, _SCRIPTS)
        self._scripts = {name: self._redis.register_script(src) for name, src in _SCRIPTS.items()}

    def __repr__(self) -> str:
        return f"RedisState(namespace={self._ns!r})"  # the URL may hold a password

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._ns}:{kind}:{name}" if name else f"{self._ns}:{kind}"

    def _async(self) -> tuple[Any, dict[str, Any]]:
        return self._aredis.get()

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[name](keys=keys, args=args)

    async def _arun(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._async()[1][name](keys=keys, args=args)

    def _take_args(self, key: str, cost: float, per_minute: float) -> tuple[list[str], list[Any]]:
        return [self._key("rate", key)], [repr(self.clock()), repr(cost * 60.0 / per_minute), "60"]

    def take(self, key: str, cost: float, per_minute: float) -> float:
        return float(self._run("take", *self._take_args(key, cost, per_minute)))

    async def atake(self, key: str, cost: float, per_minute: float) -> float:
        return float(await self._arun("take", *self._take_args(key, cost, per_minute)))

    def budget_reserve(self, amount: float, limit: float) -> tuple[bool, float]:
        ok, spent = self._run("budget", [self._key("budget")], [repr(amount), repr(limit)])
        return bool(ok), float(spent)

    async def abudget_reserve(self, amount: float, limit: float) -> tuple[bool, float]:
        ok, spent = await self._arun("budget", [self._key("budget")], [repr(amount), repr(limit)])
        return bool(ok), float(spent)

    def budget_add(self, delta: float) -> None:
        self._redis.incrbyfloat(self._key("budget"), delta)

    async def abudget_add(self, delta: float) -> None:
        await self._async()[0].incrbyfloat(self._key("budget"), delta)

    def budget_spent(self) -> float:
        v = self._redis.get(self._key("budget"))
        return float(v) if v is not None else 0.0

    def breaker_allow(self, key: str, probe_lease: float) -> bool:
        return bool(self._run("allow", [self._key("breaker", key)], [repr(self.clock()), repr(probe_lease)]))

    async def abreaker_allow(self, key: str, probe_lease: float) -> bool:
        return bool(await self._arun("allow", [self._key("breaker", key)], [repr(self.clock()), repr(probe_lease)]))

    def _record_args(self, key: str, ok: bool, threshold: int, cooldown: float) -> tuple[list[str], list[Any]]:
        return [self._key("breaker", key)], [repr(self.clock()), "1" if ok else "0", str(threshold), repr(cooldown)]

    def breaker_record(self, key: str, ok: bool, threshold: int, cooldown: float) -> None:
        self._run("record", *self._record_args(key, ok, threshold, cooldown))

    async def abreaker_record(self, key: str, ok: bool, threshold: int, cooldown: float) -> None:
        await self._arun("record", *self._record_args(key, ok, threshold, cooldown))

    def breaker_state(self, key: str) -> BreakerState:
        h = self._redis.hgetall(self._key("breaker", key))
        b = _Breaker(
            failures=int(h.get(b"failures", 0)),
            open_until=float(h.get(b"open", 0.0)),
            probe_until=float(h.get(b"probe", 0.0)),
        )
        return _view(b, self.clock())

    def close(self) -> None:
        self._redis.connection_pool.disconnect()

    async def aclose(self) -> None:
        await self._aredis.aclose()


_SCRIPTS = {"take": _TAKE, "budget": _BUDGET, "allow": _ALLOW, "record": _RECORD}

State = LocalState | RedisState


def open_state(state_url: str | None, namespace: str = "llmkit") -> State:
    """The state backend for a Client: Redis when `state_url` is given, else this process."""
    if state_url is None:
        return LocalState()
    if not isinstance(state_url, str) or not state_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("state_url must be a Redis URL such as 'redis://localhost:6379/0'")
    return RedisState(state_url, namespace)
