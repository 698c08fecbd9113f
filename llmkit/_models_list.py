"""`client.list_models(provider)`: the provider's own model listing, merged with the catalog.

The catalog says what llmkit's reviewed specs know (limits, prices, capabilities, lifecycle);
the live listing says what this key can use right now, including fine-tunes and models newer
than the specs. This module is I/O-free: a `Lister` names the next request to send and reads
each page, so the sync and async clients share one paging loop shape.

Listing forms (shared/reference/wire-facts-more.md §7): the OpenAI family's `GET /models`
(`{"data": [...]}`, Mistral and Together may answer a bare array; no paging), Anthropic's
`/v1/models` (`limit`, `after_id` = the page's `last_id` while `has_more`), Gemini's
`models.list` (`pageSize`, `pageToken` = `nextPageToken` until it is absent; ids carry a
`models/` prefix), Cohere's `/v1/models` (`page_size`, `page_token` = `next_page_token`; the id
is `name`) and Ollama's `/api/tags` (`{"models": [{"name": ...}]}`, no paging).

Bedrock lists on its control plane (`bedrock.{region}.amazonaws.com`, an operation host of its
own): `ListFoundationModels` (`{"modelSummaries": [...]}`, no paging; a `LEGACY` lifecycle is a
deprecation) and then, when the spec declares it, `ListInferenceProfiles`
(`{"inferenceProfileSummaries": [...], "nextToken"}`), because the cross-region profile ids
(`us.anthropic.claude-...`) are what most Bedrock calls name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import APIError, ConfigError, UnsupportedFeatureError
from ._lifecycle import lifecycle_status
from ._spec import Capabilities, Lifecycle, LifecycleStatus, ModelInfo, Operation, Price, ProviderSpec
from .dialects._base import WireRequest

__all__ = ["ListedModel", "Lister"]

Form = Literal["openai", "anthropic", "gemini", "cohere", "ollama", "bedrock"]
_FORMS: dict[str, Form] = {
    "anthropic_messages": "anthropic",
    "bedrock_converse": "bedrock",
    "gemini": "gemini",
    "cohere_v2": "cohere",
    "ollama": "ollama",
}
_PAGE_SIZE = {"anthropic": ("limit", "1000"), "gemini": ("pageSize", "1000"), "cohere": ("page_size", "1000")}
_PROFILES = "list_inference_profiles"  # Bedrock's second listing, paged by nextToken
_MAX_PAGES = 1000  # a server that pages forever is a bug on its side, not a reason to hang
_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@attrs.frozen(kw_only=True, slots=True)
class ListedModel:
    """One model the provider lists for this key, with what the catalog knows filled in.

    `in_catalog` is False for models llmkit's specs do not describe (fine-tunes, new releases):
    their limits come only from the listing, their prices are unknown (None), and their
    capabilities are the provider's defaults. `status` (active, deprecated or retired) is the
    lifecycle's (the catalog's, else the listing's own) computed against today's date.
    """

    provider: str
    id: str
    in_catalog: bool
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    price: Price = attrs.field(factory=Price)
    capabilities: Capabilities = attrs.field(factory=Capabilities)
    lifecycle: Lifecycle | None = None
    owned_by: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    status: LifecycleStatus = attrs.field()  # from the lifecycle's dates on the day of listing

    @status.default
    def _status(self) -> LifecycleStatus:
        return lifecycle_status(self.lifecycle)


class Lister:
    """Pages through one provider's listing: `first()`, then `feed(page)` until it returns None."""

    def __init__(
        self,
        spec: ProviderSpec,
        settings: Mapping[str, Any],
        catalog: Mapping[tuple[str, str], ModelInfo],
        provider_caps: Capabilities,
    ) -> None:
        op = spec.operation("list_models")
        if op is None:
            raise UnsupportedFeatureError(
                f"{spec.id} has no model listing endpoint in its spec; see llmkit.models({spec.id!r}) for the catalog",
                provider=spec.id,
                code="list_models",
            )
        self.spec = spec
        self.op: Operation = op
        self.form: Form = _FORMS.get(spec.dialect, "openai")
        self.catalog = catalog
        self.caps = provider_caps
        self.query = _fill_query(op, settings, spec.id)
        self.models: list[ListedModel] = []
        self._profiles: Operation | None = spec.operation(_PROFILES) if self.form == "bedrock" else None
        self._in_profiles = False
        self._pages = 0
        self._seen_cursors: set[str] = set()

    def first(self) -> WireRequest:
        size = _PAGE_SIZE.get(self.form)
        return self._request({size[0]: size[1]} if size else {})

    def _request(self, query: dict[str, str], op: Operation | None = None) -> WireRequest:
        op = op or self.op
        base = self.query if op is self.op else {}
        return WireRequest(method=op.method, path=op.path, body=None, query={**base, **query}, operation=op.name)

    def feed(self, page: Any) -> WireRequest | None:
        """Read one page; the request for the next page, or None when the listing is complete."""
        self._pages += 1
        items, cursor = self._items(page)
        for item in items:
            entry = self._entry(item)
            if entry is not None:
                self.models.append(entry)
        if self.form == "bedrock":
            return self._bedrock_next(cursor)
        if cursor is None:
            return None
        if cursor in self._seen_cursors or self._pages >= _MAX_PAGES:
            raise APIError(
                f"{self.spec.id} kept paging its model list (cursor {cursor!r} repeated or over {_MAX_PAGES} pages)",
                provider=self.spec.id,
                body=page,
            )
        self._seen_cursors.add(cursor)
        name = {"anthropic": "after_id", "gemini": "pageToken", "cohere": "page_token"}[self.form]
        size = _PAGE_SIZE[self.form]
        return self._request({size[0]: size[1], name: cursor})

    def _bedrock_next(self, cursor: str | None) -> WireRequest | None:
        """After the foundation models, the inference profiles, page by page (`nextToken`)."""
        if self._profiles is None:
            return None
        if not self._in_profiles:
            self._in_profiles = True
            return self._request({"maxResults": "1000"}, self._profiles)
        if cursor is None:
            return None
        if cursor in self._seen_cursors or self._pages >= _MAX_PAGES:
            raise APIError(
                f"bedrock kept paging its inference profiles (nextToken {cursor!r} repeated or over "
                f"{_MAX_PAGES} pages)",
                provider=self.spec.id,
            )
        self._seen_cursors.add(cursor)
        return self._request({"maxResults": "1000", "nextToken": cursor}, self._profiles)

    def result(self) -> list[ListedModel]:
        return list(self.models)

    # -- reading pages ---------------------------------------------------------------------------
    def _items(self, page: Any) -> tuple[list[Any], str | None]:
        if self.form == "openai" and isinstance(page, list):
            return page, None  # Mistral's and Together's bare arrays
        if not isinstance(page, dict):
            raise APIError(
                f"{self.spec.id} answered its model listing with {type(page).__name__}", provider=self.spec.id
            )
        if self.form == "anthropic":
            more = page.get("has_more") is True and isinstance(page.get("last_id"), str)
            return _list(page.get("data")), page["last_id"] if more else None
        if self.form == "gemini":
            token = page.get("nextPageToken")
            return _list(page.get("models")), token if isinstance(token, str) and token else None
        if self.form == "cohere":
            token = page.get("next_page_token")
            return _list(page.get("models")), token if isinstance(token, str) and token else None
        if self.form == "ollama":
            return _list(page.get("models")), None
        if self.form == "bedrock":
            if not self._in_profiles:
                return _list(page.get("modelSummaries")), None
            token = page.get("nextToken")
            return _list(page.get("inferenceProfileSummaries")), token if isinstance(token, str) and token else None
        return _list(page.get("data") if "data" in page else page.get("models")), None

    def _entry(self, item: Any) -> ListedModel | None:
        if not isinstance(item, dict):
            return None
        if self.form == "bedrock":
            return self._bedrock_entry(item)
        mid = _str(item.get("id")) or _str(item.get("name")) or _str(item.get("model"))
        if mid is None:
            return None
        if self.form == "gemini":
            mid = mid.removeprefix("models/")
        info = self.catalog.get((self.spec.id, mid))
        live_ctx = _int(
            item.get("context_window")
            or item.get("max_context_length")  # Mistral
            or item.get("context_length")  # Cohere, OpenRouter, Together
            or item.get("inputTokenLimit")  # Gemini
            or item.get("max_input_tokens")  # Anthropic (2026)
        )
        live_out = _int(item.get("outputTokenLimit") or item.get("max_tokens") or item.get("max_completion_tokens"))
        name = _str(item.get("display_name") or item.get("displayName") or item.get("name"))
        common: dict[str, Any] = {
            "provider": self.spec.id,
            "id": mid,
            "display_name": name if name != mid else None,
            "owned_by": _str(item.get("owned_by")),
            "raw": item,
        }
        if info is None:
            return ListedModel(
                in_catalog=False,
                context_window=live_ctx,
                max_output_tokens=live_out,
                capabilities=self.caps,
                lifecycle=_live_lifecycle(item),
                **common,
            )
        return ListedModel(
            in_catalog=True,
            context_window=info.context_window or live_ctx,
            max_output_tokens=info.max_output_tokens or live_out,
            price=info.price,
            capabilities=info.capabilities,
            lifecycle=info.lifecycle or _live_lifecycle(item),
            **common,
        )

    def _bedrock_entry(self, item: Mapping[str, Any]) -> ListedModel | None:
        """A foundation model (`modelId`) or an inference profile (`inferenceProfileId`)."""
        profile = self._in_profiles
        key, name_key = ("inferenceProfileId", "inferenceProfileName") if profile else ("modelId", "modelName")
        mid = _str(item.get(key))
        if mid is None:
            return None
        info = self.catalog.get((self.spec.id, mid))
        name = _str(item.get(name_key))
        common: dict[str, Any] = {
            "provider": self.spec.id,
            "id": mid,
            "display_name": name if name != mid else None,
            "owned_by": _str(item.get("providerName")),
            "raw": item,
        }
        live = _bedrock_lifecycle(item.get("modelLifecycle"))
        if info is None:
            return ListedModel(in_catalog=False, capabilities=self._bedrock_caps(item), lifecycle=live, **common)
        return ListedModel(
            in_catalog=True,
            context_window=info.context_window,
            max_output_tokens=info.max_output_tokens,
            price=info.price,
            capabilities=info.capabilities,
            lifecycle=info.lifecycle or live,
            **common,
        )

    def _bedrock_caps(self, item: Mapping[str, Any]) -> Capabilities:
        """What a foundation model the catalog lacks says of itself: its modalities."""
        outputs, inputs = item.get("outputModalities"), item.get("inputModalities")
        if not isinstance(outputs, list):
            return self.caps  # a profile: it routes to models whose summary is elsewhere
        text = "TEXT" in outputs
        return self.caps.merged(
            Capabilities(
                chat=text,
                streaming=text and item.get("responseStreamingSupported") is True,
                tools=None if text else False,
                vision=isinstance(inputs, list) and "IMAGE" in inputs and text,
                embeddings="EMBEDDING" in outputs,
                image_generation="IMAGE" in outputs,
            )
        )


def _bedrock_lifecycle(lc: Any) -> Lifecycle | None:
    """Bedrock's `LEGACY` status is a deprecation since `legacyTime`; `endOfLifeTime`, when
    given, is its retirement."""
    if not isinstance(lc, dict) or lc.get("status") != "LEGACY":
        return None
    since, end = _day(lc.get("legacyTime")), _day(lc.get("endOfLifeTime"))
    note = "LEGACY in Bedrock's live listing"
    return Lifecycle(deprecated=since, retires=end, note=note, undated=since is None and end is None)


def _live_lifecycle(item: Mapping[str, Any]) -> Lifecycle | None:
    """A deprecation the listing itself announces: OpenAI's `shutdown_date` (the retirement),
    Mistral's `deprecation` (+ `deprecation_replacement_model`), Cohere's `is_deprecated`."""
    note = "from the live listing"
    retires, deprecated = _day(item.get("shutdown_date")), _day(item.get("deprecation"))
    if retires or deprecated:
        replacement = _str(item.get("deprecation_replacement_model"))
        return Lifecycle(deprecated=deprecated, retires=retires, replacement=replacement, note=note)
    if item.get("is_deprecated") is True:
        return Lifecycle(undated=True, note=note)
    return None


def _day(value: Any) -> str | None:
    """The YYYY-MM-DD of a date or date-time string, or None."""
    return value[:10] if isinstance(value, str) and _DATE.match(value) else None


def _fill_query(op: Operation, settings: Mapping[str, Any], provider: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in op.query:
        m = _PLACEHOLDER.match(value)
        if m is None:
            out[key] = value
            continue
        v = settings.get(m.group(1))
        if v is None or v == "":
            raise ConfigError(
                f"{provider} needs the setting {m.group(1)!r} to list models: "
                f"pass providers={{{provider!r}: {{{m.group(1)!r}: ...}}}}",
                provider=provider,
            )
        out[key] = str(v)
    return out


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and v > 0:
        return int(v)
    return None
