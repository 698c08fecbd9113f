"""Structured output given once: schema derivation, the answer check, and the typed result."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal, Optional

import attrs
import pytest

import llmkit
from llmkit._chat_params import chat_request
from llmkit._structured import (
    ResponseFormat,
    StructuredOutputError,
    parse_structured,
    schema_for,
    structured_format,
)
from llmkit._structured_check import check


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@attrs.define
class Street:
    name: str
    number: int = attrs.field(metadata={"description": "house number"})


@dataclasses.dataclass
class City:
    city: str
    population: int
    size: Size
    kind: Literal["capital", "town"]
    tags: list[str]
    street: Street
    area: Optional[float] = None  # noqa: UP045 - Optional is what users write too
    extra: dict[str, int] = dataclasses.field(default_factory=dict)


STREET = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "number": {"type": "integer", "description": "house number"}},
    "required": ["name", "number"],
    "additionalProperties": False,
}
CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer"},
        "size": {"type": "string", "enum": ["small", "large"]},
        "kind": {"type": "string", "enum": ["capital", "town"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "street": STREET,
        "area": {"type": ["number", "null"]},
        "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["city", "population", "size", "kind", "tags", "street", "area", "extra"],
    "additionalProperties": False,
}
GOOD = {
    "city": "Paris",
    "population": 2100000,
    "size": "large",
    "kind": "capital",
    "tags": ["seine"],
    "street": {"name": "Rivoli", "number": 1},
    "area": None,
    "extra": {"bridges": 37},
}


def test_schema_of_a_dataclass_with_every_supported_kind() -> None:
    assert schema_for(City) == CITY


def test_schema_of_optional_enum_literal_and_nested_optional_class() -> None:
    @attrs.define
    class Row:
        size: Size | None
        mark: Literal[1, 2] | None
        street: Street | None
        anything: Any
        items: list[Street]

    s = schema_for(Row)["properties"]
    assert s["size"] == {"type": ["string", "null"], "enum": ["small", "large", None]}
    assert s["mark"] == {"type": ["integer", "null"], "enum": [1, 2, None]}
    assert s["street"] == {**STREET, "type": ["object", "null"]}
    assert s["anything"] == {}
    assert s["items"] == {"type": "array", "items": STREET}


@pytest.mark.parametrize(
    ("tp", "match"),
    [
        (int | str, "only Optional"),
        (set[int], "cannot derive"),
        (dict[int, str], "keys must be str"),
        (Literal["a", 1], "one type"),
    ],
)
def test_unsupported_types_are_refused_with_the_reason(tp: Any, match: str) -> None:
    with pytest.raises(llmkit.ConfigError, match=match):
        schema_for(tp)


def test_recursive_class_is_refused() -> None:
    @dataclasses.dataclass
    class Node:
        child: Optional[Node]  # noqa: UP045

    with pytest.raises(llmkit.ConfigError, match="refers to itself"):
        schema_for(Node)


def test_response_format_accepts_a_class_and_keeps_it_for_the_answer() -> None:
    req = chat_request("gpt-4o-mini", [], {"response_format": City})
    rf = req.response_format
    assert isinstance(rf, ResponseFormat) and rf.target is City
    assert rf == {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY, "strict": True}}
    # already coerced formats pass through unchanged (fallback chains reuse params)
    assert chat_request("m", [], {"response_format": rf}).response_format is rf
    with pytest.raises(llmkit.ConfigError, match="attrs class or a dataclass"):
        chat_request("m", [], {"response_format": "City"})


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({**GOOD, "population": "many"}, "$.population", "expected integer, got 'many'"),
        ({**GOOD, "population": True}, "$.population", "expected integer, got True"),
        ({**GOOD, "size": "huge"}, "$.size", "expected one of ['small', 'large'], got 'huge'"),
        ({**GOOD, "tags": ["a", 3]}, "$.tags[1]", "expected string, got 3"),
        ({**GOOD, "street": {"name": "Rivoli"}}, "$.street.number", "required property is missing"),
        ({**GOOD, "street": {"name": "R", "number": 1, "zip": "x"}}, "$.street.zip", "property is not allowed"),
        ({**GOOD, "extra": {"bridges": "many"}}, "$.extra.bridges", "expected integer, got 'many'"),
        ([GOOD], "$", "expected object, got"),
    ],
)
def test_check_names_the_path_and_what_was_wrong(value: Any, path: str, reason: str) -> None:
    problem = check(value, CITY)
    assert problem is not None
    assert problem[0] == path and problem[1].startswith(reason)


def test_check_accepts_good_values_integral_floats_refs_and_any_of() -> None:
    assert check(GOOD, CITY) is None
    assert check({**GOOD, "population": 3.0, "area": 105.4}, CITY) is None
    schema = {
        "$defs": {"P": {"type": "object", "properties": {"x": {"const": 1}}, "required": ["x"]}},
        "type": "object",
        "properties": {
            "p": {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]},
            "n": {"type": "array", "minItems": 2},
        },
    }
    assert check({"p": {"x": 1}, "n": [1, 2]}, schema) is None
    assert check({"p": None}, schema) is None
    assert check({"p": {"x": 2}}, schema) == ("$.p.x", "expected 1, got 2")
    assert check({"n": [1]}, schema) == ("$.n", "expected at least 2 items, got 1")
    assert check({"p": 1}, {"properties": {"p": {"$ref": "#/$defs/Q"}}}) == (
        "$.p",
        "the schema's $ref '#/$defs/Q' cannot be resolved",
    )


def test_parse_builds_the_typed_instance() -> None:
    city = parse_structured(json.dumps(GOOD), structured_format(City))
    assert city == City(
        city="Paris",
        population=2100000,
        size=Size.LARGE,
        kind="capital",
        tags=["seine"],
        street=Street(name="Rivoli", number=1),
        area=None,
        extra={"bridges": 37},
    )
    # a float that is integral becomes an int; a fenced answer is read through its fence
    fenced = "```json\n" + json.dumps({**GOOD, "population": 5.0, "area": 2}) + "\n```"
    city = parse_structured(fenced, structured_format(City))
    assert (city.population, type(city.population), city.area, type(city.area)) == (5, int, 2.0, float)


def test_parse_errors_are_typed_bad_requests() -> None:
    with pytest.raises(StructuredOutputError) as info:
        parse_structured(json.dumps({**GOOD, "size": "huge"}), structured_format(City), provider="openai")
    err = info.value
    assert isinstance(err, llmkit.BadRequestError)
    assert (err.path, err.provider, err.code) == ("$.size", "openai", "structured_output")
    assert str(err) == (
        "[openai structured_output] the model's output does not match response_format at $.size: "
        "expected one of ['small', 'large'], got 'huge'"
    )
    with pytest.raises(StructuredOutputError, match=r"at \$: the answer was cut off at max_tokens"):
        parse_structured('{"city": "Par', structured_format(City), truncated=True)
    with pytest.raises(StructuredOutputError, match=r"at \$: the answer is not valid JSON"):
        parse_structured("Paris!", structured_format(City))
    with pytest.raises(StructuredOutputError, match="expected a JSON object, got an array"):
        parse_structured("[1]", {"type": "json_object"})


def test_a_class_validator_refusing_the_values_is_a_structured_error() -> None:
    @attrs.define
    class Positive:
        n: int = attrs.field(validator=attrs.validators.gt(0))

    with pytest.raises(StructuredOutputError, match=r"at \$: Positive refused the values"):
        parse_structured('{"n": -1}', structured_format(Positive))
