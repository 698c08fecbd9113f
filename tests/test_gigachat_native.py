"""GigaChat beyond chat: /tokens/count behind client.count_tokens, and the native embeddings,
models and balance operations; plus the emulator's strictness about function messages."""

from __future__ import annotations

import pytest

import llmkit
from llmkit.testing._gigachat_emu import embedding_vector
from llmkit.testing._server import Emulator
from tests.test_gigachat import HI, MODEL, giga, paths

# -- token counts, embeddings, models --------------------------------------------------------------------


def test_count_tokens_uses_the_tokens_count_endpoint(emu: Emulator) -> None:
    with giga(emu) as c:
        n = c.count_tokens(MODEL, [{"role": "system", "content": "Будь краток"}, *HI])
    req = emu.last_request
    assert (req.method, req.subpath) == ("POST", "/tokens/count")
    assert req.json() == {"model": "GigaChat-2", "input": ["Будь краток", "Привет, как дела?"]}
    assert int(n) == 5  # 2 + 3, from the array of per-string counts
    # Each text is counted alone, without GigaChat's chat template: an estimate, and it says so.
    assert (n.exact, n.method, n.provider) == (False, "provider", "gigachat")


def test_count_tokens_parses_the_recorded_array(emu: Emulator) -> None:
    emu.queue_json("gigachat", {"access_token": "t", "expires_at": 4_102_444_800_000})
    emu.queue_json(
        "gigachat",
        [{"object": "tokens", "tokens": 2, "characters": 10}, {"object": "tokens", "tokens": 2, "characters": 11}],
    )
    with giga(emu) as c:
        assert (
            int(
                c.count_tokens(
                    "gigachat/GigaChat",
                    [{"role": "user", "content": "First text"}, {"role": "user", "content": "Second text"}],
                )
            )
            == 4
        )


def test_native_embeddings_models_and_balance(emu: Emulator) -> None:
    with giga(emu) as c:
        native = c.native("gigachat")
        emb = native.create_embeddings({"model": "Embeddings", "input": ["Hello, world!", "Привет"]})
        models = native.list_models()
        balance = native.get_balance()
    assert [e.index for e in emb.data] == [0, 1]
    assert emb.data[0].embedding == embedding_vector("Embeddings", "Hello, world!")
    assert emb.data[0].usage.prompt_tokens == 4
    assert {m.id: m.type for m in models.data}["Embeddings"] == "embedder"
    assert {b.usage for b in balance.balance} >= {"GigaChat-2", "GigaChat-2-Max"}
    assert paths(emu) == ["/oauth", "/embeddings", "/models", "/balance"]


def test_emulator_is_strict_about_function_messages(emu: Emulator) -> None:
    with giga(emu) as c:
        native = c.native("gigachat")
        with pytest.raises(llmkit.BadRequestError, match="needs 'name'"):
            native.create_chat_completion({"model": "GigaChat-2", "messages": [{"role": "function", "content": "{}"}]})
        with pytest.raises(llmkit.BadRequestError, match="must be a JSON string"):
            native.create_chat_completion(
                {"model": "GigaChat-2", "messages": [{"role": "function", "name": "f", "content": "snow"}]}
            )
        with pytest.raises(llmkit.BadRequestError, match="unknown field 'tools'"):
            native.create_chat_completion({"model": "GigaChat-2", "messages": HI, "tools": []})
