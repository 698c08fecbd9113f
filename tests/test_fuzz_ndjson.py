"""The NDJSON decoder: exact values on real-world framing, and property tests (any split of a
valid stream gives the same values; arbitrary bytes raise only StreamError)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmkit import StreamError
from llmkit._ndjson import NDJSONDecoder

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _decode(chunks: list[bytes], **kw: int) -> list[object]:
    dec = NDJSONDecoder(**kw)  # type: ignore[arg-type]
    out: list[object] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.flush())
    return out


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    return [*out, data[prev:]]


OLLAMA = (
    b'{"model":"llama3.2","message":{"role":"assistant","content":"H\xc3\xa9"},"done":false}\n'
    b"\n"
    b'{"model":"llama3.2","message":{"role":"assistant","content":"llo"},"done":false}\r\n'
    b'{"model":"llama3.2","done":true,"done_reason":"stop","eval_count":2}'
)


def test_ollama_stream_split_everywhere() -> None:
    expected = [json.loads(line) for line in OLLAMA.splitlines() if line.strip()]
    assert len(expected) == 3 and expected[0]["message"]["content"] == "Hé"
    for i in range(len(OLLAMA) + 1):
        assert _decode([OLLAMA[:i], OLLAMA[i:]]) == expected, i


def test_bad_line_is_a_typed_error_naming_it() -> None:
    with pytest.raises(StreamError, match=r"not JSON \(JSONDecodeError\): '<html>oops'"):
        _decode([b'{"a":1}\n<html>oops\n'])
    with pytest.raises(StreamError, match="UnicodeDecodeError"):
        _decode([b"\xff\xfe\n"])


def test_line_without_newline_is_bounded() -> None:
    dec = NDJSONDecoder(provider="ollama", max_line_bytes=100)
    assert dec.feed(b'{"a":' + b" " * 50) == []
    with pytest.raises(StreamError, match="longer than 100 bytes") as info:
        dec.feed(b" " * 60)
    assert info.value.provider == "ollama"


@FUZZ
@given(
    st.lists(_json, max_size=8),
    st.sampled_from([b"\n", b"\r\n"]),
    st.booleans(),
    st.lists(st.integers(0, 5000), max_size=10),
)
def test_any_split_of_a_valid_stream_decodes_to_the_same_values(values, eol, blanks, cuts) -> None:  # type: ignore[no-untyped-def]
    sep = eol + (eol if blanks else b"")
    data = b"".join(json.dumps(v, ensure_ascii=False).encode() + sep for v in values)
    assert _decode([data]) == values
    assert _decode(_split(data, cuts)) == values


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 500), max_size=6))
def test_random_bytes_raise_only_stream_error(data, cuts) -> None:  # type: ignore[no-untyped-def]
    for chunks in ([data], _split(data, cuts)):
        try:
            _decode(chunks, max_line_bytes=128)
        except StreamError:
            pass


def test_absurd_nesting_is_a_typed_error() -> None:
    with pytest.raises(StreamError, match="RecursionError"):
        _decode([b"[" * 100_000 + b"\n"], max_line_bytes=1 << 20)
