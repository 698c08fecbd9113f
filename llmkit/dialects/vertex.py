"""The Vertex AI dialect: one provider id, four publishers and forms, chosen by the model id.

A provider spec names one dialect, but Vertex serves Gemini (publishers/google, the Gemini
wire format), Claude (publishers/anthropic, Anthropic Messages), Mistral's models
(publishers/mistralai, Mistral's chat body on rawPredict) and partner/open models such as
Llama, DeepSeek and Qwen (the OpenAI-compatible MaaS endpoint) under one project, location
and token. This adapter reads the route from the model id (`_vertex_routes.route`: catalog
id first, then the model family) and delegates the body, the response, the stream and the
errors to the `gemini`, `anthropic_messages` or `openai_chat` adapter. It never looks at the
provider id. What Vertex changes, and is done here:

* the path carries the project and location (`/projects/{project}/locations/{location}/...`),
  or, in express mode (an API key and no project, Gemini only), neither;
* Claude's body drops `model` (it is in the URL) and adds `anthropic_version:
  vertex-2023-10-16`; `:streamRawPredict` keeps `stream: true` in the body;
* Mistral's URL names the version (`mistral-small-2503@001`) and its body the model without
  it (`mistral-small-2503`), as Mistral's own Vertex client sends it; the body is Mistral's
  strict one, made by the openai_chat adapter with the `mistral` spec's quirk flags;
* the MaaS endpoint takes the OpenAI body with `model` as `publisher/model` (`MAAS_QUIRKS`);
* a model id keeps its `@version` literal (`@` is legal in a path segment; every other
  reserved character is percent-encoded);
* errors arrive Anthropic-, Mistral/OpenAI- or Google-shaped depending on who refused.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast
from urllib.parse import quote

import attrs

from .._errors import ConfigError
from .._types import ChatRequest, ChatResponse
from ._anthropic_request import build_body as anthropic_body
from ._base import CallContext, ErrorInfo, StreamDecoder, WireRequest
from ._gemini_request import build_body as gemini_body
from ._gemini_request import model_path
from ._vertex_routes import MAAS_QUIRKS, Route, route
from .anthropic_messages import DIALECT as ANTHROPIC
from .gemini import DIALECT as GEMINI
from .openai_chat import DIALECT as OPENAI

__all__ = ["ANTHROPIC_VERSION", "DIALECT", "VertexDialect", "publisher"]

ANTHROPIC_VERSION = "vertex-2023-10-16"
_PROJECT_PREFIX = "/projects/{project}/locations/{location}"
_OPERATIONS = {
    ("anthropic", False): "raw_predict",
    ("anthropic", True): "stream_raw_predict",
    ("google", False): "generate_content",
    ("google", True): "stream_generate_content",
    ("mistralai", False): "mistral_raw_predict",
    ("mistralai", True): "mistral_stream_raw_predict",
    ("openapi", False): "openapi_chat_completions",
    ("openapi", True): "openapi_chat_completions",
}


def publisher(model: str) -> str:
    """`google`, `anthropic`, `mistralai` or `openapi` (the MaaS endpoint) for a Vertex model id
    that is not in the catalog; calls route by the catalog id where there is one."""
    return route(model, None).publisher


@cache
def _mistral_quirks() -> frozenset[str]:
    """Mistral's body rules are the `mistral` spec's quirk flags: one reviewed list for both."""
    from .._registry import provider_spec

    return provider_spec("mistral").quirks


def _route(ctx: CallContext) -> Route:
    return route(ctx.model, ctx.model_info, ctx.provider)


def _openai_ctx(ctx: CallContext, r: Route, stream: bool) -> CallContext:
    """The call as the openai_chat adapter must see it: the route's quirk flags and chat operation."""
    quirks = MAAS_QUIRKS if r.publisher == "openapi" else _mistral_quirks()
    op = ctx.spec.operations[_OPERATIONS[(r.publisher, stream)]]
    spec = attrs.evolve(ctx.spec, quirks=quirks, operations={"create_chat_completion": op})
    return CallContext(spec=spec, model=ctx.model, model_info=ctx.model_info, settings=ctx.settings)


def _path(template: str, ctx: CallContext, r: Route) -> str:
    """The operation path with project, location and model; without a project, Gemini calls
    use express mode (`/publishers/google/models/...`, authorised by an API key)."""
    project, location = ctx.settings.get("project"), ctx.settings.get("location") or "global"
    if not project:
        if r.publisher != "google":
            raise ConfigError(
                f"no Google Cloud project for vertex/{ctx.model}: pass providers={{'vertex': {{'project': ...}}}} "
                "(or set GOOGLE_CLOUD_PROJECT); only Gemini models run without one (express mode, api_key)",
                provider=ctx.provider,
            )
        template = template[len(_PROJECT_PREFIX) :]
    model = model_path(r.url_model) if r.publisher == "google" else r.url_model
    values = {"project": str(project or ""), "location": str(location), "model": model}
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", quote(v, safe="@" if k == "model" else ""))
    return out


class VertexDialect:
    """Routes each call to the Gemini, Anthropic or OpenAI-chat adapter by the model's route."""

    name = "vertex"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        r = _route(ctx)
        op = ctx.spec.operations[_OPERATIONS[(r.publisher, req.stream)]]
        if r.publisher in ("openapi", "mistralai"):
            assert r.body_model is not None
            wire = OPENAI.chat_request(attrs.evolve(req, model=r.body_model), _openai_ctx(ctx, r, req.stream))
            wire.path = _path(op.path, ctx, r)
            return wire
        if r.publisher == "anthropic":
            body = anthropic_body(req, ctx, count=False)
            body.pop("model", None)
            body = {"anthropic_version": ANTHROPIC_VERSION, **body}
        else:
            body = gemini_body(req, ctx.provider)
        return WireRequest(
            method=op.method, path=_path(op.path, ctx, r), body=body, query=dict(op.query), stream=req.stream
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        r = _route(ctx)
        if r.publisher == "anthropic":
            resp = ANTHROPIC.parse_chat(data, ctx)
            resp.model = ctx.model  # Vertex names the model `claude-…@version`, Anthropic's body a dated id
            return resp
        if r.publisher in ("openapi", "mistralai"):
            return OPENAI.parse_chat(data, _openai_ctx(ctx, r, False))
        return GEMINI.parse_chat(data, ctx)

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder:
        r = _route(ctx)
        if r.publisher == "anthropic":
            return ANTHROPIC.stream_decoder(ctx)
        if r.publisher in ("openapi", "mistralai"):
            # cast: the OpenAI decoder's accumulator is a subclass, and Protocol attributes are invariant
            return cast(StreamDecoder, OPENAI.stream_decoder(_openai_ctx(ctx, r, True)))
        return GEMINI.stream_decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """Anthropic-shaped (`{"type": "error", "error": {"type", ...}}`), Mistral-shaped
        (`{"object": "error", "message", "type", "code"}`, or a bare `{"message"}`), OpenAI-shaped
        (`{"error": {"message", "type", "param", "code"}}`) or google.rpc.Status (`{"error":
        {"code", "message", "status"}}`, what Vertex's own front end answers)."""
        if not isinstance(data, dict):
            return GEMINI.error_info(status, data)
        err = data.get("error")
        if data.get("object") == "error" or (err is None and "message" in data):
            return OPENAI.error_info(status, data)
        if isinstance(err, dict) and "param" in err:
            return OPENAI.error_info(status, data)
        if data.get("type") == "error" or (isinstance(err, dict) and "type" in err):
            return ANTHROPIC.error_info(status, data)
        return GEMINI.error_info(status, data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        """Vertex's countTokens takes contents, systemInstruction and tools at the top level."""
        r = _route(ctx)
        if r.publisher != "google":
            raise ConfigError(f"vertex/{req.model}: token counting is offered for Gemini models only")
        op = ctx.spec.operations["count_tokens"]
        body = gemini_body(req, ctx.provider, with_config=False)
        return WireRequest(method=op.method, path=_path(op.path, ctx, r), body=body, query=dict(op.query))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return GEMINI.parse_count_tokens(data, ctx)


DIALECT = VertexDialect()
