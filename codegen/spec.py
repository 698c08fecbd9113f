"""Loading and validating provider specs.

A spec that breaks the schema, names an override that does not exist, names a dialect with no
adapter or a wire model its wire schema lacks, fails here with the file, the path inside it
and the reason, before anything is written.
"""

from __future__ import annotations

import datetime
import json
import keyword
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SpecError", "load_provider_specs", "load_wire_schemas", "validate_spec"]


class SpecError(Exception):
    """An invalid spec: `file`, `path` (inside the file) and `reason`."""

    def __init__(self, file: str, path: str, reason: str) -> None:
        super().__init__(f"{file}: at {path or '<root>'}: {reason}")
        self.file = file
        self.path = path
        self.reason = reason


def _json_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_yaml(path: Path, root: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(str(path.relative_to(root)), "", f"not valid YAML: {exc}") from exc


def validate_spec(data: Any, file: str, root: Path, wire_schemas: dict[str, dict[str, Any]]) -> None:
    """Raise SpecError for the first problem in one provider spec."""
    import jsonschema

    schema = json.loads((root / "specs" / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        err = errors[0]
        raise SpecError(file, _json_path(err.absolute_path), err.message)
    if Path(file).stem != data["id"]:
        raise SpecError(file, "id", f"id {data['id']!r} must match the file name {Path(file).stem!r}")
    dialect = data["dialect"]
    if not (root / "llmkit" / "dialects" / f"{dialect}.py").is_file():
        raise SpecError(file, "dialect", f"no adapter llmkit/dialects/{dialect}.py for dialect {dialect!r}")
    for role, name in sorted((data.get("overrides") or {}).items()):
        if not (root / "overrides" / f"{name}.py").is_file():
            raise SpecError(
                file, f"overrides.{role}", f"override {name!r} does not exist (expected overrides/{name}.py)"
            )
    wire = data.get("wire")
    schemas: dict[str, Any] = {}
    if wire is not None:
        if wire not in wire_schemas:
            raise SpecError(file, "wire", f"no wire schema specs/wire/{wire}.yaml")
        schemas = wire_schemas[wire].get("components", {}).get("schemas", {})
    models = set(schemas)
    for op_name, op in sorted(data["operations"].items()):
        for key in ("request", "response", "stream_event"):
            ref = op.get(key)
            if ref is None:
                continue
            if "." in ref:  # `<wire>.<Model>`: a model of another dialect's schema (Vertex's partners)
                other, _, name = ref.partition(".")
                if name not in wire_schemas.get(other, {}).get("components", {}).get("schemas", {}):
                    raise SpecError(
                        file, f"operations.{op_name}.{key}", f"wire model {name!r} is not in specs/wire/{other}.yaml"
                    )
                continue
            if wire is None:
                raise SpecError(file, f"operations.{op_name}.{key}", "names a wire model but the spec has no `wire`")
            if ref not in models:
                raise SpecError(
                    file,
                    f"operations.{op_name}.{key}",
                    f"wire model {ref!r} is not in specs/wire/{wire}.yaml",
                )
        _check_operation_body(op_name, op, file)
        if op.get("empty_response") and op.get("response"):
            raise SpecError(file, f"operations.{op_name}", "`empty_response` and `response` contradict each other")
        if op.get("stream", "none") != "none" and not op.get("stream_event"):
            raise SpecError(file, f"operations.{op_name}", "a streamed operation needs `stream_event`")
        _check_operation_host(data, op_name, op, file)
        request = schemas.get(op.get("request") or "", {}) if op.get("body_kwargs") else {}
        _check_operation_params(data, op_name, op, file, set(request.get("properties") or {}))
    seen: set[str] = set()
    for i, m in enumerate(data["models"]):
        for name in [m["id"], *m.get("aliases", [])]:
            if name in seen:
                raise SpecError(file, f"models[{i}]", f"model id {name!r} appears twice")
            seen.add(name)
    for i, m in enumerate(data["models"]):
        if m.get("lifecycle") is not None:
            _check_lifecycle(m["lifecycle"], f"models[{i}].lifecycle", file, seen)
    if data.get("lifecycle") is not None and data["lifecycle"].get("date") is not None:
        _real_date(data["lifecycle"]["date"], "lifecycle.date", file)


def _real_date(value: str, where: str, file: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise SpecError(file, where, f"{value!r} is not a real date (YYYY-MM-DD)") from None


def _check_lifecycle(lc: dict[str, Any], where: str, file: str, own_models: set[str]) -> None:
    """Real dates, a retirement not before its deprecation, and a replacement that is a model
    of this spec or a `provider/model` (whose existence load_provider_specs checks)."""
    if "deprecated" not in lc and "retires" not in lc:
        raise SpecError(
            file, where, "a lifecycle needs `deprecated` or `retires` (a date); without one it says nothing"
        )
    dates = {k: _real_date(lc[k], f"{where}.{k}", file) for k in ("deprecated", "retires") if k in lc}
    if "deprecated" in dates and "retires" in dates and dates["retires"] < dates["deprecated"]:
        raise SpecError(file, f"{where}.retires", f"retires {lc['retires']} is before deprecated {lc['deprecated']}")
    replacement = lc.get("replacement")
    if replacement is not None and replacement not in own_models and "/" not in replacement:
        raise SpecError(
            file,
            f"{where}.replacement",
            f"replacement {replacement!r} is not a model of this spec (nor a 'provider/model' of another)",
        )


def _check_replacements(specs: list[dict[str, Any]]) -> None:
    """A replacement that is not a model of its own spec must be `provider/model` of an
    existing spec's model (id or alias)."""
    known = {(d["id"], name) for d in specs for m in d["models"] for name in [m["id"], *m.get("aliases", [])]}
    for d in specs:
        own = {name for pid, name in known if pid == d["id"]}
        for i, m in enumerate(d["models"]):
            replacement = (m.get("lifecycle") or {}).get("replacement")
            if replacement is None or replacement in own:
                continue
            provider, _, model = replacement.partition("/")
            if (provider, model) not in known:
                raise SpecError(
                    d["_file"],
                    f"models[{i}].lifecycle.replacement",
                    f"replacement {replacement!r} names no model of this spec and no existing provider/model",
                )


def _check_operation_body(op_name: str, op: dict[str, Any], file: str) -> None:
    """Every operation that takes a body says what it is, so its native method can send it."""
    body = op.get("body")
    if op.get("request") is not None and body is not None:
        raise SpecError(file, f"operations.{op_name}.body", "give `request` (a wire model) or `body`, not both")
    if op.get("request") is None and body is None and op["method"] in ("POST", "PUT", "PATCH"):
        raise SpecError(
            file,
            f"operations.{op_name}",
            f"a {op['method']} operation needs `request` (a wire model) or `body` (json, raw or none), "
            "so its native method can send what the endpoint takes",
        )


def _check_operation_host(data: dict[str, Any], op_name: str, op: dict[str, Any], file: str) -> None:
    """An operation's own host may only name settings the spec declares, and never a secret
    one: a credential must not end up in a URL, and the user must be able to repoint it."""
    settings = data.get("settings") or {}
    where = f"operations.{op_name}"
    setting = op.get("base_url_setting")
    if setting is not None:
        if op.get("base_url") is None:
            raise SpecError(file, f"{where}.base_url_setting", "names an override of a `base_url` the operation lacks")
        if setting not in settings:
            raise SpecError(file, f"{where}.base_url_setting", f"setting {setting!r} is not declared in `settings`")
        if settings[setting].get("secret"):
            raise SpecError(file, f"{where}.base_url_setting", f"setting {setting!r} is a secret; a URL is not")
    for name in re.findall(r"\{([a-z][a-z0-9_]*)\}", op.get("base_url") or ""):
        if name not in settings:
            raise SpecError(file, f"{where}.base_url", f"placeholder {{{name}}} names no setting in `settings`")
        if settings[name].get("secret"):
            raise SpecError(file, f"{where}.base_url", f"placeholder {{{name}}} names a secret setting")


# Names a generated native method already uses for itself, or that its body reads.
_RESERVED_PARAMS = frozenset(
    {"self", "body", "content", "content_type", "extra_headers", "extra_query", "fields", "wire", "merge_body"}
)


def _check_operation_params(
    data: dict[str, Any], op_name: str, op: dict[str, Any], file: str, body_fields: set[str]
) -> None:
    """Each query option becomes a keyword argument and a query key: both must be unambiguous
    (`body_fields`: the request's fields, when the method also takes them as keywords)."""
    params = op.get("params") or {}
    path_params = set(re.findall(r"\{\+?([a-z_]+)\}", op["path"]))
    fixed = set(op.get("query") or {})
    auth = data["auth"]
    if auth.get("scheme") == "query" and auth.get("param"):
        fixed.add(auth["param"])  # the credential's own query key
    wire_names: dict[str, str] = {}
    for name, p in params.items():
        where = f"operations.{op_name}.params.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
            raise SpecError(
                file, where, f"{name!r} is not a snake_case Python name; use one and give the wire name as `wire_name`"
            )
        if name in _RESERVED_PARAMS:
            raise SpecError(file, where, f"{name!r} is already an argument of every native method; rename it")
        if name in path_params:
            raise SpecError(file, where, f"{name!r} is also a path parameter of {op['path']!r}")
        if name in body_fields:
            raise SpecError(file, where, f"{name!r} is also a body field the method takes as a keyword (body_kwargs)")
        wire_name = p.get("wire_name", name)
        if wire_name in fixed:
            raise SpecError(file, where, f"query key {wire_name!r} is already fixed by the operation's `query` or auth")
        if wire_name in wire_names:
            raise SpecError(file, where, f"query key {wire_name!r} is also sent by param {wire_names[wire_name]!r}")
        wire_names[wire_name] = name
        if "enum" in p and p["type"] != "string":
            raise SpecError(file, f"{where}.enum", f"`enum` is for string params; this one is {p['type']}")


def load_wire_schemas(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "specs" / "wire").glob("*.yaml")):
        data = load_yaml(path, root)
        if not isinstance(data, dict) or "components" not in data:
            raise SpecError(str(path.relative_to(root)), "components", "a wire schema needs components.schemas")
        out[path.stem] = data
    return out


def load_provider_specs(root: Path, wire_schemas: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every provider spec under root/specs/providers, validated, sorted by id."""
    specs = []
    for path in sorted((root / "specs" / "providers").glob("*.yaml")):
        rel = str(path.relative_to(root))
        data = load_yaml(path, root)
        validate_spec(data, rel, root, wire_schemas)
        data["_file"] = rel
        specs.append(data)
    _check_replacements(specs)
    return specs
