"""`llmkit.Client` and `llmkit.AsyncClient`: the unified surface over every provider.

Everything that does not touch the network (model-string parsing, settings, capability
checks, request building, response parsing) is shared in `_Core`; the two clients only
differ in how they wait for I/O.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import httpx

from ._errors import (
    ConfigError,
    ConnectionError,
    LLMKitError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from ._features import check_features, cost_usd
from ._registry import (
    custom_spec,
    dialect,
    model_info,
    provider_capabilities,
    provider_spec,
    split_model,
)
from ._settings import ResolvedSettings, Secret, resolve_settings
from ._spec import ProviderSpec
from ._streaming import AsyncChatStream, ChatStream
from ._transport import AsyncProviderTransport, ProviderTransport
from ._types import ChatRequest, ChatResponse, Message, coerce_messages
from .dialects._base import CallContext, Dialect, WireRequest

__all__ = ["AsyncClient", "Client"]

_FALLBACK_ERRORS = (ConnectionError, TimeoutError, RateLimitError, ServerError)

MessagesArg = Sequence[Message | Mapping[str, Any]] | str


class _Core:
    """Shared, I/O-free logic of Client and AsyncClient."""

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if providers is not None and not isinstance(providers, Mapping):
            raise ConfigError("providers must be a dict: {provider_id: {setting: value}}")
        self._provider_settings: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (providers or {}).items()}
        self._lock = threading.RLock()
        self._resolved: dict[str, ResolvedSettings] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(providers={sorted(self._provider_settings)!r})"

    def _spec(self, provider: str) -> ProviderSpec:
        given = self._provider_settings.get(provider, {})
        if "dialect" in given:
            try:
                builtin = provider_spec(provider)
            except ConfigError:
                return custom_spec(provider, given)
            if given["dialect"] != builtin.dialect:
                raise ConfigError(f"provider {provider!r} speaks {builtin.dialect!r}; its dialect cannot be changed")
            return builtin
        return provider_spec(provider)

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
        info = model_info(provider, model_id)
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
        caps = info.capabilities if info is not None else (provider_capabilities(provider) or spec.capabilities)
        req = _chat_request(model_id, coerce_messages(messages), params)
        check_features(req, provider, caps)
        d = dialect(spec.dialect)
        wire = d.chat_request(req, ctx)
        return provider, spec, d, ctx, req, wire

    def _prepare_count(
        self, model: str, messages: MessagesArg, params: dict[str, Any]
    ) -> tuple[str, ProviderSpec, Dialect, CallContext, WireRequest]:
        provider, name = split_model(model)
        spec = self._spec(provider)
        ctx = self._context(provider, name, spec)
        caps = ctx.model_info.capabilities if ctx.model_info is not None else spec.capabilities
        if not caps.count_tokens:
            raise_unsupported(provider, name, "token counting")
        req = _chat_request(name, coerce_messages(messages), params)
        d = dialect(spec.dialect)
        return provider, spec, d, ctx, d.count_tokens_request(req, ctx)

    def _finish(self, resp: ChatResponse, ctx: CallContext) -> ChatResponse:
        resp.cost_usd = cost_usd(ctx.model_info, resp.usage)
        return resp


_CHAT_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "reasoning_budget",
    "user",
    "extra_body",
    "provider_options",
)


def _chat_request(model: str, messages: list[Message], params: dict[str, Any]) -> ChatRequest:
    stop = params.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    tools = params.get("tools")
    if tools is not None:
        tools = [_coerce_tool(t, i) for i, t in enumerate(tools)]
    rf = params.get("response_format")
    if rf is not None:
        rf = _coerce_response_format(rf)
    mt = params.get("max_tokens")
    if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 1):
        raise ConfigError(f"max_tokens must be a positive integer, got {mt!r}")
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=mt,
        temperature=params.get("temperature"),
        top_p=params.get("top_p"),
        stop=stop,
        seed=params.get("seed"),
        tools=tools,
        tool_choice=params.get("tool_choice"),
        parallel_tool_calls=params.get("parallel_tool_calls"),
        response_format=rf,
        reasoning_effort=params.get("reasoning_effort"),
        reasoning_budget=params.get("reasoning_budget"),
        stream=bool(params.get("stream")),
        user=params.get("user"),
        extra_body=params.get("extra_body"),
        provider_options=params.get("provider_options"),
    )


def _coerce_tool(t: Any, i: int) -> dict[str, Any]:
    """Tools are accepted in OpenAI form ({type: function, function: {...}}) or flat."""
    if not isinstance(t, Mapping):
        raise ConfigError(f"tools[{i}] must be a dict")
    fn = t.get("function") if t.get("type") == "function" else t
    if not isinstance(fn, Mapping) or not fn.get("name"):
        raise ConfigError(f"tools[{i}] needs a function name: {{'type': 'function', 'function': {{'name': ...}}}}")
    params = fn.get("parameters") or fn.get("input_schema") or {"type": "object", "properties": {}}
    out: dict[str, Any] = {"name": fn["name"], "parameters": dict(params)}
    if fn.get("description"):
        out["description"] = fn["description"]
    if fn.get("strict") is not None:
        out["strict"] = fn["strict"]
    if t.get("cache_control"):
        out["cache_control"] = t["cache_control"]
    return out


def _coerce_response_format(rf: Any) -> dict[str, Any]:
    """`{"type": "json_object"}`, `{"type": "json_schema", "json_schema": {...}}`, or a schema."""
    if not isinstance(rf, Mapping):
        raise ConfigError("response_format must be a dict")
    kind = rf.get("type")
    if kind in ("json_object", "text"):
        return {"type": kind}
    if kind == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, Mapping) or not isinstance(js.get("schema"), Mapping):
            raise ConfigError("response_format json_schema needs {'json_schema': {'name': ..., 'schema': {...}}}")
        return {"type": "json_schema", "json_schema": {"name": js.get("name", "response"), **js}}
    if kind == "object" or "properties" in rf:
        return {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": dict(rf), "strict": True},
        }
    raise ConfigError(f"unknown response_format type {kind!r}; use 'json_object' or 'json_schema'")


def _models(model: str | Sequence[str]) -> list[str]:
    if isinstance(model, str):
        return [model]
    models = list(model)
    if not models or not all(isinstance(m, str) for m in models):
        raise ConfigError("model must be a 'provider/model' string or a non-empty list of them")
    return models


class Client(_Core):
    """Synchronous client. Keys come from the env vars the specs name, or from `providers`.

    One pooled HTTP connection pool per provider; close it with `close()` or a `with` block.
    """

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__(providers)
        self._transports: dict[str, ProviderTransport] = {}

    def _transport(self, provider: str, spec: ProviderSpec) -> ProviderTransport:
        t = self._transports.get(provider)
        if t is None:
            with self._lock:
                t = self._transports.get(provider)
                if t is None:
                    t = ProviderTransport(self._settings(provider, spec), dialect(spec.dialect))
                    self._transports[provider] = t
        return t

    @overload
    def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: Literal[False] = ...,
        **params: Any,
    ) -> ChatResponse: ...
    @overload
    def chat(
        self, model: str | Sequence[str], messages: MessagesArg, *, stream: Literal[True], **params: Any
    ) -> ChatStream: ...

    def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> ChatResponse | ChatStream:
        """Chat with `provider/model` (or a fallback list of them).

        Parameters: max_tokens, temperature, top_p, stop, seed, tools, tool_choice,
        parallel_tool_calls, response_format, reasoning_effort, reasoning_budget, user,
        extra_body, provider_options. With `stream=True` returns a ChatStream.
        """
        _check_params(params)
        params["stream"] = stream
        errors: list[Exception] = []
        models = _models(model)
        for i, m in enumerate(models):
            try:
                if stream:
                    return self._stream(m, messages, params, extra_headers, timeout, errors)
                resp = self._chat_once(m, messages, params, extra_headers, timeout)
                resp.errors = errors
                return resp
            except _FALLBACK_ERRORS as exc:
                if i == len(models) - 1:
                    raise
                errors.append(exc)
        raise AssertionError("unreachable")

    def _chat_once(
        self,
        model: str,
        messages: MessagesArg,
        params: dict[str, Any],
        extra_headers: Mapping[str, str] | None,
        timeout: float | None,
    ) -> ChatResponse:
        provider, spec, d, ctx, _req, wire = self._prepare(model, messages, params)
        t = self._transport(provider, spec)
        http = t.send(wire, extra_headers=extra_headers, timeout=timeout)
        return self._finish(d.parse_chat(_json(http, provider), ctx), ctx)

    def _stream(
        self,
        model: str,
        messages: MessagesArg,
        params: dict[str, Any],
        extra_headers: Mapping[str, str] | None,
        timeout: float | None,
        errors: list[Exception],
    ) -> ChatStream:
        provider, spec, d, ctx, _req, wire = self._prepare(model, messages, params)
        t = self._transport(provider, spec)
        decoder = d.stream_decoder(ctx)

        def done(resp: ChatResponse) -> None:
            self._finish(resp, ctx)
            resp.errors = errors

        s = ChatStream(t.stream(wire, extra_headers=extra_headers, timeout=timeout), decoder, provider, done)
        s._open()
        return s

    def count_tokens(self, model: str, messages: MessagesArg, **params: Any) -> int:
        """Input tokens the provider counts for these messages (its own endpoint, no guess)."""
        provider, spec, d, ctx, wire = self._prepare_count(model, messages, params)
        http = self._transport(provider, spec).send(wire)
        return d.parse_count_tokens(_json(http, provider), ctx)

    def native(self, provider: str) -> Any:
        """The generated typed client of one provider: every endpoint its spec declares."""
        import importlib

        spec = self._spec(provider)
        from .generated.dispatch import CLIENT_CLASSES, PROVIDERS

        key = provider if provider in PROVIDERS else "openai"
        cls = getattr(importlib.import_module(PROVIDERS[key]), CLIENT_CLASSES[key][0])
        return cls(self._transport(provider, spec))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(_Core):
    """Asynchronous client; use `async with llmkit.AsyncClient() as aclient`."""

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__(providers)
        self._transports: dict[str, AsyncProviderTransport] = {}

    def _transport(self, provider: str, spec: ProviderSpec) -> AsyncProviderTransport:
        t = self._transports.get(provider)
        if t is None:
            t = AsyncProviderTransport(self._settings(provider, spec), dialect(spec.dialect))
            self._transports[provider] = t
        return t

    async def chat(
        self,
        model: str | Sequence[str],
        messages: MessagesArg,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> Any:
        """Async twin of Client.chat: a ChatResponse, or an AsyncChatStream with stream=True."""
        _check_params(params)
        params["stream"] = stream
        errors: list[Exception] = []
        models = _models(model)
        for i, m in enumerate(models):
            try:
                provider, spec, d, ctx, _req, wire = self._prepare(m, messages, params)
                t = self._transport(provider, spec)
                if stream:
                    decoder = d.stream_decoder(ctx)

                    def done(resp: ChatResponse, ctx: CallContext = ctx) -> None:
                        self._finish(resp, ctx)
                        resp.errors = errors

                    s = AsyncChatStream(
                        t.stream(wire, extra_headers=extra_headers, timeout=timeout), decoder, provider, done
                    )
                    s._response = await s._opener.__aenter__()
                    return s
                http = await t.send(wire, extra_headers=extra_headers, timeout=timeout)
                resp = self._finish(d.parse_chat(_json(http, provider), ctx), ctx)
                resp.errors = errors
                return resp
            except _FALLBACK_ERRORS as exc:
                if i == len(models) - 1:
                    raise
                errors.append(exc)
        raise AssertionError("unreachable")

    async def count_tokens(self, model: str, messages: MessagesArg, **params: Any) -> int:
        provider, spec, d, ctx, wire = self._prepare_count(model, messages, params)
        http = await self._transport(provider, spec).send(wire)
        return d.parse_count_tokens(_json(http, provider), ctx)

    def native(self, provider: str) -> Any:
        import importlib

        spec = self._spec(provider)
        from .generated.dispatch import CLIENT_CLASSES, PROVIDERS

        key = provider if provider in PROVIDERS else "openai"
        cls = getattr(importlib.import_module(PROVIDERS[key]), CLIENT_CLASSES[key][1])
        return cls(self._transport(provider, spec))

    async def aclose(self) -> None:
        for t in self._transports.values():
            await t.aclose()
        self._transports.clear()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def raise_unsupported(provider: str, model: str, what: str) -> None:
    from ._errors import UnsupportedFeatureError

    raise UnsupportedFeatureError(f"{provider}/{model} does not support {what}", provider=provider)


def _check_params(params: dict[str, Any]) -> None:
    unknown = sorted(set(params) - set(_CHAT_PARAMS))
    if unknown:
        raise ConfigError(
            f"unknown chat parameter {unknown[0]!r}; accepted: {', '.join(_CHAT_PARAMS)} "
            "(provider-only fields go in extra_body or provider_options)"
        )


def _json(resp: httpx.Response, provider: str) -> Any:
    try:
        return json.loads(resp.content)
    except ValueError as exc:
        snippet = " ".join(resp.text.split())[:200]
        raise LLMKitError(
            f"{provider} answered HTTP {resp.status_code} with a body that is not JSON: {snippet!r}",
            provider=provider,
            status=resp.status_code,
        ) from exc
