"""What a provider's request and response schemas declare, read from the generated wire models.

The OpenAI-compatible hosts copy OpenAI's embeddings, rerank and images endpoints with small
differences in field names (`output_dimension` for `dimensions`, `width`/`height` for `size`,
`base64` for `b64_json`). Each spec's operation names the request model it takes; the adapter
asks here which fields and values that model has, so a difference is spec data (which schema
the operation names), never a branch on a provider id.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import attrs

from .._spec import Operation
from ..dialects._base import CallContext, WireRequest, expand_path
from ..dialects._openai_quirks import expand_query
from ._base import ModalRequest, operation, unsupported

__all__ = ["literals", "model_class", "request_fields", "resolved_operation", "spec_request"]

_WIRE = "llmkit.wire"


@cache
def _fields(module: str, name: str) -> Mapping[str, Any]:
    cls = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(cls)
    return {a.metadata[_WIRE]: hints[a.name] for a in attrs.fields(cls) if _WIRE in a.metadata}


def model_class(ctx: CallContext, name: str) -> type[Any]:
    """The generated wire model `name` of the provider's wire module."""
    if ctx.spec.wire_module is None:
        raise unsupported(ctx, f"wire model {name}", "its spec names no wire module")
    cls: type[Any] = getattr(importlib.import_module(ctx.spec.wire_module), name)
    return cls


def request_fields(ctx: CallContext, op: Operation, default: str) -> Mapping[str, Any]:
    """JSON field name -> type of the request model the operation names (else `default`)."""
    if ctx.spec.wire_module is None:
        return {}
    return _fields(ctx.spec.wire_module, op.request or default)


def literals(tp: Any) -> frozenset[str]:
    """The string values a field's type allows when it is a Literal (or a union holding some)."""
    if typing.get_origin(tp) is Literal:
        return frozenset(str(v) for v in typing.get_args(tp))
    out: frozenset[str] = frozenset()
    for arg in typing.get_args(tp):
        out |= literals(arg)
    return out


def resolved_operation(ctx: CallContext, name: str, what: str) -> tuple[Operation, dict[str, str]]:
    """The operation `name` and its query for this call.

    Where the spec has quirk `api_version_v1` (Azure) and the `api_version` setting is `v1` or
    `preview`, the operation's `<name>_v1` variant is used, as chat does.
    """
    op = operation(ctx, name, what)
    version = str(ctx.settings.get("api_version") or "")
    if ctx.quirk("api_version_v1") and version in ("v1", "preview"):
        v1 = ctx.spec.operation(f"{name}_v1")
        if v1 is None:
            raise unsupported(ctx, f"{what} on the v1 API", f"its spec declares no `{name}_v1` operation")
        return v1, ({"api-version": "preview"} if version == "preview" else {})
    return op, expand_query(op, ctx)


def spec_request(ctx: CallContext, op: Operation, query: dict[str, str], body: Any) -> ModalRequest:
    """A JSON request to `op`, with the model in its path where the operation puts it there."""
    path = expand_path(op.path, model=ctx.model) if op.model_in_path else op.path
    return ModalRequest(wire=WireRequest(method=op.method, path=path, body=body, query=query))
