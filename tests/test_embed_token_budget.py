"""Embedding batches stay under a per-request token budget (catalog `max_request_tokens`;
OpenAI: 300,000 tokens summed over a request's inputs), counted with the model's encoding,
order kept; the emulator refuses a request over OpenAI's budget as OpenAI does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

import llmkit
from llmkit._registry import _catalog_index
from llmkit._spec import ModelOptions
from llmkit.modalities import _tokens
from llmkit.modalities._plan import split_batches
from llmkit.modalities._tokens import text_counter
from llmkit.testing._media_emu import vector
from tests.test_modal_types import AMClient, MClient, media_emu

EMB = "openai/text-embedding-3-small"
LONG = " ".join(["hello"] * 150)  # 150 tokens in cl100k_base, and 150 for the emulator


@pytest.fixture
def mc(emu: Any) -> Iterator[MClient]:
    with MClient(providers=media_emu(emu).providers_config()) as c:
        yield c


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """text-embedding-3-small with a 10-token request budget (a test fixture of the catalog)."""
    key = ("openai", "text-embedding-3-small")
    info = _catalog_index()[key]
    monkeypatch.setitem(_catalog_index(), key, attrs.evolve(info, options=ModelOptions(max_request_tokens=10)))


def test_the_catalog_has_openais_budget() -> None:
    for m in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"):
        options = _catalog_index()[("openai", m)].options
        assert options is not None and options.max_request_tokens == 300_000


def test_300k_tokens_split_a_list_under_the_input_limit(emu: Any, mc: MClient) -> None:
    assert text_counter("text-embedding-3-small")(LONG) == 150
    texts = [LONG] * 2048  # within the 2048-input limit, but 307,200 tokens
    resp = mc.embed(EMB, texts, dimensions=1)
    sizes = [len(r.json()["input"]) for r in emu.requests]
    assert sizes == [2000, 48]  # 2000 x 150 = 300,000: the budget exactly
    assert [i for r in emu.requests for i in r.json()["input"]] == texts
    assert len(resp.vectors) == 2048 and resp.vectors[2047] == vector(LONG, 1)


def test_the_emulator_refuses_a_request_over_300k_tokens(emu: Any) -> None:
    media_emu(emu)
    r = httpx.post(
        emu.base_url("openai") + "/embeddings",
        headers={"Authorization": "Bearer k"},
        json={"model": "text-embedding-3-small", "input": [LONG] * 2001},
    )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "Requested 300150 tokens, max 300000 tokens per request",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }


@pytest.mark.usefixtures("tiny")
def test_a_tiny_budget_splits_by_tokens_in_order(emu: Any, mc: MClient) -> None:
    texts = ["a b c d", "e f g", "h i j k l", "m"]  # 4, 3, 5 and 1 tokens
    resp = mc.embed(EMB, texts, dimensions=2)
    assert [r.json() for r in emu.requests] == [
        {
            "model": "text-embedding-3-small",
            "input": ["a b c d", "e f g"],
            "encoding_format": "base64",
            "dimensions": 2,
        },
        {"model": "text-embedding-3-small", "input": ["h i j k l", "m"], "encoding_format": "base64", "dimensions": 2},
    ]
    assert resp.vectors == [vector(t, 2) for t in texts]
    # batch_size still caps the count inside the budget; an input over the budget goes alone.
    emu.reset()
    mc.embed(EMB, ["a", "b", "c", " ".join("x" * 12), "d"], dimensions=2, batch_size=2)
    assert [r.json()["input"] for r in emu.requests] == [["a", "b"], ["c"], [" ".join("x" * 12)], ["d"]]


@pytest.mark.usefixtures("tiny")
def test_a_tiny_budget_async(emu: Any) -> None:
    media_emu(emu)

    async def run() -> Any:
        async with AMClient(providers=emu.providers_config()) as ac:
            return await ac.embed(EMB, ["a b c d", "e f g", "h i j k l", "m"], dimensions=2)

    resp = asyncio.run(run())
    assert sorted(tuple(r.json()["input"]) for r in emu.requests) == [("a b c d", "e f g"), ("h i j k l", "m")]
    assert resp.vectors == [vector(t, 2) for t in ["a b c d", "e f g", "h i j k l", "m"]]


def test_without_bpe_openai_the_estimate_errs_high(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tokens, "_encoding", lambda name: None)
    count = text_counter("text-embedding-3-small")
    assert count("hello world!") == 3  # 12 ASCII characters / 4
    assert count("日本語のテキスト") == 8  # one per non-ASCII character
    assert count("") == 0
    budget = (5, count)
    assert split_batches(["abcd", "abcdefgh", "a" * 24, "ab", "abcdefghijkl"], 10, None, budget) == [
        ["abcd", "abcdefgh"],  # 1 + 2 tokens
        ["a" * 24],  # 6 tokens: over the budget alone, sent alone
        ["ab", "abcdefghijkl"],  # 1 + 3
    ]


def test_models_without_a_budget_batch_by_count_only(emu: Any) -> None:
    custom = {"box": {"dialect": "openai_chat", "base_url": emu.base_url("vllm"), "capabilities": ["embeddings"]}}
    with llmkit.Client(providers=custom) as c:
        c.embed("box/BAAI/bge-m3", [LONG] * 3, batch_size=2)
    assert [len(r.json()["input"]) for r in emu.requests] == [2, 1]
