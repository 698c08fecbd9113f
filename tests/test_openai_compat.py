"""Every OpenAI-compatible provider on the wire, table-driven from its generated spec.

For each provider the emulator serves under its own path prefix with its own auth form and
strictness, these tests prove chat, streaming and tool calls: the exact path, auth header and
body llmkit sends (derived from the spec: operation path, auth header/prefix, quirk flags,
capabilities) and how the answer, the stream and the tool calls come back.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

import llmkit
from llmkit._lifecycle import lifecycle_status
from llmkit._registry import provider_spec
from llmkit._spec import ProviderSpec
from llmkit.dialects._openai_quirks import QUIRKS
from llmkit.generated.catalog import MODELS, PROVIDER_INFO
from llmkit.testing._compat_emu import HANDLERS
from llmkit.testing._compat_profiles import PROFILES

FAMILY = [
    "ai21", "cerebras", "databricks", "deepinfra", "deepseek", "fireworks", "friendli", "groq", "huggingface",
    "hyperbolic", "llamafile", "lmstudio", "maritaca", "mistral", "novita", "openrouter", "perplexity", "sambanova",
    "sealion", "tgi", "together", "upstage", "vllm", "xai",
]  # fmt: skip
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
LOCAL_MODEL = {"tgi": "tgi", "llamafile": "local", "lmstudio": "qwen2.5-7b-instruct", "vllm": "meta-llama/Llama-3.1-8B"}


def model_of(pid: str) -> str:
    """The provider's first catalog model still served on the suite's day, preferring one without
    reasoning (a plain, exact answer), or a local name."""
    served = [m for m in MODELS if m.provider == pid and lifecycle_status(m.lifecycle) != "retired"]
    ids = [m.id for m in served if not m.capabilities.reasoning] or [m.id for m in served]
    return ids[0] if ids else LOCAL_MODEL[pid]


def chat_path(emu, spec: ProviderSpec) -> str:  # type: ignore[no-untyped-def]
    return urlsplit(emu.base_url(spec.id)).path + spec.operations["create_chat_completion"].path


def caps(pid: str):  # type: ignore[no-untyped-def]
    info = next((m for m in MODELS if m.provider == pid and m.id == model_of(pid)), None)
    return info.capabilities if info is not None else provider_spec(pid).capabilities


def test_the_family_is_every_compatible_spec_and_all_are_emulated() -> None:
    compat = sorted(p for p, info in PROVIDER_INFO.items() if info["dialect"] == "openai_chat")
    assert set(FAMILY) <= set(compat)
    assert sorted(HANDLERS) == FAMILY == sorted(PROFILES)
    for pid in [*FAMILY, "azure"]:
        unknown = sorted(provider_spec(pid).quirks - set(QUIRKS))
        assert unknown == [], f"{pid} names quirks the openai_chat adapter has no hook for: {unknown}"


@pytest.mark.parametrize("pid", FAMILY)
def test_chat_on_the_wire(pid: str, emu, client) -> None:
    spec = provider_spec(pid)
    model = model_of(pid)
    resp = client.chat(
        f"{pid}/{model}",
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        max_tokens=20,
        temperature=0.2,
    )
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", chat_path(emu, spec), {})
    assert req.headers[spec.auth.header.lower()] == f"{spec.auth.prefix}test-key"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {
        "model": model,
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        "max_tokens": 20,
        "temperature": 0.2,
    }
    assert resp.text == "You said: Hi"
    assert (resp.provider, resp.model, resp.finish_reason) == (pid, model, "stop")
    expected = (0, 0) if PROFILES[pid].omit_usage else (3, 3)
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == expected
    assert resp.cost_usd is None  # no prices in the reviewed facts for this family
    assert resp.raw["choices"][0]["message"]["content"] == "You said: Hi"


@pytest.mark.parametrize("pid", FAMILY)
def test_stream_on_the_wire(pid: str, emu, client) -> None:
    spec = provider_spec(pid)
    model = model_of(pid)
    with client.chat(f"{pid}/{model}", "Hello stream", max_tokens=30, stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    req = emu.last_request
    assert req.path == chat_path(emu, spec)
    assert req.headers["accept"] == "text/event-stream"
    body = req.json()
    asks_usage = bool(caps(pid).stream_usage) and "no_stream_options" not in spec.quirks
    expected_body = {"model": model, "messages": [{"role": "user", "content": "Hello stream"}], "max_tokens": 30}
    expected_body["stream"] = True
    if asks_usage:
        expected_body["stream_options"] = {"include_usage": True}
    assert body == expected_body
    assert "".join(e.text for e in events if isinstance(e, llmkit.TextDelta)) == "You said: Hello stream"
    assert isinstance(events[-1], llmkit.FinishEvent) and events[-1].finish_reason == "stop"
    assert final.text == "You said: Hello stream" and final.finish_reason == "stop"
    assert final.id == "chatcmpl-emu"
    prof = PROFILES[pid]
    sends_usage = not prof.omit_usage and (
        prof.usage_mode in ("last_chunk", "x_groq") or (prof.usage_mode == "include_usage" and asks_usage)
    )
    assert (final.usage.input_tokens, final.usage.output_tokens) == ((2, 4) if sends_usage else (0, 0))


@pytest.mark.parametrize("pid", FAMILY)
def test_tool_calls_on_the_wire(pid: str, emu, client) -> None:
    spec = provider_spec(pid)
    model = f"{pid}/{model_of(pid)}"
    if not caps(pid).tools:
        before = len(emu.requests)
        with pytest.raises(llmkit.UnsupportedFeatureError, match="tool calling"):
            client.chat(model, "Weather in Paris?", tools=[WEATHER])
        assert len(emu.requests) == before  # refused before any request
        return
    history: list = [{"role": "user", "content": "What's the weather in Paris?"}]
    resp = client.chat(model, history, tools=[WEATHER], tool_choice="required")
    body = emu.last_request.json()
    assert body["tools"] == [WEATHER]
    assert body["tool_choice"] == ("any" if "tool_choice_any" in spec.quirks else "required")
    call_id = "emucall00" if PROFILES[pid].tool_id_alnum9 else "call_emu0"
    assert resp.finish_reason == "tool_calls" and resp.text == ""
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [(call_id, "get_weather", {"city": "Paris"})]

    with client.chat(model, history, tools=[WEATHER], stream=True) as stream:
        kinds = [type(e).__name__ for e in stream]
        streamed = stream.get_final_response()
    assert kinds[:3] == ["ToolCallStart", "ToolCallDelta", "ToolCallDelta"] and "ToolCallEnd" in kinds
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [(call_id, "get_weather", {"city": "Paris"})]
    assert streamed.finish_reason == "tool_calls"

    history += [resp.message, {"role": "tool", "tool_call_id": call_id, "content": "18C and sunny"}]
    answer = client.chat(model, history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": call_id, "content": "18C and sunny"}
    assert answer.text == "The tool returned: 18C and sunny" and answer.finish_reason == "stop"


@pytest.mark.parametrize("pid", ["groq", "mistral", "vllm", "perplexity"])
def test_async_chat_and_stream(pid: str, emu) -> None:
    model = f"{pid}/{model_of(pid)}"

    async def run() -> tuple[str, str]:
        async with emu.async_client() as aclient:
            resp = await aclient.chat(model, "Hi async")
            stream = await aclient.chat(model, "Hi async", stream=True)
            pieces = [e.text async for e in stream if isinstance(e, llmkit.TextDelta)]
            return resp.text, "".join(pieces)

    assert asyncio.run(run()) == ("You said: Hi async", "You said: Hi async")
    assert emu.last_request.path == chat_path(emu, provider_spec(pid))


@pytest.mark.parametrize("pid", FAMILY)
def test_missing_key_is_refused_where_the_provider_needs_one(pid: str, emu) -> None:
    spec = provider_spec(pid)
    settings = {"base_url": emu.base_url(pid), "max_retries": 0}
    with llmkit.Client(providers={pid: settings}) as c:
        if spec.auth.required:
            with pytest.raises(llmkit.ConfigError, match=f"no API key for '{pid}'"):
                c.chat(f"{pid}/{model_of(pid)}", "Hi")
        else:
            assert c.chat(f"{pid}/{model_of(pid)}", "Hi").text == "You said: Hi"
            assert "authorization" not in emu.last_request.headers


@pytest.mark.parametrize("pid", FAMILY)
def test_native_client_reaches_every_declared_operation(pid: str, emu, client) -> None:
    native = client.native(pid)
    spec = provider_spec(pid)
    out = native.create_chat_completion({"model": model_of(pid), "messages": [{"role": "user", "content": "yo"}]})
    assert out.choices[0].message.content == "You said: yo"
    if "list_models" in spec.operations:
        listed = [m.id for m in native.list_models().data]
        known = sorted(name for m in MODELS if m.provider == pid for name in (m.id, *m.aliases))
        assert listed == (known or ["local-model"])
        assert emu.last_request.path == urlsplit(emu.base_url(pid)).path + "/models"
