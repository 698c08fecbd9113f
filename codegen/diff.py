"""`python -m codegen diff OLD NEW`: a reviewer's summary of a spec change.

OLD and NEW are spec trees (directories holding specs/providers, or specs/providers itself)
or git revisions of this repository. The summary is what a reviewer must check against the
provider's own docs: models added or removed, price and limit changes, lifecycle changes (each
deprecation date, retirement date and replacement), endpoint, auth and capability changes.
Changes that can break users (a removal, a new base URL or auth scheme, a new or moved
retirement date) are flagged, and `--markdown` puts them first in a pull-request comment.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Change", "diff_specs", "load_tree", "render_markdown", "spec_changes"]

_PRICE_KEYS = ("input", "output", "cached_input", "cache_write", "cache_write_1h")
_PROVIDER_KEYS = ("base_url", "regions", "dialect", "auth", "headers", "quirks", "overrides")
_BREAKING_KEYS = {"base_url", "regions", "dialect", "auth"}


@dataclass(frozen=True)
class Change:
    """One reviewable change: who it touches, what it says, and whether it can break users."""

    provider: str
    text: str  # without the provider prefix, e.g. "model removed `gpt-4o`"
    line: str  # the full plain-text line, e.g. "openai: model removed `gpt-4o`"
    breaking: bool = False
    note: str = ""  # extra context for the markdown comment, e.g. a price change in percent


def load_tree(ref: str, root: Path) -> dict[str, dict[str, Any]]:
    """Provider specs by id, from a directory or a git revision."""
    path = Path(ref)
    if path.is_dir():
        base = path / "specs" / "providers" if (path / "specs" / "providers").is_dir() else path
        return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(base.glob("*.yaml"))}
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{ref}:specs/providers"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if listing.returncode != 0:
        raise SystemExit(f"codegen diff: {ref!r} is neither a directory nor a git revision with specs/providers")
    out = {}
    for name in sorted(listing.stdout.split()):
        if name.endswith(".yaml"):
            text = subprocess.run(
                ["git", "show", f"{ref}:specs/providers/{name}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            out[name[:-5]] = yaml.safe_load(text)
    return out


def _fmt(v: Any) -> str:
    return "-" if v is None else str(v)


def _price_text(price: dict[str, Any] | None) -> str:
    parts = [f"{k} {price[k]}" for k in _PRICE_KEYS if price and price.get(k) is not None]
    return ", ".join(parts) + " per M tokens" if parts else "no public price"


def _pct(a: Any, b: Any) -> str:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a:
        return f" ({(b - a) / a * 100:+.0f}%)"
    return ""


class _Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(
        self, provider: str, text: str, *, model: str | None = None, breaking: bool = False, note: str = ""
    ) -> None:
        """Record a change of a provider, or of one of its models when `model` is given."""
        if model is not None:
            self.changes.append(Change(provider, f"`{model}`: {text}", f"{provider}/{model}: {text}", breaking, note))
        else:
            self.changes.append(Change(provider, text, f"{provider}: {text}", breaking, note))

    def add_provider(self, provider: str, text: str, *, breaking: bool = False) -> None:
        """A provider added or removed: its line carries no prefix."""
        self.changes.append(Change(provider, text, text, breaking))


def _model_changes(c: _Collector, pid: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    om = {m["id"]: m for m in old.get("models", [])}
    nm = {m["id"]: m for m in new.get("models", [])}
    for mid in sorted(nm.keys() - om.keys()):
        m = nm[mid]
        c.add(pid, f"model added `{mid}` (context {_fmt(m.get('context_window'))}, {_price_text(m.get('price'))})")
    for mid in sorted(om.keys() - nm.keys()):
        c.add(pid, f"model removed `{mid}`", breaking=True)
    for mid in sorted(om.keys() & nm.keys()):
        a, b = om[mid], nm[mid]
        for field, label in (("price", ""), ("fine_tuned_price", "fine-tuned ")):
            for key in _PRICE_KEYS:
                pa, pb = (a.get(field) or {}).get(key), (b.get(field) or {}).get(key)
                if pa != pb:
                    c.add(pid, f"{label}{key} price {_fmt(pa)} -> {_fmt(pb)}", model=mid, note=_pct(pa, pb))
        for key in ("context_window", "max_output_tokens"):
            if a.get(key) != b.get(key):
                c.add(pid, f"{key} {_fmt(a.get(key))} -> {_fmt(b.get(key))}", model=mid)
        ca, cb = a.get("capabilities") or {}, b.get("capabilities") or {}
        for key in sorted(ca.keys() | cb.keys()):
            if ca.get(key) != cb.get(key):
                c.add(pid, f"capability {key} {_fmt(ca.get(key))} -> {_fmt(cb.get(key))}", model=mid)
        _lifecycle_changes(c, pid, a.get("lifecycle"), b.get("lifecycle"), model=mid)


def _lifecycle_changes(
    c: _Collector, pid: str, la: dict[str, Any] | None, lb: dict[str, Any] | None, *, model: str | None = None
) -> None:
    """One line per lifecycle field that changed. A new or moved retirement date (a model's
    `retires`) and a newly closed endpoint (a provider's `status: closed`) can break users."""
    la, lb = la or {}, lb or {}
    for key in sorted(la.keys() | lb.keys()):
        va, vb = la.get(key), lb.get(key)
        if va != vb:
            breaking = (
                (key == "retires" and vb is not None) if model is not None else (key == "status" and vb == "closed")
            )
            c.add(pid, f"lifecycle {key} {_fmt(va)} -> {_fmt(vb)}", model=model, breaking=breaking)


def _settings_changes(c: _Collector, pid: str, sa: dict[str, Any], sb: dict[str, Any]) -> None:
    for name in sorted(sb.keys() - sa.keys()):
        c.add(pid, f"setting added `{name}` {_fmt(sb[name])}")
    for name in sorted(sa.keys() - sb.keys()):
        c.add(pid, f"setting removed `{name}`", breaking=True)
    for name in sorted(sa.keys() & sb.keys()):
        a, b = sa[name] or {}, sb[name] or {}
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                c.add(pid, f"setting `{name}` {key} {_fmt(a.get(key))} -> {_fmt(b.get(key))}")


def spec_changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    """Every change between two spec trees, sorted by provider, then by kind."""
    c = _Collector()
    for pid in sorted(new.keys() - old.keys()):
        c.add_provider(pid, f"provider added `{pid}` ({len(new[pid].get('models', []))} models)")
    for pid in sorted(old.keys() - new.keys()):
        c.add_provider(pid, f"provider removed `{pid}`", breaking=True)
    for pid in sorted(old.keys() & new.keys()):
        a, b = old[pid], new[pid]
        for key in _PROVIDER_KEYS:
            if a.get(key) != b.get(key):
                c.add(pid, f"{key} {_fmt(a.get(key))} -> {_fmt(b.get(key))}", breaking=key in _BREAKING_KEYS)
        _lifecycle_changes(c, pid, a.get("lifecycle"), b.get("lifecycle"))
        oa, ob = a.get("operations") or {}, b.get("operations") or {}
        for op in sorted(ob.keys() - oa.keys()):
            c.add(pid, f"endpoint added `{op}` {ob[op]['method']} {ob[op]['path']}")
        for op in sorted(oa.keys() - ob.keys()):
            c.add(pid, f"endpoint removed `{op}`", breaking=True)
        for op in sorted(oa.keys() & ob.keys()):
            for key in sorted(oa[op].keys() | ob[op].keys()):
                va, vb = oa[op].get(key), ob[op].get(key)
                if va != vb:
                    c.add(pid, f"endpoint `{op}` {key} {_fmt(va)} -> {_fmt(vb)}", breaking=key in ("method", "path"))
        ca, cb = a.get("capabilities") or {}, b.get("capabilities") or {}
        for key in sorted(ca.keys() | cb.keys()):
            if ca.get(key) != cb.get(key):
                c.add(pid, f"capability {key} {_fmt(ca.get(key))} -> {_fmt(cb.get(key))}")
        _settings_changes(c, pid, a.get("settings") or {}, b.get("settings") or {})
        _model_changes(c, pid, a, b)
    return c.changes


def diff_specs(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[str]:
    """Human-readable lines, one per change, sorted by provider."""
    return [ch.line for ch in spec_changes(old, new)]


def render_markdown(changes: list[Change]) -> str:
    """A pull-request comment: a count, breaking changes first, then one section per provider."""
    if not changes:
        return "### Spec changes\n\n_No spec changes._"
    providers = sorted({ch.provider for ch in changes})
    breaking = [ch for ch in changes if ch.breaking]
    head = f"{len(changes)} change(s) across {len(providers)} provider(s)"
    out = ["### Spec changes", "", head + (f", **{len(breaking)} that can break users**." if breaking else ".")]
    top = [ch for ch in changes if ch.text.startswith("provider ")]
    if top:
        out += ["", *(f"- {ch.text}" for ch in top)]
    if breaking:
        out += ["", "#### Can break users", "", *(f"- :warning: {ch.line}" for ch in breaking)]
    for pid in providers:
        rest = [ch for ch in changes if ch.provider == pid and not ch.text.startswith("provider ")]
        if rest:
            out += ["", f"#### `{pid}`", "", *(f"- {ch.text}{ch.note}" for ch in rest)]
    out += ["", "_Check each change against the provider's own documentation before approving._"]
    return "\n".join(out)
