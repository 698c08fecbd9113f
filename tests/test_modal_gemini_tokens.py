"""Gemini embeddings on the wire, and count_tokens as a TokenCount: the provider's own
endpoint (Anthropic, Gemini) or a local count for OpenAI-family models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit._modal_types import TokenCount
from llmkit.modalities import _tokens
from llmkit.testing._gemini_embed_emu import embedding_vector, with_embeddings
from tests.test_modal_types import AMClient, MClient

EMB = "gemini/gemini-embedding-001"
CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there, world!"}]


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    emu._handlers["gemini"] = with_embeddings(emu._handlers["gemini"])
    with MClient(providers=emu.providers_config()) as c:
        yield c


def test_gemini_embed_uses_batch_embed_contents(emu: Any, mc: MClient) -> None:
    resp = mc.embed(EMB, ["first text", "second"], input_type="query", dimensions=8)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents")
    assert req.headers["x-goog-api-key"] == "test-key"
    assert req.json() == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "first text"}]},
                "taskType": "RETRIEVAL_QUERY",
                "outputDimensionality": 8,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "second"}]},
                "taskType": "RETRIEVAL_QUERY",
                "outputDimensionality": 8,
            },
        ]
    }
    assert resp.vectors == [
        embedding_vector("first text", "RETRIEVAL_QUERY", 8),
        embedding_vector("second", "RETRIEVAL_QUERY", 8),
    ]
    assert resp.usage.input_tokens is None and resp.cost_usd is None and resp.provider == "gemini"


def test_gemini_embed_batches_at_100_and_passes_extra_fields(emu: Any, mc: MClient) -> None:
    texts = [f"t{i}" for i in range(101)]
    resp = mc.embed(EMB, texts, dimensions=2, extra_body={"taskType": "CLUSTERING"})
    assert [len(r.json()["requests"]) for r in emu.requests] == [100, 1]
    assert emu.requests[1].json()["requests"][0]["taskType"] == "CLUSTERING"
    assert resp.vectors == [embedding_vector(t, "CLUSTERING", 2) for t in texts]


def test_gemini_embed_errors(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.BadRequestError, match="outputDimensionality must be between 1 and 3072"):
        mc.embed(EMB, ["a"], dimensions=4096)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="gemini-2.5-flash is a chat model"):
        mc.embed("gemini/gemini-2.5-flash", ["a"])
    with pytest.raises(llmkit.NotFoundError, match="models/my-embedder is not found"):
        mc.embed("gemini/my-embedder", ["a"])
    emu.queue_json("gemini", {"embeddings": [{"values": [1, 2]}]})
    with pytest.raises(llmkit.LLMKitError, match="returned 1 embeddings for 2 inputs"):
        mc.embed(EMB, ["a", "b"])


def test_gemini_emulator_checks_each_request_model(emu: Any, mc: MClient) -> None:
    import httpx

    url = emu.base_url("gemini") + "/models/gemini-embedding-001:batchEmbedContents"
    body = {"requests": [{"model": "models/other", "content": {"parts": [{"text": "a"}]}}]}
    r = httpx.post(url, json=body, headers={"x-goog-api-key": "k"})
    assert r.status_code == 400 and "must match the batch model" in r.json()["error"]["message"]
    one = httpx.post(
        emu.base_url("gemini") + "/models/gemini-embedding-001:embedContent",
        json={"content": {"parts": [{"text": "solo"}]}, "outputDimensionality": 3},
        headers={"x-goog-api-key": "k"},
    )
    assert one.json() == {"embedding": {"values": embedding_vector("solo", None, 3)}}


def test_count_tokens_from_the_provider_is_exact(emu: Any, mc: MClient) -> None:
    emu.queue_json("anthropic", {"input_tokens": 14})
    n = mc.count_tokens("anthropic/claude-sonnet-4-5", "Hi")
    assert n == TokenCount(count=14, exact=True, model="claude-sonnet-4-5", provider="anthropic", method="provider")
    assert emu.last_request.path == "/anthropic/v1/messages/count_tokens"
    emu.queue_json("gemini", {"totalTokens": 31})
    g = mc.count_tokens("gemini/gemini-2.5-flash", [{"role": "user", "content": "Hello there, Gemini"}])
    assert (g.count, g.exact, g.method) == (31, True, "provider")
    assert emu.last_request.path == "/gemini/v1beta/models/gemini-2.5-flash:countTokens"


def test_openai_count_is_local_and_exact_with_the_tokenizer(emu: Any, mc: MClient) -> None:
    # o200k_base: "You are terse." = 4 tokens, "Hello there, world!" = 5, each role 1; every
    # message adds 3 and the reply is primed with 3: 3 + (3 + 1 + 4) + (3 + 1 + 5) = 20.
    n = mc.count_tokens("openai/gpt-4o-mini", CHAT)
    assert n == TokenCount(count=20, exact=True, model="gpt-4o-mini", provider="openai", method="tokenizer")
    # cl100k_base gives the same lengths for these texts; a named message adds 1 + its name.
    named = [{"role": "user", "content": "Hello there, world!", "name": "bob"}]
    assert mc.count_tokens("openai/gpt-4-turbo", named).count == 3 + 3 + 1 + 5 + 1 + 1
    assert emu.requests == []


def test_openai_count_says_when_it_estimates(emu: Any, mc: MClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with_tools = mc.count_tokens("openai/gpt-4o", "Hi", tools=[{"type": "function", "function": {"name": "f"}}])
    assert with_tools.exact is False and with_tools.method == "tokenizer" and with_tools.count > 3 + 3 + 1 + 1
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    assert mc.count_tokens("openai/gpt-4o", image) == TokenCount(
        count=3 + 3 + 1 + 765, exact=False, model="gpt-4o", provider="openai", method="tokenizer"
    )
    monkeypatch.setattr(_tokens, "_encoding", lambda name: None)
    est = mc.count_tokens("openai/gpt-4o-mini", CHAT)
    # Without the tokenizer: about four characters per token, rounded up.
    assert est == TokenCount(count=3 + (3 + 2 + 4) + (3 + 1 + 5), exact=False, model="gpt-4o-mini", provider="openai",
                             method="estimate")  # fmt: skip
    assert emu.requests == []


def test_count_tokens_unsupported_without_endpoint_or_tokenizer(emu: Any, mc: MClient) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="no local tokenizer for this model"):
        mc.count_tokens("openai/my-llama-finetune", "Hi")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="groq has no count endpoint"):
        mc.count_tokens("groq/meta-llama/llama-4-scout-17b-16e-instruct", "Hi")
    assert _tokens.encoding_name("ft:gpt-4o-mini-2024-07-18:org::abc") == "o200k_base"
    assert _tokens.encoding_name("gpt-4.1-nano") == "o200k_base" and _tokens.encoding_name("gpt-4") == "cl100k_base"
    assert emu.requests == []


def test_async_count_and_embed(emu: Any) -> None:
    emu._handlers["gemini"] = with_embeddings(emu._handlers["gemini"])

    async def run() -> tuple[Any, ...]:
        async with AMClient(providers=emu.providers_config()) as ac:
            emu.queue_json("anthropic", {"input_tokens": 9})
            a = await ac.count_tokens("anthropic/claude-sonnet-4-5", "Hi")
            o = await ac.count_tokens("openai/gpt-4o-mini", CHAT)
            e = await ac.embed(EMB, ["x"], dimensions=2)
            return a, o, e

    a, o, e = asyncio.run(run())
    assert (a.count, a.exact) == (9, True) and (o.count, o.exact) == (20, True)
    assert e.vectors == [embedding_vector("x", None, 2)]
