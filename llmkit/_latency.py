"""`client.latency_stats(model)`: percentiles of recent calls, for users and for routing.

Each model keeps its last `window` observations (a bounded deque), so memory stays flat and the
numbers follow the provider's current behaviour rather than its history. Total latency is
recorded for every call that reached the provider; time to first token only for streams.
"""

from __future__ import annotations

import math
import threading
from collections import deque

import attrs

__all__ = ["DEFAULT_WINDOW", "LatencyStats", "LatencyTracker", "Percentiles"]

DEFAULT_WINDOW = 500


@attrs.frozen(kw_only=True)
class Percentiles:
    """Seconds."""

    p50: float
    p95: float
    p99: float


@attrs.frozen(kw_only=True)
class LatencyStats:
    """Recent latencies of one model: `total` for whole calls, `ttft` to the first streamed event.

    `p50`/`p95`/`p99` are the total's; each is None until the model has been called.
    """

    model: str
    count: int
    total: Percentiles | None
    ttft: Percentiles | None

    @property
    def p50(self) -> float | None:
        return self.total.p50 if self.total else None

    @property
    def p95(self) -> float | None:
        return self.total.p95 if self.total else None

    @property
    def p99(self) -> float | None:
        return self.total.p99 if self.total else None


def _percentiles(values: list[float]) -> Percentiles | None:
    """Nearest-rank percentiles: each is an observed value, never an interpolation."""
    if not values:
        return None
    s = sorted(values)
    n = len(s)

    def rank(q: float) -> float:
        return s[max(min(math.ceil(q * n / 100), n), 1) - 1]

    return Percentiles(p50=rank(50), p95=rank(95), p99=rank(99))


class LatencyTracker:
    """Bounded windows of observations per `provider/model`, safe from any thread."""

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"latency window must be a positive integer, got {window!r}")
        self.window = window
        self._lock = threading.Lock()
        self._total: dict[str, deque[float]] = {}
        self._ttft: dict[str, deque[float]] = {}

    def record(self, model: str, total: float, ttft: float | None = None) -> None:
        with self._lock:
            self._total.setdefault(model, deque(maxlen=self.window)).append(total)
            if ttft is not None:
                self._ttft.setdefault(model, deque(maxlen=self.window)).append(ttft)

    def stats(self, model: str) -> LatencyStats:
        with self._lock:
            total = list(self._total.get(model, ()))
            ttft = list(self._ttft.get(model, ()))
        return LatencyStats(model=model, count=len(total), total=_percentiles(total), ttft=_percentiles(ttft))

    def models(self) -> list[str]:
        with self._lock:
            return sorted(self._total)
