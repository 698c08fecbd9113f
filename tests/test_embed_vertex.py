"""Vertex AI text embeddings on the wire: `:predict` with instances and parameters, OAuth
tokens (given, or from a service-account JWT), batches within each model's limit, typed
errors and refusals before any request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit.testing._brain import count_tokens
from llmkit.testing._vertex_embed import embedding_vector
from tests.test_vertex import TokenServer

PREFIX = "/vertex/v1/projects/proj-1/locations/us-central1/publishers/google/models"
TEXTS = ["Paris is the capital of France", "Bananas are yellow", "Rome is in Italy"]


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "CLOUD_ML_REGION", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    ts = TokenServer()
    yield ts
    ts.server.shutdown()
    ts.server.server_close()


def _settings(emu: Any, **over: Any) -> dict[str, Any]:
    settings = {"base_url": emu.base_url("vertex"), "project": "proj-1", "location": "us-central1", "max_retries": 0}
    settings.update(over)
    if "credentials" not in over and "api_key" not in over:
        settings.setdefault("access_token", "tok-given")
    return {k: v for k, v in settings.items() if v is not None}


def _client(emu: Any, **over: Any) -> llmkit.Client:
    return llmkit.Client(providers={"vertex": _settings(emu, **over)})


def _tokens(texts: list[str]) -> int:
    return sum(max(count_tokens(t), 1) for t in texts)


def test_text_embedding_on_the_wire(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed("vertex/text-embedding-005", TEXTS, input_type="query", dimensions=256)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", f"{PREFIX}/text-embedding-005:predict", {})
    assert req.headers["authorization"] == "Bearer tok-given"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {
        "instances": [{"content": t, "task_type": "RETRIEVAL_QUERY"} for t in TEXTS],
        "parameters": {"outputDimensionality": 256},
    }
    assert resp.vectors == [embedding_vector("text-embedding-005", t, "RETRIEVAL_QUERY", 256) for t in TEXTS]
    assert resp.usage.input_tokens == _tokens(TEXTS)  # statistics.token_count, summed
    assert resp.cost_usd is None  # billed per character: no per-token price in the catalog
    assert resp.raw[0]["metadata"] == {"billableCharacterCount": sum(len(t) for t in TEXTS)}
    assert (resp.provider, resp.model) == ("vertex", "text-embedding-005")


def test_documents_titles_and_parameters_from_extra_body(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed(
            "vertex/text-multilingual-embedding-002",
            ["Berlin ist in Deutschland"],
            input_type="document",
            extra_body={"title": "Städte", "autoTruncate": False},
        )
        plain = c.embed("vertex/text-embedding-005", "no hints")
        similar = c.embed("vertex/text-embedding-005", "x", extra_body={"task_type": "SEMANTIC_SIMILARITY"})
    first, second, third = (r.json() for r in emu.requests)
    assert first == {
        "instances": [{"content": "Berlin ist in Deutschland", "title": "Städte", "task_type": "RETRIEVAL_DOCUMENT"}],
        "parameters": {"autoTruncate": False},
    }
    assert second == {"instances": [{"content": "no hints"}]}
    assert third == {"instances": [{"content": "x", "task_type": "SEMANTIC_SIMILARITY"}]}
    assert resp.vectors == [
        embedding_vector("text-multilingual-embedding-002", "Berlin ist in Deutschland", "RETRIEVAL_DOCUMENT")
    ]
    assert len(plain.vectors[0]) == 768
    assert similar.vectors == [embedding_vector("text-embedding-005", "x", "SEMANTIC_SIMILARITY")]


def test_batches_of_250_keep_the_order(emu: Any) -> None:
    texts = [f"passage {i}" for i in range(600)]
    with _client(emu) as c:
        resp = c.embed("vertex/text-embedding-005", texts, input_type="document")
    sent = [[i["content"] for i in r.json()["instances"]] for r in emu.requests]
    assert [len(s) for s in sent] == [250, 250, 100]
    assert [t for s in sent for t in s] == texts
    assert resp.vectors == [embedding_vector("text-embedding-005", t, "RETRIEVAL_DOCUMENT") for t in texts]
    assert len(resp.raw) == 3


def test_gemini_embedding_is_one_text_per_request_and_priced(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed("vertex/gemini-embedding-001", TEXTS)
    assert [r.path for r in emu.requests] == [f"{PREFIX}/gemini-embedding-001:predict"] * 3
    assert [r.json() for r in emu.requests] == [{"instances": [{"content": t}]} for t in TEXTS]
    assert resp.vectors == [embedding_vector("gemini-embedding-001", t) for t in TEXTS]
    assert len(resp.vectors[0]) == 3072
    assert resp.cost_usd == round(_tokens(TEXTS) * 0.15 / 1_000_000, 10)


def test_async_with_a_service_account(emu: Any, tokens: TokenServer) -> None:
    texts = [f"t{i}" for i in range(5)]

    async def run() -> Any:
        settings = _settings(emu, credentials=tokens.key())
        async with llmkit.AsyncClient(providers={"vertex": settings}) as ac:
            return await ac.embed("vertex/gemini-embedding-001", texts, input_type="query")

    resp = asyncio.run(run())
    assert tokens.count == 1  # one token for five concurrent requests
    assert all(r.headers["authorization"] == "Bearer tok-1" for r in emu.requests)
    assert sorted(r.json()["instances"][0]["content"] for r in emu.requests) == texts
    assert resp.vectors == [embedding_vector("gemini-embedding-001", t, "RETRIEVAL_QUERY") for t in texts]


def test_refusals_before_any_request(emu: Any) -> None:
    with _client(emu) as c, pytest.raises(llmkit.UnsupportedFeatureError, match="gemini-2.5-flash is a chat model"):
        c.embed("vertex/gemini-2.5-flash", ["a"])
    with _client(emu, project=None) as c, pytest.raises(llmkit.ConfigError, match="no Google Cloud project"):
        c.embed("vertex/text-embedding-005", ["a"])
    with _client(emu) as c, pytest.raises(llmkit.ConfigError, match="batch_size"):
        c.embed("vertex/text-embedding-005", ["a"], batch_size=0)
    assert emu.requests == []


def test_provider_refusals_are_typed(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.BadRequestError, match="outputDimensionality must be between 1 and 768") as dims:
            c.embed("vertex/text-embedding-005", ["a"], dimensions=1024)
        with pytest.raises(llmkit.BadRequestError, match="unknown field 'colour'"):
            c.embed("vertex/text-embedding-005", ["a"], extra_body={"colour": "red"})
        with pytest.raises(llmkit.BadRequestError, match="title is only valid with task_type RETRIEVAL_DOCUMENT"):
            c.embed("vertex/text-embedding-005", ["a"], input_type="query", extra_body={"title": "T"})
        with pytest.raises(llmkit.BadRequestError, match="Input text too long"):
            c.embed("vertex/text-embedding-005", ["word " * 3000], extra_body={"autoTruncate": False})
        with pytest.raises(llmkit.NotFoundError, match="not found"):
            c.embed("vertex/textembedding-gecko@003", ["a"])
    assert dims.value.status == 400 and dims.value.body["error"]["status"] == "INVALID_ARGUMENT"
    with _client(emu, access_token="stale") as c:
        emu.require_key = "fresh"
        with pytest.raises(llmkit.AuthenticationError) as auth:
            c.embed("vertex/text-embedding-005", ["a"])
    assert auth.value.status == 401 and "stale" not in str(auth.value)


def test_long_texts_are_cut_by_default(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed("vertex/text-embedding-005", ["word " * 3000])
    stats = resp.raw[0]["predictions"][0]["embeddings"]["statistics"]
    assert stats == {"token_count": 2048, "truncated": True}
    assert resp.usage.input_tokens == 2048
