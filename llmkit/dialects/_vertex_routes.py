"""Which Vertex publisher, endpoint and wire form a model id takes, decided from the id alone.

Vertex serves four kinds of model behind one project, location and OAuth token, and each
wants a different URL and body (wire-facts-core.md §5, wire-facts-more.md §6):

=============  =========================================================  ==================
route          endpoint (under /projects/{project}/locations/{location})  body
=============  =========================================================  ==================
``google``     publishers/google/models/{model}:generateContent           Gemini
``anthropic``  publishers/anthropic/models/{model}@{v}:rawPredict          Anthropic Messages
``mistralai``  publishers/mistralai/models/{name}@{v}:rawPredict           Mistral chat
``openapi``    endpoints/openapi/chat/completions                          OpenAI chat
=============  =========================================================  ==================

The route is read from the catalog id first (an alias such as `mistral-small-2503` or
`llama-3.3-70b-instruct-maas` resolves to `mistral-small-2503@001` or
`meta/llama-3.3-70b-instruct-maas`), then from the model family (`FAMILIES`): `claude…` is
Anthropic's, Mistral's families are Mistral's, a `publisher/model` id (Llama, DeepSeek,
Qwen, gpt-oss, Kimi, GLM, or `google/gemini-…`) goes to the OpenAI-compatible MaaS endpoint
with the id, prefix included, as the body's `model`, and everything else is Gemini. Never by
provider id: the same rules hold whatever a user names the provider entry.
"""

from __future__ import annotations

from typing import Literal

import attrs

from .._errors import ConfigError
from .._spec import ModelInfo

__all__ = ["FAMILIES", "MAAS_QUIRKS", "Publisher", "Route", "route"]

Publisher = Literal["google", "anthropic", "mistralai", "openapi"]

FAMILIES: tuple[tuple[str, Publisher], ...] = (
    ("claude", "anthropic"),
    ("mistral", "mistralai"),
    ("codestral", "mistralai"),
    ("ministral", "mistralai"),
    ("magistral", "mistralai"),
    ("pixtral", "mistralai"),
)
"""Model-name prefix -> Vertex publisher, for names without a `publisher/` prefix."""

MAAS_QUIRKS = frozenset({"max_tokens_field"})
"""openai_chat quirk flags of the MaaS endpoint: Google's examples send `max_tokens`, and
`max_completion_tokens` is documented as an alias for Google's models only."""

_RESOURCE_PREFIXES = ("models/", "publishers/")


@attrs.frozen(kw_only=True, slots=True)
class Route:
    """Where one call goes: the publisher/endpoint, the model in the URL, the model in the body."""

    publisher: Publisher
    url_model: str
    """The model as the URL path carries it (with its `@version` for rawPredict routes)."""
    body_model: str | None = None
    """The body's `model` (OpenAI and Mistral forms); None where the body has none."""


def route(model: str, info: ModelInfo | None, provider: str = "vertex") -> Route:
    """The route of a Vertex model id; `info` is its catalog entry, if it has one."""
    canonical = info.id if info is not None else model
    head, sep, name = canonical.partition("/")
    if not sep or canonical.startswith(_RESOURCE_PREFIXES):
        head, name = "", canonical.rsplit("/", 1)[-1]
    family = next((pub for prefix, pub in FAMILIES if name.startswith(prefix)), None)
    if family == "anthropic" and head in ("", "anthropic"):
        return Route(publisher="anthropic", url_model=name)
    if family == "mistralai" and head in ("", "mistralai"):
        return _mistral(name, provider)
    if head:
        return Route(publisher="openapi", url_model=canonical, body_model=canonical)
    if name.endswith("-maas"):
        raise ConfigError(
            f"{provider}/{model}: an open model on Vertex is named with its publisher, e.g. "
            f"{provider}/meta/{name} (see the model's Model Garden card)",
            provider=provider,
        )
    return Route(publisher="google", url_model=canonical)


def _mistral(name: str, provider: str) -> Route:
    """Mistral's URL names a model version (`mistral-small-2503@001`); its body the model alone."""
    base, at, version = name.partition("@")
    if not at or not base or not version:
        raise ConfigError(
            f"{provider}/{name}: Mistral models on Vertex are called by version; write {provider}/{base}@<version> "
            f"(e.g. {provider}/mistral-small-2503@001, as its Model Garden card names it) or use a catalog model",
            provider=provider,
        )
    return Route(publisher="mistralai", url_model=name, body_model=base)
