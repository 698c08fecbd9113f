"""`llmkit doctor`: which providers are ready to use, what is missing, and (with `--check`)
whether each configured one answers.

Readiness comes from the specs: a provider needs its credential setting (unless its auth needs
none) and a base URL (unless its spec has a default). `--check` makes one cheap authenticated
call per ready provider (its `list_models` endpoint), so a wrong key shows up here, not mid-chat.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any

import attrs

from .._errors import LLMKitError
from .._spec import ProviderSpec
from .._version import __version__
from ._exit import EXIT_ERROR, EXIT_OK, error_line
from ._term import Style, render_table

__all__ = ["Readiness", "readiness", "register"]


@attrs.frozen
class Readiness:
    """What a provider still needs: each missing setting with the env vars that would supply it."""

    provider: str
    missing: tuple[tuple[str, tuple[str, ...]], ...]
    credential_env: str | None  # the env var that supplies the credential now, if any
    endpoint: str
    endpoint_source: str  # "default", "none", or the env var it came from
    keyless: bool  # the provider needs no key (a local server such as vLLM or LM Studio)

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def configured(self) -> bool:
        """Set up by the user: a key from the env, or a keyless provider pointed somewhere by env."""
        return self.ready and (self.credential_env is not None or self.endpoint_source not in ("default", "none"))


def _first_set(names: tuple[str, ...]) -> str | None:
    return next((n for n in names if os.environ.get(n)), None)


def _credential_envs(spec: ProviderSpec) -> tuple[str, ...] | None:
    """Env vars any one of which supplies a credential; None when the provider needs no key."""
    if spec.auth.scheme == "none" or not spec.auth.required:
        return None
    if spec.auth.scheme == "override":  # e.g. Azure: a key or a token, the override picks
        secret = [s for s in spec.settings if s.secret]
        return tuple(e for s in secret for e in s.env)
    setting = spec.setting(spec.auth.setting)
    return setting.env if setting else ()


def readiness(spec: ProviderSpec) -> Readiness:
    """A provider's configuration as the environment gives it (explicit Client settings aside)."""
    missing: list[tuple[str, tuple[str, ...]]] = []
    names = _credential_envs(spec)
    credential_env = _first_set(names) if names is not None else None
    if names is not None and credential_env is None:
        missing.append((spec.auth.setting, names))
    base = spec.setting("base_url")
    base_env = _first_set(base.env) if base else None
    if base_env:
        endpoint, source = os.environ[base_env], base_env
    elif spec.base_url:
        endpoint, source = spec.base_url, "default"
    else:
        endpoint, source = "-", "none"
        missing.append(("base_url", base.env if base else ()))
    return Readiness(spec.id, tuple(missing), credential_env, endpoint, source, names is None)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="show which providers are configured and what is missing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-p", "--provider", action="append", help="only this provider (repeatable)")
    p.add_argument("--check", action="store_true", help="also call each configured provider once (network)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per --check call (default: 10)")
    p.set_defaults(func=run)


def _how_to_fix(r: Readiness) -> str:
    parts = []
    for setting, envs in r.missing:
        if envs:
            parts.append("set " + " or ".join(envs))
        else:
            parts.append(f"pass providers={{{r.provider!r}: {{{setting!r}: ...}}}} in code")
    return "; ".join(parts)


def _check(provider: str, endpoint: str, timeout: float) -> str | None:
    """None when the provider answered an authenticated call at `endpoint`; else a one-line reason."""
    from .._client import Client

    settings = {"base_url": endpoint, "timeout": timeout, "max_retries": 0}
    try:
        with Client(providers={provider: settings}) as client:
            client.native(provider).list_models()
        return None
    except LLMKitError as exc:
        return error_line(exc).removeprefix("llmkit: ")


def _row(spec: ProviderSpec, r: Readiness, args: argparse.Namespace) -> tuple[str, str, str, bool]:
    """(status, detail, colour, failed) of one provider."""
    if not r.ready:
        return "missing", _how_to_fix(r), "yellow", False
    if r.configured:
        status, detail, colour = (
            "ready",
            f"key from {r.credential_env}" if r.credential_env else "no key needed",
            "green",
        )
    else:  # a keyless local server at its default address: nothing to configure, maybe not running
        status, detail, colour = "local", "no key needed; a local server", "dim"
    if not args.check:
        return status, detail, colour, False
    if spec.operation("list_models") is None:
        return status, detail + "; not checked (the spec has no list_models endpoint)", colour, False
    problem = _check(spec.id, r.endpoint, args.timeout)
    if problem is None:
        return "ok", detail + "; answered", "green", False
    if not r.configured:  # a local server that is not running is not a misconfiguration
        return "down", "not running here (" + problem.split(":", 1)[0] + ")", "dim", False
    return "failed", problem, "red", True


def run(args: argparse.Namespace) -> int:
    from .._registry import known_provider_ids, provider_spec

    ids = args.provider or known_provider_ids()
    specs = [provider_spec(pid) for pid in ids]  # an unknown id raises ConfigError: exit 3
    style = Style(sys.stdout)
    print(f"llmkit {__version__} on {platform.python_implementation()} {platform.python_version()}")
    rows, colours, configured, failures = [], [], 0, 0
    for spec in specs:
        r = readiness(spec)
        status, detail, colour, failed = _row(spec, r, args)
        configured += r.configured
        failures += failed
        endpoint = r.endpoint if r.endpoint_source in ("default", "none") else f"{r.endpoint} ({r.endpoint_source})"
        rows.append([spec.id, status, endpoint, detail])
        colours.append([None, colour, None, None])
    print(render_table(["PROVIDER", "STATUS", "ENDPOINT", "DETAIL"], rows, style, colours=colours))
    print(
        f"{configured} of {len(rows)} provider(s) configured" + (f", {failures} failed the check" if failures else "")
    )
    if configured == 0:
        print("llmkit: no provider is configured; set one of the env vars above", file=sys.stderr)
    return EXIT_OK if configured and not failures else EXIT_ERROR
