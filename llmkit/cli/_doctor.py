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
    endpoint_source: str  # "default", or the env var it came from

    @property
    def ready(self) -> bool:
        return not self.missing


def _first_set(names: tuple[str, ...]) -> str | None:
    return next((n for n in names if os.environ.get(n)), None)


def readiness(spec: ProviderSpec) -> Readiness:
    """A provider's configuration as the environment gives it (explicit Client settings aside)."""
    missing: list[tuple[str, tuple[str, ...]]] = []
    credential_env = None
    if spec.auth.scheme != "none" and spec.auth.required:
        setting = spec.setting(spec.auth.setting)
        names = setting.env if setting else ()
        credential_env = _first_set(names)
        if credential_env is None and not (setting and setting.default):
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
    return Readiness(spec.id, tuple(missing), credential_env, endpoint, source)


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


def _check(provider: str, timeout: float) -> str | None:
    """None when the provider answered an authenticated call; else a one-line reason."""
    from .._client import Client

    try:
        with Client(providers={provider: {"timeout": timeout, "max_retries": 0}}) as client:
            client.native(provider).list_models()
        return None
    except LLMKitError as exc:
        return error_line(exc).removeprefix("llmkit: ")


def run(args: argparse.Namespace) -> int:
    from .._registry import known_provider_ids, provider_spec

    ids = args.provider or known_provider_ids()
    specs = [provider_spec(pid) for pid in ids]  # an unknown id raises ConfigError: exit 3
    style = Style(sys.stdout)
    print(f"llmkit {__version__} on {platform.python_implementation()} {platform.python_version()}")
    rows, colours, failures = [], [], 0
    for spec in specs:
        r = readiness(spec)
        if not r.ready:
            status, detail, colour = "missing", _how_to_fix(r), "yellow"
        else:
            status, colour = "ready", "green"
            detail = f"key from {r.credential_env}" if r.credential_env else "no key needed"
            if args.check and spec.operation("list_models") is None:
                detail += "; not checked (the spec has no list_models endpoint)"
            elif args.check:
                problem = _check(spec.id, args.timeout)
                if problem is None:
                    status, detail = "ok", detail + "; answered"
                else:
                    status, detail, colour = "failed", problem, "red"
                    failures += 1
        endpoint = r.endpoint if r.endpoint_source in ("default", "none") else f"{r.endpoint} ({r.endpoint_source})"
        rows.append([spec.id, status, endpoint, detail])
        colours.append([None, colour, None, None])
    print(render_table(["PROVIDER", "STATUS", "ENDPOINT", "DETAIL"], rows, style, colours=colours))
    ready = sum(1 for row in rows if row[1] != "missing")
    print(f"{ready} of {len(rows)} provider(s) configured" + (f", {failures} failed the check" if failures else ""))
    if ready == 0:
        print("llmkit: no provider is configured; set one of the env vars above", file=sys.stderr)
    return EXIT_OK if ready and not failures else EXIT_ERROR
