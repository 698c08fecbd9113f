"""Embeddings beyond OpenAI, Voyage, Jina and Gemini, on the wire: Cohere /v2/embed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit.testing._cohere_emu import embedding_vector as cohere_vector

TEXTS = ["Paris is the capital of France", "Bananas are yellow", "Rome is in Italy"]


def test_cohere_embed_sends_input_type_types_and_dimension(emu: Any, client: Any) -> None:
    resp = client.embed("cohere/embed-v4.0", TEXTS[:2], input_type="query", dimensions=256)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/cohere/v2/embed")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    assert req.json() == {
        "model": "embed-v4.0",
        "texts": TEXTS[:2],
        "input_type": "search_query",
        "embedding_types": ["float"],
        "output_dimension": 256,
    }
    assert resp.vectors == [cohere_vector(t, "search_query", 256) for t in TEXTS[:2]]
    assert (resp.provider, resp.model) == ("cohere", "embed-v4.0")
    assert resp.usage.input_tokens is not None and resp.usage.input_tokens > 0
    assert resp.cost_usd == round(resp.usage.input_tokens * 0.12 / 1_000_000, 10)


def test_cohere_embed_defaults_to_documents_and_passes_its_own_types(emu: Any, client: Any) -> None:
    resp = client.embed("cohere/embed-english-v3.0", "one passage")
    assert emu.last_request.json()["input_type"] == "search_document"
    assert resp.vectors == [cohere_vector("one passage", "search_document", 1024)]
    client.embed("cohere/embed-english-light-v3.0", ["x"], extra_body={"truncate": "END"})
    assert emu.last_request.json()["truncate"] == "END"
    client.embed("cohere/embed-multilingual-v3.0", ["x"], input_type="clustering")
    assert emu.last_request.json()["input_type"] == "clustering"


def test_cohere_embed_batches_of_96_keep_the_order(emu: Any, client: Any) -> None:
    texts = [f"text {i}" for i in range(200)]
    resp = client.embed("cohere/embed-english-light-v3.0", texts)
    sent = [r.json()["texts"] for r in emu.requests]
    assert [len(s) for s in sent] == [96, 96, 8]
    assert [t for s in sent for t in s] == texts
    assert resp.vectors == [cohere_vector(t, "search_document", 384) for t in texts]
    assert len(resp.raw) == 3


def test_cohere_embed_refusals(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support embeddings"):
        client.embed("cohere/command-a-03-2025", ["a"])
    with pytest.raises(llmkit.BadRequestError, match="output_dimension 300 is not supported"):
        client.embed("cohere/embed-v4.0", ["a"], dimensions=300)
    with pytest.raises(llmkit.BadRequestError, match="unknown field"):
        client.embed("cohere/embed-v4.0", ["a"], extra_body={"colour": 1})
    assert [r.path for r in emu.requests] == ["/cohere/v2/embed", "/cohere/v2/embed"]


def test_cohere_embed_async(emu: Any) -> None:
    async def run() -> Any:
        async with emu.async_client() as ac:
            return await ac.embed("cohere/embed-v4.0", TEXTS, input_type="document")

    resp = asyncio.run(run())
    assert resp.vectors == [cohere_vector(t, "search_document", 1536) for t in TEXTS]
