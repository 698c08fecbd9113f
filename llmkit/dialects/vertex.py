"""The Vertex AI dialect: one provider id, two publishers, chosen by the model family.

A provider spec names one dialect, but Vertex serves Gemini models (publishers/google, the
Gemini wire format) and Claude models (publishers/anthropic, the Anthropic Messages format)
under one project, location and token. This adapter decides per call from the model id
alone - `claude…` is Anthropic's, anything else Google's (`PUBLISHERS`) - and delegates the
body, the response, the stream and the errors to the `gemini` or `anthropic_messages`
adapter. It never looks at the provider id. What Vertex changes, and is done here:

* the path carries the project and location (`/projects/{project}/locations/{location}/...`),
  or, in express mode (an API key and no project), neither;
* Claude's body drops `model` (it is in the URL) and adds `anthropic_version:
  vertex-2023-10-16`; `:streamRawPredict` keeps `stream: true` in the body;
* a model id keeps its `@version` literal (`@` is legal in a path segment; every other
  reserved character is percent-encoded);
* errors arrive Anthropic-shaped or Google-shaped depending on which layer refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .._errors import ConfigError
from .._types import ChatRequest, ChatResponse
from ._anthropic_request import build_body as anthropic_body
from ._base import CallContext, ErrorInfo, StreamDecoder, WireRequest
from ._gemini_request import build_body as gemini_body
from ._gemini_request import model_path
from .anthropic_messages import DIALECT as ANTHROPIC
from .gemini import DIALECT as GEMINI

__all__ = ["ANTHROPIC_VERSION", "DIALECT", "PUBLISHERS", "VertexDialect", "publisher"]

ANTHROPIC_VERSION = "vertex-2023-10-16"
PUBLISHERS: tuple[tuple[str, str], ...] = (("claude", "anthropic"),)
"""Model-id prefix -> Vertex publisher; a model no prefix matches is Google's (Gemini)."""

_PROJECT_PREFIX = "/projects/{project}/locations/{location}"


def publisher(model: str) -> str:
    """`anthropic` or `google` for a Vertex model id."""
    name = model.rsplit("/", 1)[-1]
    return next((pub for prefix, pub in PUBLISHERS if name.startswith(prefix)), "google")


def _path(template: str, ctx: CallContext, model: str) -> str:
    """The operation path with project, location and model; without a project, Gemini calls
    use express mode (`/publishers/google/models/...`, authorised by an API key)."""
    project, location = ctx.settings.get("project"), ctx.settings.get("location") or "global"
    if not project:
        if publisher(model) != "google":
            raise ConfigError(
                f"no Google Cloud project for vertex/{model}: pass providers={{'vertex': {{'project': ...}}}} "
                "(or set GOOGLE_CLOUD_PROJECT); only Gemini models run without one (express mode, api_key)",
                provider=ctx.provider,
            )
        template = template[len(_PROJECT_PREFIX) :]
    values = {"project": str(project or ""), "location": str(location), "model": model}
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", quote(v, safe="@" if k == "model" else ""))
    return out


class VertexDialect:
    """Routes each call to the Gemini or the Anthropic adapter by the model's publisher."""

    name = "vertex"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        if publisher(req.model) == "anthropic":
            body = anthropic_body(req, ctx, count=False)
            body.pop("model", None)
            body = {"anthropic_version": ANTHROPIC_VERSION, **body}
            op = ctx.spec.operations["stream_raw_predict" if req.stream else "raw_predict"]
            return WireRequest(
                method=op.method,
                path=_path(op.path, ctx, req.model),
                body=body,
                query=dict(op.query),
                stream=req.stream,
            )
        op = ctx.spec.operations["stream_generate_content" if req.stream else "generate_content"]
        return WireRequest(
            method=op.method,
            path=_path(op.path, ctx, model_path(req.model)),
            body=gemini_body(req, ctx.provider),
            query=dict(op.query),
            stream=req.stream,
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        if publisher(ctx.model) == "anthropic":
            resp = ANTHROPIC.parse_chat(data, ctx)
            resp.model = ctx.model  # Vertex names the model `claude-…@version`, Anthropic's body a dated id
            return resp
        return GEMINI.parse_chat(data, ctx)

    def stream_decoder(self, ctx: CallContext) -> StreamDecoder:
        if publisher(ctx.model) == "anthropic":
            return ANTHROPIC.stream_decoder(ctx)
        return GEMINI.stream_decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """Anthropic-shaped (`{"type": "error", "error": {"type", ...}}`) or google.rpc.Status."""
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(data, dict) and (data.get("type") == "error" or (isinstance(err, dict) and "type" in err)):
            return ANTHROPIC.error_info(status, data)
        return GEMINI.error_info(status, data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        """Vertex's countTokens takes contents, systemInstruction and tools at the top level."""
        if publisher(req.model) == "anthropic":
            raise ConfigError(f"vertex/{req.model}: token counting is offered for Gemini models only")
        op = ctx.spec.operations["count_tokens"]
        model = model_path(req.model)
        body = gemini_body(req, ctx.provider, with_config=False)
        return WireRequest(method=op.method, path=_path(op.path, ctx, model), body=body, query=dict(op.query))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return GEMINI.parse_count_tokens(data, ctx)


DIALECT = VertexDialect()
