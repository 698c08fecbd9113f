"""The I/O-free core that Client and AsyncClient share: settings, request building, orchestration views.

A provider id may carry a label, `provider@label` (e.g. `azure@eastus`): the same provider with
its own settings, connection pool, rate limits and health, for multi-region routing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._cache import Cache
from ._chat_params import chat_request
from ._errors import ConfigError
from ._features import check_features, cost_usd
from ._hooks import Hook
from ._latency import LatencyStats
from ._lifecycle import ALLOW_RETIRED_SETTING, allowed_retired
from ._models_list import Lister
from ._pipeline import Orchestrator, Ticket
from ._registry import (
    _catalog_index,
    custom_spec,
    dialect,
    model_info,
    provider_capabilities,
    provider_spec,
    split_model,
)
from ._settings import ResolvedSettings, Secret, resolve_settings
from ._spec import ProviderSpec
from ._structured import attach_parsed
from ._types import ChatRequest, ChatResponse, Message, coerce_messages
from ._usage import Budget, UsageTracker
from .dialects._base import CallContext, Dialect, WireRequest

__all__ = ["Core", "MessagesArg"]

MessagesArg = Sequence[Message | Mapping[str, Any]] | str


class Core:
    """Shared, I/O-free logic of Client and AsyncClient."""

    def __init__(
        self,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        cache: Cache | None = None,
        rate_limits: Mapping[str, Mapping[str, Any]] | None = None,
        budget_usd: float | None = None,
        state_url: str | None = None,
        state_namespace: str = "llmkit",
        hooks: Mapping[str, Hook | Sequence[Hook]] | None = None,
        latency_window: int = 500,
        telemetry: bool = True,
    ) -> None:
        if providers is not None and not isinstance(providers, Mapping):
            raise ConfigError("providers must be a dict: {provider_id: {setting: value}}")
        self._provider_settings: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (providers or {}).items()}
        self._lock = threading.RLock()
        self._resolved: dict[str, ResolvedSettings] = {}
        self._orch = Orchestrator(
            cache=cache,
            rate_limits=rate_limits,
            budget_usd=budget_usd,
            state_url=state_url,
            state_namespace=state_namespace,
            hooks=hooks,
            latency_window=latency_window,
            telemetry=telemetry,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(providers={sorted(self._provider_settings)!r})"

    # -- orchestration views ------------------------------------------------------------------
    @property
    def usage(self) -> UsageTracker:
        """Running token and cost totals: `.total_cost_usd`, `.by_model`, `.by_provider`."""
        return self._orch.usage

    @property
    def budget(self) -> Budget | None:
        """The `budget_usd` limit and its spend (shared across processes with `state_url`)."""
        return self._orch.budget

    def latency_stats(self, model: str) -> LatencyStats:
        """p50/p95/p99 seconds of recent calls to `provider/model` (total, and ttft for streams)."""
        return self._orch.latency.stats(model)

    def on(self, event: str, fn: Hook | None = None) -> Any:
        """Register a hook (`before_request`, `after_response`, `on_retry`, `on_error`); usable as
        a decorator: `@client.on("on_error")`."""
        if fn is None:
            return lambda f: self._orch.hooks.add(event, f)
        return self._orch.hooks.add(event, fn)

    # -- request building ---------------------------------------------------------------------
    def _spec(self, provider: str) -> ProviderSpec:
        base = provider.partition("@")[0]
        given = self._provider_settings.get(provider, {})
        if "dialect" in given:
            try:
                builtin = provider_spec(base)
            except ConfigError:
                return custom_spec(provider, given)
            if given["dialect"] != builtin.dialect:
                raise ConfigError(f"provider {provider!r} speaks {builtin.dialect!r}; its dialect cannot be changed")
            return builtin
        return provider_spec(base)

    def _settings(self, provider: str, spec: ProviderSpec) -> ResolvedSettings:
        """A provider's resolved settings, computed once per Client."""
        s = self._resolved.get(provider)
        if s is None:
            with self._lock:
                s = self._resolved.get(provider)
                if s is None:
                    s = resolve_settings(spec, self._provider_settings.get(provider))
                    self._resolved[provider] = s
        return s

    def _context(self, provider: str, model_id: str, spec: ProviderSpec) -> CallContext:
        allow = allowed_retired(provider, self._provider_settings.get(provider, {}).get(ALLOW_RETIRED_SETTING))
        info = model_info(spec.id, model_id, allow) if spec.id == provider.partition("@")[0] else None
        settings = self._settings(provider, spec)
        public = {k: v for k, v in settings.values.items() if not isinstance(v, Secret)}
        return CallContext(spec=spec, model=model_id, model_info=info, settings=public)

    def _prepare(
        self, model: str, messages: MessagesArg, params: dict[str, Any]
    ) -> tuple[str, ProviderSpec, Dialect, CallContext, ChatRequest, WireRequest]:
        provider, model_id = split_model(model)
        spec = self._spec(provider)
        ctx = self._context(provider, model_id, spec)
        info = ctx.model_info
        caps = info.capabilities if info is not None else (provider_capabilities(spec.id) or spec.capabilities)
        req = chat_request(model_id, coerce_messages(messages), params)
        check_features(req, provider, caps)
        d = dialect(spec.dialect)
        wire = d.chat_request(req, ctx)
        return provider, spec, d, ctx, req, wire

    def _lister(self, provider: str) -> tuple[ProviderSpec, Lister]:
        """The spec and a fresh pager for `list_models(provider)`; refuses before any request
        when the spec declares no listing endpoint."""
        spec = self._spec(provider)
        settings = self._settings(provider, spec)
        public = {k: settings.get(k) for k, v in settings.values.items() if not isinstance(v, Secret)}
        caps = provider_capabilities(spec.id) or spec.capabilities
        return spec, Lister(spec, public, _catalog_index(), caps)

    def _ticket(
        self, provider: str, d: Dialect, ctx: CallContext, req: ChatRequest, wire: WireRequest, use_cache: bool
    ) -> Ticket:
        key_wire = None
        if use_cache and self._orch.cache is not None:
            # The non-streamed request is the key, so a stream and a plain call share an entry.
            key_wire = d.chat_request(attrs.evolve(req, stream=False), ctx) if req.stream else wire
        return self._orch.ticket(provider, ctx.model, ctx.model_info, req, wire, key_wire)

    def _finish(self, resp: ChatResponse, ctx: CallContext, req: ChatRequest | None = None) -> ChatResponse:
        """Cost from the catalog, and `parsed` (checked against the schema) when JSON was asked for."""
        resp.cost_usd = cost_usd(ctx.model_info, resp.usage)
        return attach_parsed(resp, req) if req is not None else resp
