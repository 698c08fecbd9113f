"""Resolving a provider's settings from `Client(providers=...)` and the env vars its spec names.

Besides the spec's own settings every provider accepts `api_key`, `base_url`, `headers`,
`timeout` (per phase, httpx-style), `total_timeout` (one deadline for the whole call),
`max_retries`, `verify` (a CA bundle path or an `ssl.SSLContext`; TLS is always verified) and
`insecure_skip_tls_verify` (the only way to turn verification off; it warns). A secret setting
may be a callable returning the current value, read afresh for every request, so keys rotate
on a live Client; `ResolvedSettings.update()` swaps values atomically for the same purpose.
"""

from __future__ import annotations

import os
import ssl
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ._constants import (
    COMMON_SETTINGS,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_READ_TIMEOUT,
    INSECURE_TLS_SETTING,
)
from ._errors import ConfigError
from ._spec import ProviderSpec

__all__ = [
    "InsecureTLSWarning",
    "ResolvedSettings",
    "Secret",
    "SecretSource",
    "resolve_settings",
]


class InsecureTLSWarning(UserWarning):
    """TLS certificate verification was turned off for a provider."""


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


class SecretSource(Secret):
    """A credential read from a callable on every use: rotate a key without a new Client.

    The callable must return the current value as a non-empty string; it is called once per
    request (and per token fetch), so it should be cheap, e.g. read a variable a rotation job
    updates.
    """

    __slots__ = ("_fn", "_name")

    def __init__(self, fn: Callable[[], str], name: str = "credential") -> None:
        super().__init__("")
        self._fn = fn
        self._name = name

    def get(self) -> str:
        try:
            value = self._fn()
        except Exception as exc:
            raise ConfigError(f"the callable given for {self._name!r} failed: {type(exc).__name__}") from None
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"the callable given for {self._name!r} must return a non-empty string, got {type(value).__name__}"
            )
        return value

    def __repr__(self) -> str:
        return f"SecretSource({self._name!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretSource) and other._fn is self._fn

    def __hash__(self) -> int:
        return hash(("llmkit.SecretSource", id(self._fn)))


class ResolvedSettings:
    """A provider's effective settings: values, base URL, timeouts, retry budget and TLS.

    `values` is replaced as a whole by `update()`, never mutated in place: a reader that takes
    `settings.values` once sees one consistent set of credentials.
    """

    def __init__(
        self,
        spec: ProviderSpec,
        values: dict[str, Any],
        base_url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        max_retries: int,
        total_timeout: float | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.spec = spec
        self.values = values
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        self.max_retries = max_retries
        self.total_timeout = total_timeout
        self.verify = verify
        self.version = 0  # bumped by update(): token caches refetch when it changes
        self._lock = threading.Lock()

    def secret(self, name: str) -> str | None:
        v = self.values.get(name)
        if isinstance(v, Secret):
            return v.get()
        return None if v is None else str(v)

    def get(self, name: str) -> Any:
        v = self.values.get(name)
        return v.get() if isinstance(v, Secret) else v

    def update(self, **changes: Any) -> None:
        """Replace credentials (secret settings) of a live client, all at once.

        A request already being built keeps the old set; the next one uses the new set; none
        sees half of each. A value of None removes the setting.
        """
        secret_names = {s.name for s in self.spec.settings if s.secret} | {"api_key"}
        unknown = sorted(set(changes) - secret_names)
        if unknown:
            raise ConfigError(
                f"cannot update {unknown[0]!r} for {self.spec.id!r} on a live client: only credentials "
                f"({', '.join(sorted(secret_names))}) rotate; make a new Client for other settings",
                provider=self.spec.id,
            )
        with self._lock:
            values = dict(self.values)
            for name, v in changes.items():
                if v is None or v == "":
                    values.pop(name, None)
                else:
                    values[name] = _wrap(name, v, name in secret_names)
            self.values = values
            self.version += 1

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.values.items()}
        return f"ResolvedSettings(provider={self.spec.id!r}, base_url={self.base_url!r}, values={shown!r})"


def _wrap(name: str, v: Any, secret: bool) -> Any:
    if isinstance(v, Secret):
        return v
    if callable(v):
        if not secret:
            raise ConfigError(f"only secret settings may be callables; {name!r} is not one")
        return SecretSource(v, name)
    return Secret(str(v)) if secret else v


def _verify(spec: ProviderSpec, given: Mapping[str, Any], values: Mapping[str, Any]) -> ssl.SSLContext | bool:
    """TLS verification: on by default, a custom CA bundle, or off only by its `insecure` name."""
    insecure = given.get(INSECURE_TLS_SETTING, False)
    if not isinstance(insecure, bool):
        raise ConfigError(f"{INSECURE_TLS_SETTING} for {spec.id!r} must be True or False, got {insecure!r}")
    verify = given.get("verify", values.get("verify"))
    if verify is False or (isinstance(verify, str) and verify.lower() in ("false", "0", "no")):
        raise ConfigError(
            f"verify=False is not accepted for {spec.id!r}: pass a CA bundle path as verify=..., or, "
            f"if you really mean to trust any certificate, {INSECURE_TLS_SETTING}=True"
        )
    if insecure:
        warnings.warn(
            f"TLS certificate verification is OFF for {spec.id!r} ({INSECURE_TLS_SETTING}=True): "
            "anyone on the network path can read your API key and answers",
            InsecureTLSWarning,
            stacklevel=4,
        )
        return False
    if verify is None or verify is True:
        return True
    if isinstance(verify, ssl.SSLContext):
        if verify.verify_mode == ssl.CERT_NONE or not verify.check_hostname:
            raise ConfigError(
                f"the SSLContext given as verify for {spec.id!r} does not verify certificates or host names; "
                f"use {INSECURE_TLS_SETTING}=True to say so explicitly"
            )
        return verify
    if isinstance(verify, (str, Path)):
        path = Path(verify).expanduser()
        if not path.is_file():
            raise ConfigError(f"verify for {spec.id!r} names a CA bundle that does not exist: {str(path)!r}")
        try:
            return ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"verify for {spec.id!r}: {str(path)!r} is not a PEM CA bundle ({exc})") from None
    raise ConfigError(f"verify for {spec.id!r} must be a CA bundle path or an ssl.SSLContext, got {verify!r}")


def _total_timeout(spec: ProviderSpec, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ConfigError(f"total_timeout for {spec.id!r} must be a positive number of seconds, got {value!r}")


def _timeout(value: Any) -> httpx.Timeout:
    if value is None:
        return httpx.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and value > 0:
        return httpx.Timeout(float(value), connect=min(float(value), DEFAULT_CONNECT_TIMEOUT))
    raise ConfigError(f"timeout must be a positive number of seconds or httpx.Timeout, got {value!r}")


def _regional_url(spec: ProviderSpec, values: Mapping[str, Any]) -> str | None:
    """The documented base URL of the `region` setting, for specs with a region table.

    Keys are region-bound (a mainland key fails on the international host and vice versa),
    so an unknown region is refused rather than silently sent to the default one.
    """
    regions: Mapping[str, str] | None = spec.extra.get("regions")
    if not regions:
        return None
    region = values.get("region")
    if region is None:
        return None
    if region not in regions:
        raise ConfigError(
            f"unknown region {region!r} for {spec.id!r}: it has {', '.join(repr(r) for r in regions)}; "
            f"pass providers={{{spec.id!r}: {{'region': {next(iter(regions))!r}}}}} or a base_url of your own",
            provider=spec.id,
        )
    return regions[region]


def _no_endpoint(spec: ProviderSpec) -> ConfigError:
    """Why a provider without a default endpoint cannot be called, and what to pass instead.

    For hosts whose shared endpoint closed (or never existed) the spec's provider-level
    lifecycle says what happened and when; the message carries it so nobody goes hunting.
    """
    how = f"pass providers={{{spec.id!r}: {{'base_url': 'https://<your deployment>/v1', 'api_key': ...}}}}"
    lc = spec.extra.get("lifecycle")
    if lc is None:
        return ConfigError(f"provider {spec.id!r} has no default endpoint: {how}", provider=spec.id)
    when = f" on {lc.date}" if lc.date else ""
    what = {
        "closed": f"its shared public API closed{when}",
        "retired": f"its shared public API was retired{when}",
        "deprecated": f"its shared public API is deprecated{when}",
    }.get(lc.status, "it has no shared public API")
    note = f" {lc.note.strip()}" if lc.note else ""
    instead = f" Instead use {lc.replacement}." if lc.replacement else ""
    return ConfigError(
        f"{spec.name} ({spec.id!r}) has no default endpoint: {what}.{note}{instead} "
        f"To reach your own deployment, {how}.",
        provider=spec.id,
    )


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
            values[s.name] = _wrap(s.name, v, s.secret)
    if given.get("api_key") and "api_key" not in values:
        values["api_key"] = _wrap("api_key", given["api_key"], True)
    if "api_key" in values:
        values["api_key"] = _wrap("api_key", values["api_key"], True)
    base_url = given.get("base_url") or values.get("base_url") or _regional_url(spec, values) or spec.base_url
    if not base_url:
        raise _no_endpoint(spec)
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
        total_timeout=_total_timeout(spec, given.get("total_timeout")),
        verify=_verify(spec, given, values),
    )
