"""GigaChat on the wire: the OAuth exchange, chat, functions both ways, streams, token counts,
errors and what is refused before any request.

Fixtures follow wire-facts-regional.md §1 (the official SDK's recorded traffic): answers have no
`id`, the model carries its version, function arguments are JSON objects, stream chunks say
`"object": "chat.completion"` and the last one carries the usage.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest

import llmkit
from llmkit._events import FinishEvent, TextDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmkit.testing._gigachat_emu import HANDLER
from llmkit.testing._server import Emulator
from tests.conftest import split_every

KEY = "Y2xpZW50X2lkOmNsaWVudF9zZWNyZXQ="  # base64("client_id:client_secret")
MODEL = "gigachat/GigaChat-2"
HI = [{"role": "user", "content": "Привет, как дела?"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather_forecast",
        "description": "Прогноз погоды",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "num_days": {"type": "integer"}},
            "required": ["location"],
        },
    },
}


def settings(emu: Emulator, **extra: Any) -> dict[str, Any]:
    base = emu.base_url("gigachat")
    return {"credentials": KEY, "base_url": base, "auth_url": base + "/oauth", "max_retries": 0, **extra}


def giga(emu: Emulator, **extra: Any) -> llmkit.Client:
    return llmkit.Client(providers={"gigachat": settings(emu, **extra)})


def agiga(emu: Emulator, **extra: Any) -> llmkit.AsyncClient:
    return llmkit.AsyncClient(providers={"gigachat": settings(emu, **extra)})


def auth_of(client: Any) -> Any:
    return client._transport("gigachat", client._spec("gigachat")).auth


def big_backlog(emu: Emulator) -> None:
    """The emulator listens with Python's default backlog of 5: 50 simultaneous connects overflow it."""
    assert emu._server is not None
    emu._server.socket.listen(1024)


def paths(emu: Emulator) -> list[str]:
    return [r.subpath for r in emu.requests]


# -- OAuth -------------------------------------------------------------------------------------


def test_the_token_exchange_on_the_wire(emu: Emulator) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)
        c.chat(MODEL, HI)
    oauth, chat1, chat2 = emu.requests
    assert (oauth.method, oauth.path) == ("POST", "/gigachat/api/v1/oauth")
    assert oauth.headers["authorization"] == f"Basic {KEY}"
    assert uuid.UUID(oauth.headers["rquid"]).version == 4
    assert oauth.headers["content-type"] == "application/x-www-form-urlencoded"
    assert oauth.headers["accept"] == "application/json"
    assert oauth.body == b"scope=GIGACHAT_API_PERS"
    token = chat1.headers["authorization"].removeprefix("Bearer ")
    assert token in HANDLER.issued and chat2.headers["authorization"] == f"Bearer {token}"
    assert KEY not in json.dumps(chat1.headers)


@pytest.mark.parametrize("scope", ["GIGACHAT_API_B2B", "GIGACHAT_API_CORP"])
def test_business_scopes(emu: Emulator, scope: str) -> None:
    with giga(emu, scope=scope) as c:
        c.chat(MODEL, HI)
    assert emu.requests[0].body == f"scope={scope}".encode()


def test_every_token_request_has_a_fresh_rquid(emu: Emulator) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)
        auth_of(c).invalidate()
        c.chat(MODEL, HI)
    ids = [r.headers["rquid"] for r in emu.requests if r.subpath == "/oauth"]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_expires_at_is_read_as_milliseconds_and_refreshed_a_minute_early(emu: Emulator) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)
        auth = auth_of(c)
        first = emu.requests[-1].headers["authorization"].removeprefix("Bearer ")
        expires = HANDLER.issued[first] / 1000
        assert auth._token.expires_at == expires
        auth.clock = lambda: expires - 61  # 61 s left: still outside the 60 s margin
        c.chat(MODEL, HI)
        assert paths(emu).count("/oauth") == 1
        auth.clock = lambda: expires - 59  # 59 s left: refreshed before it can expire mid-call
        c.chat(MODEL, HI)
    assert paths(emu).count("/oauth") == 2
    assert emu.requests[-1].headers["authorization"] != f"Bearer {first}"


def test_the_older_tok_exp_answer_is_understood(emu: Emulator) -> None:
    HANDLER.issued["legacy-token"] = 4_102_444_800_000
    emu.queue_json("gigachat", {"tok": "legacy-token", "exp": 4_102_444_800_000})
    with giga(emu) as c:
        assert c.chat(MODEL, HI).text == "You said: Привет, как дела?"
        assert auth_of(c)._token.expires_at == 4_102_444_800.0
    assert emu.requests[-1].headers["authorization"] == "Bearer legacy-token"


def test_one_refresh_for_50_threads(emu: Emulator) -> None:
    big_backlog(emu)
    with giga(emu) as c:
        barrier = threading.Barrier(50)
        out: list[str] = []

        def call() -> None:
            barrier.wait()
            out.append(c.chat(MODEL, HI).text)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert out == ["You said: Привет, как дела?"] * 50
    assert paths(emu).count("/oauth") == 1 and paths(emu).count("/chat/completions") == 50


def test_one_refresh_for_50_tasks(emu: Emulator) -> None:
    big_backlog(emu)

    async def run() -> list[str]:
        async with agiga(emu) as c:
            rs = await asyncio.gather(*(c.chat(MODEL, HI) for _ in range(50)))
        return [r.text for r in rs]

    assert asyncio.run(run()) == ["You said: Привет, как дела?"] * 50
    assert paths(emu).count("/oauth") == 1 and paths(emu).count("/chat/completions") == 50


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_revoked_token_is_replaced_once_on_401(emu: Emulator, kind: str) -> None:
    async def run() -> str:
        if kind == "sync":
            with giga(emu) as c:
                c.chat(MODEL, HI)
                HANDLER.revoke_all()
                return c.chat(MODEL, HI).text
        async with agiga(emu) as ac:
            await ac.chat(MODEL, HI)
            HANDLER.revoke_all()
            return (await ac.chat(MODEL, HI)).text

    assert asyncio.run(run()) == "You said: Привет, как дела?"
    assert paths(emu) == ["/oauth", "/chat/completions", "/chat/completions", "/oauth", "/chat/completions"]
    assert emu.requests[2].headers["authorization"] != emu.requests[4].headers["authorization"]


def test_a_fresh_token_refused_too_surfaces_the_401_after_one_retry(emu: Emulator) -> None:
    HANDLER.revoked.add("revoked-token")
    for _ in range(2):  # the first token and its replacement are both refused by the API
        emu.queue_json("gigachat", {"access_token": "revoked-token", "expires_at": 4_102_444_800_000})
        emu.queue("gigachat", lambda req: HANDLER.handle(req, emu))  # the chat, answered by the emulator
    with giga(emu) as c, pytest.raises(llmkit.AuthenticationError, match="Unauthorized") as info:
        c.chat(MODEL, HI)
    assert info.value.status == 401 and info.value.body == {"status": 401, "message": "Unauthorized"}
    assert paths(emu) == ["/oauth", "/chat/completions", "/oauth", "/chat/completions"]


def test_rotating_the_authorization_key_fetches_a_new_token(emu: Emulator) -> None:
    rotated = "bmV3X2lkOm5ld19zZWNyZXQ="  # base64("new_id:new_secret")
    with giga(emu) as c:
        c.chat(MODEL, HI)
        c._settings("gigachat", c._spec("gigachat")).update(credentials=rotated)
        c.chat(MODEL, HI)
    oauths = [r for r in emu.requests if r.subpath == "/oauth"]
    assert [r.headers["authorization"] for r in oauths] == [f"Basic {KEY}", f"Basic {rotated}"]
    assert emu.requests[1].headers["authorization"] != emu.requests[3].headers["authorization"]


def test_a_refused_authorization_key(emu: Emulator) -> None:
    emu.queue_json("gigachat", {"code": 6, "message": "credentials doesn't match db data"}, status=401)
    with giga(emu) as c, pytest.raises(llmkit.AuthenticationError) as info:
        c.chat(MODEL, HI)
    assert "refused the credential: HTTP 401" in str(info.value)
    assert "credentials doesn't match db data" in str(info.value) and KEY not in str(info.value)
    assert paths(emu) == ["/oauth"]


def test_a_ready_token_as_api_key_skips_oauth(emu: Emulator) -> None:
    with emu.client() as c:
        assert c.chat(MODEL, HI).text == "You said: Привет, как дела?"
    assert paths(emu) == ["/chat/completions"]
    assert emu.last_request.headers["authorization"] == "Bearer test-key"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"credentials": None}, "no credentials for 'gigachat'"),
        ({"scope": "GIGACHAT_API_PRO"}, "scope must be one of GIGACHAT_API_PERS, GIGACHAT_API_B2B"),
        ({"credentials": "client_secret!"}, "'credentials' is not base64"),
    ],
)
def test_bad_credentials_are_config_errors_before_any_request(emu: Emulator, extra: Any, match: str) -> None:
    with giga(emu, **extra) as c, pytest.raises(llmkit.ConfigError, match=match):
        c.chat(MODEL, HI)
    assert emu.requests == []


def test_no_secret_in_reprs(emu: Emulator) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)
        auth = auth_of(c)
        token = emu.last_request.headers["authorization"].removeprefix("Bearer ")
        shown = repr(auth) + repr(auth._token) + repr(c)
    assert KEY not in shown and token not in shown and "GigaChatAuth(provider='gigachat'" in shown


# -- chat ----------------------------------------------------------------------------------------


def test_chat_request_and_answer(emu: Emulator) -> None:
    with giga(emu) as c:
        resp = c.chat(
            MODEL,
            [{"role": "developer", "content": "Отвечай кратко"}, *HI],
            max_tokens=64,
            temperature=0.2,
            top_p=0.9,
            provider_options={"repetition_penalty": 1.1, "profanity_check": True},
        )
    assert emu.last_request.json() == {
        "model": "GigaChat-2",
        "messages": [{"role": "system", "content": "Отвечай кратко"}, {"role": "user", "content": "Привет, как дела?"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "repetition_penalty": 1.1,
        "profanity_check": True,
    }
    assert "Привет".encode() in emu.last_request.body  # raw UTF-8, not \\u escapes
    assert (resp.id, resp.model, resp.text, resp.finish_reason) == (
        None,
        "GigaChat-2:2.0.28.2",
        "You said: Привет, как дела?",
        "stop",
    )
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (5, 5)


def test_recorded_answer_is_parsed(emu: Emulator) -> None:
    emu.queue_json("gigachat", {"access_token": "t", "expires_at": 4_102_444_800_000})
    emu.queue_json(
        "gigachat",
        {
            "choices": [{"message": {"content": "Hello.", "role": "assistant"}, "index": 0, "finish_reason": "stop"}],
            "created": 1768996171,
            "model": "GigaChat:2.0.28.2",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 17, "completion_tokens": 3, "total_tokens": 20, "precached_prompt_tokens": 2},
        },
    )
    with giga(emu) as c:
        resp = c.chat("gigachat/GigaChat", HI)
    assert (resp.text, resp.model, resp.raw_finish_reason) == ("Hello.", "GigaChat:2.0.28.2", "stop")
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.cached_input_tokens) == (17, 3, 2)


def test_functions_are_sent_the_gigachat_way(emu: Emulator) -> None:
    with giga(emu) as c:
        resp = c.chat(MODEL, [{"role": "user", "content": "Weather in Moscow?"}], tools=[WEATHER], tool_choice="auto")
    body = emu.last_request.json()
    assert "tools" not in body and "tool_choice" not in body
    assert body["functions"] == [WEATHER["function"]]
    assert body["function_call"] == "auto"
    (call,) = resp.tool_calls
    assert (call.name, call.arguments, resp.finish_reason, resp.raw_finish_reason) == (
        "weather_forecast",
        {"location": "Moscow", "num_days": 1},
        "tool_calls",
        "function_call",
    )
    state = resp.raw["choices"][0]["message"]["functions_state_id"]
    assert call.id == f"call_{state}" and call.provider_data == {"functions_state_id": state}
    assert json.loads(call.raw_arguments or "") == call.arguments


def test_recorded_function_call_with_object_arguments(emu: Emulator) -> None:
    emu.queue_json("gigachat", {"access_token": "t", "expires_at": 4_102_444_800_000})
    emu.queue_json(
        "gigachat",
        {
            "choices": [
                {
                    "message": {
                        "content": "",
                        "role": "assistant",
                        "function_call": {"name": "fc", "arguments": {"location": "Москва", "num_days": 0}},
                    },
                    "index": 0,
                    "finish_reason": "function_call",
                }
            ],
            "created": 1706026848,
            "model": "GigaChat:1.0.26.20",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 134, "completion_tokens": 26, "total_tokens": 160, "system_tokens": 11},
        },
    )
    with giga(emu) as c:
        resp = c.chat("gigachat/GigaChat", HI, tools=[WEATHER])
    (call,) = resp.tool_calls
    assert (call.id, call.name, call.arguments, call.provider_data) == (
        "call_fc",
        "fc",
        {"location": "Москва", "num_days": 0},
        None,
    )
    assert resp.message.to_dict()["tool_calls"][0]["function"]["arguments"] == '{"location": "Москва", "num_days": 0}'


def test_tool_results_go_back_as_function_messages(emu: Emulator) -> None:
    with giga(emu) as c:
        history: list[Any] = [{"role": "user", "content": "Weather in Moscow?"}]
        first = c.chat(MODEL, history, tools=[WEATHER])
        call = first.tool_calls[0]
        history += [first.message, {"role": "tool", "tool_call_id": call.id, "content": '{"temp": -5}'}]
        second = c.chat(MODEL, history, tools=[WEATHER])
        history += [second.message, {"role": "user", "content": "И завтра?"}]
        history += [
            {
                "role": "assistant",
                "tool_calls": [{"id": "c9", "function": {"name": "weather_forecast", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c9", "content": "snow"},
        ]
        c.chat(MODEL, history, tools=[WEATHER])
    state = call.provider_data["functions_state_id"]  # type: ignore[index]
    assert emu.requests[2].json()["messages"] == [
        {"role": "user", "content": "Weather in Moscow?"},
        {
            "role": "assistant",
            "content": "",
            "function_call": {"name": "weather_forecast", "arguments": {"location": "Moscow", "num_days": 1}},
            "functions_state_id": state,
        },
        {"role": "function", "name": "weather_forecast", "content": '{"temp": -5}'},
    ]
    assert second.text == 'The tool returned: {"temp": -5}' and second.finish_reason == "stop"
    last = emu.last_request.json()["messages"]
    assert last[-2:] == [
        {"role": "assistant", "content": "", "function_call": {"name": "weather_forecast", "arguments": {}}},
        {"role": "function", "name": "weather_forecast", "content": '{"result": "snow"}'},
    ]


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("none", "none"),
        ("weather_forecast", {"name": "weather_forecast"}),
        ("required", {"name": "weather_forecast"}),
        ({"type": "function", "function": {"name": "weather_forecast"}}, {"name": "weather_forecast"}),
    ],
)
def test_tool_choice_maps_to_function_call(emu: Emulator, choice: Any, sent: Any) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI, tools=[WEATHER], tool_choice=choice)
    assert emu.last_request.json()["function_call"] == sent


def test_streamed_text_and_usage(emu: Emulator) -> None:
    with giga(emu) as c, c.chat(MODEL, HI, stream=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    req = emu.last_request
    assert req.json()["stream"] is True
    assert (req.headers["accept"], req.headers["cache-control"]) == ("text/event-stream", "no-store")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "You said: Привет, как дела?"
    assert [type(e).__name__ for e in events[-2:]] == ["UsageEvent", "FinishEvent"]
    assert (final.text, final.model, final.finish_reason, final.usage.output_tokens) == (
        "You said: Привет, как дела?",
        "GigaChat-2:2.0.28.2",
        "stop",
        5,
    )


RECORDED_STREAM = (
    'data: {"choices":[{"delta":{"content":"Привет","role":"assistant"},"index":0}],"created":1768996171,'
    '"model":"GigaChat:2.0.28.2","object":"chat.completion"}\n\n'
    'data: {"choices":[{"delta":{"content":"! Как я могу помочь? 🙂"},"index":0}],"created":1768996171,'
    '"model":"GigaChat:2.0.28.2","object":"chat.completion"}\n\n'
    'data: {"choices":[{"delta":{"content":""},"index":0,"finish_reason":"stop"}],"created":1768996171,'
    '"model":"GigaChat:2.0.28.2","object":"chat.completion","usage":{"prompt_tokens":17,"completion_tokens":9,'
    '"total_tokens":26,"precached_prompt_tokens":0}}\n\n'
    "data: [DONE]\n\n"
).encode()


@pytest.mark.parametrize("size", [1, 3, 7])
def test_cyrillic_and_emoji_survive_any_split(emu: Emulator, size: int) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)  # the token first, so the queued stream answers the chat
        emu.queue_stream("gigachat", split_every(RECORDED_STREAM, size))
        with c.chat("gigachat/GigaChat", HI, stream=True) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_response()
    assert text == "Привет! Как я могу помочь? 🙂" == final.text
    assert (final.usage.input_tokens, final.usage.output_tokens, final.id) == (17, 9, None)


def test_streamed_function_call(emu: Emulator) -> None:
    async def run() -> tuple[list[Any], Any]:
        async with agiga(emu) as c:
            stream = await c.chat(
                MODEL, [{"role": "user", "content": "Weather in Moscow?"}], tools=[WEATHER], stream=True
            )
            events = [e async for e in stream]
            return events, await stream.get_final_response()

    events, final = asyncio.run(run())
    start = next(e for e in events if isinstance(e, ToolCallStart))
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert start.name == "weather_forecast" and end.tool_call.arguments == {"location": "Moscow", "num_days": 1}
    assert isinstance(events[-1], FinishEvent) and events[-1].raw_finish_reason == "function_call"
    assert any(isinstance(e, UsageEvent) for e in events)
    assert final.finish_reason == "tool_calls" and final.tool_calls[0].id == start.id


def test_a_stream_without_done_is_an_error(emu: Emulator) -> None:
    cut = RECORDED_STREAM.replace(b"data: [DONE]\n\n", b"")
    with giga(emu) as c:
        c.chat(MODEL, HI)
        emu.queue_stream("gigachat", [cut])
        with (
            pytest.raises(llmkit.StreamError, match="ended before `data: \\[DONE\\]`"),
            c.chat(MODEL, HI, stream=True) as s,
        ):
            list(s)


def test_an_error_body_inside_a_stream_is_typed(emu: Emulator) -> None:
    with giga(emu) as c:
        c.chat(MODEL, HI)
        emu.queue_stream("gigachat", ['data: {"status": 429, "message": "Too Many Requests"}\n\n'])
        with pytest.raises(llmkit.RateLimitError, match="Too Many Requests"), c.chat(MODEL, HI, stream=True) as s:
            list(s)


# -- errors and refusals -----------------------------------------------------------------------------


def test_unknown_model_is_not_found_with_gigachats_message(emu: Emulator) -> None:
    with giga(emu) as c, pytest.raises(llmkit.NotFoundError) as info:
        c.chat("gigachat/GigaChat-9", HI)
    assert (info.value.status, info.value.body) == (404, {"status": 404, "message": "No such model"})
    assert "No such model" in str(info.value)


def test_a_tool_result_answering_nothing_is_refused(emu: Emulator) -> None:
    with giga(emu) as c, pytest.raises(llmkit.BadRequestError, match="answers no earlier tool call"):
        c.chat(MODEL, [*HI, {"role": "tool", "tool_call_id": "x", "content": "1"}])
    assert emu.requests == []


@pytest.mark.parametrize(
    ("params", "messages", "code"),
    [
        ({"stop": ["\n"]}, HI, "stop"),
        ({"seed": 7}, HI, "seed"),
        ({"user": "u1"}, HI, "user"),
        ({"response_format": {"type": "json_object"}}, HI, "json_object"),
        ({"parallel_tool_calls": True, "tools": [WEATHER]}, HI, "parallel_tool_calls"),
        ({"reasoning_effort": "high"}, HI, "reasoning"),
        ({}, [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], "vision"),
        (
            {
                "tools": [WEATHER, {**WEATHER, "function": {**WEATHER["function"], "name": "b"}}],
                "tool_choice": "required",
            },
            HI,
            "tool_choice 'required' with more than one tool (name the function instead)",
        ),
    ],
)
def test_missing_features_raise_before_any_request(emu: Emulator, params: Any, messages: Any, code: str) -> None:
    with giga(emu) as c, pytest.raises(llmkit.UnsupportedFeatureError) as info:
        c.chat(MODEL, messages, **params)
    assert info.value.code == code
    assert emu.requests == []


def test_an_embeddings_model_refuses_chat(emu: Emulator) -> None:
    with giga(emu) as c, pytest.raises(llmkit.UnsupportedFeatureError, match="does not support chat"):
        c.chat("gigachat/Embeddings", HI)
    assert emu.requests == []
