"""Voyage and Jina embeddings and rerank on the wire, and their emulators' strictness."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit.testing._jina_emu import embedding_vector as jina_vector
from llmkit.testing._media_emu import relevance
from llmkit.testing._voyage_emu import embedding_vector as voyage_vector
from tests.test_modal_types import AMClient, MClient

DOCS = ["Paris is the capital of France", "Bananas are yellow", "The capital of Italy is Rome"]
QUERY = "capital of France"


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    with MClient(providers=emu.providers_config()) as c:
        yield c


def _ranked(docs: list[str]) -> list[tuple[int, float]]:
    scored = sorted(((relevance(QUERY, d), i) for i, d in enumerate(docs)), key=lambda p: (-p[0], p[1]))
    return [(i, s) for s, i in scored]


def test_voyage_embed_sends_input_type_and_output_dimension(emu: Any, mc: MClient) -> None:
    resp = mc.embed("voyage/voyage-3.5", ["alpha", "beta"], input_type="document", dimensions=256)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/voyage/v1/embeddings")
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.json() == {
        "input": ["alpha", "beta"],
        "model": "voyage-3.5",
        "input_type": "document",
        "output_dimension": 256,
    }
    assert resp.vectors == [voyage_vector("alpha", "document", 256), voyage_vector("beta", "document", 256)]
    assert resp.usage.input_tokens == 2 and resp.cost_usd == round(2 * 0.06 / 1_000_000, 10)
    assert (resp.provider, resp.model) == ("voyage", "voyage-3.5")


def test_voyage_batches_at_1000(emu: Any, mc: MClient) -> None:
    texts = [f"doc {i}" for i in range(1001)]
    resp = mc.embed("voyage/voyage-3-lite", texts)
    assert [len(r.json()["input"]) for r in emu.requests] == [1000, 1]
    assert len(resp.vectors[0]) == 512 and resp.vectors[1000] == voyage_vector("doc 1000", None, 512)


def test_voyage_rerank(emu: Any, mc: MClient) -> None:
    r = mc.rerank("voyage/rerank-2.5", QUERY, DOCS, top_n=2, return_documents=True)
    assert emu.last_request.path == "/voyage/v1/rerank"
    assert emu.last_request.json() == {
        "query": QUERY,
        "documents": DOCS,
        "model": "rerank-2.5",
        "top_k": 2,
        "return_documents": True,
    }
    assert [(x.index, x.score, x.document) for x in r.results] == [(i, s, DOCS[i]) for i, s in _ranked(DOCS)[:2]]
    assert r.results[0].index == 0 and r.input_tokens == 18 and r.provider == "voyage"
    plain = mc.rerank("voyage/rerank-2.5", QUERY, DOCS)
    assert "return_documents" not in emu.last_request.json() and all(x.document is None for x in plain.results)


def test_voyage_errors(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.BadRequestError, match="output_dimension 300 is not supported"):
        mc.embed("voyage/voyage-3.5", ["a"], dimensions=300)
    with pytest.raises(llmkit.BadRequestError, match="Invalid request: unknown field 'colour'"):
        mc.embed("voyage/voyage-3.5", ["a"], extra_body={"colour": 1})
    emu.queue_error("voyage", 429, "You have exceeded your rate limit.")
    with pytest.raises(llmkit.RateLimitError, match="exceeded your rate limit"):
        mc.rerank("voyage/rerank-2", "q", ["d"])
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support embeddings"):
        mc.embed("voyage/rerank-2", ["a"])
    with pytest.raises(llmkit.UnsupportedFeatureError, match="voyage/voyage-3.5 does not support chat"):
        mc.chat("voyage/voyage-3.5", "hi")
    assert [r.path for r in emu.requests] == ["/voyage/v1/embeddings", "/voyage/v1/embeddings", "/voyage/v1/rerank"]


def test_jina_embed_maps_input_type_to_task(emu: Any, mc: MClient) -> None:
    resp = mc.embed("jina/jina-embeddings-v3", ["what is a cat"], input_type="query", dimensions=32)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/jina/v1/embeddings")
    assert req.json() == {
        "model": "jina-embeddings-v3",
        "input": ["what is a cat"],
        "task": "retrieval.query",
        "dimensions": 32,
    }
    assert resp.vectors == [jina_vector("what is a cat", "retrieval.query", 32)]
    assert resp.usage.input_tokens == 4 and resp.cost_usd is None
    mc.embed("jina/jina-embeddings-v3", "a passage", input_type="document", dimensions=2)
    assert emu.last_request.json()["task"] == "retrieval.passage"


def test_jina_rerank_says_whether_to_return_documents(emu: Any, mc: MClient) -> None:
    r = mc.rerank("jina/jina-reranker-v2-base-multilingual", QUERY, DOCS, top_n=3)
    assert emu.last_request.json() == {
        "model": "jina-reranker-v2-base-multilingual",
        "query": QUERY,
        "documents": DOCS,
        "return_documents": False,
        "top_n": 3,
    }
    assert [(x.index, x.score, x.document) for x in r.results] == [(i, s, None) for i, s in _ranked(DOCS)]
    r = mc.rerank("jina/jina-reranker-v3", QUERY, DOCS, return_documents=True)
    assert emu.last_request.json()["return_documents"] is True
    assert [x.document for x in r.results] == [DOCS[i] for i, _ in _ranked(DOCS)]


def test_jina_errors(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.BadRequestError, match="dimensions must be between 1 and 1024"):
        mc.embed("jina/jina-embeddings-v3", ["a"], dimensions=4096)
    emu.queue_error("jina", 422, "Input validation error", "input")
    with pytest.raises(llmkit.BadRequestError, match="Input validation error"):
        mc.embed("jina/jina-embeddings-v3", ["a"])
    emu.queue_error("jina", 401, "Invalid API key")
    with pytest.raises(llmkit.AuthenticationError, match="Invalid API key"):
        mc.rerank("jina/jina-reranker-v3", "q", ["d"])


def test_async_embed_and_rerank(emu: Any) -> None:
    async def run() -> tuple[Any, Any]:
        async with AMClient(providers=emu.providers_config()) as ac:
            e = await ac.embed("voyage/voyage-3", ["x", "y", "z"], batch_size=2)
            r = await ac.rerank("jina/jina-reranker-v3", QUERY, DOCS, top_n=1, return_documents=True)
            return e, r

    e, r = asyncio.run(run())
    assert e.vectors == [voyage_vector(t, None, 1024) for t in ("x", "y", "z")] and e.usage.input_tokens == 3
    assert [(x.index, x.document) for x in r.results] == [(0, DOCS[0])]


def test_rerank_argument_checks(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.ConfigError, match="at least one document"):
        mc.rerank("voyage/rerank-2", "q", [])
    with pytest.raises(llmkit.ConfigError, match="a list of strings, not one string"):
        mc.rerank("voyage/rerank-2", "q", "doc")
    with pytest.raises(llmkit.ConfigError, match="top_n must be a positive integer"):
        mc.rerank("voyage/rerank-2", "q", ["d"], top_n=0)
    with pytest.raises(llmkit.ConfigError, match="non-empty query"):
        mc.rerank("voyage/rerank-2", "", ["d"])
    with pytest.raises(llmkit.ConfigError, match=r"documents\[0\] must be a string"):
        mc.rerank("voyage/rerank-2", "q", [1])  # type: ignore[list-item]
    assert emu.requests == []
