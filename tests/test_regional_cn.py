"""Qwen (DashScope), Moonshot (Kimi), Zhipu (Z.ai GLM) and Baichuan on the wire.

Exact requests against the emulator (which answers in each host's own chunk and error shapes,
shared/reference/wire-facts-more.md §1-§4), the `region` setting picking the documented host,
reasoning switches, and Chinese text surviving streams cut inside a UTF-8 character.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

import llmkit
from llmkit._registry import provider_spec
from llmkit.dialects._base import WireRequest
from tests.conftest import split_every

HOSTS = {
    "qwen": "qwen-plus",
    "moonshot": "moonshot-v1-8k",
    "zhipu": "glm-4-32b-0414-128k",
    "baichuan": "Baichuan4-Turbo",
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PATHS = {
    "qwen": "/qwen/compatible-mode/v1/chat/completions",
    "moonshot": "/moonshot/v1/chat/completions",
    "zhipu": "/zhipu/api/paas/v4/chat/completions",
    "baichuan": "/baichuan/v1/chat/completions",
}


def sse(*payloads: object) -> bytes:
    return "".join(f"data: {json.dumps(p, ensure_ascii=False)}\n\n" for p in [*payloads]).encode() + b"data: [DONE]\n\n"


@pytest.mark.parametrize("pid", sorted(HOSTS))
def test_chat_on_the_wire(pid: str, emu, client) -> None:
    model = HOSTS[pid]
    resp = client.chat(f"{pid}/{model}", [{"role": "user", "content": "Hi"}], max_tokens=20, temperature=0.3)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", PATHS[pid])
    assert req.headers["authorization"] == "Bearer test-key"
    expected = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 20, "temperature": 0.3}
    if pid == "qwen":
        expected["enable_thinking"] = False  # said out loud: open-source Qwen3 would think and 400
    assert req.json() == expected
    assert (resp.text, resp.finish_reason, resp.provider, resp.model) == ("You said: Hi", "stop", pid, model)
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (1, 3)


@pytest.mark.parametrize("pid", sorted(HOSTS))
def test_stream_on_the_wire(pid: str, emu, client) -> None:
    model = HOSTS[pid]
    with client.chat(f"{pid}/{model}", "Hello stream", max_tokens=30, stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    body = emu.last_request.json()
    expected = {"model": model, "messages": [{"role": "user", "content": "Hello stream"}], "max_tokens": 30}
    expected["stream"] = True
    if pid == "qwen":
        expected["stream_options"] = {"include_usage": True}  # the others put usage on the finish chunk
    assert body == expected
    assert "".join(e.text for e in events if isinstance(e, llmkit.TextDelta)) == "You said: Hello stream"
    assert [type(e).__name__ for e in events].count("FinishEvent") == 1
    assert final.text == "You said: Hello stream" and final.finish_reason == "stop"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (2, 4)


@pytest.mark.parametrize("pid", sorted(HOSTS))
def test_tool_calls_on_the_wire(pid: str, emu, client) -> None:
    model = f"{pid}/{HOSTS[pid]}"
    history: list = [{"role": "user", "content": "What's the weather in Paris?"}]
    resp = client.chat(model, history, tools=[WEATHER], tool_choice="required")
    assert emu.last_request.json()["tools"] == [WEATHER]
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [("call_emu0", "get_weather", {"city": "Paris"})]
    with client.chat(model, history, tools=[WEATHER], tool_choice="required", stream=True) as stream:
        kinds = [type(e).__name__ for e in stream]
        streamed = stream.get_final_response()
    # Zhipu sends the call whole on a finish chunk and then a second finish chunk: still one end.
    assert kinds.count("ToolCallStart") == 1 and kinds.count("ToolCallEnd") == 1 and kinds.count("FinishEvent") == 1
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [
        ("call_emu0", "get_weather", {"city": "Paris"})
    ]
    assert streamed.finish_reason == "tool_calls"
    history += [resp.message, {"role": "tool", "tool_call_id": "call_emu0", "content": "18C"}]
    assert client.chat(model, history, tools=[WEATHER]).text == "The tool returned: 18C"


# -- each host's own stream, cut inside UTF-8 characters -------------------------------------------

ZH = "你好，世界！"  # noqa: RUF001 - full-width punctuation is the point
THINK = "用户在打招呼。"


def _qwen_stream() -> bytes:
    def c(delta: dict, finish: str | None = None) -> dict:
        full = {"content": None, "function_call": None, "refusal": None, "tool_calls": None, **delta}
        return {
            "id": "chatcmpl-1", "choices": [{"delta": full, "finish_reason": finish, "index": 0, "logprobs": None}],
            "created": 1735113344, "model": "qwen-plus", "object": "chat.completion.chunk",
            "service_tier": None, "system_fingerprint": None, "usage": None,
        }  # fmt: skip

    usage = {
        "completion_tokens": 17, "prompt_tokens": 22, "total_tokens": 39, "completion_tokens_details": None,
        "prompt_tokens_details": {"audio_tokens": None, "cached_tokens": 0},
    }  # fmt: skip
    return sse(
        c({"role": "assistant", "content": ""}),
        c({"reasoning_content": THINK[:3]}),
        c({"reasoning_content": THINK[3:]}),
        c({"content": ZH[:2]}),
        c({"content": ZH[2:]}),
        c({"content": ""}, "stop"),
        {"id": "chatcmpl-1", "choices": [], "created": 1, "model": "qwen-plus", "object": "chat.completion.chunk",
         "usage": usage},
    )  # fmt: skip


def _moonshot_stream() -> bytes:
    base = {"id": "chatcmpl-6750", "object": "chat.completion.chunk", "created": 1733299889, "model": "kimi-k2.6"}
    usage = {"prompt_tokens": 22, "completion_tokens": 17, "total_tokens": 39}
    return sse(
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"reasoning_content": THINK}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": ZH}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "usage": usage}],
         "system_fingerprint": "fpv0_c26222aa"},
        {**base, "choices": [], "usage": usage},  # K2.5+: the same usage again, top-level
    )  # fmt: skip


def _zhipu_stream() -> bytes:
    base = {"id": "20250926190540c29952ed24ae4570", "created": 1758884740, "model": "glm-4.5"}

    def c(delta: dict, **more: object) -> dict:
        return {**base, "choices": [{"index": 0, "delta": {"role": "assistant", **delta}, **more}]}

    usage = {
        "prompt_tokens": 22,
        "completion_tokens": 17,
        "total_tokens": 39,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    return sse(
        c({"content": "\n"}),
        c({"reasoning_content": THINK}),
        c({"content": ZH, "reasoning_content": ""}),
        {**c({"content": ""}, finish_reason="stop"), "usage": usage},
    )


def _baichuan_stream() -> bytes:
    base = {"id": "chatcmpl-M0", "object": "chat.completion.chunk", "created": 1, "model": "Baichuan4-Turbo"}
    usage = {"prompt_tokens": 22, "completion_tokens": 17, "total_tokens": 39}
    return sse(
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ZH[:3]}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": ZH[3:]}, "finish_reason": "stop"}], "usage": usage},
    )


STREAMS = {
    "qwen": ("qwen-plus", _qwen_stream, THINK),
    "moonshot": ("kimi-k2.6", _moonshot_stream, THINK),
    "zhipu": ("glm-4.5", _zhipu_stream, THINK),
    "baichuan": ("Baichuan4-Turbo", _baichuan_stream, ""),
}


@pytest.mark.parametrize("size", [1, 2, 5])
@pytest.mark.parametrize("pid", sorted(STREAMS))
def test_chinese_stream_split_inside_utf8_characters(pid: str, size: int, emu, client) -> None:
    model, make, thinking = STREAMS[pid]
    emu.queue_stream(pid, split_every(make(), size))
    with client.chat(f"{pid}/{model}", "你好", stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert "".join(e.text for e in events if isinstance(e, llmkit.TextDelta)).strip() == ZH
    assert "".join(e.text for e in events if isinstance(e, llmkit.ReasoningDelta)) == thinking
    assert final.finish_reason == "stop" and [type(e).__name__ for e in events].count("FinishEvent") == 1
    assert (final.usage.input_tokens, final.usage.output_tokens) == (22, 17)  # once, not twice
    assert emu.last_request.json()["messages"] == [{"role": "user", "content": "你好"}]


def test_moonshot_tool_call_delta_without_index_takes_its_position(emu, client) -> None:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "kimi-k2.6"}
    call = {"id": "get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    emu.queue_stream(
        "moonshot",
        [
            sse(
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}]},
                {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": '{"city":'}}]}}]},
                {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": None, "function": {"arguments": '"北京"}'}}]}}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            )
        ],
    )  # fmt: skip
    with client.chat("moonshot/kimi-k2.6", "北京天气?", tools=[WEATHER], stream=True) as stream:
        list(stream)
        final = stream.get_final_response()
    assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
        ("get_weather:0", "get_weather", {"city": "北京"})
    ]


# -- reasoning switches ------------------------------------------------------------------------------


def test_qwen_thinking_is_a_stream_only_flag(emu, client) -> None:
    with client.chat("qwen/qwen-plus", "Think", reasoning_effort="high", stream=True) as stream:
        events = list(stream)
    assert emu.last_request.json()["enable_thinking"] is True
    assert "reasoning_effort" not in emu.last_request.json()
    assert "".join(e.text for e in events if isinstance(e, llmkit.ReasoningDelta)) != ""
    before = len(emu.requests)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="reasons only in streams: pass stream=True"):
        client.chat("qwen/qwen-plus", "Think", reasoning_effort="high")
    assert len(emu.requests) == before
    with client.chat("qwen/qwen3-32b", "No thinking", reasoning_effort="none", stream=True) as stream:
        assert not [e for e in stream if isinstance(e, llmkit.ReasoningDelta)]
    assert emu.last_request.json()["enable_thinking"] is False
    # Open-source Qwen3 thinks by default; llmkit's plain call turns that off, so it is accepted.
    assert client.chat("qwen/qwen3-32b", "Hi").text == "You said: Hi"
    assert emu.last_request.json()["enable_thinking"] is False


def test_qwen_refuses_thinking_without_stream_like_dashscope(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="enable_thinking must be set to false") as info:
        client.chat("qwen/qwen3-32b", "Hi", provider_options={"enable_thinking": True})
    assert info.value.code == "InvalidParameter" and info.value.status == 400


@pytest.mark.parametrize(("pid", "model"), [("zhipu", "glm-4.6"), ("moonshot", "kimi-k2.6")])
def test_thinking_type_switch(pid: str, model: str, emu, client) -> None:
    resp = client.chat(f"{pid}/{model}", "Hi", reasoning_effort="none")
    assert emu.last_request.json()["thinking"] == {"type": "disabled"}
    assert resp.text == "You said: Hi" and resp.message.content == "You said: Hi"
    with client.chat(f"{pid}/{model}", "Hi", reasoning_effort="medium", stream=True) as stream:
        reasoning = "".join(e.text for e in stream if isinstance(e, llmkit.ReasoningDelta))
    body = emu.last_request.json()
    assert body["thinking"] == {"type": "enabled"} and "reasoning_effort" not in body
    assert reasoning == "The user wrote 1 words; answer plainly."


def test_reasoning_refused_where_the_model_has_none(emu, client) -> None:
    before = len(emu.requests)
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.chat("moonshot/moonshot-v1-8k", "Hi", reasoning_effort="high")
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.chat("moonshot/kimi-k2.6", "Hi", temperature=0.2)  # fixed sampling on k2.6
    assert len(emu.requests) == before


def test_moonshot_reasoning_goes_back_on_tool_call_turns(emu, client) -> None:
    resp = client.chat("moonshot/kimi-k2.6", "Weather in Paris?", tools=[WEATHER], reasoning_effort="high")
    assert resp.tool_calls and any(isinstance(p, llmkit.ReasoningPart) for p in resp.message.content)
    history = ["Weather in Paris?", resp.message, {"role": "tool", "tool_call_id": "call_emu0", "content": "18C"}]
    history[0] = {"role": "user", "content": "Weather in Paris?"}
    client.chat("moonshot/kimi-k2.6", history, tools=[WEATHER])
    sent = emu.last_request.json()["messages"][1]
    assert sent["reasoning_content"] == "The user wrote 3 words; answer plainly."


# -- error shapes --------------------------------------------------------------------------------------


def test_each_hosts_error_shape_is_read(emu, client) -> None:
    emu.queue_json(
        "qwen",
        {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None,
                   "code": "invalid_api_key"}, "request_id": "b02e047c-1"},
        status=401,
    )  # fmt: skip
    with pytest.raises(llmkit.AuthenticationError, match="Incorrect API key provided") as a:
        client.chat("qwen/qwen-plus", "Hi")
    assert (a.value.status, a.value.code, a.value.body["request_id"]) == (401, "invalid_api_key", "b02e047c-1")
    emu.queue_json(
        "zhipu", {"error": {"code": "1211", "message": "Model does not exist, please check the model code"}}, 400
    )
    with pytest.raises(llmkit.BadRequestError, match="Model does not exist") as z:
        client.chat("zhipu/glm-4.5", "Hi")
    assert z.value.code == "1211"
    emu.queue_json("moonshot", {"error": {"message": "quota exceeded", "type": "exceeded_current_quota_error"}}, 429)
    with pytest.raises(llmkit.RateLimitError, match="quota exceeded") as m:
        client.chat("moonshot/moonshot-v1-8k", "Hi")
    assert m.value.code == "exceeded_current_quota_error"  # the type stands in for the missing code
    with pytest.raises(llmkit.NotFoundError, match="does not exist") as b:
        client.chat("baichuan/baichuan4-turbo", "Hi")  # ids are case-sensitive
    assert b.value.body["error"]["code"] == "404"


# -- regions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pid", "region", "url"),
    [
        ("qwen", None, "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"),
        ("qwen", "cn", "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
        ("qwen", "us", "https://dashscope-us.aliyuncs.com/compatible-mode/v1/chat/completions"),
        ("moonshot", None, "https://api.moonshot.ai/v1/chat/completions"),
        ("moonshot", "cn", "https://api.moonshot.cn/v1/chat/completions"),
        ("zhipu", "intl", "https://api.z.ai/api/paas/v4/chat/completions"),
        ("zhipu", "cn", "https://open.bigmodel.cn/api/paas/v4/chat/completions"),
    ],
)
def test_region_picks_the_documented_host(pid: str, region: str | None, url: str) -> None:
    settings = {"api_key": "k", **({"region": region} if region else {})}
    with llmkit.Client(providers={pid: settings}) as c:
        t = c._transport(pid, provider_spec(pid))
        assert t.url(WireRequest(method="POST", path="/chat/completions", body={})) == url


def test_base_url_wins_over_region_and_unknown_regions_are_refused(emu) -> None:
    with llmkit.Client(providers={"zhipu": {"api_key": "k", "region": "cn", "base_url": emu.base_url("zhipu")}}) as c:
        assert c.chat("zhipu/glm-4.5-air", "Hi", reasoning_effort="none").text == "You said: Hi"
    assert urlsplit(emu.last_request.path).path == PATHS["zhipu"]
    before = len(emu.requests)
    msg = "unknown region 'eu' for 'qwen': it has 'cn', 'hk', 'intl', 'us'"
    with (
        llmkit.Client(providers={"qwen": {"api_key": "k", "region": "eu"}}) as c,
        pytest.raises(llmkit.ConfigError, match=msg),
    ):
        c.chat("qwen/qwen-plus", "Hi")
    assert len(emu.requests) == before
    with pytest.raises(llmkit.ConfigError, match="unknown setting 'region' for provider 'baichuan'"):
        llmkit.Client(providers={"baichuan": {"region": "cn"}}).chat("baichuan/Baichuan4", "Hi")


def test_async_chat_and_stream(emu) -> None:
    async def run() -> tuple[str, str]:
        async with emu.async_client() as aclient:
            resp = await aclient.chat("zhipu/glm-4.5-air", "你好", reasoning_effort="none")
            stream = await aclient.chat("qwen/qwen-turbo", "你好", stream=True)
            pieces = [e.text async for e in stream if isinstance(e, llmkit.TextDelta)]
            return resp.text, "".join(pieces)

    assert asyncio.run(run()) == ("You said: 你好", "You said: 你好")


def test_catalog_prices_and_docs() -> None:
    qwen = {m.id: m for m in llmkit.models("qwen")}
    assert (qwen["qwen-plus"].price.input, qwen["qwen-plus"].price.output) == (0.4, 1.2)
    assert qwen["qwen-plus"].context_window == 131072 and qwen["qwq-plus"].capabilities.reasoning
    assert all(m.price.input is None for m in llmkit.models("baichuan"))  # published in CNY only
    assert provider_spec("qwen").extra["regions"]["cn"] == "https://dashscope.aliyuncs.com/compatible-mode/v1"
