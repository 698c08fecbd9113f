"""Structured output given once: an attrs class or a dataclass becomes a JSON Schema, and the
model's answer becomes a validated instance of it.

The schema is what every dialect already sends in its own form (OpenAI `response_format`, Gemini
`responseJsonSchema`, Anthropic's forced tool, Cohere, Mistral, Ollama `format`), so a type is
given once and works everywhere. It is written for OpenAI's strict mode, the strictest reader:
every property required, no extra properties, `None` allowed only through a `"null"` type, and
nested classes inlined (no `$ref`), so the same schema is accepted by every provider.

On the way back the JSON text is parsed, checked against the schema (`_structured_check`: no
jsonschema dependency) and built into the type; an answer that does not fit raises
`StructuredOutputError` naming the JSON path and what was wrong, never a half-filled object.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

import attrs

from ._errors import BadRequestError, ConfigError
from ._structured_check import check
from ._types import ChatRequest, ChatResponse

__all__ = [
    "ResponseFormat",
    "StructuredOutputError",
    "attach_parsed",
    "is_structured_type",
    "parse_structured",
    "schema_for",
    "structured_format",
]

_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class StructuredOutputError(BadRequestError):
    """The model's answer is not the JSON the `response_format` asked for.

    `path` is where in the JSON it went wrong (`$` is the root, e.g. `$.items[2].price`),
    `reason` what was wrong there, and `text` the model's output as received. Retrying the
    same request may help (models vary); using the value as-is would not.
    """

    def __init__(self, reason: str, *, path: str, text: str, provider: str | None = None) -> None:
        super().__init__(
            f"the model's output does not match response_format at {path}: {reason}",
            provider=provider,
            code="structured_output",
            body=text,
        )
        self.path = path
        self.reason = reason
        self.text = text


class ResponseFormat(dict[str, Any]):
    """A coerced `response_format` dict that remembers the type it was derived from.

    Dialects read it as the plain dict they always had; `target` (the attrs class or dataclass,
    or None for a schema or JSON mode) is read only when the answer is built.
    """

    target: type[Any] | None = None


def is_structured_type(obj: Any) -> bool:
    """True for an attrs class or a dataclass (the types `response_format` accepts)."""
    return isinstance(obj, type) and (attrs.has(obj) or dataclasses.is_dataclass(obj))


def structured_format(tp: type[Any]) -> ResponseFormat:
    """The strict `json_schema` response format for an attrs class or dataclass."""
    rf = ResponseFormat(
        type="json_schema",
        json_schema={"name": tp.__name__, "schema": schema_for(tp), "strict": True},
    )
    rf.target = tp
    return rf


def schema_for(tp: Any) -> dict[str, Any]:
    """The JSON Schema of a type: str, int, float, bool, None, Any, list[X], dict[str, X],
    Optional[X], Literal[...], enums, and nested attrs classes and dataclasses.

    Anything else (other unions, sets, tuples, recursive classes) raises ConfigError at the
    call, before any request, rather than sending a schema the answer could not be built from.
    """
    return _schema(tp, ())


def _schema(tp: Any, seen: tuple[type[Any], ...]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}
    if tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[tp]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema([m.value for m in tp], tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return _enum_schema(list(args), tp)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(rest) < len(args):
            return _nullable(_schema(rest[0], seen))
        raise ConfigError(f"response_format: only Optional[X] unions are supported, got {tp!r}")
    if tp is list or origin is list:
        return {"type": "array", "items": _schema(args[0], seen)} if args else {"type": "array"}
    if tp is dict or origin is dict:
        if args and args[0] is not str:
            raise ConfigError(f"response_format: dict keys must be str, got {tp!r}")
        return {"type": "object", "additionalProperties": _schema(args[1], seen) if args else {}}
    if is_structured_type(tp):
        if tp in seen:
            raise ConfigError(f"response_format: {tp.__name__} refers to itself; recursive types are not supported")
        return _class_schema(tp, (*seen, tp))
    raise ConfigError(
        f"response_format: cannot derive a JSON schema for {tp!r} (use str, int, float, bool, "
        "list, dict[str, X], Optional, Literal, an Enum, or an attrs class or dataclass)"
    )


def _enum_schema(values: list[Any], tp: Any) -> dict[str, Any]:
    kinds = {_PRIMITIVES.get(type(v)) for v in values}
    if None in kinds or len(kinds) != 1:
        raise ConfigError(f"response_format: {tp!r} needs values of one type among str, int, float, bool")
    return {"type": kinds.pop(), "enum": values}


def _nullable(s: dict[str, Any]) -> dict[str, Any]:
    """Allow null the way every provider reads it: a type list, plus None among enum values."""
    kind = s.get("type")
    if isinstance(kind, str):
        out = {**s, "type": [kind, "null"]}
        if "enum" in s:
            out["enum"] = [*s["enum"], None]
        return out
    return {"anyOf": [s, {"type": "null"}]}


def _fields(tp: type[Any]) -> list[tuple[str, str, Any, Mapping[str, Any]]]:
    """(JSON name, __init__ name, resolved type, metadata) of each field set by __init__."""
    try:  # the class's own name resolves too, so a self-reference is reported as recursion
        hints = typing.get_type_hints(tp, localns={tp.__name__: tp})
    except NameError as exc:
        raise ConfigError(f"response_format: cannot resolve the field types of {tp.__name__}: {exc}") from None
    if attrs.has(tp):
        return [(a.name, a.alias or a.name, hints.get(a.name, Any), a.metadata) for a in attrs.fields(tp) if a.init]
    return [(f.name, f.name, hints.get(f.name, Any), f.metadata) for f in dataclasses.fields(tp) if f.init]


def _class_schema(tp: type[Any], seen: tuple[type[Any], ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, _, ftype, meta in _fields(tp):
        s = _schema(ftype, seen)
        if isinstance(meta.get("description"), str):
            s = {**s, "description": meta["description"]}
        props[name] = s
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


# -- the answer ----------------------------------------------------------------------------------


def attach_parsed(resp: ChatResponse, req: ChatRequest) -> ChatResponse:
    """Set `resp.parsed` from the answer's JSON when `req` asked for JSON; raise
    StructuredOutputError when it does not fit. A response that called tools instead of
    answering (and so has no text) is left with `parsed = None`."""
    rf = req.response_format
    if not rf or rf.get("type") not in ("json_schema", "json_object"):
        return resp
    if resp.tool_calls and not resp.text.strip():
        return resp
    resp.parsed = parse_structured(resp.text, rf, provider=resp.provider, truncated=resp.finish_reason == "length")
    return resp


def parse_structured(text: str, rf: Mapping[str, Any], *, provider: str | None = None, truncated: bool = False) -> Any:
    """The JSON in `text`, validated against the format and built into its type."""
    try:
        value = json.loads(_unfence(text))
    except ValueError as exc:
        why = "the answer was cut off at max_tokens" if truncated else "the answer is not valid JSON"
        raise StructuredOutputError(f"{why} ({exc})", path="$", text=text, provider=provider) from None
    if rf.get("type") == "json_object":
        if not isinstance(value, dict):
            raise StructuredOutputError(
                f"expected a JSON object, got {_kind(value)}", path="$", text=text, provider=provider
            )
        return value
    schema = (rf.get("json_schema") or {}).get("schema") or {}
    problem = check(value, schema)
    if problem is not None:
        raise StructuredOutputError(problem[1], path=problem[0], text=text, provider=provider)
    target = getattr(rf, "target", None)
    if target is None:
        return value
    try:
        return _build(target, value, "$")
    except _BuildError as exc:
        raise StructuredOutputError(exc.reason, path=exc.path, text=text, provider=provider) from None


def _unfence(text: str) -> str:
    """Some models wrap JSON in a Markdown code fence even in JSON mode; read through it."""
    t = text.strip()
    if t.startswith("```") and t.endswith("```") and len(t) >= 6:
        t = t[3:-3]
        first, _, rest = t.partition("\n")
        t = rest if first.strip().isalpha() or not first.strip() else t
    return t


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


class _BuildError(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _build(tp: Any, value: Any, path: str) -> Any:
    """Build a checked JSON value into `tp` (the schema check already passed)."""
    if value is None:
        return None
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return _build(next(a for a in args if a is not type(None)), value, path)
    if origin is list and args:
        return [_build(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and args:
        return {k: _build(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if is_structured_type(tp):
        kwargs = {init: _build(ftype, value[name], f"{path}.{name}") for name, init, ftype, _ in _fields(tp)}
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:  # the class's own validators refused the values
            raise _BuildError(path, f"{tp.__name__} refused the values: {exc}") from None
    return value
