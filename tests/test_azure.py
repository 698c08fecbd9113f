"""Azure OpenAI on the wire: deployment URL, api-version, both credential forms, the v1 API,
content filtering and Azure's choice-less first stream chunk."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import llmkit
from llmkit._registry import provider_spec
from llmkit._settings import resolve_settings
from llmkit.dialects.openai_chat import DIALECT
from llmkit.overrides.azure import AzureAuth, auth

# Azure's first stream chunk, verbatim from the reference (wire-facts-core.md §2).
FIRST_CHUNK = (
    '{"id":"","choices":[],"created":0,"model":"","object":"","system_fingerprint":null,"prompt_filter_results":'
    '[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":'
    '{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":'
    '{"filtered":false,"severity":"safe"}}}]}'
)


def azure_client(emu, **settings) -> llmkit.Client:  # type: ignore[no-untyped-def]
    return llmkit.Client(providers={"azure": {"base_url": emu.base_url("azure"), "max_retries": 0, **settings}})


def test_deployment_url_api_version_and_api_key_header(emu, client) -> None:
    resp = client.chat("azure/my-gpt4o", [{"role": "user", "content": "Hi"}], max_tokens=10)
    req = emu.last_request
    assert req.method == "POST"
    assert req.path == "/azure/openai/deployments/my-gpt4o/chat/completions"
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == "test-key"
    assert "authorization" not in req.headers
    assert req.json() == {
        "model": "my-gpt4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 10,
    }
    assert resp.text == "You said: Hi" and resp.provider == "azure"
    assert resp.raw["prompt_filter_results"][0]["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }


def test_api_version_setting_and_encoded_deployment(emu) -> None:
    with azure_client(emu, api_key="k", api_version="2025-04-01-preview") as c:
        c.chat("azure/team a/gpt", "Hi")
    req = emu.last_request
    assert req.path == "/azure/openai/deployments/team%20a%2Fgpt/chat/completions"
    assert req.query == {"api-version": "2025-04-01-preview"}
    assert req.headers["api-key"] == "k"


def test_entra_token_is_a_bearer_and_wins_over_a_key(emu) -> None:
    with azure_client(emu, azure_ad_token="entra-token") as c:
        c.chat("azure/gpt-4o", "Hi")
    assert emu.last_request.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in emu.last_request.headers
    with azure_client(emu, api_key="the-key", azure_ad_token="entra-token") as c:
        c.chat("azure/gpt-4o", "Hi")
    assert emu.last_request.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in emu.last_request.headers


def test_token_provider_is_called_per_request(emu) -> None:
    tokens = iter(["tok-1", "tok-2"])
    with azure_client(emu, azure_ad_token=lambda: next(tokens)) as c:
        c.chat("azure/gpt-4o", "Hi")
        first = emu.last_request.headers["authorization"]
        c.chat("azure/gpt-4o", "Hi")
    assert (first, emu.last_request.headers["authorization"]) == ("Bearer tok-1", "Bearer tok-2")


def test_credentials_from_env(emu, monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "env-token")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    with azure_client(emu) as c:
        c.chat("azure/gpt-4o", "Hi")
    assert emu.last_request.headers["authorization"] == "Bearer env-token"
    assert emu.last_request.query == {"api-version": "2024-06-01"}


def test_no_credentials_names_both_ways(emu) -> None:
    with azure_client(emu) as c, pytest.raises(llmkit.ConfigError) as err:
        c.chat("azure/gpt-4o", "Hi")
    assert "api_key" in str(err.value) and "azure_ad_token" in str(err.value)
    assert "AZURE_OPENAI_API_KEY" in str(err.value)
    assert emu.requests == []


def test_failing_token_callable_is_a_config_error_without_a_request(emu) -> None:
    with azure_client(emu, azure_ad_token=lambda: "") as c, pytest.raises(llmkit.ConfigError, match="azure_ad_token"):
        c.chat("azure/gpt-4o", "Hi")
    assert emu.requests == []


def test_key_rotation_on_a_live_client(emu) -> None:
    with azure_client(emu, api_key="old-key") as c:
        c.chat("azure/gpt-4o", "Hi")
        c._settings("azure", provider_spec("azure")).update(api_key="new-key")
        c.chat("azure/gpt-4o", "Hi")
    assert [r.headers["api-key"] for r in emu.requests] == ["old-key", "new-key"]


def test_base_url_is_required(emu) -> None:
    with llmkit.Client(providers={"azure": {"api_key": "k"}}) as c, pytest.raises(llmkit.ConfigError, match="base_url"):
        c.chat("azure/gpt-4o", "Hi")


def test_v1_api_path_has_no_api_version(emu) -> None:
    with azure_client(emu, api_key="k", api_version="v1") as c:
        resp = c.chat("azure/my-deployment", "Hi", max_tokens=5)
    req = emu.last_request
    assert req.path == "/azure/openai/v1/chat/completions"
    assert req.query == {}
    assert req.json()["model"] == "my-deployment"
    assert req.headers["api-key"] == "k"
    assert resp.text == "You said: Hi"
    with azure_client(emu, azure_ad_token="t", api_version="preview") as c:
        c.chat("azure/my-deployment", "Hi")
    assert (emu.last_request.path, emu.last_request.query) == (
        "/azure/openai/v1/chat/completions",
        {"api-version": "preview"},
    )


def test_stream_with_empty_first_chunk(emu, client) -> None:
    with client.chat("azure/gpt-4o-mini", "Hello there", stream=True) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_response()
    assert emu.last_request.query == {"api-version": "2024-10-21"}
    assert emu.last_request.json()["stream_options"] == {"include_usage": True}
    assert text == "You said: Hello there"
    assert final.id == "chatcmpl-emu"  # not the first chunk's empty id
    assert final.model == "gpt-4o-mini"
    assert final.raw["prompt_filter_results"][0]["prompt_index"] == 0
    assert (final.usage.input_tokens, final.usage.output_tokens) == (2, 4)


def test_verbatim_first_chunk_then_content_filter_finish(emu, client) -> None:
    chunk = (
        '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,'
        '"delta":{"content":"Par"},"finish_reason":null,"content_filter_results":{}}]}'
    )
    end = (
        '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,'
        '"delta":{},"finish_reason":"content_filter","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]}'
    )
    emu.queue_stream(
        "azure", [f"data: {FIRST_CHUNK}\n\n", f"data: {chunk}\n\n", f"data: {end}\n\n", "data: [DONE]\n\n"]
    )
    final = client.chat("azure/gpt-4o", "Hi", stream=True).get_final_response()
    assert (final.text, final.finish_reason, final.raw_finish_reason) == ("Par", "content_filter", "content_filter")
    assert final.id == "chatcmpl-9"


def test_filtered_prompt_is_a_content_filter_error(emu, client) -> None:
    emu.queue_error(
        "azure",
        400,
        "The response was filtered due to the prompt triggering Azure's content management policy.",
        "content_filter",
    )
    with pytest.raises(llmkit.ContentFilterError) as err:
        client.chat("azure/gpt-4o", "something filtered")
    assert err.value.status == 400 and err.value.code == "content_filter" and err.value.provider == "azure"
    assert err.value.body["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"


def test_filtered_answer_finish_reason(emu, client) -> None:
    emu.queue_json(
        "azure",
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "content_filter",
                    "message": {"role": "assistant", "content": None},
                    "content_filter_results": {"violence": {"filtered": True, "severity": "medium"}},
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5},
        },
    )
    resp = client.chat("azure/gpt-4o", "Hi")
    assert (resp.finish_reason, resp.text) == ("content_filter", "")
    assert resp.raw["choices"][0]["content_filter_results"]["violence"]["filtered"] is True


def test_errors_in_azure_shape(emu, client) -> None:
    emu.queue_error(
        "azure",
        429,
        "Requests to the ChatCompletions_Create Operation have exceeded the limit.",
        headers={"retry-after-ms": "1500"},
    )
    with pytest.raises(llmkit.RateLimitError) as err:
        client.chat("azure/gpt-4o", "Hi")
    assert (err.value.code, err.value.retry_after) == ("429", 1.5)
    emu.queue_error("azure", 404, "The API deployment for this resource does not exist.", "DeploymentNotFound")
    with pytest.raises(llmkit.NotFoundError) as nf:
        client.chat("azure/missing", "Hi")
    assert nf.value.code == "DeploymentNotFound"


def test_emulator_is_strict_about_api_version_and_credentials(emu) -> None:
    with azure_client(emu, api_key="k", api_version="last-tuesday") as c, pytest.raises(llmkit.NotFoundError):
        c.chat("azure/gpt-4o", "Hi")
    r = httpx.post(emu.base_url("azure") + "/openai/deployments/d/chat/completions?api-version=2024-10-21", json={})
    assert r.status_code == 401 and "subscription key" in r.json()["error"]["message"]


def test_native_client_fills_api_version_and_credentials(emu, client) -> None:
    native = client.native("azure")
    out = native.create_chat_completion("dep-1", {"messages": [{"role": "user", "content": "native"}]})
    assert out.choices[0].message.content == "You said: native"
    req = emu.last_request
    assert (req.path, req.query, req.headers["api-key"]) == (
        "/azure/openai/deployments/dep-1/chat/completions",
        {"api-version": "2024-10-21"},
        "test-key",
    )
    assert [m.id for m in native.list_models().data] == ["gpt-4o", "gpt-4o-mini"]
    assert emu.last_request.query == {"api-version": "2024-10-21"}


def test_async_client(emu) -> None:
    async def run() -> str:
        async with emu.async_client() as aclient:
            resp = await aclient.chat("azure/gpt-4o", "async hi")
            return str(resp.text)

    assert asyncio.run(run()) == "You said: async hi"
    assert emu.last_request.headers["api-key"] == "test-key"


def test_auth_never_shows_credentials() -> None:
    spec = provider_spec("azure")
    a = auth(resolve_settings(spec, {"api_key": "sk-secret", "base_url": "https://r.openai.azure.com"}))
    assert isinstance(a, AzureAuth) and repr(a) == "AzureAuth(api-key)" and "sk-secret" not in repr(a)
    with pytest.raises(llmkit.ConfigError, match="no credentials"):
        auth(resolve_settings(spec, {"base_url": "https://r.openai.azure.com"}))
    t = auth(resolve_settings(spec, {"azure_ad_token": "eyJ-secret", "base_url": "https://r.openai.azure.com"}))
    assert repr(t) == "AzureAuth(entra-token)"


def test_chat_request_is_built_from_the_spec_alone() -> None:
    """The adapter reads path, query and v1 switch from the spec and settings: no Azure branch."""
    from llmkit._types import ChatRequest, Message
    from llmkit.dialects._base import CallContext

    spec = provider_spec("azure")
    req = ChatRequest(model="d/1", messages=[Message(role="user", content="x")])
    wire = DIALECT.chat_request(req, CallContext(spec=spec, model="d/1", settings={"api_version": "2024-10-21"}))
    assert (wire.path, wire.query) == ("/openai/deployments/d%2F1/chat/completions", {"api-version": "2024-10-21"})
    with pytest.raises(llmkit.ConfigError, match="api_version"):
        DIALECT.chat_request(req, CallContext(spec=spec, model="d/1", settings={}))
