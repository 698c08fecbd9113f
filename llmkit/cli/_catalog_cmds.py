"""`llmkit providers` and `llmkit models`: the generated catalog as tables or JSON.

Tables show the capabilities a caller chooses a model by; `--json` prints every field, for
scripts. Only `models --live PROVIDER` touches the network: it asks the provider's own listing
endpoint (with the key from its env vars) and marks what the catalog does not know.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import attrs

from .._lifecycle import lifecycle_status
from .._spec import Capabilities, Lifecycle, ModelInfo
from ._exit import EXIT_OK
from ._term import Style, fmt_int, fmt_price, render_table

__all__ = ["capability_summary", "env_status", "lifecycle_json", "lifecycle_text", "register"]

# Table names of the capabilities people pick a model by; `--json` lists them all.
_SHOWN = (
    ("tools", "tools"),
    ("vision", "vision"),
    ("json_schema", "json_schema"),
    ("reasoning", "reasoning"),
    ("prompt_caching", "caching"),
    ("count_tokens", "count_tokens"),
    ("embeddings", "embeddings"),
)


def register(sub: Any) -> None:
    p = sub.add_parser("providers", help="list built-in providers, their capabilities and env vars")
    p.add_argument("--json", action="store_true", help="print every field as JSON")
    p.set_defaults(func=run_providers)
    m = sub.add_parser("models", help="list catalog models: limits, prices (USD per million tokens), lifecycle")
    m.add_argument("-p", "--provider", help="only this provider's models")
    m.add_argument("--json", action="store_true", help="print every field as JSON")
    m.add_argument(
        "--live", metavar="PROVIDER", help="ask PROVIDER's own model listing (uses its key) merged with the catalog"
    )
    m.set_defaults(func=run_models)


def capability_summary(caps: Capabilities) -> str:
    """The capabilities worth a table column, comma-separated; `no-temperature` when fixed."""
    names = [label for field, label in _SHOWN if caps.has(field)]
    if caps.temperature is False:
        names.append("no-temperature")
    return ",".join(names) or "-"


def env_status(names: tuple[str, ...] | list[str]) -> list[tuple[str, bool]]:
    """Each env var with whether it holds a value now (an empty value counts as unset)."""
    return [(n, bool(os.environ.get(n))) for n in names]


def lifecycle_text(lc: Lifecycle | None) -> str:
    """The status today, then the date that matters for it and the replacement:
    `retired 2025-10-27 -> o4-mini`, `deprecated 2026-06-05, retires 2026-08-05 -> ...`."""
    status = lifecycle_status(lc)
    if lc is None or (status == "active" and lc.deprecated is None and lc.retires is None):
        return "active"
    if status == "retired":
        text = f"retired {lc.retires}"
    else:
        dates = [f"{k} {v}" for k, v in (("deprecated", lc.deprecated), ("retires", lc.retires)) if v]
        text = ", ".join(dates) if status == "deprecated" else "active; " + ", ".join(dates)
        text = text if dates else "deprecated"
    return text + (f" -> {lc.replacement}" if lc.replacement else "")


def lifecycle_json(lc: Lifecycle | None) -> dict[str, object] | None:
    """The lifecycle's fields plus its status today."""
    return None if lc is None else {"status": lifecycle_status(lc), **attrs.asdict(lc)}


def run_providers(args: argparse.Namespace) -> int:
    from .._catalog import models, providers
    from .._registry import provider_capabilities, provider_spec
    from ._doctor import readiness

    rows = providers()
    counts: dict[str, int] = {}
    for info in models():
        counts[info.provider] = counts.get(info.provider, 0) + 1
    if args.json:
        out = [{**p, "env": {n: s for n, s in env_status(p["env"])}, "models": counts.get(p["id"], 0)} for p in rows]
        print(json.dumps(out, indent=2))
        return EXIT_OK
    style = Style(sys.stdout)
    table, colours = [], []
    for p in rows:
        caps = provider_capabilities(p["id"]) or Capabilities()
        env = " ".join(f"{n}:{'set' if s else 'unset'}" for n, s in env_status(p["env"]))
        table.append([p["id"], str(p["dialect"]), str(counts.get(p["id"], 0)), capability_summary(caps), env])
        colours.append([None, None, None, None, "green" if readiness(provider_spec(p["id"])).ready else "dim"])
    headers = ["PROVIDER", "DIALECT", "MODELS", "CAPABILITIES", "ENV"]
    print(render_table(headers, table, style, right=(2,), colours=colours))
    return EXIT_OK


def _model_json(m: ModelInfo) -> dict[str, Any]:
    return {
        "model": f"{m.provider}/{m.id}",
        "provider": m.provider,
        "id": m.id,
        "aliases": list(m.aliases),
        "context_window": m.context_window,
        "max_output_tokens": m.max_output_tokens,
        "price_per_million_tokens": attrs.asdict(m.price),
        "capabilities": {k: v for k, v in attrs.asdict(m.capabilities).items() if v is not None},
        "lifecycle": lifecycle_json(m.lifecycle),
    }


def run_live_models(provider: str, as_json: bool) -> int:
    """`llmkit models --live PROVIDER`: the provider's listing, catalog facts filled in."""
    from .._client import Client

    with Client() as client:
        listed = client.list_models(provider)
    if as_json:
        out = []
        for m in listed:
            out.append(
                {
                    "model": f"{m.provider}/{m.id}",
                    "in_catalog": m.in_catalog,
                    "display_name": m.display_name,
                    "context_window": m.context_window,
                    "max_output_tokens": m.max_output_tokens,
                    "price_per_million_tokens": attrs.asdict(m.price),
                    "capabilities": {k: v for k, v in attrs.asdict(m.capabilities).items() if v is not None},
                    "lifecycle": lifecycle_json(m.lifecycle),
                }
            )
        print(json.dumps(out, indent=2))
        return EXIT_OK
    style = Style(sys.stdout)
    table = [
        [
            f"{m.provider}/{m.id}",
            "yes" if m.in_catalog else "no",
            fmt_int(m.context_window),
            fmt_price(m.price.input),
            fmt_price(m.price.output),
            capability_summary(m.capabilities) if m.in_catalog else "-",
            lifecycle_text(m.lifecycle),
        ]
        for m in listed
    ]
    headers = ["MODEL", "CATALOG", "CONTEXT", "IN $/M", "OUT $/M", "CAPABILITIES", "LIFECYCLE"]
    print(render_table(headers, table, style, right=(2, 3, 4)))
    return EXIT_OK


def run_models(args: argparse.Namespace) -> int:
    from .._catalog import models

    if args.live:
        return run_live_models(args.live, args.json)
    entries = models(args.provider)
    if args.json:
        print(json.dumps([_model_json(m) for m in entries], indent=2))
        return EXIT_OK
    style = Style(sys.stdout)
    table: list[list[str]] = []
    colours: list[list[str | None]] = []
    for m in entries:
        lc = lifecycle_text(m.lifecycle)
        table.append(
            [
                f"{m.provider}/{m.id}",
                fmt_int(m.context_window),
                fmt_int(m.max_output_tokens),
                fmt_price(m.price.input),
                fmt_price(m.price.output),
                fmt_price(m.price.cached_input),
                capability_summary(m.capabilities),
                lc,
            ]
        )
        lc_style = {"retired": "red", "deprecated": "yellow"}.get(lifecycle_status(m.lifecycle))
        colours.append([None, None, None, None, None, None, None, lc_style])
    headers = ["MODEL", "CONTEXT", "MAX OUT", "IN $/M", "OUT $/M", "CACHED $/M", "CAPABILITIES", "LIFECYCLE"]
    print(render_table(headers, table, style, right=(1, 2, 3, 4, 5), colours=colours))
    return EXIT_OK
