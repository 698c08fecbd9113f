"""Lazy lookup of provider specs, dialect adapters and catalog entries.

Nothing here runs at `import llmkit`: a provider's generated module is imported the first
time a call names it, and the catalog the first time a call needs a model's limits.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError
from ._lifecycle import ModelDeprecationWarning, check_lifecycle

if TYPE_CHECKING:
    from ._spec import Capabilities, ModelInfo, ProviderSpec
    from .dialects._base import Dialect

__all__ = [
    "ModelDeprecationWarning",
    "catalog_entry",
    "custom_spec",
    "dialect",
    "known_provider_ids",
    "model_info",
    "provider_capabilities",
    "provider_spec",
    "qualified_replacement",
    "split_model",
]


def split_model(model: str) -> tuple[str, str]:
    """`provider/model` split at the first slash (model ids contain slashes)."""
    if not isinstance(model, str):
        raise ConfigError(f"a model must be a 'provider/model' string, got {type(model).__name__}")
    provider, sep, name = model.partition("/")
    if not sep or not provider or not name:
        raise ConfigError(f"bad model string {model!r}: expected 'provider/model', e.g. 'openai/gpt-4o-mini'")
    return provider, name


def known_provider_ids() -> list[str]:
    from .generated.dispatch import PROVIDERS

    return sorted(PROVIDERS)


@cache
def provider_spec(provider: str) -> ProviderSpec:
    """The generated spec of a built-in provider; ConfigError naming the known ids if unknown."""
    from .generated.dispatch import PROVIDERS

    module = PROVIDERS.get(provider)
    if module is None:
        raise ConfigError(
            f"unknown provider {provider!r}. Known providers: {', '.join(sorted(PROVIDERS))}. "
            "For your own OpenAI-compatible server pass "
            f"providers={{{provider!r}: {{'dialect': 'openai_chat', 'base_url': ...}}}}."
        )
    spec: ProviderSpec = importlib.import_module(module).SPEC
    return spec


def custom_spec(provider: str, settings: dict[str, Any]) -> ProviderSpec:
    """A spec for a user's own OpenAI-compatible endpoint, modelled on the openai spec."""
    import attrs

    from ._spec import AuthSpec, Capabilities, Operation, SettingSpec

    if settings.get("dialect") != "openai_chat":
        raise ConfigError(
            f"custom provider {provider!r} needs 'dialect': 'openai_chat' (the only dialect a custom endpoint can use)"
        )
    if not settings.get("base_url"):
        raise ConfigError(f"custom provider {provider!r} needs a 'base_url'")
    extra = _custom_capabilities(provider, settings.get("capabilities"))
    base = provider_spec("openai")
    ops = dict(base.operations)
    if "rerank" in extra:  # OpenAI has no rerank; compatible servers (vLLM, Nebius-style) serve /rerank
        ops["rerank"] = Operation(
            name="rerank", method="POST", path="/rerank", request="RerankRequest", response="RerankResponse"
        )
    return attrs.evolve(
        base,
        id=provider,
        name=provider,
        base_url=None,
        operations=ops,
        settings=(
            *(attrs.evolve(s, env=()) for s in base.settings if s.name in ("api_key", "base_url")),
            SettingSpec(name="capabilities", description="What the endpoint serves besides chat"),
        ),
        auth=AuthSpec(scheme="header", header="Authorization", prefix="Bearer ", required=False),
        capabilities=Capabilities(
            chat=True,
            streaming=True,
            tools=True,
            vision=True,
            json_object=True,
            json_schema=True,
            stream_usage=True,
            temperature=True,
            parallel_tool_calls=True,
            reasoning=True,
            **dict.fromkeys(extra, True),
        ),
    )


# What a custom OpenAI-compatible provider may declare it serves besides chat (its `capabilities`
# setting), each through the OpenAI-shaped operation of the same job.
CUSTOM_CAPABILITIES = ("embeddings", "rerank", "transcription", "speech", "image_generation")


def _custom_capabilities(provider: str, given: Any) -> tuple[str, ...]:
    """The `capabilities` setting of a custom provider, checked: a list of CUSTOM_CAPABILITIES."""
    if given is None:
        return ()
    if isinstance(given, str) or not isinstance(given, (list, tuple, set, frozenset)):
        raise ConfigError(
            f"capabilities of custom provider {provider!r} must be a list, e.g. ['embeddings', 'rerank'], got {given!r}"
        )
    unknown = [c for c in given if c not in CUSTOM_CAPABILITIES]
    if unknown:
        raise ConfigError(
            f"custom provider {provider!r}: unknown capability {unknown[0]!r}; "
            f"a custom endpoint can declare {', '.join(CUSTOM_CAPABILITIES)}"
        )
    return tuple(c for c in CUSTOM_CAPABILITIES if c in given)


@cache
def dialect(name: str) -> Dialect:
    from .generated.dispatch import DIALECTS

    module = DIALECTS.get(name) or f"llmkit.dialects.{name}"
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"no adapter for wire dialect {name!r}") from exc
    d: Dialect = mod.DIALECT
    return d


@cache
def _catalog_index() -> dict[tuple[str, str], ModelInfo]:
    from .generated.catalog import MODELS

    index: dict[tuple[str, str], ModelInfo] = {}
    for m in MODELS:
        index[(m.provider, m.id)] = m
        for alias in m.aliases:
            index[(m.provider, alias)] = m
    return index


def provider_capabilities(provider: str) -> Capabilities | None:
    from .generated.catalog import PROVIDER_CAPABILITIES

    caps: Capabilities | None = PROVIDER_CAPABILITIES.get(provider)
    return caps


@cache
def _fine_tuned_prefixes() -> dict[str, str]:
    from .generated.catalog import PROVIDER_INFO

    return {pid: str(p["fine_tuned_prefix"]) for pid, p in PROVIDER_INFO.items() if p.get("fine_tuned_prefix")}


def _fine_tuned(provider: str, model: str) -> ModelInfo | None:
    """A fine-tuned model's entry: its base model's (named by the field after the spec's
    `fine_tuned_prefix`, e.g. `ft:gpt-4o-mini-2024-07-18:org:suffix:id`), under its own id
    and priced at the base's fine-tuned price where the spec gives one."""
    prefix = _fine_tuned_prefixes().get(provider)
    if prefix is None or not model.startswith(prefix):
        return None
    base = _catalog_index().get((provider, model[len(prefix) :].partition(":")[0]))
    if base is None:
        return None
    import attrs

    return attrs.evolve(base, id=model, aliases=(), price=base.fine_tuned_price or base.price)


def catalog_entry(provider: str, model: str) -> ModelInfo | None:
    """The catalog entry of a model id or alias (a fine-tune gets its base's; see _fine_tuned),
    without lifecycle checks: for limits and prices, not for deciding whether to call."""
    return _catalog_index().get((provider, model)) or _fine_tuned(provider, model)


def qualified_replacement(provider: str, replacement: str | None) -> str | None:
    """A lifecycle replacement as `provider/model`: an id of the same provider's catalog gets
    the provider prefix; anything else already is a `provider/model` (codegen checked)."""
    if replacement is None or (provider, replacement) in _catalog_index():
        return None if replacement is None else f"{provider}/{replacement}"
    return replacement


def model_info(provider: str, model: str, allow_retired: Collection[str] = ()) -> ModelInfo | None:
    """The catalog entry, after lifecycle checks against today's date: a retired model raises
    ConfigError (unless named in `allow_retired`), a deprecated one warns once per process.
    """
    info = catalog_entry(provider, model)
    if info is not None and info.lifecycle is not None:
        check_lifecycle(
            provider,
            model,
            info.lifecycle,
            replacement=qualified_replacement(provider, info.lifecycle.replacement),
            allow_retired=allow_retired,
            key=info.id,
        )
    return info


def reset_caches() -> None:
    """Forget loaded specs (tests that regenerate code use this)."""
    provider_spec.cache_clear()
    dialect.cache_clear()
    _catalog_index.cache_clear()
    _fine_tuned_prefixes.cache_clear()
