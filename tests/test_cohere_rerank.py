"""Cohere rerank (`POST /v2/rerank`) on the wire, from the shape in the facts."""

from __future__ import annotations

import asyncio

import pytest

import llmkit

DOCS = ["Berlin is in Germany", "Paris is the capital of France", "the capital"]


def test_rerank_exact_wire_and_order(emu, client) -> None:
    resp = client.rerank("cohere/rerank-v3.5", "capital of France", DOCS, top_n=2, return_documents=True)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/cohere/v2/rerank")
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.json() == {"model": "rerank-v3.5", "query": "capital of France", "documents": DOCS, "top_n": 2}
    assert [(r.index, r.score, r.document) for r in resp.results] == [
        (1, 1.0, "Paris is the capital of France"),
        (2, 0.3333, "the capital"),
    ]
    assert resp.provider == "cohere" and resp.model == "rerank-v3.5"


def test_rerank_parses_the_documented_response(emu, client) -> None:
    # The response shape from Cohere's v2 reference (wire-facts-core.md §7), out of score order.
    emu.queue_json(
        "cohere",
        {
            "id": "x",
            "results": [{"index": 3, "relevance_score": 0.999}, {"index": 0, "relevance_score": 0.32}],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        },
    )
    resp = client.rerank("cohere/rerank-v3.5", "q", ["a", "b", "c", "d"])
    assert [(r.index, r.score, r.document) for r in resp.results] == [(3, 0.999, None), (0, 0.32, None)]
    assert resp.raw["meta"]["billed_units"] == {"search_units": 1}


def test_rerank_refused_before_any_request(emu, client) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.rerank("cohere/command-a-03-2025", "q", DOCS)  # a chat model does not rerank
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.rerank("cohere/embed-v4.0", "q", DOCS)
    assert emu.requests == []


def test_rerank_out_of_range_index_is_an_error(emu, client) -> None:
    emu.queue_json("cohere", {"id": "x", "results": [{"index": 7, "relevance_score": 0.5}]})
    with pytest.raises(llmkit.LLMKitError, match="rerank index 7 for 3 documents"):
        client.rerank("cohere/rerank-v3.5", "q", DOCS)


def test_async_rerank(emu) -> None:
    async def run() -> list[int]:
        async with emu.async_client() as ac:
            resp = await ac.rerank("cohere/rerank-english-v3.0", "capital of France", DOCS)
            return [r.index for r in resp.results]

    assert asyncio.run(run()) == [1, 2, 0]
