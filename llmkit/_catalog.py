"""`llmkit.providers()` and `llmkit.models()`: the catalog, read on first use."""

from __future__ import annotations

from typing import Any

from ._errors import ConfigError
from ._spec import ModelInfo

__all__ = ["models", "providers"]


def providers() -> list[dict[str, Any]]:
    """Every built-in provider with its dialect, capabilities and env vars."""
    import attrs

    from .generated.catalog import PROVIDER_CAPABILITIES, PROVIDER_INFO

    out = []
    for pid in sorted(PROVIDER_INFO):
        caps = attrs.asdict(PROVIDER_CAPABILITIES[pid])
        out.append({"id": pid, **PROVIDER_INFO[pid], "capabilities": {k: v for k, v in caps.items() if v}})
    return out


def models(provider: str | None = None) -> list[ModelInfo]:
    """Catalog entries (limits, prices, capabilities), optionally of one provider."""
    from .generated.catalog import MODELS, PROVIDER_INFO

    if provider is not None and provider not in PROVIDER_INFO:
        raise ConfigError(f"unknown provider {provider!r}; known: {', '.join(sorted(PROVIDER_INFO))}")
    return [m for m in MODELS if provider is None or m.provider == provider]
