"""`llmkit.Router`: named routes over several models, with a strategy, failover and health.

    router = llmkit.Router(client, routes={
        "fast": [{"model": "groq/llama-3.3-70b-versatile", "weight": 2}, {"model": "cerebras/llama-3.3-70b"}],
        "gpt4o": [{"model": "azure/gpt-4o", "deployments": ["azure@eastus/gpt-4o", "azure@westeurope/gpt-4o"]}],
    }, strategy="weighted")
    resp = router.chat("fast", messages)          # resp.provider says who answered

The strategy picks which entry goes first; the other entries follow as fallbacks, and each
entry's deployments (the same model in several regions or accounts) are tried in order. A
deployment that fails `failure_threshold` times in a row (connection, timeout, 429, 5xx) cools
down for `cooldown` seconds and is skipped; then one probe call is let through (half-open) and
its outcome closes or reopens the breaker. With `state_url` on the client, the breakers are
shared by every process. `router.health()` shows them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ._errors import ConfigError, LLMKitError
from ._fallback import FALLBACK_ERRORS, next_model
from ._lang import detect_tags, prompt_text
from ._registry import model_info, split_model
from ._state import BreakerState
from ._types import coerce_messages
from ._usage import DEFAULT_OUTPUT_ESTIMATE, estimate_cost, estimate_input_tokens

__all__ = ["RouteUnavailableError", "Router", "Strategy"]

Strategy = Literal["weighted", "round_robin", "least_latency", "lowest_cost", "language"]
_STRATEGIES: tuple[str, ...] = ("weighted", "round_robin", "least_latency", "lowest_cost", "language")


class RouteUnavailableError(LLMKitError):
    """Every deployment of the route is cooling down after repeated failures; try again later."""


@attrs.frozen(kw_only=True)
class _Entry:
    model: str
    deployments: tuple[str, ...]
    weight: float
    languages: frozenset[str]


def _entry(route: str, i: int, raw: Any) -> _Entry:
    where = f"routes[{route!r}][{i}]"
    if isinstance(raw, str):
        raw = {"model": raw}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("model"), str):
        raise ConfigError(f"{where} must be a model string or {{'model': 'provider/model', ...}}")
    unknown = set(raw) - {"model", "weight", "deployments", "languages"}
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; use model, weight, deployments, languages")
    deployments = tuple(raw.get("deployments") or (raw["model"],))
    for d in deployments:
        split_model(d)  # a bad model string fails here, not at the first call
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        raise ConfigError(f"{where} weight must be a positive number, got {weight!r}")
    langs = raw.get("languages") or ()
    if isinstance(langs, str) or not all(isinstance(x, str) for x in langs):
        raise ConfigError(f"{where} languages must be a list such as ['ru'] or ['ko', 'hangul']")
    return _Entry(
        model=raw["model"],
        deployments=deployments,
        weight=float(weight),
        languages=frozenset(x.lower() for x in langs),
    )


def _price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    try:
        provider, name = split_model(model)
        info = model_info(provider.partition("@")[0], name)
    except ConfigError:
        return None
    return estimate_cost(info, tokens_in, tokens_out)


class Router:
    """Routes named groups of models for a Client or an AsyncClient.

    With an AsyncClient, `chat` returns a coroutine: `await router.chat(...)`.
    """

    def __init__(
        self,
        client: Any,
        routes: Mapping[str, Sequence[Any]],
        strategy: Strategy = "weighted",
        *,
        max_latency: float | None = None,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
    ) -> None:
        if strategy not in _STRATEGIES:
            raise ConfigError(f"unknown strategy {strategy!r}; use one of {', '.join(_STRATEGIES)}")
        if not isinstance(routes, Mapping) or not routes:
            raise ConfigError("routes must be a non-empty dict: {'name': [{'model': 'provider/model'}, ...]}")
        if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ConfigError(f"failure_threshold must be a positive integer, got {failure_threshold!r}")
        if cooldown <= 0:
            raise ConfigError(f"cooldown must be a positive number of seconds, got {cooldown!r}")
        self.client = client
        self.strategy = strategy
        self.max_latency = max_latency
        self.failure_threshold = failure_threshold
        self.cooldown = float(cooldown)
        self.routes: dict[str, list[_Entry]] = {}
        for name, entries in routes.items():
            if isinstance(entries, (str, Mapping)) or not entries:
                raise ConfigError(f"routes[{name!r}] must be a non-empty list of entries")
            self.routes[name] = [_entry(name, i, e) for i, e in enumerate(entries)]
        self._lock = threading.Lock()
        self._turn: dict[str, int] = {}
        self._current: dict[str, list[float]] = {}  # smooth weighted round-robin state per route
        self._async = hasattr(client, "aclose")

    def __repr__(self) -> str:
        return f"Router(routes={sorted(self.routes)!r}, strategy={self.strategy!r})"

    # -- ordering ---------------------------------------------------------------------------
    def _weighted(self, route: str, entries: list[_Entry]) -> list[_Entry]:
        """Smooth weighted round-robin (as nginx does): exact shares, evenly interleaved."""
        with self._lock:
            cur = self._current.setdefault(route, [0.0] * len(entries))
            total = 0.0
            for i, e in enumerate(entries):
                cur[i] += e.weight
                total += e.weight
            best = max(range(len(entries)), key=lambda i: cur[i])
            cur[best] -= total
        rest = sorted((e for i, e in enumerate(entries) if i != best), key=lambda e: -e.weight)
        return [entries[best], *rest]

    def _round_robin(self, route: str, entries: list[_Entry]) -> list[_Entry]:
        with self._lock:
            start = self._turn.get(route, 0)
            self._turn[route] = (start + 1) % len(entries)
        return entries[start:] + entries[:start]

    def _latency(self, e: _Entry, which: Literal["p50", "p95"]) -> float | None:
        values = [getattr(self.client.latency_stats(d), which) for d in e.deployments]
        known = [v for v in values if v is not None]
        return min(known) if known else None

    def _least_latency(self, entries: list[_Entry]) -> list[_Entry]:
        # Entries never measured go first, so each gets measured; then the fastest median.
        def key(e: _Entry) -> tuple[int, float]:
            v = self._latency(e, "p50")
            return (0, 0.0) if v is None else (1, v)

        return sorted(entries, key=key)

    def _lowest_cost(self, entries: list[_Entry], messages: Any, params: Mapping[str, Any]) -> list[_Entry]:
        from ._chat_params import chat_request

        req = chat_request("x", coerce_messages(messages), dict(params))
        tokens_in = estimate_input_tokens(req)
        tokens_out = req.max_tokens or DEFAULT_OUTPUT_ESTIMATE
        priced = [(_price(e.deployments[0], tokens_in, tokens_out), i, e) for i, e in enumerate(entries)]
        priced.sort(key=lambda t: (t[0] is None, t[0] or 0.0, t[1]))
        return [e for _, _, e in priced]

    def _language(self, entries: list[_Entry], messages: Any) -> list[_Entry]:
        tags = detect_tags(prompt_text(messages))

        def rank(e: _Entry) -> int:
            if e.languages & tags:
                return 0
            return 1 if not e.languages else 2

        return sorted(entries, key=rank)  # stable: configured order within each rank

    def _fast_enough(self, entries: list[_Entry], max_latency: float) -> list[_Entry]:
        """Entries whose observed p95 meets `max_latency` (or not measured yet); when none does,
        every entry, fastest first: a slow answer beats none."""
        ok = [e for e in entries if (p := self._latency(e, "p95")) is None or p <= max_latency]
        if ok:
            return ok
        return sorted(entries, key=lambda e: self._latency(e, "p95") or 0.0)

    def candidates(
        self, route: str, messages: Any = "", *, max_latency: float | None = None, **params: Any
    ) -> list[str]:
        """The deployments a call would try, in order (a weighted or round-robin turn is taken)."""
        entries = self.routes.get(route)
        if entries is None:
            raise ConfigError(f"unknown route {route!r}; routes: {', '.join(sorted(self.routes))}")
        limit = max_latency if max_latency is not None else self.max_latency
        if limit is not None:
            entries = self._fast_enough(entries, limit)
        if self.strategy == "weighted":
            ordered = self._weighted(route, entries)
        elif self.strategy == "round_robin":
            ordered = self._round_robin(route, entries)
        elif self.strategy == "least_latency":
            ordered = self._least_latency(entries)
        elif self.strategy == "lowest_cost":
            ordered = self._lowest_cost(entries, messages, params)
        else:
            ordered = self._language(entries, messages)
        return [d for e in ordered for d in e.deployments]

    # -- health -----------------------------------------------------------------------------
    def health(self) -> dict[str, BreakerState]:
        """Each deployment's breaker: closed (healthy), open (cooling down) or half_open."""
        state = self.client._orch.state
        return {d: state.breaker_state(d) for es in self.routes.values() for e in es for d in e.deployments}

    def _unavailable(self, route: str, errors: list[Exception]) -> Exception:
        if errors:
            return errors[-1]
        return RouteUnavailableError(
            f"every deployment of route {route!r} is cooling down after repeated failures; "
            f"retry in up to {self.cooldown:g}s, or see router.health()",
            code="route_unavailable",
        )

    # -- calls ------------------------------------------------------------------------------
    def chat(self, route: str, messages: Any, *, max_latency: float | None = None, **kwargs: Any) -> Any:
        """Chat through a route: a ChatResponse (or a stream with stream=True); with an
        AsyncClient, a coroutine of one."""
        params = {k: v for k, v in kwargs.items() if k not in ("stream", "extra_headers", "timeout", "cache")}
        order = self.candidates(route, messages, max_latency=max_latency, **params)
        if self._async:
            return self._achat(route, order, messages, kwargs)
        state = self.client._orch.state
        errors: list[Exception] = []
        i: int | None = 0
        while i is not None:
            dep = order[i]
            if not state.breaker_allow(dep, self.cooldown):
                i = i + 1 if i + 1 < len(order) else None
                continue
            try:
                resp = self.client.chat(dep, messages, **kwargs)
            except LLMKitError as exc:
                if isinstance(exc, FALLBACK_ERRORS):
                    state.breaker_record(dep, False, self.failure_threshold, self.cooldown)
                i = next_model(exc, order, i)
                if i is None:
                    raise
                errors.append(exc)
                continue
            state.breaker_record(dep, True, self.failure_threshold, self.cooldown)
            return _with_errors(resp, errors)
        raise self._unavailable(route, errors)

    async def _achat(self, route: str, order: list[str], messages: Any, kwargs: dict[str, Any]) -> Any:
        state = self.client._orch.state
        errors: list[Exception] = []
        i: int | None = 0
        while i is not None:
            dep = order[i]
            if not await state.abreaker_allow(dep, self.cooldown):
                i = i + 1 if i + 1 < len(order) else None
                continue
            try:
                resp = await self.client.chat(dep, messages, **kwargs)
            except LLMKitError as exc:
                if isinstance(exc, FALLBACK_ERRORS):
                    await state.abreaker_record(dep, False, self.failure_threshold, self.cooldown)
                i = next_model(exc, order, i)
                if i is None:
                    raise
                errors.append(exc)
                continue
            await state.abreaker_record(dep, True, self.failure_threshold, self.cooldown)
            return _with_errors(resp, errors)
        raise self._unavailable(route, errors)


def _with_errors(resp: Any, errors: list[Exception]) -> Any:
    """Keep the failures of earlier deployments on the answer (streams get theirs at the end)."""
    if errors and hasattr(resp, "errors"):
        resp.errors = [*errors, *resp.errors]
    return resp
