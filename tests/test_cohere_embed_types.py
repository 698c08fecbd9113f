"""Cohere embedding types other than float (`extra_body={"embedding_types": [T]}`): asked
for on the wire, vectors returned in that type, bad asks refused before any request."""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

import pytest

import llmkit
from llmkit.testing._cohere_emu import embedding_vector

TEXTS = ["Paris is the capital of France", "Bananas are yellow"]
MODEL = "cohere/embed-english-light-v3.0"  # 384 dimensions


def _floats() -> list[list[float]]:
    return [embedding_vector(t, "search_document", 384) for t in TEXTS]


def _bits(v: list[float]) -> list[int]:
    """The packed bytes of a vector's signs, written out bit by bit (first dimension high)."""
    out = []
    for i in range(0, len(v), 8):
        byte = 0
        for x in v[i : i + 8]:
            byte = (byte << 1) | (1 if x > 0 else 0)
        out.append(byte)
    return out


EXPECTED = {
    "int8": lambda fs: [[max(-128, min(127, round(x * 127))) for x in v] for v in fs],
    "uint8": lambda fs: [[max(0, min(255, round((x + 1) * 127.5))) for x in v] for v in fs],
    "ubinary": lambda fs: [_bits(v) for v in fs],
    "binary": lambda fs: [[b - 128 for b in _bits(v)] for v in fs],
    "base64": lambda fs: [list(struct.unpack("<384f", struct.pack("<384f", *v))) for v in fs],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_type_goes_out_and_comes_back_in_that_type(emu: Any, client: Any, kind: str) -> None:
    resp = client.embed(MODEL, TEXTS, extra_body={"embedding_types": [kind]})
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/cohere/v2/embed")
    assert req.json() == {
        "model": "embed-english-light-v3.0",
        "texts": TEXTS,
        "input_type": "search_document",
        "embedding_types": [kind],
    }
    assert list(resp.raw[0]["embeddings"]) == [kind]
    assert resp.vectors == EXPECTED[kind](_floats())
    if kind in ("int8", "uint8", "binary", "ubinary"):
        assert all(type(x) is int for v in resp.vectors for x in v)
        assert len(resp.vectors[0]) == (384 if kind.endswith("int8") else 48)
    assert resp.usage.input_tokens is not None and resp.usage.input_tokens > 0


def test_base64_decodes_a_documented_fixture(emu: Any, client: Any) -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.25, -1.5, 2.0)).decode()
    emu.queue_json(
        "cohere",
        {
            "id": "emb-1",
            "response_type": "embeddings_by_type",
            "embeddings": {"base64": [packed]},
            "texts": ["one"],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 1}},
        },
    )
    assert client.embed(MODEL, "one", extra_body={"embedding_types": ["base64"]}).vectors == [[0.25, -1.5, 2.0]]


def test_a_missing_type_is_named_not_zero_floats(emu: Any, client: Any) -> None:
    emu.queue_json("cohere", {"id": "e", "embeddings": {}, "texts": ["one"]})
    with pytest.raises(llmkit.LLMKitError, match="cohere returned no embeddings for 1 inputs"):
        client.embed(MODEL, "one", extra_body={"embedding_types": ["int8"]})
    emu.queue_json("cohere", {"id": "e", "embeddings": {"int8": [[1]], "uint8": [[2]]}, "texts": ["one"]})
    with pytest.raises(llmkit.LLMKitError, match=r"embeddings of several types \(int8, uint8\)"):
        client.embed(MODEL, "one", extra_body={"embedding_types": ["int8"]})


def test_int8_async(emu: Any) -> None:
    async def run() -> Any:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as ac:
            return await ac.embed(MODEL, TEXTS, extra_body={"embedding_types": ["int8"]})

    assert asyncio.run(run()).vectors == EXPECTED["int8"](_floats())
    assert emu.last_request.json()["embedding_types"] == ["int8"]


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (["int4"], "unknown embedding type 'int4'; use one of float, int8, uint8, binary, ubinary, base64"),
        (["float", "int8"], "embedding_types must be a list of one type"),
        ("int8", "embedding_types must be a list of one type"),
    ],
)
def test_bad_types_are_refused_before_any_request(emu: Any, client: Any, asked: Any, message: str) -> None:
    with pytest.raises(llmkit.ConfigError, match=message):
        client.embed(MODEL, TEXTS, extra_body={"embedding_types": asked})
    assert emu.requests == []
