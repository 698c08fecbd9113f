"""How each emulated OpenAI-compatible server differs from OpenAI, as data.

Paths and auth come from each provider's generated spec; a `Profile` adds what a spec does
not say about the server itself: which request fields it accepts or refuses, how strictly,
where it puts stream usage and reasoning, what extras it adds, and its error body shape. The
facts are from shared/reference/wire-facts-core.md §8-9, §13-14, §17-21 and
wire-facts-regional.md §5, §9, §10.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import attrs

from ._server import EmuResponse

__all__ = ["OPENAI_FIELDS", "PROFILES", "Profile", "error_body"]

# Every top-level field of OpenAI's chat request (specs/wire/openai_chat.yaml).
OPENAI_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stop", "seed",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user",
        "safety_identifier", "prompt_cache_key", "tools", "tool_choice", "parallel_tool_calls", "response_format",
        "stream", "stream_options", "reasoning_effort", "verbosity", "store", "metadata", "service_tier",
        "modalities", "audio", "prediction", "web_search_options",
    }
)  # fmt: skip

# Mistral's ChatCompletionRequest (official OpenAPI; additionalProperties: false).
MISTRAL_FIELDS = frozenset(
    {
        "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
        "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
        "parallel_tool_calls", "prompt_mode", "safe_prompt", "reasoning_effort", "guardrails", "prompt_cache_key",
        "metadata",
    }
)  # fmt: skip

ErrorShape = Literal["openai", "mistral", "unwrapped", "openrouter", "databricks", "tgi", "detail"]
UsageMode = Literal["include_usage", "last_chunk", "x_groq", "none"]


@attrs.frozen(kw_only=True)
class Profile:
    """One compatible server's behaviour beyond its spec."""

    fields: frozenset[str] | None = None  # the exact accepted set (strict servers); None: OpenAI's
    extra_fields: frozenset[str] = frozenset()  # accepted on top of OpenAI's
    refused: frozenset[str] = frozenset()  # OpenAI fields it answers 400 to
    unknown_status: int = 400  # status for an unknown field (Mistral: 422)
    message_extras: frozenset[str] = frozenset()  # extra keys it accepts on input messages
    error_shape: ErrorShape = "openai"
    usage_mode: UsageMode = "include_usage"
    reasoning_key: str | None = None  # where reasoning goes, for reasoning models
    keepalive: str | None = None  # an SSE comment line it interleaves
    any_model: bool = False  # serves any model name (local servers, user endpoints)
    model_suffixes: bool = False  # `id:provider` suffixes (Hugging Face router)
    auth_prefixes: tuple[str, ...] = ()  # accepted credential prefixes beyond the spec's
    tool_id_alnum9: bool = False  # Mistral: 9-char tool-call ids out, and required in
    role_order: Literal["any", "alternate", "mistral"] = "any"
    citations: bool = False  # Perplexity
    cache_usage: bool = False  # DeepSeek prompt_cache_hit/miss_tokens
    x_groq: bool = False
    time_info: bool = False  # Cerebras
    upstream: str | None = None  # OpenRouter's `provider`
    omit_usage: bool = False  # a local server that reports no usage at all
    null_id: bool = False  # Databricks answers `id: null`
    embed_usage: bool = True  # embeddings answers carry `usage` (Together's documented ones do not)
    form_fields: frozenset[str] = frozenset()  # the transcription form fields it accepts
    transcript_formats: tuple[str, ...] = ("json", "text", "verbose_json")  # its response_format values


def _std(**kw: Any) -> Profile:
    return Profile(**kw)


PROFILES: dict[str, Profile] = {
    "groq": _std(
        extra_fields=frozenset({"reasoning_format", "include_reasoning", "service_tier", "search_settings"}),
        refused=frozenset({"logprobs", "logit_bias", "top_logprobs"}),
        reasoning_key="reasoning",
        usage_mode="x_groq",
        x_groq=True,
        # groq-python audio/transcriptions (wire-facts-core.md §9); `url` replaces the file.
        form_fields=frozenset(
            {"model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]", "url"}
        ),
    ),
    "mistral": _std(
        fields=MISTRAL_FIELDS,
        unknown_status=422,
        message_extras=frozenset({"prefix"}),
        error_shape="mistral",
        usage_mode="last_chunk",
        reasoning_key="chunks",
        tool_id_alnum9=True,
        role_order="mistral",
        # AudioTranscriptionRequest of the official OpenAPI: no response_format, no prompt.
        form_fields=frozenset(
            {
                "model",
                "file_url",
                "file_id",
                "language",
                "temperature",
                "stream",
                "diarize",
                "context_bias",
                "timestamp_granularities",
            }
        ),
    ),
    "cerebras": _std(
        extra_fields=frozenset({"disable_reasoning", "clear_thinking"}),
        error_shape="unwrapped",
        reasoning_key="reasoning_content",
        time_info=True,
    ),
    "sambanova": _std(extra_fields=frozenset({"top_k"}), usage_mode="last_chunk"),
    "fireworks": _std(
        extra_fields=frozenset(
            {
                "top_k",
                "min_p",
                "repetition_penalty",
                "prompt_truncate_len",
                "context_length_exceeded_behavior",
                "perf_metrics_in_response",
                "grammar",
            }
        ),
        usage_mode="last_chunk",
        reasoning_key="reasoning_content",
    ),
    "deepseek": _std(
        message_extras=frozenset({"reasoning_content", "prefix"}),
        reasoning_key="reasoning_content",
        keepalive=": keep-alive",
        cache_usage=True,
    ),
    "xai": _std(extra_fields=frozenset({"search_parameters"}), reasoning_key="reasoning_content"),
    "openrouter": _std(
        extra_fields=frozenset(
            {
                "models",
                "provider",
                "transforms",
                "reasoning",
                "usage",
                "plugins",
                "top_k",
                "min_p",
                "top_a",
                "repetition_penalty",
            }
        ),
        error_shape="openrouter",
        usage_mode="last_chunk",
        reasoning_key="reasoning",
        keepalive=": OPENROUTER PROCESSING",
        upstream="emulated-upstream",
    ),
    "together": _std(
        extra_fields=frozenset(
            {
                "top_k",
                "min_p",
                "repetition_penalty",
                "context_length_exceeded_behavior",
                "safety_model",
                "echo",
                "chat_template_kwargs",
                "reasoning",
            }
        ),
        refused=frozenset({"max_completion_tokens"}),
        reasoning_key="reasoning_content",
        embed_usage=False,
        # AudioTranscriptionRequest of the official OpenAPI (arrays as `name[]`, as Stainless SDKs send them).
        form_fields=frozenset(
            {
                "model",
                "language",
                "prompt",
                "response_format",
                "temperature",
                "timestamp_granularities[]",
                "diarize",
                "min_speakers",
                "max_speakers",
            }
        ),
        transcript_formats=("json", "verbose_json"),
    ),
    "perplexity": _std(
        extra_fields=frozenset(
            {
                "search_domain_filter",
                "search_recency_filter",
                "return_images",
                "return_related_questions",
                "search_mode",
                "disable_search",
            }
        ),
        refused=frozenset({"tools", "tool_choice", "parallel_tool_calls"}),
        usage_mode="last_chunk",
        role_order="alternate",
        citations=True,
    ),
    "deepinfra": _std(extra_fields=frozenset({"top_k", "min_p", "repetition_penalty"})),
    "novita": _std(extra_fields=frozenset({"top_k", "min_p", "repetition_penalty"})),
    "hyperbolic": _std(extra_fields=frozenset({"top_k", "min_p", "repetition_penalty"}), usage_mode="none"),
    "friendli": _std(extra_fields=frozenset({"top_k", "min_p", "repetition_penalty"})),
    "huggingface": _std(model_suffixes=True),
    "databricks": _std(error_shape="databricks", any_model=True, usage_mode="last_chunk", null_id=True),
    "ai21": _std(
        extra_fields=frozenset({"documents"}),
        refused=frozenset({"max_completion_tokens", "stream_options", "logit_bias"}),
        unknown_status=422,
        error_shape="detail",
        usage_mode="last_chunk",
    ),
    "upstage": _std(usage_mode="none", reasoning_key="reasoning_content"),
    "sealion": _std(usage_mode="none", reasoning_key="reasoning_content", refused=frozenset({"tools"})),
    "maritaca": _std(auth_prefixes=("Bearer ",), error_shape="detail"),
    "lmstudio": _std(any_model=True, extra_fields=frozenset({"ttl", "draft_model"}), reasoning_key="reasoning_content"),
    "vllm": _std(
        any_model=True,
        extra_fields=frozenset(
            {"top_k", "min_p", "repetition_penalty", "guided_json", "structured_outputs", "chat_template_kwargs"}
        ),
        error_shape="unwrapped",
        reasoning_key="reasoning",
    ),
    "tgi": _std(any_model=True, extra_fields=frozenset({"tool_prompt"}), error_shape="tgi"),
    "llamafile": _std(any_model=True, usage_mode="none", omit_usage=True),
}


def error_body(profile: Profile, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse:
    """The provider's own error body for `status`."""
    headers = {"x-request-id": f"req_emu{int(time.time() * 1000)}"}
    shape = profile.error_shape
    data: Any
    if shape == "mistral":
        if status == 401:
            data = {"message": "Unauthorized", "request_id": "emu"}
        elif status == 422 and param:
            detail = [{"type": "extra_forbidden", "loc": ["body", param], "msg": message, "input": None}]
            data = {"object": "error", "message": {"detail": detail}, "type": "invalid_request_error", "param": None}
            data["code"] = None
        else:
            data = {"object": "error", "message": message, "type": kind or "invalid_request_error", "param": param}
            data["code"] = None
    elif shape == "unwrapped":
        data = {"object": "error", "message": message, "type": kind or "BadRequestError", "param": param}
        data["code"] = status
    elif shape == "openrouter":
        data = {"error": {"code": status, "message": message, "metadata": {"provider_name": "emulated-upstream"}}}
    elif shape == "databricks":
        codes = {
            400: "BAD_REQUEST",
            401: "PERMISSION_DENIED",
            404: "RESOURCE_DOES_NOT_EXIST",
            429: "REQUEST_LIMIT_EXCEEDED",
        }
        data = {"error_code": kind or codes.get(status, "INTERNAL_ERROR"), "message": message}
    elif shape == "tgi":
        kinds = {422: "validation", 429: "overloaded", 424: "generation"}
        data = {"error": message, "error_type": kind or kinds.get(status, "generation")}
    elif shape == "detail":
        data = {"detail": message}
    else:
        types = {401: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}
        data = {
            "error": {"message": message, "type": kind or types.get(status, "invalid_request_error"), "param": param}
        }
        data["error"]["code"] = "invalid_api_key" if status == 401 else None
    return EmuResponse(
        status=status, headers={"content-type": "application/json", **headers}, body=json.dumps(data).encode()
    )
