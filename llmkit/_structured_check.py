"""A small JSON Schema checker for structured-output answers, so jsonschema is not a dependency.

It knows the keywords structured output uses (the ones `_structured.schema_for` writes and the
subset providers accept in their strict modes): `type` (one or a list), `enum`, `const`,
`properties`, `required`, `additionalProperties`, `items`, `anyOf` / `oneOf`, `minItems` /
`maxItems`, and local `$ref`s into `$defs` / `definitions`. Other keywords (formats, patterns,
numeric bounds) are not checked: a user schema using them is still sent as-is to the provider,
which enforces them where it can. The first problem found is returned as (JSON path, reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["check"]

Problem = tuple[str, str]


def check(value: Any, schema: Mapping[str, Any]) -> Problem | None:
    """None when `value` fits `schema`, else the first (path, reason) that does not."""
    return _Checker(schema).run(value, schema, "$")


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "null":
        return value is None
    return True  # an unknown type name is the provider's to refuse, not ours


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        node: Any = self.root
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        parts = ref[1:].strip("/").split("/") if ref != "#" else []
        for part in parts:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node  # type: ignore[no-any-return]

    def run(self, value: Any, schema: Any, path: str) -> Problem | None:
        if not isinstance(schema, Mapping):
            return None  # `true` / `{}`-like schemas accept anything
        if "$ref" in schema:
            try:
                target = self._resolve(schema["$ref"])
            except (KeyError, TypeError, ValueError):
                return path, f"the schema's $ref {schema['$ref']!r} cannot be resolved"
            return self.run(value, target, path)
        kind = schema.get("type")
        kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
        if kinds and not any(_is(value, k) for k in kinds):
            return path, f"expected {' or '.join(kinds)}, got {_show(value)}"
        if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
            return path, f"expected one of {schema['enum']!r}, got {_show(value)}"
        if "const" in schema and not _same(value, schema["const"]):
            return path, f"expected {schema['const']!r}, got {_show(value)}"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                if not any(self.run(value, s, path) is None for s in options):
                    first = next((p for s in options if (p := self.run(value, s, path)) is not None), None)
                    return first or (path, "matches none of the allowed shapes")
        if isinstance(value, dict):
            return self._object(value, schema, path)
        if isinstance(value, list):
            return self._array(value, schema, path)
        return None

    def _object(self, value: dict[str, Any], schema: Mapping[str, Any], path: str) -> Problem | None:
        props: Mapping[str, Any] = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                return f"{path}.{name}", "required property is missing"
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            where = f"{path}.{name}"
            if name in props:
                problem = self.run(item, props[name], where)
            elif extra is False:
                problem = (where, "property is not allowed by the schema")
            else:
                problem = self.run(item, extra, where)
            if problem is not None:
                return problem
        return None

    def _array(self, value: list[Any], schema: Mapping[str, Any], path: str) -> Problem | None:
        if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
            return path, f"expected at least {schema['minItems']} items, got {len(value)}"
        if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
            return path, f"expected at most {schema['maxItems']} items, got {len(value)}"
        items = schema.get("items")
        for i, item in enumerate(value):
            problem = self.run(item, items, f"{path}[{i}]")
            if problem is not None:
                return problem
        return None


def _same(a: Any, b: Any) -> bool:
    """JSON equality: True is not 1, and 1 is 1.0."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)
