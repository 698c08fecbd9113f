"""The unified embed on the wire for GigaChat (/embeddings behind OAuth) and Yandex
(/foundationModels/v1/textEmbedding, one text per call, query/document models)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit.testing._brain import count_tokens
from llmkit.testing._gigachat_emu import embedding_vector as giga_vector
from llmkit.testing._server import Emulator
from llmkit.testing._yandex_emu import HANDLER as YANDEX
from llmkit.testing._yandex_emu import embedding_vector as yandex_vector
from tests.test_gigachat import KEY, agiga, giga
from tests.test_yandex import FOLDER, yandex

TEXTS = ["Привет, мир", "Столица России — Москва", "Bananas are yellow"]


def _giga_tokens(text: str) -> int:
    """The emulated GigaChat's per-item prompt_tokens."""
    return count_tokens(text) + 2


# -- GigaChat ------------------------------------------------------------------------------------


def test_gigachat_embed_on_the_wire(emu: Emulator) -> None:
    with giga(emu) as c:
        resp = c.embed("gigachat/Embeddings", TEXTS)
    oauth, call = emu.requests
    assert (oauth.method, oauth.subpath) == ("POST", "/oauth")
    assert (call.method, call.path, call.query) == ("POST", "/gigachat/api/v1/embeddings", {})
    assert call.headers["authorization"].startswith("Bearer emu-giga-")
    assert call.headers["content-type"] == "application/json"
    assert KEY not in str(call.headers)
    assert call.json() == {"model": "Embeddings", "input": TEXTS}
    assert resp.vectors == [giga_vector("Embeddings", t) for t in TEXTS]
    assert len(resp.vectors[0]) == 1024
    assert (resp.provider, resp.model) == ("gigachat", "Embeddings")
    assert resp.usage.input_tokens == sum(_giga_tokens(t) for t in TEXTS)  # per-item usage, summed
    assert resp.cost_usd is None  # GigaChat prices (rubles, packages) are not in the catalog


def test_gigachat_embed_batches_of_90_keep_the_order(emu: Emulator) -> None:
    texts = [f"текст {i}" for i in range(200)]
    with giga(emu) as c:
        resp = c.embed("gigachat/EmbeddingsGigaR", texts)
        small = c.embed("gigachat/Embeddings", texts[:5], batch_size=2)
    sent = [r.json()["input"] for r in emu.requests if r.subpath == "/embeddings"]
    assert [len(s) for s in sent] == [90, 90, 20, 2, 2, 1]
    assert [t for s in sent[:3] for t in s] == texts
    assert resp.vectors == [giga_vector("EmbeddingsGigaR", t) for t in texts]
    assert len(resp.raw) == 3 and resp.usage.input_tokens == sum(_giga_tokens(t) for t in texts)
    assert small.vectors == [giga_vector("Embeddings", t) for t in texts[:5]]


def test_gigachat_embed_async(emu: Emulator) -> None:
    async def run() -> Any:
        async with agiga(emu) as ac:
            return await ac.embed("gigachat/Embeddings", TEXTS[:2])

    resp = asyncio.run(run())
    assert resp.vectors == [giga_vector("Embeddings", t) for t in TEXTS[:2]]
    assert emu.last_request.json() == {"model": "Embeddings", "input": TEXTS[:2]}


def test_gigachat_embed_refusals_before_any_request(emu: Emulator) -> None:
    with giga(emu) as c:
        with pytest.raises(llmkit.UnsupportedFeatureError, match="GigaChat-2 is a chat model"):
            c.embed("gigachat/GigaChat-2", ["a"])
        with pytest.raises(llmkit.UnsupportedFeatureError, match="input_type"):
            c.embed("gigachat/Embeddings", ["a"], input_type="query")
        with pytest.raises(llmkit.UnsupportedFeatureError, match="dimensions"):
            c.embed("gigachat/Embeddings", ["a"], dimensions=256)
        with pytest.raises(llmkit.ConfigError, match="at least one input"):
            c.embed("gigachat/Embeddings", [])
    assert emu.requests == []


def test_gigachat_embed_errors_are_typed(emu: Emulator) -> None:
    with giga(emu) as c:
        with pytest.raises(llmkit.NotFoundError, match="No such model") as nf:
            c.embed("gigachat/EmbeddingsNext", ["a"])  # not catalogued: the provider says no
        with pytest.raises(llmkit.BadRequestError, match="unknown field") as bad:
            c.embed("gigachat/Embeddings", ["a"], extra_body={"dimensions": 256})
    assert (nf.value.status, nf.value.provider) == (404, "gigachat")
    assert nf.value.body == {"status": 404, "message": "No such model"}
    assert bad.value.status == 422


def test_gigachat_embed_refetches_a_revoked_token_once(emu: Emulator) -> None:
    from llmkit.testing._gigachat_emu import HANDLER

    with giga(emu) as c:
        c.embed("gigachat/Embeddings", ["a"])
        HANDLER.revoke_all()
        resp = c.embed("gigachat/Embeddings", ["b"])
    assert [r.subpath for r in emu.requests] == ["/oauth", "/embeddings", "/embeddings", "/oauth", "/embeddings"]
    assert resp.vectors == [giga_vector("Embeddings", "b")]


# -- Yandex -----------------------------------------------------------------------------------------


def test_yandex_embed_is_one_request_per_text_in_order(emu: Emulator) -> None:
    with yandex(emu) as c:
        resp = c.embed("yandex/text-search-doc/latest", TEXTS)
    assert len(emu.requests) == 3
    for req, text in zip(emu.requests, TEXTS, strict=True):
        assert (req.method, req.path, req.query) == ("POST", "/yandex/foundationModels/v1/textEmbedding", {})
        assert req.headers["authorization"] == "Api-Key test-key"
        assert "x-folder-id" not in req.headers  # an API key uses its service account's folder
        assert req.json() == {"modelUri": f"emb://{FOLDER}/text-search-doc/latest", "text": text}
    assert resp.vectors == [yandex_vector("text-search-doc", t) for t in TEXTS]
    assert len(resp.vectors[0]) == 256
    assert resp.usage.input_tokens == sum(count_tokens(t) for t in TEXTS)  # numTokens strings, summed
    assert (resp.provider, resp.model, resp.cost_usd) == ("yandex", "text-search-doc/latest", None)
    assert len(resp.raw) == 3 and resp.raw[0]["numTokens"] == str(count_tokens(TEXTS[0]))


@pytest.mark.parametrize(
    ("model", "input_type", "uri"),
    [
        ("yandex/text-search", None, f"emb://{FOLDER}/text-search-doc/latest"),
        ("yandex/text-search", "document", f"emb://{FOLDER}/text-search-doc/latest"),
        ("yandex/text-search", "query", f"emb://{FOLDER}/text-search-query/latest"),
        ("yandex/text-search/rc", "query", f"emb://{FOLDER}/text-search-query/rc"),
        ("yandex/text-search-query/latest", "query", f"emb://{FOLDER}/text-search-query/latest"),
        ("yandex/emb://b1gother/text-search-doc/latest", None, "emb://b1gother/text-search-doc/latest"),
        ("yandex/emb://b1gother/text-search/latest", "query", "emb://b1gother/text-search-query/latest"),
    ],
)
def test_yandex_input_type_picks_the_model(emu: Emulator, model: str, input_type: Any, uri: str) -> None:
    with yandex(emu) as c:
        resp = c.embed(model, "Где купить хлеб?", input_type=input_type)
    assert emu.last_request.json() == {"modelUri": uri, "text": "Где купить хлеб?"}
    assert resp.vectors == [yandex_vector(uri.split("/")[3], "Где купить хлеб?")]


def test_yandex_dimensions_go_as_an_int64_string(emu: Emulator) -> None:
    with yandex(emu) as c:
        resp = c.embed("yandex/text-search", "короткий", dimensions=64)
    assert emu.last_request.json() == {
        "modelUri": f"emb://{FOLDER}/text-search-doc/latest",
        "text": "короткий",
        "dim": "64",
    }
    assert resp.vectors == [yandex_vector("text-search-doc", "короткий", 64)]


def test_yandex_iam_token_sends_the_folder(emu: Emulator) -> None:
    YANDEX.register_iam_token("t1.embed-token")
    with yandex(emu, api_key=None, iam_token="t1.embed-token") as c:
        c.embed("yandex/text-search", "a", input_type="query")
    req = emu.last_request
    assert req.headers["authorization"] == "Bearer t1.embed-token"
    assert req.headers["x-folder-id"] == FOLDER
    assert req.json()["modelUri"] == f"emb://{FOLDER}/text-search-query/latest"


def test_yandex_embed_async_keeps_the_order(emu: Emulator) -> None:
    texts = [f"строка {i}" for i in range(12)]

    async def run() -> Any:
        async with llmkit.AsyncClient(
            providers={"yandex": {"api_key": "test-key", "folder_id": FOLDER, "base_url": emu.base_url("yandex")}}
        ) as ac:
            return await ac.embed("yandex/text-search", texts, input_type="document")

    resp = asyncio.run(run())
    assert sorted(r.json()["text"] for r in emu.requests) == sorted(texts)
    assert resp.vectors == [yandex_vector("text-search-doc", t) for t in texts]


def test_yandex_embed_refusals_before_any_request(emu: Emulator) -> None:
    with yandex(emu) as c:
        with pytest.raises(llmkit.ConfigError, match="embeds documents but input_type='query'"):
            c.embed("yandex/text-search-doc/latest", ["a"], input_type="query")
        with pytest.raises(llmkit.ConfigError, match="not an embedding model URI"):
            c.embed(f"yandex/gpt://{FOLDER}/yandexgpt/latest", ["a"])
        with pytest.raises(llmkit.UnsupportedFeatureError, match="yandexgpt/latest is a chat model"):
            c.embed("yandex/yandexgpt/latest", ["a"])
    with yandex(emu, folder_id=None) as c, pytest.raises(llmkit.ConfigError, match="needs a folder id"):
        c.embed("yandex/text-search", ["a"])
    assert emu.requests == []


def test_yandex_embed_errors_are_typed(emu: Emulator) -> None:
    with yandex(emu) as c:
        with pytest.raises(llmkit.BadRequestError, match="no more than 2048") as too_long:
            c.embed("yandex/text-search", ["слово " * 3000])
        with pytest.raises(llmkit.NotFoundError, match="is not found"):
            c.embed("yandex/text-search-code/latest", ["a"])
        with pytest.raises(llmkit.BadRequestError, match="invalid request"):
            c.embed("yandex/text-search", ["a"], extra_body={"dimensions": 3})
    with yandex(emu, api_key="wrong") as c:
        emu.require_key = "test-key"
        with pytest.raises(llmkit.AuthenticationError):
            c.embed("yandex/text-search", ["a"])
    assert too_long.value.body["error"]["grpcCode"] == 3
    assert too_long.value.status == 400
