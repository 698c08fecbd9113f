"""Client-side rate limits: token buckets per provider or model that make callers wait.

`Client(rate_limits={"openai": {"rpm": 500, "tpm": 200_000}, "openai/gpt-4o": {"rpm": 60}})`
gives each key a requests-per-minute and/or tokens-per-minute bucket. A call reserves its share
of every bucket that applies and then waits for the longest of them, so callers are served in
order and never fail for being early. The buckets live in the Client's state backend, so with
`state_url` they are shared by every process.

Independently of configured limits, the limiter reads the providers' own rate-limit headers
(`x-ratelimit-remaining-*` / `-reset-*`, `anthropic-ratelimit-*`) and 429 `retry-after` hints,
and holds a provider's calls back until the window resets instead of running into a 429.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ._errors import ConfigError
from ._state import State

__all__ = ["RateLimiter", "parse_reset"]

# A header that says "wait longer than this" is not obeyed blindly: the call goes out and the
# provider's own 429 (and its retry policy) decide.
MAX_HINT_WAIT = 60.0

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}

# (remaining header, reset header) pairs providers send; a remaining count of 0 pauses.
_HEADER_PAIRS = (
    ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    ("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset"),
    ("anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset"),
    ("anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset"),
    ("anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset"),
)


def parse_reset(value: str, wall_now: float) -> float | None:
    """Seconds until a reset given as `1s` / `6m0s` / `2m59.56s` / `120ms`, plain seconds, or
    an RFC 3339 timestamp (Anthropic); None when the value cannot be read."""
    v = value.strip()
    try:
        return max(float(v), 0.0)
    except ValueError:
        pass
    parts = _DURATION.findall(v)
    if parts and "".join(n + u for n, u in parts) == v:
        return sum(float(n) * _UNITS[u] for n, u in parts)
    try:
        ts = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        return None
    return max(ts.timestamp() - wall_now, 0.0)


def _check_limits(limits: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, float]]:
    if limits is None:
        return {}
    if not isinstance(limits, Mapping):
        raise ConfigError("rate_limits must be a dict: {'openai': {'rpm': 500, 'tpm': 200_000}}")
    out: dict[str, dict[str, float]] = {}
    for key, spec in limits.items():
        if not isinstance(key, str) or not key or not isinstance(spec, Mapping):
            raise ConfigError(
                f"rate_limits[{key!r}] must map 'provider' or 'provider/model' to {{'rpm': ..., 'tpm': ...}}"
            )
        unknown = set(spec) - {"rpm", "tpm"}
        if unknown or not spec:
            raise ConfigError(f"rate_limits[{key!r}] accepts 'rpm' and 'tpm' only, got {sorted(spec)}")
        for name, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"rate_limits[{key!r}][{name!r}] must be a positive number, got {value!r}")
        out[key] = {k: float(v) for k, v in spec.items()}
    return out


class RateLimiter:
    """Buckets from `rate_limits` plus waits learnt from the providers' headers."""

    def __init__(
        self,
        limits: Mapping[str, Mapping[str, Any]] | None,
        state: State,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = _check_limits(limits)
        self.state = state
        self.clock = clock  # for header-learnt pauses, which stay in this process
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def _buckets(self, provider: str, model: str, tokens: int) -> list[tuple[str, float, float]]:
        out = []
        for key in (provider, f"{provider}/{model}"):
            spec = self.limits.get(key)
            if spec is None:
                continue
            if "rpm" in spec:
                out.append((f"{key}#rpm", 1.0, spec["rpm"]))
            if "tpm" in spec:
                # A call larger than the whole minute's budget waits one full minute, not forever.
                out.append((f"{key}#tpm", float(min(tokens, spec["tpm"])), spec["tpm"]))
        return out

    def _hint_wait(self, provider: str) -> float:
        until = self._paused.get(provider)
        return 0.0 if until is None else max(until - self.clock(), 0.0)

    def reserve(self, provider: str, model: str, tokens: int) -> float:
        """Reserve a call's share of its buckets; the seconds the caller must wait first."""
        wait = self._hint_wait(provider)
        for key, cost, per_minute in self._buckets(provider, model, tokens):
            wait = max(wait, self.state.take(key, cost, per_minute))
        return wait

    async def areserve(self, provider: str, model: str, tokens: int) -> float:
        wait = self._hint_wait(provider)
        for key, cost, per_minute in self._buckets(provider, model, tokens):
            wait = max(wait, await self.state.atake(key, cost, per_minute))
        return wait

    def _tpm_keys(self, provider: str, model: str) -> list[tuple[str, float]]:
        keys = (provider, f"{provider}/{model}")
        return [(f"{k}#tpm", self.limits[k]["tpm"]) for k in keys if "tpm" in self.limits.get(k, {})]

    def settle(self, provider: str, model: str, estimated: int, actual: int) -> None:
        """Correct the token buckets once the real token count is known (refund or charge)."""
        if actual != estimated:
            for key, per_minute in self._tpm_keys(provider, model):
                self.state.take(key, float(actual - estimated), per_minute)

    async def asettle(self, provider: str, model: str, estimated: int, actual: int) -> None:
        if actual != estimated:
            for key, per_minute in self._tpm_keys(provider, model):
                await self.state.atake(key, float(actual - estimated), per_minute)

    def pause(self, provider: str, seconds: float) -> None:
        """Hold this provider's next calls back for `seconds` (at most MAX_HINT_WAIT)."""
        if seconds <= 0:
            return
        until = self.clock() + min(seconds, MAX_HINT_WAIT)
        with self._lock:
            if until > self._paused.get(provider, 0.0):
                self._paused[provider] = until

    def learn(self, provider: str, headers: Mapping[str, str]) -> None:
        """Read a response's rate-limit headers: an exhausted window pauses until it resets."""
        wait = 0.0
        for remaining, reset in _HEADER_PAIRS:
            left = headers.get(remaining)
            if left is None or left.strip() not in ("0", "0.0"):
                continue
            r = headers.get(reset)
            seconds = parse_reset(r, time.time()) if r else None
            if seconds is not None:
                wait = max(wait, seconds)
        self.pause(provider, wait)
