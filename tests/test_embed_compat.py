"""Embeddings of Azure deployments, Mistral, the OpenAI-compatible hosts and Ollama, on the wire.

Each test drives `client.embed` against the strict emulator and checks the exact request
(method, path, query, auth header, whole JSON body) and the vectors read back, which are
the emulator's deterministic ones (`llmkit.testing._media_emu.vector`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import llmkit
from llmkit.testing._media_emu import vector

TEXTS = ["Paris is the capital of France", "Bananas are yellow", "Rome is in Italy"]


# -- Azure -------------------------------------------------------------------------------------


def test_azure_embeddings_go_to_the_deployment_with_api_version_and_api_key(emu: Any, client: Any) -> None:
    resp = client.embed("azure/text-embedding-3-small", TEXTS[:2], dimensions=64)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/azure/openai/deployments/text-embedding-3-small/embeddings")
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == emu.api_key
    assert "authorization" not in req.headers
    assert req.json() == {
        "model": "text-embedding-3-small",
        "input": TEXTS[:2],
        "encoding_format": "base64",
        "dimensions": 64,
    }
    assert resp.vectors == [vector(t, 64) for t in TEXTS[:2]]
    assert (resp.provider, resp.model) == ("azure", "text-embedding-3-small")
    assert resp.usage.input_tokens is not None and resp.usage.input_tokens > 0
    assert resp.cost_usd is None  # Azure prices are not in the reviewed facts


def test_azure_embeddings_with_an_entra_token_on_the_v1_api(emu: Any) -> None:
    with emu.client(azure_ad_token="entra-token", api_version="v1") as c:
        resp = c.embed("azure/text-embedding-3-large", "one text")
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", "/azure/openai/v1/embeddings", {})
    assert req.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in req.headers
    assert req.json() == {"model": "text-embedding-3-large", "input": ["one text"], "encoding_format": "base64"}
    assert resp.vectors == [vector("one text", 3072)]


def test_azure_embedding_deployment_names_are_percent_encoded_and_unknown_ones_are_404(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.NotFoundError, match="deployment for this resource does not exist"):
        client.embed("azure/my embedder", ["a"])
    assert emu.last_request.path == "/azure/openai/deployments/my%20embedder/embeddings"


def test_azure_chat_deployments_do_not_embed(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="azure/gpt-4o is a chat model"):
        client.embed("azure/gpt-4o", ["a"])
    assert emu.requests == []
    # The emulator answers as Azure does when the call goes past llmkit's check (native client).
    with pytest.raises(llmkit.BadRequestError, match="does not work with the specified model, gpt-4o") as info:
        client.native("azure").create_embedding("gpt-4o", {"input": ["a"]})
    assert info.value.body["error"]["code"] == "OperationNotSupported"
    assert emu.last_request.query == {"api-version": "2024-10-21"}


def test_azure_embeddings_need_an_api_version_like_azure(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.NotFoundError, match="Resource not found"):
        client.native("azure").create_embedding(
            "text-embedding-3-small", {"input": ["a"]}, extra_query={"api-version": "latest"}
        )
    n = len(emu.requests)
    with pytest.raises(llmkit.ConfigError, match="no credentials for 'azure'"), emu.client(api_key=None) as c:
        c.embed("azure/text-embedding-3-small", ["a"])
    assert len(emu.requests) == n
    anonymous = httpx.post(
        emu.base_url("azure") + "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
        json={"input": ["a"]},
    )
    assert anonymous.status_code == 401 and "Access denied" in anonymous.json()["error"]["message"]
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument: encoding"):
        client.embed("azure/text-embedding-3-small", ["a"], extra_body={"encoding": "float"})


# -- Mistral -----------------------------------------------------------------------------------


def test_mistral_embed_body_and_response(emu: Any, client: Any) -> None:
    resp = client.embed("mistral/mistral-embed", TEXTS)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/mistral/v1/embeddings")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    assert req.json() == {"model": "mistral-embed", "input": TEXTS, "encoding_format": "base64"}
    assert resp.vectors == [vector(t, 1024) for t in TEXTS]
    assert resp.usage.input_tokens is not None and resp.usage.input_tokens > 0


def test_mistral_sends_dimensions_as_output_dimension(emu: Any, client: Any) -> None:
    resp = client.embed("mistral/codestral-embed", ["def f(): pass"], dimensions=256)
    assert emu.last_request.json() == {
        "model": "codestral-embed",
        "input": ["def f(): pass"],
        "encoding_format": "base64",
        "output_dimension": 256,
    }
    assert resp.vectors == [vector("def f(): pass", 256)]


def test_mistral_output_dtype_asks_for_plain_lists(emu: Any, client: Any) -> None:
    resp = client.embed("mistral/codestral-embed", ["x"], extra_body={"output_dtype": "int8"})
    assert emu.last_request.json() == {"model": "codestral-embed", "input": ["x"], "output_dtype": "int8"}
    assert resp.vectors == [[float(round(v * 256)) for v in vector("x", 1536)]]


def test_mistral_refuses_unknown_fields_with_422_extra_forbidden(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.BadRequestError) as info:
        client.embed("mistral/mistral-embed", ["a"], extra_body={"dimensions": 8})
    assert info.value.status == 422
    assert info.value.body["message"]["detail"][0]["loc"] == ["body", "dimensions"]
    with pytest.raises(llmkit.BadRequestError, match="output_dimension 8 is not supported"):
        client.embed("mistral/mistral-embed", ["a"], dimensions=8)


def test_mistral_chat_models_do_not_embed(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="mistral-large-latest is a chat model"):
        client.embed("mistral/mistral-large-latest", ["a"])
    assert emu.requests == []


# -- Together, Fireworks, DeepInfra ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path", "dims"),
    [
        ("fireworks/nomic-ai/nomic-embed-text-v1.5", "/fireworks/inference/v1/embeddings", 768),
        ("deepinfra/BAAI/bge-m3", "/deepinfra/v1/openai/embeddings", 1024),
    ],
)
def test_openai_compatible_embeddings(emu: Any, client: Any, model: str, path: str, dims: int) -> None:
    resp = client.embed(model, TEXTS)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", path)
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    model_id = model.split("/", 1)[1]
    assert req.json() == {"model": model_id, "input": TEXTS, "encoding_format": "base64"}
    assert resp.vectors == [vector(t, dims) for t in TEXTS]
    assert (resp.provider, resp.model) == (model.split("/")[0], model_id)


def test_together_sends_only_model_and_input_and_reads_floats(emu: Any, client: Any) -> None:
    resp = client.embed("together/togethercomputer/m2-bert-80M-8k-retrieval", TEXTS)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/together/v1/embeddings")
    assert req.json() == {"model": "togethercomputer/m2-bert-80M-8k-retrieval", "input": TEXTS}
    assert isinstance(resp.raw[0]["data"][0]["embedding"], list)  # floats, not base64
    assert resp.vectors == [vector(t, 768) for t in TEXTS]
    assert resp.usage.input_tokens is None and resp.cost_usd is None


def test_together_has_no_size_field_so_dimensions_fails_before_any_request(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="TextEmbeddingRequest"):
        client.embed("together/BAAI/bge-large-en-v1.5", ["a"], dimensions=256)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="input_type"):
        client.embed("fireworks/nomic-ai/nomic-embed-text-v1.5", ["a"], input_type="query")
    assert emu.requests == []


def test_fireworks_dimensions_shorten_matryoshka_vectors(emu: Any, client: Any) -> None:
    resp = client.embed("fireworks/nomic-ai/nomic-embed-text-v1.5", ["a"], dimensions=128)
    assert emu.last_request.json()["dimensions"] == 128
    assert resp.vectors == [vector("a", 128)]
    with pytest.raises(llmkit.BadRequestError, match="dimensions 128 is not supported"):
        client.embed("fireworks/thenlper/gte-large", ["a"], dimensions=128)


def test_batches_keep_the_order_and_sum_usage(emu: Any, client: Any) -> None:
    texts = [f"passage number {i}" for i in range(23)]
    resp = client.embed("deepinfra/sentence-transformers/all-MiniLM-L6-v2", texts, batch_size=10)
    sent = [r.json()["input"] for r in emu.requests]
    assert [len(s) for s in sent] == [10, 10, 3]
    assert [t for s in sent for t in s] == texts
    assert resp.vectors == [vector(t, 384) for t in texts]
    assert resp.usage.input_tokens == sum(r["usage"]["prompt_tokens"] for r in resp.raw)


def test_lists_over_the_per_request_limit_are_split_at_2048(emu: Any, client: Any) -> None:
    texts = [f"t{i}" for i in range(2050)]
    resp = client.embed("mistral/codestral-embed", texts, dimensions=2)
    assert [len(r.json()["input"]) for r in emu.requests] == [2048, 2]
    assert resp.vectors[2049] == vector("t2049", 2) and len(resp.vectors) == 2050


def test_providers_without_embeddings_fail_before_any_request(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="does not support embeddings"):
        client.embed("groq/meta-llama/llama-4-scout-17b-16e-instruct", ["a"])
    with pytest.raises(llmkit.UnsupportedFeatureError, match="together/meta-llama/Llama-3.3-70B-Instruct-Turbo"):
        client.embed("together/meta-llama/Llama-3.3-70B-Instruct-Turbo", ["a"])
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.embed("cerebras/some-embedder", ["a"])
    assert emu.requests == []


def test_unknown_embedding_model_is_the_providers_404(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.NotFoundError, match="does not exist"):
        client.embed("deepinfra/not-a-real/embedder", ["a"])


def test_servers_that_run_any_model_embed_by_name(emu: Any, client: Any) -> None:
    resp = client.embed("vllm/BAAI/bge-m3", TEXTS[:2], dimensions=None)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/vllm/v1/embeddings")
    assert req.json() == {"model": "BAAI/bge-m3", "input": TEXTS[:2], "encoding_format": "base64"}
    assert resp.vectors == [vector(t, 1024) for t in TEXTS[:2]]
    resp = client.embed("lmstudio/text-embedding-nomic-embed-text-v1.5", "local")
    assert emu.last_request.path == "/lmstudio/v1/embeddings"
    assert resp.vectors == [vector("local", 1024)]


def test_sambanova_embeddings(emu: Any, client: Any) -> None:
    resp = client.embed("sambanova/E5-Mistral-7B-Instruct", TEXTS)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/sambanova/v1/embeddings")
    assert req.headers["authorization"] == f"Bearer {emu.api_key}"
    assert req.json() == {"model": "E5-Mistral-7B-Instruct", "input": TEXTS, "encoding_format": "base64"}
    assert resp.vectors == [vector(t, 4096) for t in TEXTS]


# -- Ollama ------------------------------------------------------------------------------------


def test_ollama_embed_native_body_and_response(emu: Any) -> None:
    with emu.client(keep_alive="10m") as c:
        resp = c.embed("ollama/nomic-embed-text", TEXTS, dimensions=256, extra_body={"truncate": True})
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/ollama/api/embed")
    assert req.json() == {
        "model": "nomic-embed-text",
        "input": TEXTS,
        "dimensions": 256,
        "keep_alive": "10m",
        "truncate": True,
    }
    assert resp.vectors == [vector(t, 256) for t in TEXTS]
    assert resp.usage.input_tokens == resp.raw[0]["prompt_eval_count"] > 0
    assert (resp.provider, resp.model, resp.cost_usd) == ("ollama", "nomic-embed-text", None)


def test_ollama_embed_batches_of_512(emu: Any, client: Any) -> None:
    texts = [f"line {i}" for i in range(600)]
    resp = client.embed("ollama/all-minilm", texts)
    assert [len(r.json()["input"]) for r in emu.requests] == [512, 88]
    assert resp.vectors == [vector(t, 384) for t in texts]


def test_ollama_embed_errors_are_typed(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="ollama/llama3.2 is a chat model"):
        client.embed("ollama/llama3.2", ["a"])
    assert emu.requests == []
    with pytest.raises(llmkit.NotFoundError, match="try pulling it first"):
        client.embed("ollama/bge-m3", ["a"])  # not catalogued, so allowed; not pulled here
    with pytest.raises(llmkit.BadRequestError, match="exceeds the context length"):
        client.embed("ollama/all-minilm", ["word " * 400], extra_body={"truncate": False})
    # Past llmkit's check (native client), the emulated server refuses a chat model as Ollama does.
    with pytest.raises(llmkit.BadRequestError, match='"llama3.2" does not support embeddings'):
        client.native("ollama").embed(model="llama3.2", input="a")
    with pytest.raises(llmkit.BadRequestError, match="model is required"):
        client.native("ollama").embed(model="", input="a")


def test_embed_async_on_the_compatible_hosts(emu: Any) -> None:
    async def run() -> list[Any]:
        async with emu.async_client() as ac:
            return [
                await ac.embed("mistral/mistral-embed", TEXTS, batch_size=2),
                await ac.embed("ollama/mxbai-embed-large", TEXTS[0]),
                await ac.embed("azure/text-embedding-ada-002", TEXTS),
            ]

    mistral, ollama, azure = asyncio.run(run())
    assert mistral.vectors == [vector(t, 1024) for t in TEXTS] and len(mistral.raw) == 2
    assert ollama.vectors == [vector(TEXTS[0], 1024)]
    assert azure.vectors == [vector(t, 1536) for t in TEXTS]
