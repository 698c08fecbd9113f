"""Runtime shapes of what codegen renders from specs/providers/*.yaml.

Generated modules build these as constants; the runtime reads them. Frozen and slotted: a
spec is data, fixed at generate time.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

import attrs

__all__ = [
    "AuthSpec",
    "Capabilities",
    "EndpointLifecycle",
    "Lifecycle",
    "LifecycleStatus",
    "ModelInfo",
    "ModelOptions",
    "Operation",
    "Price",
    "ProviderSpec",
    "QueryParam",
    "SettingSpec",
]


@attrs.frozen(kw_only=True, slots=True)
class AuthSpec:
    """How a credential goes on the wire.

    scheme: `header` puts `prefix + key` in `header`; `query` puts the key in query param
    `param`; `none` sends nothing; `override` hands the job to the named override.
    """

    scheme: Literal["header", "query", "none", "override"]
    header: str | None = None
    prefix: str = ""
    param: str | None = None
    setting: str = "api_key"
    required: bool = True


@attrs.frozen(kw_only=True, slots=True)
class SettingSpec:
    """A provider setting: its env vars, whether it is a secret, and a header it maps to."""

    name: str
    env: tuple[str, ...] = ()
    secret: bool = False
    header: str | None = None
    default: str | None = None
    description: str = ""


@attrs.frozen(kw_only=True, slots=True)
class QueryParam:
    """A documented query option of an operation, a typed keyword of its native method.

    `name` is the Python keyword; `wire` the name sent (`pageSize`, `type`). `kind` says how
    the value is checked and encoded: booleans as `true`/`false`, an array as a repeated key.
    """

    name: str
    wire: str
    kind: Literal["string", "integer", "number", "boolean", "array"]
    required: bool = False
    enum: tuple[str, ...] = ()
    description: str = ""


@attrs.frozen(kw_only=True, slots=True)
class Operation:
    """One endpoint: method, path template (`{model}` etc.), query and wire model names.

    `query` is sent as is on every call (`api-version`, `alt=sse`); `params` are the options the
    caller may set, each checked for its type before anything is sent.

    `base_url` is set only when the endpoint lives on a host of its own (Jina Reader,
    Bedrock's control plane); `base_url_setting` names the setting that repoints it.
    """

    name: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    params: tuple[QueryParam, ...] = ()
    request: str | None = None
    response: str | None = None
    stream: Literal["sse", "ndjson", "eventstream", "none"] = "none"
    stream_event: str | None = None
    model_in_path: bool = False
    description: str = ""
    base_url: str | None = None
    base_url_setting: str | None = None


@attrs.frozen(kw_only=True, slots=True)
class Price:
    """USD per million tokens. None means the price is not public; never a guess."""

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None  # the default (5-minute) cache TTL
    cache_write_1h: float | None = None  # Anthropic's 1-hour TTL, where it costs more


@attrs.frozen(kw_only=True, slots=True)
class Capabilities:
    """What a provider or model can do; unset (None) inherits from the provider."""

    chat: bool | None = None
    streaming: bool | None = None
    tools: bool | None = None
    parallel_tool_calls: bool | None = None
    vision: bool | None = None
    json_object: bool | None = None
    json_schema: bool | None = None
    reasoning: bool | None = None
    stream_usage: bool | None = None
    temperature: bool | None = None
    count_tokens: bool | None = None
    embeddings: bool | None = None
    prompt_caching: bool | None = None
    rerank: bool | None = None
    transcription: bool | None = None
    speech: bool | None = None
    image_generation: bool | None = None
    batches: bool | None = None

    def merged(self, over: Capabilities) -> Capabilities:
        """These capabilities with every field that `over` sets replaced."""
        changes = {
            a.name: getattr(over, a.name) for a in attrs.fields(Capabilities) if getattr(over, a.name) is not None
        }
        return attrs.evolve(self, **changes)

    def has(self, name: str) -> bool:
        return bool(getattr(self, name))


LifecycleStatus = Literal["active", "deprecated", "retired"]


@attrs.frozen(kw_only=True, slots=True)
class Lifecycle:
    """A model's deprecation and retirement dates (YYYY-MM-DD), as the provider published them.

    The status is not stored: it follows from the dates and the day asked about, so a model
    whose shutdown date passes becomes retired without a spec change. `undated` marks a
    deprecation a source reported without a date (a live listing's `is_deprecated`).
    """

    deprecated: str | None = None
    retires: str | None = None
    replacement: str | None = None
    note: str = ""
    source: str = ""
    undated: bool = False

    def status_on(self, today: datetime.date) -> LifecycleStatus:
        """`retired` on and after `retires`; `deprecated` from `deprecated` (or while a
        retirement is scheduled and no deprecation date is known); `active` before that."""
        if self.retires is not None and datetime.date.fromisoformat(self.retires) <= today:
            return "retired"
        if self.deprecated is not None:
            return "deprecated" if datetime.date.fromisoformat(self.deprecated) <= today else "active"
        return "deprecated" if self.retires is not None or self.undated else "active"


@attrs.frozen(kw_only=True, slots=True)
class EndpointLifecycle:
    """A provider's shared public endpoint: `closed` on a date, or `active` with a note on how
    to reach your own deployment. A closed one makes calls without a base_url raise."""

    status: Literal["active", "closed"]
    date: str | None = None
    replacement: str | None = None
    note: str = ""
    source: str = ""


@attrs.frozen(kw_only=True, slots=True)
class ModelOptions:
    """Where one model takes less than its operation's request schema offers (None: as the schema says).

    `response_formats` () means the model takes no `response_format` at all.
    """

    response_formats: tuple[str, ...] | None = None
    instructions: bool | None = None
    dimensions: bool | None = None
    max_n: int | None = None
    max_request_tokens: int | None = None  # embeddings: input tokens summed over one request


@attrs.frozen(kw_only=True, slots=True)
class ModelInfo:
    """A catalog entry: limits, prices and capabilities of one model."""

    provider: str
    id: str
    context_window: int | None
    max_output_tokens: int | None
    price: Price
    capabilities: Capabilities
    lifecycle: Lifecycle | None = None
    aliases: tuple[str, ...] = ()
    fine_tuned_price: Price | None = None  # inference on a model fine-tuned from this one
    options: ModelOptions | None = None


@attrs.frozen(kw_only=True, slots=True)
class ProviderSpec:
    """Everything the runtime needs to talk to one provider."""

    id: str
    name: str
    dialect: str
    base_url: str | None
    auth: AuthSpec
    settings: tuple[SettingSpec, ...]
    headers: tuple[tuple[str, str], ...]
    operations: dict[str, Operation]
    capabilities: Capabilities
    quirks: frozenset[str] = frozenset()
    error_type_header: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    wire_module: str | None = None
    docs_url: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict)

    def setting(self, name: str) -> SettingSpec | None:
        for s in self.settings:
            if s.name == name:
                return s
        return None

    def operation(self, name: str) -> Operation | None:
        return self.operations.get(name)
