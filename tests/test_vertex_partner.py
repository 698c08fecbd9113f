"""Vertex partner models on the wire: Llama and other open models through the OpenAI-compatible
MaaS endpoint, Mistral through publishers/mistralai rawPredict with the version in the URL and
Mistral's strict body; routing by catalog id and family, the Vertex token, and the refusals
made before any request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import llmkit
from llmkit.dialects._vertex_routes import Route, route

from .conftest import split_every

WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
ROOT = "/vertex/v1/projects/proj-1/locations/us-central1"
MAAS = f"{ROOT}/endpoints/openapi/chat/completions"
MISTRAL = f"{ROOT}/publishers/mistralai/models"
TOKEN = "ya29.tok-given"


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_CLOUD_PROJECT", "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_CLOUD_LOCATION", "CLOUD_ML_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)


def _client(emu: Any, **over: Any) -> llmkit.Client:
    emu.require_key = TOKEN
    settings = {
        "base_url": emu.base_url("vertex"),
        "project": "proj-1",
        "location": "us-central1",
        "access_token": TOKEN,
        "max_retries": 0,
        **over,
    }
    return llmkit.Client(providers={"vertex": settings})


def _compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


# -- routing -------------------------------------------------------------------------------------


def test_routes_by_catalog_id_then_family() -> None:
    from llmkit._registry import model_info

    assert route("meta/llama-3.3-70b-instruct-maas", None) == Route(
        publisher="openapi", url_model="meta/llama-3.3-70b-instruct-maas", body_model="meta/llama-3.3-70b-instruct-maas"
    )
    alias = model_info("vertex", "llama-3.3-70b-instruct-maas")
    assert route("llama-3.3-70b-instruct-maas", alias).body_model == "meta/llama-3.3-70b-instruct-maas"
    small = model_info("vertex", "mistral-small-2503")
    assert route("mistral-small-2503", small) == Route(
        publisher="mistralai", url_model="mistral-small-2503@001", body_model="mistral-small-2503"
    )
    assert route("mistralai/mistral-large@2411", None) == Route(
        publisher="mistralai", url_model="mistral-large@2411", body_model="mistral-large"
    )
    assert route("claude-haiku-4-5@20251001", None).publisher == "anthropic"
    assert route("google/gemini-2.0-flash-001", None).publisher == "openapi"
    assert route("models/gemini-2.5-flash", None).publisher == "google"
    assert route("gemini-2.5-flash", None).publisher == "google"
    with pytest.raises(llmkit.ConfigError, match="called by version"):
        route("mistral-tiny", None)
    with pytest.raises(llmkit.ConfigError, match="vertex/meta/llama-9-maas"):
        route("llama-9-maas", None)


# -- Llama and other open models: the OpenAI-compatible MaaS endpoint -------------------------------


def test_llama_chat_on_the_wire(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.chat(
            "vertex/meta/llama-3.3-70b-instruct-maas",
            [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            max_tokens=50,
            temperature=0.2,
        )
    assert resp.text == "You said: Hi there" and resp.provider == "vertex"
    assert resp.model == "meta/llama-3.3-70b-instruct-maas" and resp.finish_reason == "stop"
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (4, 4)
    assert resp.cost_usd is None  # no reviewed price for partner models
    req = emu.last_request
    assert req.method == "POST" and req.path == MAAS and req.query == {}
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert "x-goog-api-key" not in req.headers
    assert req.body == _compact(
        {
            "model": "meta/llama-3.3-70b-instruct-maas",
            "messages": [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            "max_tokens": 50,
            "temperature": 0.2,
        }
    )


def test_catalog_alias_sends_the_publisher_prefixed_id(emu: Any) -> None:
    with _client(emu) as c:
        assert c.chat("vertex/llama-3.3-70b-instruct-maas", "Hi").text == "You said: Hi"
    assert emu.last_request.json()["model"] == "meta/llama-3.3-70b-instruct-maas"


def test_llama_stream_and_tool_calls(emu: Any) -> None:
    with _client(emu) as c:
        stream = c.chat("vertex/meta/llama-3.3-70b-instruct-maas", "Hi there", stream=True)
        assert "".join(stream.text_stream) == "You said: Hi there"
        final = stream.get_final_response()
        assert final.usage.output_tokens == 4 and final.finish_reason == "stop"
        assert emu.last_request.path == MAAS
        assert emu.last_request.body == _compact(
            {
                "model": "meta/llama-3.3-70b-instruct-maas",
                "messages": [{"role": "user", "content": "Hi there"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        )
        first = c.chat(
            "vertex/meta/llama-3.3-70b-instruct-maas", "Weather in Paris?", tools=[WEATHER], stream=True
        ).get_final_response()
        call = first.tool_calls[0]
        assert (call.name, call.arguments, first.finish_reason) == ("get_weather", {"city": "Paris"}, "tool_calls")
        follow = c.chat(
            "vertex/meta/llama-3.3-70b-instruct-maas",
            [
                {"role": "user", "content": "Weather in Paris?"},
                first.message,
                {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
            ],
            tools=[WEATHER],
        )
    assert follow.text.startswith("The tool returned: ")
    sent = emu.last_request.json()
    assert sent["messages"][1]["tool_calls"] == [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}
    assert sent["tools"] == [{"type": "function", "function": WEATHER}]


def test_maas_stream_bytes_split_anywhere(emu: Any) -> None:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen/qwen3-coder"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Voilà "}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "东京"}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}},
    ]
    raw = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]\n\n"
    emu.queue_stream("vertex", split_every(raw.encode(), 5))
    with _client(emu) as c:
        final = c.chat("vertex/qwen/qwen3-coder-480b-a35b-instruct-maas", "Hi", stream=True).get_final_response()
    assert final.text == "Voilà 东京" and (final.usage.input_tokens, final.usage.output_tokens) == (7, 3)


def test_maas_refusals_are_google_shaped(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.NotFoundError, match="Model Garden"):
            c.chat("vertex/meta/llama-9-nonexistent-maas", "Hi")
        with pytest.raises(llmkit.BadRequestError, match="first message after the system prompt"):
            c.chat("vertex/meta/llama-3.3-70b-instruct-maas", [{"role": "assistant", "content": "Hello"}])
    assert emu.last_request.path == MAAS


# -- Mistral: publishers/mistralai, version in the URL, strict body ---------------------------------


def test_mistral_chat_on_the_wire(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.chat(
            "vertex/mistral-small-2503",
            [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            max_tokens=50,
            seed=7,
        )
    assert resp.text == "You said: Hi there" and resp.provider == "vertex" and resp.model == "mistral-small-2503"
    req = emu.last_request
    assert req.path == f"{MISTRAL}/mistral-small-2503@001:rawPredict" and req.query == {}
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.body == _compact(
        {
            "model": "mistral-small-2503",
            "messages": [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            "max_tokens": 50,
            "random_seed": 7,
        }
    )


@pytest.mark.parametrize(
    ("model", "url_model", "body_model"),
    [
        ("codestral-2501", "codestral-2501@001", "codestral-2501"),
        ("mistral-large-2411@001", "mistral-large-2411@001", "mistral-large-2411"),
        ("mistralai/mistral-medium-3@001", "mistral-medium-3@001", "mistral-medium-3"),
    ],
)
def test_mistral_version_from_catalog_or_model_string(emu: Any, model: str, url_model: str, body_model: str) -> None:
    with _client(emu) as c:
        assert c.chat(f"vertex/{model}", "Hi").text == "You said: Hi"
    assert emu.last_request.path == f"{MISTRAL}/{url_model}:rawPredict"
    assert emu.last_request.json()["model"] == body_model


def test_mistral_stream_tool_calls_and_foreign_ids(emu: Any) -> None:
    with _client(emu) as c:
        final = c.chat(
            "vertex/mistral-large-2411", "Weather in Paris?", tools=[WEATHER], tool_choice="required", stream=True
        ).get_final_response()
        call = final.tool_calls[0]
        assert (call.id, call.name, call.arguments) == ("emucall00", "get_weather", {"city": "Paris"})
        assert final.finish_reason == "tool_calls" and final.usage.input_tokens > 0
        req = emu.last_request
        assert req.path == f"{MISTRAL}/mistral-large-2411@001:streamRawPredict"
        assert req.body == _compact(
            {
                "model": "mistral-large-2411",
                "messages": [{"role": "user", "content": "Weather in Paris?"}],
                "tools": [{"type": "function", "function": WEATHER}],
                "tool_choice": "any",
                "stream": True,
            }
        )
        # A history made by another provider: its tool-call id is rewritten to 9 letters/digits.
        foreign = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        }
        follow = c.chat(
            "vertex/mistral-large-2411",
            [
                {"role": "user", "content": "Weather in Paris?"},
                foreign,
                {"role": "tool", "tool_call_id": "call_abc123", "content": "sunny"},
            ],
            tools=[WEATHER],
        )
    assert follow.text.startswith("The tool returned: ")
    sent = emu.last_request.json()["messages"]
    new_id = sent[1]["tool_calls"][0]["id"]
    assert len(new_id) == 9 and new_id.isalnum() and sent[2]["tool_call_id"] == new_id


def test_mistral_stream_bytes_split_anywhere(emu: Any) -> None:
    base = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-small-2503"}
    call = {"id": "D681PevKs", "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'}, "index": 0}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Un instant…"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "tool_calls"}]}
        | {"usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}},
    ]
    raw = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]\n\n"
    emu.queue_stream("vertex", split_every(raw.encode(), 7))
    with _client(emu) as c:
        final = c.chat("vertex/mistral-small-2503", "Weather?", tools=[WEATHER], stream=True).get_final_response()
    assert final.text == "Un instant…" and final.finish_reason == "tool_calls"
    assert final.tool_calls[0].id == "D681PevKs" and final.tool_calls[0].arguments == {"city": "Zürich"}
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)


def test_mistral_strictness_reaches_the_caller(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.BadRequestError, match="max_completion_tokens: Extra inputs are not permitted"):
            c.chat("vertex/mistral-small-2503", "Hi", extra_body={"max_completion_tokens": 5})
        with pytest.raises(llmkit.NotFoundError, match="valid model version"):
            c.chat("vertex/mistral-small-2503@009", "Hi")
        with pytest.raises(llmkit.BadRequestError, match="Unexpected role 'user' after role 'tool'"):
            c.chat(
                "vertex/mistral-small-2503",
                [
                    {"role": "user", "content": "Weather?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "abcDEF123", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "abcDEF123", "content": "sunny"},
                    {"role": "user", "content": "Thanks"},
                ],
            )


def test_emulator_holds_the_mistral_body_to_vertex_rules(emu: Any) -> None:
    """What a hand-made request gets wrong: the model in the body must be the versionless name,
    and the verb and `stream` must agree."""
    emu.require_key = TOKEN
    url = emu.url + f"{MISTRAL}/mistral-small-2503@001"
    auth = {"authorization": f"Bearer {TOKEN}"}
    msgs = [{"role": "user", "content": "Hi"}]
    with httpx.Client(headers=auth) as h:
        r = h.post(url + ":rawPredict", json={"model": "mistral-small-2503@001", "messages": msgs})
        assert r.status_code == 400 and r.json()["object"] == "error"
        r = h.post(url + ":rawPredict", json={"messages": msgs})
        assert r.status_code == 422
        r = h.post(url + ":streamRawPredict", json={"model": "mistral-small-2503", "messages": msgs})
        assert r.status_code == 400
        r = h.post(url + ":rawPredict", json={"model": "mistral-small-2503", "messages": msgs})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "You said: Hi"
        r = httpx.post(url + ":rawPredict", json={"model": "mistral-small-2503", "messages": msgs})
        assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


# -- auth and refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["meta/llama-3.3-70b-instruct-maas", "mistral-small-2503"])
def test_a_wrong_token_is_an_authentication_error(emu: Any, model: str) -> None:
    with _client(emu) as c:
        emu.require_key = "ya29.another"
        with pytest.raises(llmkit.AuthenticationError, match="invalid authentication credentials"):
            c.chat(f"vertex/{model}", "Hi")


def test_refusals_before_any_request(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.ConfigError, match="called by version"):
            c.chat("vertex/mistral-tiny", "Hi")
        with pytest.raises(llmkit.ConfigError, match="vertex/meta/llama-3.1-8b-instruct-maas"):
            c.chat("vertex/llama-3.1-8b-instruct-maas", "Hi")
        with pytest.raises(llmkit.UnsupportedFeatureError, match="`user` parameter"):
            c.chat("vertex/mistral-small-2503", "Hi", user="u-1")
        with pytest.raises(llmkit.UnsupportedFeatureError, match="token counting"):
            c.count_tokens("vertex/meta/llama-3.3-70b-instruct-maas", "Hi")
        with pytest.raises(llmkit.UnsupportedFeatureError, match="image or document input"):
            c.chat(
                "vertex/meta/llama-3.3-70b-instruct-maas",
                [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}],
            )
    for model in ("meta/llama-3.3-70b-instruct-maas", "mistral-small-2503"):
        with _client(emu, project=None) as c, pytest.raises(llmkit.ConfigError, match="no Google Cloud project"):
            c.chat(f"vertex/{model}", "Hi")
    assert emu.requests == []


def test_async_partner_calls(emu: Any) -> None:
    emu.require_key = TOKEN
    settings = {"base_url": emu.base_url("vertex"), "project": "proj-1", "location": "us-central1"}

    async def main() -> list[str]:
        async with llmkit.AsyncClient(providers={"vertex": {**settings, "access_token": TOKEN}}) as ac:
            llama = await ac.chat("vertex/deepseek-ai/deepseek-v3.1-maas", "Hi")
            mistral = await ac.chat("vertex/codestral-2501", "Hi")
        return [llama.text, mistral.text]

    assert asyncio.run(main()) == ["You said: Hi", "You said: Hi"]
    assert [r.path for r in emu.requests] == [MAAS, f"{MISTRAL}/codestral-2501@001:rawPredict"]
