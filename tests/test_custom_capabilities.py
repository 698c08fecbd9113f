"""A custom OpenAI-compatible provider declares what it serves besides chat
(`capabilities: ["embeddings", "rerank", ...]`) and gets the OpenAI adapter's operations for
it, here against the emulator's any-model vLLM server; undeclared jobs and unknown names
fail before any request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit.testing._media_emu import relevance, vector


def _nebius(emu: Any, **extra: Any) -> dict[str, Any]:
    return {
        "nebius": {
            "dialect": "openai_chat",
            "base_url": emu.base_url("vllm"),
            "api_key": "neb-key",
            "capabilities": ["embeddings", "rerank"],
            **extra,
        }
    }


def test_custom_provider_embeds(emu: Any) -> None:
    with llmkit.Client(providers=_nebius(emu)) as c:
        resp = c.embed("nebius/BAAI/bge-m3", ["hello world", "bye"])
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", "/vllm/v1/embeddings", {})
    assert req.headers["authorization"] == "Bearer neb-key"
    assert req.json() == {"model": "BAAI/bge-m3", "input": ["hello world", "bye"], "encoding_format": "base64"}
    assert resp.vectors == [vector("hello world", 1024), vector("bye", 1024)]
    assert resp.provider == "nebius" and resp.model == "BAAI/bge-m3" and resp.cost_usd is None


def test_custom_provider_reranks(emu: Any) -> None:
    docs = ["the cat sat", "stock prices fell", "a cat and a dog"]
    with llmkit.Client(providers=_nebius(emu)) as c:
        r = c.rerank("nebius/BAAI/bge-reranker-v2-m3", "cat", docs, top_n=2, return_documents=True)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/vllm/v1/rerank")
    assert req.headers["authorization"] == "Bearer neb-key"
    assert req.json() == {"model": "BAAI/bge-reranker-v2-m3", "query": "cat", "documents": docs, "top_n": 2}
    order = sorted(range(3), key=lambda i: -relevance("cat", docs[i]))[:2]
    assert [x.index for x in r.results] == order
    assert [x.document for x in r.results] == [docs[i] for i in order]


def test_custom_provider_async(emu: Any) -> None:
    async def run() -> tuple[Any, Any]:
        async with llmkit.AsyncClient(providers=_nebius(emu)) as ac:
            e = await ac.embed("nebius/BAAI/bge-m3", "one")
            r = await ac.rerank("nebius/BAAI/bge-reranker-v2-m3", "cat", ["dog", "cat"])
            return e, r

    e, r = asyncio.run(run())
    assert e.vectors == [vector("one", 1024)]
    assert [x.index for x in r.results] == [1, 0]
    assert [q.path for q in emu.requests] == ["/vllm/v1/embeddings", "/vllm/v1/rerank"]


def test_undeclared_jobs_are_refused_before_any_request(emu: Any) -> None:
    plain = {"nebius": {"dialect": "openai_chat", "base_url": emu.base_url("vllm"), "api_key": "k"}}
    with llmkit.Client(providers=plain) as c:
        with pytest.raises(llmkit.UnsupportedFeatureError, match="nebius/BAAI/bge-m3 does not support embeddings"):
            c.embed("nebius/BAAI/bge-m3", "x")
        with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support rerank"):
            c.rerank("nebius/r", "q", ["d"])
    with (
        llmkit.Client(providers=_nebius(emu)) as c,
        pytest.raises(llmkit.UnsupportedFeatureError, match="does not support speech"),
    ):
        c.speak("nebius/tts", "hi", voice="alloy")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            ["embeddings", "telepathy"],
            "unknown capability 'telepathy'; a custom endpoint can declare embeddings, rerank",
        ),
        ("embeddings", "must be a list"),
        ({"embeddings": True}, "must be a list"),
    ],
)
def test_bad_capabilities_are_config_errors(emu: Any, value: Any, message: str) -> None:
    with (
        llmkit.Client(providers=_nebius(emu, capabilities=value)) as c,
        pytest.raises(llmkit.ConfigError, match=message),
    ):
        c.embed("nebius/BAAI/bge-m3", "x")
    assert emu.requests == []


def test_built_in_providers_take_no_capabilities_setting(emu: Any) -> None:
    with (
        llmkit.Client(providers={"groq": {"api_key": "k", "capabilities": ["rerank"]}}) as c,
        pytest.raises(llmkit.ConfigError, match="unknown setting 'capabilities' for provider 'groq'"),
    ):
        c.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "hi")
    assert emu.requests == []
