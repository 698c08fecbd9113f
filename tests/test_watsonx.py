"""watsonx.ai on the wire: IBM IAM token exchange (cached, single-flight, one retry on 401),
text/chat and chat_stream with ?version= and project or space, tools, the error shape."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import parse_qsl

import pytest

import llmkit
from llmkit._errors import AuthenticationError, ConfigError, NotFoundError, StreamError, UnsupportedFeatureError
from llmkit.testing import Emulator
from llmkit.testing._watsonx_emu import HANDLER
from tests.conftest import split_every

MODEL = "watsonx/ibm/granite-3-8b-instruct"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
# The tool-call response fixture of wire-facts-regional.md §3.
TOOL_RESPONSE = {
    "id": "chatcmpl-tools123abc",
    "object": "chat.completion",
    "model_id": "ibm/granite-3-8b-instruct",
    "model": "ibm/granite-3-8b-instruct",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "celsius"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "created": 1735395700,
    "model_version": "3.0.0",
    "created_at": "2025-12-28T14:01:40.000Z",
    "usage": {"completion_tokens": 45, "prompt_tokens": 85, "total_tokens": 130},
}
_HEAD = '"id":"chatcmpl-5d8c","object":"chat.completion.chunk","model_id":"ibm/granite-3-8b-instruct","model":"ibm/granite-3-8b-instruct"'
_TAIL = '"created":1749736055,"model_version":"4.0.0","created_at":"2025-06-12T13:47:35.541Z"'
# The stream shape of the facts: id/event lines, finish on the last content chunk, a usage chunk, no [DONE].
STREAM = (
    f'id: 1\nevent: message\ndata: {{{_HEAD},"choices":[{{"index":0,"finish_reason":null,"delta":{{"role":"assistant","content":""}}}}],{_TAIL}}}\n\n'
    f'id: 2\nevent: message\ndata: {{{_HEAD},"choices":[{{"index":0,"finish_reason":null,"delta":{{"content":"C"}}}}],{_TAIL}}}\n\n'
    f'id: 3\nevent: message\ndata: {{{_HEAD},"choices":[{{"index":0,"finish_reason":"stop","delta":{{"content":"iao"}}}}],{_TAIL}}}\n\n'
    f'id: 4\nevent: message\ndata: {{{_HEAD},"choices":[],{_TAIL},"usage":{{"completion_tokens":3,"prompt_tokens":38,"total_tokens":41}}}}\n\n'
    "id: 5\nevent: close\n\n"
).encode()


def settings(emu: Emulator, **extra: Any) -> dict[str, Any]:
    base = emu.base_url("watsonx")
    return {
        "api_key": emu.api_key,
        "base_url": base,
        "auth_url": base + "/identity/token",
        "project_id": "proj-1",
        "max_retries": 0,
        **extra,
    }


def wx(emu: Emulator, **extra: Any) -> llmkit.Client:
    return llmkit.Client(providers={"watsonx": settings(emu, **extra)})


def awx(emu: Emulator, **extra: Any) -> llmkit.AsyncClient:
    return llmkit.AsyncClient(providers={"watsonx": settings(emu, **extra)})


def auth_of(client: Any) -> Any:
    return client._transport("watsonx", client._spec("watsonx")).auth


def paths(emu: Emulator) -> list[str]:
    return [r.subpath for r in emu.requests]


# -- IAM ---------------------------------------------------------------------------------------


def test_the_iam_exchange_on_the_wire(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "hi")
        c.chat(MODEL, "hi")
    iam, chat1, chat2 = emu.requests
    assert (iam.method, iam.path) == ("POST", "/watsonx/identity/token")
    assert iam.headers["content-type"] == "application/x-www-form-urlencoded"
    assert iam.headers["accept"] == "application/json"
    assert dict(parse_qsl(iam.body.decode())) == {
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
        "apikey": emu.api_key,
    }
    token = chat1.headers["authorization"].removeprefix("Bearer ")
    assert token in HANDLER.issued and chat2.headers["authorization"] == f"Bearer {token}"
    assert emu.api_key not in json.dumps(chat1.headers)


def test_refresh_after_80_percent_of_the_lifetime(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "hi")
        auth = auth_of(c)
        expires = auth._token.expires_at
        assert auth.refresh_margin == 720.0  # 20% of expires_in=3600
        auth.clock = lambda: expires - 721
        c.chat(MODEL, "hi")
        assert paths(emu).count("/identity/token") == 1
        auth.clock = lambda: expires - 719
        c.chat(MODEL, "hi")
    assert paths(emu).count("/identity/token") == 2


def test_one_refresh_for_50_threads(emu: Emulator) -> None:
    assert emu._server is not None
    emu._server.socket.listen(1024)
    with wx(emu) as c:
        barrier = threading.Barrier(50)
        out: list[str] = []

        def call() -> None:
            barrier.wait()
            out.append(c.chat(MODEL, "hi there").text)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert out == ["You said: hi there"] * 50
    assert paths(emu).count("/identity/token") == 1 and paths(emu).count("/ml/v1/text/chat") == 50


def test_one_refresh_for_50_tasks(emu: Emulator) -> None:
    assert emu._server is not None
    emu._server.socket.listen(1024)

    async def run() -> list[str]:
        async with awx(emu) as c:
            rs = await asyncio.gather(*(c.chat(MODEL, "hi there") for _ in range(50)))
        return [r.text for r in rs]

    assert asyncio.run(run()) == ["You said: hi there"] * 50
    assert paths(emu).count("/identity/token") == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_expired_token_is_replaced_once_on_401(emu: Emulator, kind: str) -> None:
    async def run() -> str:
        if kind == "sync":
            with wx(emu) as c:
                c.chat(MODEL, "hi")
                HANDLER.revoke_all()
                return c.chat(MODEL, "hi").text
        async with awx(emu) as ac:
            await ac.chat(MODEL, "hi")
            HANDLER.revoke_all()
            return (await ac.chat(MODEL, "hi")).text

    assert asyncio.run(run()) == "You said: hi"
    assert paths(emu) == [
        "/identity/token",
        "/ml/v1/text/chat",
        "/ml/v1/text/chat",
        "/identity/token",
        "/ml/v1/text/chat",
    ]


def test_a_second_401_surfaces_after_one_retry(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "hi")
        emu.queue("watsonx", lambda req: HANDLER.error(401, "token expired"))
        emu.queue("watsonx", lambda req: HANDLER._token(req, emu))
        emu.queue("watsonx", lambda req: HANDLER.error(401, "token expired again"))
        with pytest.raises(AuthenticationError, match="token expired again") as info:
            c.chat(MODEL, "hi")
    assert info.value.code == "authentication_token_expired"
    assert paths(emu)[1:] == ["/ml/v1/text/chat", "/ml/v1/text/chat", "/identity/token", "/ml/v1/text/chat"]


def test_a_refused_api_key(emu: Emulator) -> None:
    with wx(emu, api_key="wrong-key") as c, pytest.raises(AuthenticationError, match="BXNIM0415E") as info:
        c.chat(MODEL, "hi")
    assert info.value.status == 400 and "wrong-key" not in str(info.value)
    assert paths(emu) == ["/identity/token"]


def test_no_secret_in_reprs(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "hi")
        auth = auth_of(c)
        token = auth._token.value.get()
        assert token not in repr(auth) and emu.api_key not in repr(auth) and "expires_at" in repr(auth)


# -- chat ---------------------------------------------------------------------------------------


def test_chat_body_and_query(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(
            MODEL,
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            max_tokens=30,
            temperature=0.1,
            stop=["\n"],
        )
    req = emu.last_request
    assert req.query == {"version": "2024-05-31"}
    assert req.json() == {
        "model_id": "ibm/granite-3-8b-instruct",
        "project_id": "proj-1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "max_tokens": 30,
        "temperature": 0.1,
        "stop": ["\n"],
    }


def test_space_id_and_version_settings(emu: Emulator) -> None:
    with wx(emu, project_id=None, space_id="space-9", version="2025-02-11") as c:
        c.chat(MODEL, "hi")
    assert emu.last_request.json()["space_id"] == "space-9" and "project_id" not in emu.last_request.json()
    assert emu.last_request.query == {"version": "2025-02-11"}


@pytest.mark.parametrize("extra", [{"project_id": None}, {"space_id": "s"}])
def test_project_or_space_exactly_one(emu: Emulator, extra: dict[str, Any]) -> None:
    with wx(emu, **extra) as c, pytest.raises(ConfigError, match="exactly one of project_id or space_id"):
        c.chat(MODEL, "hi")
    assert emu.requests == []


def test_missing_features_raise_before_any_request(emu: Emulator) -> None:
    with wx(emu) as c:
        with pytest.raises(UnsupportedFeatureError, match="no `user` field"):
            c.chat(MODEL, "hi", user="u")
        with pytest.raises(UnsupportedFeatureError, match="parallel tool calls"):
            c.chat(MODEL, "hi", tools=[WEATHER], parallel_tool_calls=True)
        with pytest.raises(UnsupportedFeatureError, match="json_schema"):
            c.chat(MODEL, "hi", response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}})
    assert emu.requests == []


def test_tools_and_tool_choice_fields(emu: Emulator) -> None:
    with wx(emu) as c:
        resp = c.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="required")
        assert emu.last_request.json()["tool_choice_option"] == "required"
        assert emu.last_request.json()["tools"] == [WEATHER]
        assert resp.tool_calls[0].arguments == {"location": "Paris"} and resp.finish_reason == "tool_calls"
        c.chat(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="get_weather")
        body = emu.last_request.json()
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert "tool_choice_option" not in body
        history = [
            {"role": "user", "content": "Weather?"},
            resp.message,
            {"role": "tool", "tool_call_id": resp.tool_calls[0].id, "content": "9C"},
        ]
        assert c.chat(MODEL, history, tools=[WEATHER]).text == "The tool returned: 9C"


def test_recorded_tool_response(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "warm")  # the token first, so the queued answer goes to the chat
        emu.queue_json("watsonx", TOOL_RESPONSE)
        resp = c.chat(MODEL, "weather?", tools=[WEATHER])
    call = resp.tool_calls[0]
    assert (call.id, call.arguments) == ("call_abc123", {"location": "Paris", "unit": "celsius"})
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (85, 45)
    assert resp.raw["model_version"] == "3.0.0"


def test_recorded_stream_split_anywhere(emu: Emulator) -> None:
    with wx(emu) as c:
        c.chat(MODEL, "warm")
        emu.queue_stream("watsonx", split_every(STREAM, 9))
        with c.chat(MODEL, "hi", stream=True) as s:
            assert "".join(s.text_stream) == "Ciao"
            final = s.get_final_response()
    assert emu.last_request.subpath == "/ml/v1/text/chat_stream" and "stream" not in emu.last_request.json()
    assert (final.finish_reason, final.usage.input_tokens, final.usage.output_tokens) == ("stop", 38, 3)


def test_emulated_stream_with_tools(emu: Emulator) -> None:
    with wx(emu) as c, c.chat(MODEL, "Weather in Rome?", tools=[WEATHER], stream=True) as s:
        final = s.get_final_response()
    assert final.tool_calls[0].arguments == {"location": "Rome"} and final.finish_reason == "tool_calls"


def test_error_event_in_stream_and_cut_stream(emu: Emulator) -> None:
    err = b'event: error\ndata: {"errors":[{"code":"token_quota_reached","message":"Quota reached"}],"trace":"abc","status_code":429}\n\n'
    with wx(emu) as c:
        c.chat(MODEL, "warm")
        emu.queue_stream("watsonx", [STREAM.split(b"id: 3")[0], err])
        with pytest.raises(llmkit.APIError, match="Quota reached") as info, c.chat(MODEL, "hi", stream=True) as s:
            list(s)
        assert info.value.code == "token_quota_reached" and info.value.request_id == "abc"
        emu.queue_stream("watsonx", [STREAM.split(b"id: 3")[0]])
        with pytest.raises(StreamError), c.chat(MODEL, "hi", stream=True) as s:
            list(s)


def test_error_shape_is_read(emu: Emulator) -> None:
    with wx(emu) as c, pytest.raises(NotFoundError, match="Model 'ibm/nope' is not supported") as info:
        c.chat("watsonx/ibm/nope", "hi")
    assert info.value.code == "model_not_supported" and info.value.status == 404


def test_native_list_models_fills_the_version(emu: Emulator) -> None:
    with wx(emu) as c:
        specs = c.native("watsonx").list_models()
    assert emu.last_request.query == {"version": "2024-05-31"}
    assert "ibm/granite-3-8b-instruct" in [m.model_id for m in specs.resources]
