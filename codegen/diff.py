"""`python -m codegen diff OLD NEW`: a reviewer's summary of a spec change.

OLD and NEW are spec trees (directories holding specs/providers, or specs/providers itself)
or git revisions of this repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

__all__ = ["diff_specs", "load_tree"]


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


def _model_changes(pid: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    om = {m["id"]: m for m in old.get("models", [])}
    nm = {m["id"]: m for m in new.get("models", [])}
    for mid in sorted(nm.keys() - om.keys()):
        m = nm[mid]
        lines.append(
            f"{pid}: model added `{mid}` (context {_fmt(m.get('context_window'))}, price {m.get('price', {})})"
        )
    for mid in sorted(om.keys() - nm.keys()):
        lines.append(f"{pid}: model removed `{mid}`")
    for mid in sorted(om.keys() & nm.keys()):
        a, b = om[mid], nm[mid]
        for key in ("input", "output", "cached_input", "cache_write"):
            pa, pb = (a.get("price") or {}).get(key), (b.get("price") or {}).get(key)
            if pa != pb:
                lines.append(f"{pid}/{mid}: {key} price {_fmt(pa)} -> {_fmt(pb)}")
        for key in ("context_window", "max_output_tokens"):
            if a.get(key) != b.get(key):
                lines.append(f"{pid}/{mid}: {key} {_fmt(a.get(key))} -> {_fmt(b.get(key))}")
        ca, cb = a.get("capabilities") or {}, b.get("capabilities") or {}
        for key in sorted(ca.keys() | cb.keys()):
            if ca.get(key) != cb.get(key):
                lines.append(f"{pid}/{mid}: capability {key} {_fmt(ca.get(key))} -> {_fmt(cb.get(key))}")
        if a.get("lifecycle") != b.get("lifecycle"):
            lines.append(f"{pid}/{mid}: lifecycle {_fmt(a.get('lifecycle'))} -> {_fmt(b.get('lifecycle'))}")
    return lines


def diff_specs(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[str]:
    """Human-readable lines, one per change, sorted by provider."""
    lines = []
    for pid in sorted(new.keys() - old.keys()):
        lines.append(f"provider added `{pid}` ({len(new[pid].get('models', []))} models)")
    for pid in sorted(old.keys() - new.keys()):
        lines.append(f"provider removed `{pid}`")
    for pid in sorted(old.keys() & new.keys()):
        a, b = old[pid], new[pid]
        for key in ("base_url", "dialect", "auth", "headers", "quirks", "overrides", "lifecycle"):
            if a.get(key) != b.get(key):
                lines.append(f"{pid}: {key} {_fmt(a.get(key))} -> {_fmt(b.get(key))}")
        oa, ob = a.get("operations") or {}, b.get("operations") or {}
        for op in sorted(ob.keys() - oa.keys()):
            lines.append(f"{pid}: endpoint added `{op}` {ob[op]['method']} {ob[op]['path']}")
        for op in sorted(oa.keys() - ob.keys()):
            lines.append(f"{pid}: endpoint removed `{op}`")
        for op in sorted(oa.keys() & ob.keys()):
            if oa[op] != ob[op]:
                lines.append(f"{pid}: endpoint `{op}` changed {oa[op]} -> {ob[op]}")
        ca, cb = a.get("capabilities") or {}, b.get("capabilities") or {}
        for key in sorted(ca.keys() | cb.keys()):
            if ca.get(key) != cb.get(key):
                lines.append(f"{pid}: capability {key} {_fmt(ca.get(key))} -> {_fmt(cb.get(key))}")
        sa, sb = a.get("settings") or {}, b.get("settings") or {}
        if sa != sb:
            lines.append(
                f"{pid}: settings {sorted(sa)} -> {sorted(sb)}"
                if sa.keys() != sb.keys()
                else f"{pid}: settings changed (env vars or headers)"
            )
        lines.extend(_model_changes(pid, a, b))
    return lines
