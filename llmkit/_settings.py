"""Resolving a provider's settings from `Client(providers=...)` and the env vars its spec names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from ._constants import (
    COMMON_SETTINGS,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_READ_TIMEOUT,
)
from ._errors import ConfigError
from ._spec import ProviderSpec

__all__ = ["ResolvedSettings", "Secret", "resolve_settings"]


class Secret:
    """A credential that never shows itself in a repr, str, log line or exception."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("llmkit.Secret", self._value))


class ResolvedSettings:
    """A provider's effective settings: values, base URL, timeout and retry budget."""

    def __init__(
        self,
        spec: ProviderSpec,
        values: dict[str, Any],
        base_url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        max_retries: int,
    ) -> None:
        self.spec = spec
        self.values = values
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        self.max_retries = max_retries

    def secret(self, name: str) -> str | None:
        v = self.values.get(name)
        if isinstance(v, Secret):
            return v.get()
        return None if v is None else str(v)

    def get(self, name: str) -> Any:
        v = self.values.get(name)
        return v.get() if isinstance(v, Secret) else v

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.values.items()}
        return f"ResolvedSettings(provider={self.spec.id!r}, base_url={self.base_url!r}, values={shown!r})"


def _timeout(value: Any) -> httpx.Timeout:
    if value is None:
        return httpx.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and value > 0:
        return httpx.Timeout(float(value), connect=min(float(value), DEFAULT_CONNECT_TIMEOUT))
    raise ConfigError(f"timeout must be a positive number of seconds or httpx.Timeout, got {value!r}")


def resolve_settings(spec: ProviderSpec, given: Mapping[str, Any] | None) -> ResolvedSettings:
    """Merge explicit settings over env vars; reject names the provider does not know."""
    given = dict(given or {})
    known = COMMON_SETTINGS | {s.name for s in spec.settings}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} for provider {spec.id!r}; "
            f"it accepts: {', '.join(sorted(known - {'dialect'}))}",
            provider=spec.id,
        )
    values: dict[str, Any] = {}
    for s in spec.settings:
        v = given.get(s.name)
        if v == "":
            v = None  # an empty value is a missing one, not a credential
        if v is None:
            for env in s.env:
                if os.environ.get(env):
                    v = os.environ[env]
                    break
        if v is None:
            v = s.default
        if v is not None:
            values[s.name] = Secret(v) if s.secret and isinstance(v, str) else v
    if given.get("api_key") and "api_key" not in values:
        values["api_key"] = Secret(str(given["api_key"]))
    if "api_key" in values and not isinstance(values["api_key"], Secret):
        values["api_key"] = Secret(str(values["api_key"]))
    base_url = given.get("base_url") or values.get("base_url") or spec.base_url
    if not base_url:
        raise ConfigError(
            f"provider {spec.id!r} has no default endpoint: pass providers={{{spec.id!r}: {{'base_url': ...}}}}",
            provider=spec.id,
        )
    if not str(base_url).startswith(("http://", "https://")):
        raise ConfigError(f"base_url for {spec.id!r} must start with http:// or https://, got {base_url!r}")
    headers = given.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ConfigError(f"headers for {spec.id!r} must be a dict of header name to value")
    max_retries = given.get("max_retries", DEFAULT_MAX_RETRIES)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ConfigError(f"max_retries for {spec.id!r} must be an integer >= 0, got {max_retries!r}")
    return ResolvedSettings(
        spec=spec,
        values=values,
        base_url=str(base_url).rstrip("/"),
        headers={str(k): str(v) for k, v in headers.items()},
        timeout=_timeout(given.get("timeout")),
        max_retries=max_retries,
    )
