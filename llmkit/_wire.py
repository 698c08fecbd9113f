"""Runtime support for the generated attrs wire models (llmkit.generated.wire.*).

Generated classes are declared with `_wire_model` and `_wire_field(<json name>)`. This module
(un)structures them with cattrs:

* unknown keys are kept in `additional_properties` (tolerant converter) or rejected with a
  clear path (strict converter, used by the emulator to behave like a strict provider);
* unions dispatch on the members' `type` literal; a member without a literal `type` (an
  "unknown block" in the schema) catches new block types so they are kept, not fatal;
* `None` fields are not sent, so only what the caller set goes on the wire.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = [
    "WireValidationError",
    "_extra_field",
    "_wire_field",
    "_wire_model",
    "structure",
    "structure_strict",
    "unstructure",
]

T = TypeVar("T")
_WIRE = "llmkit.wire"
_EXTRA = "llmkit.extra"


class WireValidationError(ValueError):
    """A body does not match its wire schema; `path` uses the wire (JSON) names."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{message} at {path}")
        self.reason = message
        self.path = path


def _wire_model(cls: type[T]) -> type[T]:
    """Class decorator of every generated wire model."""
    return attrs.define(kw_only=True, slots=True)(cls)


def _wire_field(name: str, *, default: Any = attrs.NOTHING) -> Any:
    """A field and the JSON name it has on the wire."""
    return attrs.field(default=default, metadata={_WIRE: name})


def _extra_field() -> Any:
    """The `additional_properties` field: unknown keys, kept as they came."""
    return attrs.field(factory=dict, repr=False, metadata={_EXTRA: True})


def _is_wire_model(t: Any) -> bool:
    return isinstance(t, type) and attrs.has(t) and any(_EXTRA in a.metadata for a in attrs.fields(t))


def _is_union(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType)


def _literal_fields(cls: type) -> dict[str, tuple[str, Any]]:
    """Fields typed as a single literal: python name -> (wire name, value)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for a in attrs.fields(cls):
        hint = hints.get(a.name)
        if get_origin(hint) is Literal and len(get_args(hint)) == 1 and _WIRE in a.metadata:
            out[a.name] = (a.metadata[_WIRE], get_args(hint)[0])
    return out


def _discriminator(models: list[type]) -> str | None:
    """The wire name that tags a union's members (`type`, else another shared literal)."""
    per_model = [{w for w, _ in _literal_fields(m).values()} for m in models]
    tagged = [names for names in per_model if names]
    if not tagged:
        return None
    shared = set.intersection(*tagged)
    if "type" in shared:
        return "type"
    return sorted(shared)[0] if shared else None


class _Converter:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.c = cattrs.Converter(forbid_extra_keys=strict)
        self.c.register_structure_hook_factory(_is_wire_model, self._model_structure)
        self.c.register_unstructure_hook_factory(_is_wire_model, self._model_unstructure)
        self.c.register_structure_hook_factory(_is_union, self._union_structure)
        self.c.register_structure_hook(Any, lambda v, _: v)

    # -- models ------------------------------------------------------------------------------
    def _model_structure(self, cls: type) -> Callable[[Any, Any], Any]:
        typing.get_type_hints(cls)  # resolve string annotations early, with a clear error
        attrs.resolve_types(cls)
        fields = attrs.fields(cls)
        renames = {a.name: override(rename=a.metadata[_WIRE]) for a in fields if _WIRE in a.metadata}
        extra_name = next(a.name for a in fields if _EXTRA in a.metadata)
        renames[extra_name] = override(omit=True)
        known = frozenset(a.metadata[_WIRE] for a in fields if _WIRE in a.metadata)
        base: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls,
            self.c,
            _cattrs_forbid_extra_keys=False,
            **renames,  # type: ignore[arg-type]
        )
        strict = self.strict

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise WireValidationError(f"expected an object for {cls.__name__}", "$")
            if known.issuperset(value):  # the common case, checked in C: no unknown keys
                return base(value, cls)
            extra = {k: v for k, v in value.items() if k not in known}
            if extra and strict:
                raise WireValidationError(f"unknown field {sorted(extra)[0]!r}", "$")
            obj = base(value, cls)
            if extra:
                setattr(obj, extra_name, extra)
            return obj

        return structure

    def _model_unstructure(self, cls: type) -> Callable[[Any], Any]:
        attrs.resolve_types(cls)
        fields = attrs.fields(cls)
        extra_name = next(a.name for a in fields if _EXTRA in a.metadata)
        overrides = {
            a.name: override(rename=a.metadata[_WIRE], omit_if_default=a.default is None)
            for a in fields
            if _WIRE in a.metadata
        }
        overrides[extra_name] = override(omit=True)
        base: Callable[[Any], Any] = make_dict_unstructure_fn(cls, self.c, **overrides)  # type: ignore[arg-type]

        def unstructure(obj: Any) -> Any:
            out = base(obj)
            extra = getattr(obj, extra_name)
            if extra:
                out.update(extra)
            return out

        return unstructure

    # -- unions ------------------------------------------------------------------------------
    def _union_structure(self, union: Any) -> Callable[[Any, Any], Any]:
        slow = self._union_structure_checked(union)
        exact = _exact_types(get_args(union))
        if not exact:
            return slow

        # Hot path (every `str | None` field of every stream chunk): a JSON scalar whose exact
        # type a plain member accepts is returned as it is, which is what the checked path does.
        def structure(value: Any, _: Any) -> Any:
            if type(value) in exact:
                return value
            return slow(value, _)

        return structure

    def _union_structure_checked(self, union: Any) -> Callable[[Any, Any], Any]:
        members = get_args(union)
        models = [m for m in members if _is_wire_model(m)]
        key = _discriminator(models) if models else None
        tags: dict[Any, type] = {}
        fallback: type | None = None
        for m in models:
            lits = {w: v for w, v in _literal_fields(m).values()}
            if key is not None and key in lits:
                tags[lits[key]] = m
            elif fallback is None:
                fallback = m
        others = [m for m in members if m not in models]
        c = self.c

        def structure(value: Any, _: Any) -> Any:
            if value is None and type(None) in members:
                return None
            for o in others:
                if _matches(value, o):
                    return value if _is_plain(o) else c.structure(value, o)
            if isinstance(value, dict) and models:
                cls = tags.get(value.get(key)) if key is not None else None
                if cls is None:
                    if fallback is not None:
                        return c.structure(value, fallback)
                    if len(models) == 1:
                        return c.structure(value, models[0])
                    raise WireValidationError(
                        f"unknown {key} {value.get(key or '')!r}; expected one of {sorted(map(str, tags))}",
                        "$",
                    )
                return c.structure(value, cls)
            raise WireValidationError(f"{type(value).__name__} does not match {union}", "$")

        return structure


_EXACT: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (float, int),
    bool: (bool,),
    type(None): (type(None),),
}


def _exact_types(members: tuple[Any, ...]) -> frozenset[type]:
    """Python types a union accepts unchanged, from its plain scalar members (bool is not an int)."""
    out: set[type] = set()
    for m in members:
        out.update(_EXACT.get(m, ()))
    return frozenset(out)


def _is_plain(t: Any) -> bool:
    return t in (str, int, float, bool, type(None), Any) or get_origin(t) is Literal


def _matches(value: Any, t: Any) -> bool:
    if t is Any:
        return True
    if t is type(None):
        return value is None
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is str:
        return isinstance(value, str)
    origin = get_origin(t)
    if origin is Literal:
        return value in get_args(t)
    if origin is list:
        return isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict) and not _is_wire_model(t)
    return False


_tolerant = _Converter(strict=False)
_strict = _Converter(strict=True)


def structure(data: Any, cls: type[T]) -> T:
    """Build a wire model from a decoded JSON body, keeping unknown keys and block types."""
    return _run(_tolerant, data, cls)


def structure_strict(data: Any, cls: type[T]) -> T:
    """Like `structure`, but an unknown key or a wrong type is a WireValidationError."""
    return _run(_strict, data, cls)


def _run(conv: _Converter, data: Any, cls: type[T]) -> T:
    try:
        return conv.c.structure(data, cls)
    except WireValidationError:
        raise
    except Exception as exc:  # cattrs raises ExceptionGroups with python-name paths
        raise WireValidationError(_describe(exc), "$") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        notes = []
        for sub in exc.exceptions:
            where = " ".join(str(n) for n in getattr(sub, "__notes__", []))
            notes.append(f"{_describe(sub)}{' (' + where + ')' if where else ''}")
        return "; ".join(notes)
    return str(exc) or type(exc).__name__


def unstructure(obj: Any) -> Any:
    """A wire model back to its JSON-ready dict, wire names and unknown keys included."""
    return _tolerant.c.unstructure(obj)
