"""Bedrock beyond Converse on the wire: embeddings through InvokeModel (Titan, Cohere), signed
with SigV4 (verified by the emulator over the exact bytes) or a Bedrock API key, and exact
token counts through CountTokens."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import pytest

import llmkit
from llmkit.testing._bedrock_emu import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from llmkit.testing._bedrock_invoke import embedding_vector
from llmkit.testing._brain import count_tokens
from llmkit.testing._media_emu import input_tokens

TITAN = "amazon.titan-embed-text-v2:0"
TITAN_PATH = "/bedrock/model/amazon.titan-embed-text-v2%3A0/invoke"
TEXTS = ["Paris is the capital of France", "Bananas are yellow", "Rome is in Italy"]
SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\d{8}/us-west-2/bedrock/aws4_request, "
    r"SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$"
)
SONNET = "bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _settings(emu: Any, **over: Any) -> dict[str, Any]:
    return {
        "base_url": emu.base_url("bedrock"),
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        "region": "us-west-2",
        "max_retries": 0,
        **over,
    }


def _client(emu: Any, **over: Any) -> llmkit.Client:
    return llmkit.Client(providers={"bedrock": _settings(emu, **over)})


# -- Titan: one text per InvokeModel call ------------------------------------------------------------


def test_titan_sends_one_signed_invoke_per_text_in_order(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed(f"bedrock/{TITAN}", TEXTS, dimensions=256)
    assert len(emu.requests) == 3
    for req, text in zip(emu.requests, TEXTS, strict=True):
        assert (req.method, req.path, req.query) == ("POST", TITAN_PATH, {})
        assert SIGV4.match(req.headers["authorization"])  # and the emulator recomputed it over these bytes
        assert req.headers["content-type"] == "application/json"
        assert req.headers["accept"] == "application/json"
        assert re.fullmatch(r"\d{8}T\d{6}Z", req.headers["x-amz-date"])
        assert req.json() == {"inputText": text, "dimensions": 256}
    assert resp.vectors == [embedding_vector(TITAN, t, 256) for t in TEXTS]
    tokens = sum(max(count_tokens(t), 1) for t in TEXTS)
    assert resp.usage.input_tokens == tokens  # inputTextTokenCount, summed over the calls
    assert resp.cost_usd == round(tokens * 0.02 / 1_000_000, 10)
    assert (resp.provider, resp.model, len(resp.raw)) == ("bedrock", TITAN, 3)
    assert resp.raw[0]["inputTextTokenCount"] == max(count_tokens(TEXTS[0]), 1)


def test_titan_extra_body_fields_and_default_size(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed(f"bedrock/{TITAN}", "hello", extra_body={"normalize": True, "embeddingTypes": ["float"]})
    assert emu.last_request.json() == {"inputText": "hello", "normalize": True, "embeddingTypes": ["float"]}
    assert resp.vectors == [embedding_vector(TITAN, "hello")] and len(resp.vectors[0]) == 1024
    assert resp.raw[0]["embeddingsByType"] == {"float": resp.vectors[0]}


def test_titan_async_keeps_the_order_across_many_calls(emu: Any) -> None:
    texts = [f"sentence number {i}" for i in range(10)]

    async def run() -> Any:
        async with llmkit.AsyncClient(providers={"bedrock": _settings(emu)}) as ac:
            return await ac.embed(f"bedrock/{TITAN}", texts)

    resp = asyncio.run(run())
    assert sorted(r.json()["inputText"] for r in emu.requests) == sorted(texts)
    assert all(SIGV4.match(r.headers["authorization"]) for r in emu.requests)
    assert resp.vectors == [embedding_vector(TITAN, t) for t in texts]


# -- Cohere on Bedrock: up to 96 texts, input_type required, usage in a header -------------------------


def test_cohere_with_an_api_key_batches_of_96_in_order(emu: Any) -> None:
    texts = [f"doc {i}" for i in range(200)]
    with _client(emu, api_key="bedrock-api-key-123") as c:
        resp = c.embed("bedrock/cohere.embed-english-v3", texts, input_type="query")
    sent = [r.json() for r in emu.requests]
    assert [r.path for r in emu.requests] == ["/bedrock/model/cohere.embed-english-v3/invoke"] * 3
    assert all(r.headers["authorization"] == "Bearer bedrock-api-key-123" for r in emu.requests)
    assert all("x-amz-date" not in r.headers for r in emu.requests)
    assert sent[0] == {"texts": texts[:96], "input_type": "search_query", "embedding_types": ["float"]}
    assert [len(s["texts"]) for s in sent] == [96, 96, 8]
    assert [t for s in sent for t in s["texts"]] == texts
    assert resp.vectors == [embedding_vector("cohere.embed-english-v3", t, 1024, "search_query") for t in texts]
    tokens = input_tokens(texts[:96]) + input_tokens(texts[96:192]) + input_tokens(texts[192:])
    assert resp.usage.input_tokens == tokens  # from x-amzn-bedrock-input-token-count
    assert resp.cost_usd == round(tokens * 0.1 / 1_000_000, 10)


def test_cohere_defaults_to_documents_and_v4_takes_output_dimension(emu: Any) -> None:
    with _client(emu) as c:
        c.embed("bedrock/cohere.embed-multilingual-v3", ["Привет"], extra_body={"truncate": "END"})
        first = emu.last_request.json()
        v4 = c.embed("bedrock/cohere.embed-v4:0", TEXTS[:2], dimensions=512)
    assert first == {
        "texts": ["Привет"],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "truncate": "END",
    }
    assert emu.last_request.path == "/bedrock/model/cohere.embed-v4%3A0/invoke"
    assert emu.last_request.json() == {
        "texts": TEXTS[:2],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "output_dimension": 512,
    }
    assert v4.vectors == [embedding_vector("cohere.embed-v4:0", t, 512, "search_document") for t in TEXTS[:2]]
    assert v4.cost_usd is None  # no reviewed price for Embed v4 on Bedrock


def test_a_cross_region_profile_id_goes_into_the_path_as_given(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.embed("bedrock/us.cohere.embed-v4:0", ["x"], input_type="query")
    assert emu.last_request.path == "/bedrock/model/us.cohere.embed-v4%3A0/invoke"
    assert resp.vectors == [embedding_vector("us.cohere.embed-v4:0", "x", 1536, "search_query")]


def test_cohere_list_shape_without_a_token_header(emu: Any) -> None:
    """The `embeddings_floats` answer (a plain list), as Bedrock sends without embedding_types."""
    recorded = {
        "id": "c9a5e0b4-5f6a-4a55-9d5c-6f1c1b0e2a11",
        "response_type": "embeddings_floats",
        "embeddings": [[0.25, -0.5], [0.125, 0.0]],
        "texts": ["a", "b"],
    }
    emu.queue_json("bedrock", recorded)
    with _client(emu) as c:
        resp = c.embed("bedrock/cohere.embed-english-v3", ["a", "b"])
    assert resp.vectors == [[0.25, -0.5], [0.125, 0.0]]
    assert resp.usage.input_tokens is None and resp.cost_usd is None


def test_a_short_answer_is_an_error_not_a_silent_gap(emu: Any) -> None:
    emu.queue_json("bedrock", {"response_type": "embeddings_by_type", "embeddings": {"float": [[0.5]]}})
    with _client(emu) as c, pytest.raises(llmkit.LLMKitError, match="1 embeddings for 2 inputs"):
        c.embed("bedrock/cohere.embed-english-v3", ["a", "b"])


# -- refusals before any request, and the provider's refusals typed -------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        (f"bedrock/{TITAN}", {"input_type": "query"}, "input_type"),
        ("bedrock/cohere.embed-english-v3", {"dimensions": 256}, "only Cohere Embed v4"),
        ("bedrock/amazon.nova-pro-v1:0", {}, "is a chat model"),
        ("bedrock/mistral.mistral-embed-v1:0", {}, "Titan Text Embeddings and Cohere Embed"),
    ],
)
def test_unsupported_raises_before_any_request(emu: Any, model: str, kwargs: dict[str, Any], match: str) -> None:
    with _client(emu) as c, pytest.raises(llmkit.UnsupportedFeatureError, match=match):
        c.embed(model, ["a"], **kwargs)
    assert emu.requests == []


def test_provider_refusals_are_typed(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.BadRequestError, match="#/dimensions: 300 is not a valid enum value") as dims:
            c.embed(f"bedrock/{TITAN}", "a", dimensions=300)
        with pytest.raises(llmkit.BadRequestError, match=r"extraneous key \[colour\] is not permitted"):
            c.embed("bedrock/cohere.embed-english-v3", ["a"], extra_body={"colour": 1})
    assert dims.value.status == 400 and dims.value.provider == "bedrock" and dims.value.request_id
    assert dims.value.body == {"message": dims.value.body["message"]}
    with (
        _client(emu, aws_secret_access_key="not-the-secret") as c,
        pytest.raises(llmkit.AuthenticationError, match="signature we calculated does not match") as sig,
    ):
        c.embed(f"bedrock/{TITAN}", "a")
    assert sig.value.status == 403


def test_the_signature_covers_the_body_sent(emu: Any) -> None:
    """Changing one byte of a signed InvokeModel body makes the emulator refuse it."""
    import httpx

    with _client(emu) as c:
        c.embed(f"bedrock/{TITAN}", "original")
    signed = emu.last_request
    forged = signed.body.replace(b"original", b"tampered")
    headers = {k: v for k, v in signed.headers.items() if k in ("authorization", "x-amz-date", "content-type")}
    r = httpx.post(
        emu.base_url("bedrock") + "/model/amazon.titan-embed-text-v2%3A0/invoke", content=forged, headers=headers
    )
    assert r.status_code == 403 and r.headers["x-amzn-errortype"].startswith("InvalidSignatureException")


# -- CountTokens --------------------------------------------------------------------------------------


def test_count_tokens_on_the_wire_is_exact(emu: Any) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How many tokens is this?"}]
    with _client(emu) as c:
        n = c.count_tokens(SONNET, messages)
    req = emu.last_request
    assert (req.method, req.path) == (
        "POST",
        "/bedrock/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens",
    )
    assert SIGV4.match(req.headers["authorization"])
    assert req.json() == {
        "input": {
            "converse": {
                "messages": [{"role": "user", "content": [{"text": "How many tokens is this?"}]}],
                "system": [{"text": "Be brief."}],
            }
        }
    }
    assert (n.count, n.exact, n.method, n.provider) == (
        count_tokens("Be brief. How many tokens is this?"),
        True,
        "provider",
        "bedrock",
    )


def test_count_tokens_async_with_tools(emu: Any) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}

    async def run() -> Any:
        async with llmkit.AsyncClient(providers={"bedrock": _settings(emu, api_key="k")}) as ac:
            return await ac.count_tokens("bedrock/anthropic.claude-haiku-4-5-20251001-v1:0", "hi there", tools=[tool])

    n = asyncio.run(run())
    body = emu.last_request.json()["input"]["converse"]
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "lookup"
    assert emu.last_request.headers["authorization"] == "Bearer k"
    assert n.exact and n.count >= 1


def test_count_tokens_only_where_the_catalog_says_so(emu: Any) -> None:
    with _client(emu) as c:
        for model in (
            "bedrock/amazon.nova-pro-v1:0",
            f"bedrock/{TITAN}",
            "bedrock/us.meta.llama3-3-70b-instruct-v1:0",
        ):
            with pytest.raises(llmkit.UnsupportedFeatureError, match="token counting"):
                c.count_tokens(model, "hi")
    assert emu.requests == []


def test_the_emulated_count_tokens_is_strict(emu: Any) -> None:
    native_body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "count me please"}],
    }
    encoded = base64.b64encode(json.dumps(native_body).encode()).decode()
    with _client(emu) as c:
        bedrock = c.native("bedrock")
        out = bedrock.count_tokens(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0", {"input": {"invokeModel": {"body": encoded}}}
        )
        with pytest.raises(llmkit.BadRequestError, match="doesn't support counting tokens"):
            bedrock.count_tokens(
                "amazon.nova-pro-v1:0",
                {"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "x"}]}]}}},
            )
        with pytest.raises(llmkit.BadRequestError, match="exactly one of converse and invokeModel"):
            bedrock.count_tokens("global.anthropic.claude-sonnet-4-5-20250929-v1:0", {"input": {}})
    assert out.input_tokens == count_tokens("count me please")


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        ("cohere.embed-english-v3", {"texts": ["a"]}, r"required key \[input_type\] not found"),
        ("cohere.embed-english-v3", {"texts": ["a"] * 97, "input_type": "search_query"}, "between 1 and 96 items"),
        ("cohere.embed-english-v3", {"texts": ["a"], "input_type": "x"}, "Malformed input request"),
        (
            "cohere.embed-english-v3",
            {"texts": ["a"], "input_type": "search_query", "output_dimension": 256},
            "output_dimension",
        ),
        (TITAN, {"inputText": ""}, "minLength"),
        (TITAN, {"texts": ["a"]}, r"extraneous key \[texts\]"),
        ("amazon.nova-pro-v1:0", {"inputText": "a"}, "embedding models only"),
    ],
)
def test_the_emulated_invoke_model_is_strict(emu: Any, model: str, body: dict[str, Any], message: str) -> None:
    with _client(emu) as c, pytest.raises(llmkit.BadRequestError, match=message):
        c.native("bedrock").invoke_model(model, body)


def test_native_invoke_model_returns_the_model_json(emu: Any) -> None:
    with _client(emu) as c:
        out = c.native("bedrock").invoke_model(TITAN, {"inputText": "native", "dimensions": 512})
    assert out.additional_properties["embedding"] == embedding_vector(TITAN, "native", 512)
    assert emu.last_request.path == TITAN_PATH and SIGV4.match(emu.last_request.headers["authorization"])
