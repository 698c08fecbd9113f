"""Each quirk of the OpenAI-compatible family, on the wire: the flag in a spec, the hook in the
openai_chat adapter, and the emulator (or a fixture shaped like the provider's documented
body, shared/reference/wire-facts-core.md and wire-facts-regional.md) proving it."""

from __future__ import annotations

import json

import pytest

import llmkit
from llmkit.dialects._openai_quirks import alnum9
from llmkit.dialects.openai_chat import Citation, citations
from tests.conftest import split_every

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def sse(*payloads: object, comments: tuple[str, ...] = ()) -> bytes:
    out = "".join(f"{c}\n\n" for c in comments)
    for p in payloads:
        out += f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n"
    return out.encode()


def chunk(delta: dict, finish: str | None = None, **extra: object) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


# -- Mistral -------------------------------------------------------------------------------------


def test_mistral_sends_only_what_it_accepts(emu, client) -> None:
    resp = client.chat(
        "mistral/mistral-small-latest",
        [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
        max_tokens=64,
        seed=42,
        tools=[WEATHER],
        tool_choice="required",
        stream=False,
    )
    body = emu.last_request.json()
    assert body == {
        "model": "mistral-small-latest",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
        "max_tokens": 64,
        "random_seed": 42,
        "tools": [WEATHER],
        "tool_choice": "any",
    }
    assert resp.tool_calls[0].id == "emucall00"  # Mistral's 9-character ids
    with client.chat("mistral/mistral-small-latest", "Hi", stream=True) as stream:
        assert stream.get_final_response().usage.output_tokens == 3  # usage on the last chunk
    assert "stream_options" not in emu.last_request.json()


def test_mistral_refuses_user_and_message_names_before_sending(emu, client) -> None:
    with pytest.raises(llmkit.UnsupportedFeatureError, match="`user`"):
        client.chat("mistral/mistral-small-latest", "Hi", user="u-1")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="`name` on user messages"):
        client.chat("mistral/mistral-small-latest", [{"role": "user", "content": "Hi", "name": "bob"}])
    assert emu.requests == []


def test_mistral_rewrites_foreign_tool_call_ids_consistently(emu, client) -> None:
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc123", "content": "18C"},
    ]
    resp = client.chat("mistral/mistral-small-latest", history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"]
    new_id = alnum9("call_abc123")
    assert len(new_id) == 9 and new_id.isalnum() and new_id == alnum9("call_abc123")
    assert sent[1]["tool_calls"][0]["id"] == new_id and sent[2]["tool_call_id"] == new_id
    assert alnum9("dnEN4JsJy") == "dnEN4JsJy"  # an id Mistral made is kept
    assert resp.text == "The tool returned: 18C"


def test_mistral_422_extra_forbidden_is_a_readable_bad_request(emu, client) -> None:
    body = {
        "object": "error",
        "message": {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "max_completion_tokens"],
                    "msg": "Extra inputs are not permitted",
                    "input": 32000,
                }
            ]
        },
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    emu.queue_json("mistral", body, status=422)
    with pytest.raises(llmkit.BadRequestError) as err:
        client.chat("mistral/mistral-small-latest", "Hi")
    assert err.value.status == 422
    assert err.value.message == "body.max_completion_tokens: Extra inputs are not permitted"
    assert err.value.code == "invalid_request_error"


def test_mistral_emulator_rejects_what_mistral_rejects(emu) -> None:
    import httpx

    url = emu.base_url("mistral") + "/chat/completions"
    h = {"authorization": "Bearer k"}
    msgs = [{"role": "user", "content": "Hi"}]
    r = httpx.post(url, headers=h, json={"model": "mistral-small-latest", "messages": msgs, "max_completion_tokens": 5})
    assert r.status_code == 422 and r.json()["message"]["detail"][0]["loc"] == ["body", "max_completion_tokens"]
    bad_order = [*msgs, {"role": "assistant", "content": "x"}]
    r = httpx.post(url, headers=h, json={"model": "mistral-small-latest", "messages": bad_order})
    assert r.status_code == 400 and "Expected last role" in r.json()["message"]
    after_tool = [{"role": "tool", "tool_call_id": "abcdefghi", "content": "x"}, {"role": "user", "content": "y"}]
    r = httpx.post(url, headers=h, json={"model": "mistral-small-latest", "messages": after_tool})
    assert r.json()["type"] == "invalid_request_message_order"


def test_magistral_thinking_chunks_become_reasoning(emu, client) -> None:
    resp = client.chat("mistral/magistral-medium-latest", "Think about it")
    assert resp.text == "You said: Think about it"
    assert resp.reasoning == "The user wrote 3 words; answer plainly."
    assert isinstance(resp.raw["choices"][0]["message"]["content"], list)  # raw is untouched
    with client.chat("mistral/magistral-medium-latest", "Think about it", stream=True) as stream:
        kinds = {type(e).__name__ for e in stream}
        final = stream.get_final_response()
    assert "ReasoningDelta" in kinds
    assert (final.reasoning, final.text) == ("The user wrote 3 words; answer plainly.", "You said: Think about it")


def test_mistral_model_length_and_cached_tokens(emu, client) -> None:
    emu.queue_json(
        "mistral",
        {
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "mistral-small-latest",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "cut"}, "finish_reason": "model_length"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11, "num_cached_tokens": 8},
        },
    )
    resp = client.chat("mistral/mistral-small-latest", "Hi")
    assert (resp.finish_reason, resp.raw_finish_reason) == ("length", "model_length")
    assert resp.usage.cached_input_tokens == 8


def test_retired_mistral_model_fails_before_any_request(emu, client) -> None:
    with pytest.raises(llmkit.ConfigError, match="retired on 2025-11-30; use mistral/codestral-2508"):
        client.chat("mistral/codestral-2501", "Hi")
    assert emu.requests == []


# -- DeepSeek ------------------------------------------------------------------------------------


def test_deepseek_reasoning_stream_keepalive_and_cache_usage(emu, client) -> None:
    with client.chat("deepseek/deepseek-reasoner", "Why?", stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("ReasoningDelta") < kinds.index("TextDelta")  # reasoning first, then the answer
    assert final.reasoning == "The user wrote 1 words; answer plainly."
    assert final.text == "You said: Why?"
    assert (final.usage.input_tokens, final.usage.reasoning_tokens) == (1, 7)
    emu.queue_stream(
        "deepseek",
        split_every(
            sse(
                chunk({"role": "assistant", "content": ""}),
                chunk({"content": "ok"}, "stop"),
                {
                    "id": "c1",
                    "choices": [],
                    "usage": {
                        "prompt_tokens": 100,
                        "completion_tokens": 2,
                        "total_tokens": 102,
                        "prompt_cache_hit_tokens": 64,
                        "prompt_cache_miss_tokens": 36,
                    },
                },
                "[DONE]",
                comments=(": keep-alive", ": keep-alive"),
            ),
            5,
        ),
    )
    final = client.chat("deepseek/deepseek-chat", "Hi", stream=True).get_final_response()
    assert (final.text, final.usage.input_tokens, final.usage.cached_input_tokens) == ("ok", 100, 64)


def test_deepseek_blank_lines_before_a_plain_body(emu, client) -> None:
    from llmkit.testing import EmuResponse

    body = {
        "id": "d1",
        "object": "chat.completion",
        "created": 1,
        "model": "deepseek-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6, "prompt_cache_hit_tokens": 0},
    }
    emu.queue(
        "deepseek",
        EmuResponse(headers={"content-type": "application/json"}, body=b"\n\n\n" + json.dumps(body).encode()),
    )
    resp = client.chat("deepseek/deepseek-chat", "Hi")
    assert (resp.text, resp.usage.input_tokens) == ("fine", 5)


def test_deepseek_reasoning_goes_back_on_tool_call_turns(emu, client) -> None:
    resp = client.chat("deepseek/deepseek-reasoner", "Weather in Paris?", tools=[WEATHER])
    assert resp.tool_calls and resp.reasoning
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        resp.message,
        {"role": "tool", "tool_call_id": resp.tool_calls[0].id, "content": "18C"},
    ]
    client.chat("deepseek/deepseek-reasoner", history, tools=[WEATHER])
    assistant = emu.last_request.json()["messages"][1]
    assert assistant["reasoning_content"] == resp.reasoning
    assert assistant["content"] is None and assistant["tool_calls"][0]["id"] == resp.tool_calls[0].id


# -- OpenRouter ----------------------------------------------------------------------------------


def test_openrouter_app_headers_routing_and_comments(emu) -> None:
    settings = {
        "api_key": "sk-or-v1-x",
        "base_url": emu.base_url("openrouter"),
        "app_url": "https://myapp.example",
        "app_name": "My App",
    }
    with llmkit.Client(providers={"openrouter": settings}) as c:
        routing = {
            "provider": {"order": ["anthropic", "openai"], "allow_fallbacks": False},
            "models": ["openai/gpt-4o"],
        }
        with c.chat("openrouter/openai/gpt-4o-mini", "Hi", provider_options=routing, stream=True) as stream:
            final = stream.get_final_response()
    req = emu.last_request
    assert req.headers["http-referer"] == "https://myapp.example" and req.headers["x-title"] == "My App"
    assert req.headers["authorization"] == "Bearer sk-or-v1-x"
    body = req.json()
    assert body["provider"] == routing["provider"] and body["models"] == ["openai/gpt-4o"]
    assert body["model"] == "openai/gpt-4o-mini"
    assert final.text == "You said: Hi" and final.raw == {"provider": "emulated-upstream"}


def test_openrouter_error_after_200_raises_typed(emu, client) -> None:
    # The documented mid-stream error chunk (wire-facts-core.md §14), split every 7 bytes.
    err = (
        '{"id":"cmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"openai/gpt-4o",'
        '"provider":"openai","error":{"code":"server_error","message":"Provider disconnected"},'
        '"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}'
    )
    data = sse(chunk({"content": "Hel"}), err, comments=(": OPENROUTER PROCESSING",))
    emu.queue_stream("openrouter", split_every(data, 7))
    stream = client.chat("openrouter/openai/gpt-4o", "Hi", stream=True)
    got = []
    with pytest.raises(llmkit.ServerError) as exc:
        for ev in stream:
            got.append(ev)
    assert [e.text for e in got if isinstance(e, llmkit.TextDelta)] == ["Hel"]
    assert exc.value.message == "Provider disconnected" and exc.value.code == "server_error"


def test_openrouter_numeric_error_codes(emu, client) -> None:
    emu.queue_error("openrouter", 402, "Insufficient credits. Add more using https://openrouter.ai/credits")
    with pytest.raises(llmkit.APIError) as exc:
        client.chat("openrouter/openai/gpt-4o", "Hi")
    assert (exc.value.status, exc.value.code) == (402, "402")
    assert len(emu.requests) == 1  # 402 is not retried
    assert exc.value.body["error"]["metadata"]["provider_name"] == "emulated-upstream"


def test_openrouter_reasoning_field(emu, client) -> None:
    resp = client.chat("openrouter/deepseek/deepseek-r1", "Think")
    assert resp.reasoning == "The user wrote 1 words; answer plainly." and resp.text == "You said: Think"
    with client.chat("openrouter/deepseek/deepseek-r1", "Think", stream=True) as s:
        assert s.get_final_response().reasoning == "The user wrote 1 words; answer plainly."


# -- Perplexity ----------------------------------------------------------------------------------


def test_perplexity_citations_typed_for_call_and_stream(emu, client) -> None:
    resp = client.chat("perplexity/sonar", "Latest Python release")
    url = "https://example.com/search?q=Latest+Python+release"
    expected = [Citation(url=url, title="Results for Latest Python release", date="2025-01-01")]
    assert citations(resp) == expected
    assert resp.raw["citations"] == [url] and resp.raw["usage"]["num_search_queries"] == 1
    assert emu.last_request.path == "/perplexity/chat/completions"  # no /v1
    final = client.chat("perplexity/sonar", "Latest Python release", stream=True).get_final_response()
    assert citations(final) == expected


def test_citations_from_bare_urls_and_none(emu, client) -> None:
    emu.queue_json(
        "perplexity",
        {
            "id": "p",
            "model": "sonar",
            "created": 1,
            "object": "chat.completion",
            "citations": ["https://a.example", "https://b.example"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x [1][2]"}, "finish_reason": "stop"}],
        },
    )
    resp = client.chat("perplexity/sonar", "q")
    assert citations(resp) == [Citation(url="https://a.example"), Citation(url="https://b.example")]
    assert citations(client.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "q")) == []


def test_perplexity_role_alternation_is_enforced(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="alternating"):
        client.chat("perplexity/sonar", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])


# -- Groq ----------------------------------------------------------------------------------------


def test_groq_x_groq_usage_when_it_is_the_only_usage(emu, client) -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15, "queue_time": 0.02, "total_time": 0.1}
    emu.queue_stream(
        "groq",
        [
            sse(
                chunk({"role": "assistant", "content": ""}, x_groq={"id": "req_01"}),
                chunk({"reasoning": "hmm "}),
                chunk({"content": "Hi!"}),
                chunk({}, "stop", x_groq={"id": "req_01", "usage": usage}),
                "[DONE]",
            )
        ],
    )
    final = client.chat("groq/qwen/qwen3-32b", "Hi", stream=True).get_final_response()
    assert (final.text, final.reasoning) == ("Hi!", "hmm ")
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 3)
    assert final.raw == {"x_groq": {"id": "req_01", "usage": usage}}


def test_groq_timing_kept_in_raw(emu, client) -> None:
    resp = client.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "Hi")
    assert resp.raw["usage"]["queue_time"] == 0.01 and resp.raw["x_groq"] == {"id": "req_emu_groq"}
    assert resp.usage.input_tokens == 1


def test_groq_refuses_logprobs(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="logprobs"):
        client.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "Hi", extra_body={"logprobs": True})


# -- local servers, Databricks, Hugging Face, and the rest ---------------------------------------


@pytest.mark.parametrize(
    ("pid", "base"),
    [
        ("lmstudio", "http://localhost:1234/v1"),
        ("vllm", "http://localhost:8000/v1"),
        ("tgi", "http://localhost:8080/v1"),
        ("llamafile", "http://localhost:8080/v1"),
    ],
)
def test_local_servers_default_to_localhost_without_a_key(pid: str, base: str) -> None:
    from llmkit._registry import provider_spec

    spec = provider_spec(pid)
    assert spec.base_url == base and spec.auth.required is False
    with llmkit.Client() as c:
        settings = c._settings(pid, spec)
    assert settings.base_url == base and "api_key" not in settings.values


def test_local_server_without_usage_id_or_created(emu) -> None:
    emu.queue_json(
        "llamafile",
        {
            "model": "local",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hey"}, "finish_reason": "stop"}],
        },
    )
    with llmkit.Client(providers={"llamafile": {"base_url": emu.base_url("llamafile")}}) as c:
        resp = c.chat("llamafile/local", "Hi")
        assert (resp.text, resp.id, resp.usage.input_tokens, resp.usage.output_tokens) == ("hey", None, 0, 0)
        final = c.chat("llamafile/local", "Hi", stream=True).get_final_response()
    assert final.text == "You said: Hi" and final.usage.total_tokens == 0
    assert "authorization" not in emu.last_request.headers


def test_vllm_both_error_shapes(emu, client) -> None:
    old = {
        "object": "error",
        "message": "max_tokens is too large",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    new = {"error": {"message": "model not found", "type": "NotFoundError", "param": None, "code": 404}}
    emu.queue_json("vllm", old, status=400)
    with pytest.raises(llmkit.BadRequestError, match="max_tokens is too large") as e1:
        client.chat("vllm/m", "Hi")
    emu.queue_json("vllm", new, status=404)
    with pytest.raises(llmkit.NotFoundError, match="model not found") as e2:
        client.chat("vllm/m", "Hi")
    assert (e1.value.code, e2.value.code) == ("400", "404")


def test_tgi_error_type_and_any_model_name(emu, client) -> None:
    emu.queue_error("tgi", 422, "Input validation error: `temperature` must be strictly positive")
    with pytest.raises(llmkit.BadRequestError, match="strictly positive") as err:
        client.chat("tgi/tgi", "Hi")
    assert err.value.code == "validation"
    emu.queue_error("tgi", 429, "Model is overloaded")
    with pytest.raises(llmkit.RateLimitError) as rl:
        client.chat("tgi/tgi", "Hi")
    assert rl.value.code == "overloaded"


def test_databricks_workspace_url_null_id_and_errors(emu, client) -> None:
    resp = client.chat("databricks/my-endpoint", "Hi")
    assert emu.last_request.path == "/databricks/serving-endpoints/chat/completions"
    assert emu.last_request.json()["model"] == "my-endpoint"
    assert (resp.id, resp.text) == (None, "You said: Hi")
    emu.queue_error("databricks", 429, "Exceeded workspace rate limit")
    with pytest.raises(llmkit.RateLimitError) as err:
        client.chat("databricks/my-endpoint", "Hi")
    assert err.value.code == "REQUEST_LIMIT_EXCEEDED" and err.value.message == "Exceeded workspace rate limit"
    with (
        llmkit.Client(providers={"databricks": {"api_key": "dapi1"}}) as c,
        pytest.raises(llmkit.ConfigError, match="base_url"),
    ):
        c.chat("databricks/my-endpoint", "Hi")


def test_huggingface_router_ids_with_slashes_and_suffixes(emu, client) -> None:
    resp = client.chat("huggingface/meta-llama/Llama-3.1-8B-Instruct:fireworks-ai", "Hi")
    assert emu.last_request.json()["model"] == "meta-llama/Llama-3.1-8B-Instruct:fireworks-ai"
    assert emu.last_request.path == "/huggingface/v1/chat/completions"
    assert resp.model == "meta-llama/Llama-3.1-8B-Instruct:fireworks-ai"
    with pytest.raises(llmkit.NotFoundError):
        client.chat("huggingface/nobody/nothing:cheapest", "Hi")


def test_ai21_documents_pass_through_and_detail_errors(emu, client) -> None:
    docs = [{"content": "Jamba is a hybrid SSM-Transformer model.", "metadata": [{"key": "src", "value": "kb"}]}]
    client.chat("ai21/jamba-mini", "What is Jamba?", provider_options={"documents": docs})
    assert emu.last_request.json()["documents"] == docs
    emu.queue_json(
        "ai21",
        {"detail": [{"loc": ["body", "n"], "msg": "n > 1 requires temperature > 0", "type": "value_error"}]},
        status=422,
    )
    with pytest.raises(llmkit.BadRequestError) as err:
        client.chat("ai21/jamba-mini", "Hi")
    assert err.value.message == "body.n: n > 1 requires temperature > 0"


def test_cerebras_unwrapped_errors_and_time_info(emu, client) -> None:
    resp = client.chat("cerebras/llama-3.3-70b", "Hi")
    assert resp.raw["time_info"]["total_time"] == 0.012
    final = client.chat("cerebras/llama-3.3-70b", "Hi", stream=True).get_final_response()
    assert final.raw == {
        "time_info": {"queue_time": 0.0001, "prompt_time": 0.001, "completion_time": 0.01, "total_time": 0.012}
    }
    emu.queue_json(
        "cerebras",
        {
            "message": "Please reduce the length",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        },
        status=400,
    )
    with pytest.raises(llmkit.ContextLengthError) as err:
        client.chat("cerebras/llama-3.3-70b", "Hi")
    assert err.value.code == "context_length_exceeded"


def test_maritaca_key_auth_and_friendli_team_header(emu) -> None:
    with llmkit.Client(providers={"maritaca": {"api_key": "mk", "base_url": emu.base_url("maritaca")}}) as c:
        c.chat("maritaca/sabia-4", "Olá")
    assert emu.last_request.headers["authorization"] == "Key mk"
    settings = {"api_key": "fk", "base_url": emu.base_url("friendli"), "team": "team-7"}
    with llmkit.Client(providers={"friendli": settings}) as c:
        c.chat("friendli/meta-llama-3.3-70b-instruct", "Hi")
    assert emu.last_request.headers["x-friendli-team"] == "team-7"


def test_env_vars_named_in_the_specs(emu, monkeypatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env")
    monkeypatch.setenv("DEEPINFRA_TOKEN", "di-env")
    with llmkit.Client(
        providers={"groq": {"base_url": emu.base_url("groq")}, "deepinfra": {"base_url": emu.base_url("deepinfra")}}
    ) as c:
        c.chat("groq/meta-llama/llama-4-scout-17b-16e-instruct", "Hi")
        assert emu.last_request.headers["authorization"] == "Bearer gsk-env"
        c.chat("deepinfra/meta-llama/Llama-3.3-70B-Instruct", "Hi")
        assert emu.last_request.headers["authorization"] == "Bearer di-env"


def test_emulator_refuses_unknown_models_and_fields(emu, client) -> None:
    with pytest.raises(llmkit.NotFoundError):
        client.chat("groq/not-a-model", "Hi")
    with pytest.raises(llmkit.BadRequestError, match="Unrecognized request argument: frobnicate"):
        client.chat("together/meta-llama/Llama-3.3-70B-Instruct-Turbo", "Hi", extra_body={"frobnicate": 1})
    with (
        pytest.raises(llmkit.AuthenticationError),
        llmkit.Client(providers={"xai": {"api_key": "wrong", "base_url": emu.base_url("xai"), "max_retries": 0}}) as c,
    ):
        emu.require_key = "right"
        c.chat("xai/grok-3-mini", "Hi")


# -- the custom provider form ---------------------------------------------------------------------


def test_custom_openai_compatible_provider(emu) -> None:
    base = emu.base_url("vllm")
    with llmkit.Client(providers={"mybox": {"dialect": "openai_chat", "base_url": base}}) as c:
        resp = c.chat("mybox/my-model", "Hi", max_tokens=5)
        assert "authorization" not in emu.last_request.headers
        streamed = c.chat("mybox/my-model", "Hi", stream=True, tools=[WEATHER]).get_final_response()
    assert resp.text == "You said: Hi" and resp.provider == "mybox"
    assert streamed.tool_calls[0].arguments == {"city": "Hi"}
    assert emu.last_request.path == "/vllm/v1/chat/completions"
    with llmkit.Client(providers={"mybox": {"dialect": "openai_chat", "base_url": base, "api_key": "sk-box"}}) as c:
        c.chat("mybox/my-model", "Hi")
    assert emu.last_request.headers["authorization"] == "Bearer sk-box"
    body = emu.last_request.json()
    assert body == {"model": "my-model", "messages": [{"role": "user", "content": "Hi"}]}
