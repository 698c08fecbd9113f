"""Replicate on the wire: Prefer: wait, polling, cancellation on timeout, the stream URL hop, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._errors import APIError, BadRequestError, StreamError, TimeoutError, UnsupportedFeatureError
from llmkit._events import FinishEvent, TextDelta
from llmkit._transport import DEADLINE_CODE
from llmkit.testing import Emulator
from llmkit.testing._replicate_emu import latency

MODEL = "replicate/meta/meta-llama-3-8b-instruct"
# The prediction example of wire-facts-core.md §11 (output a single string there).
HELLO = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "model": "replicate/hello-world",
    "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    "input": {"text": "Alice"},
    "logs": "",
    "output": "hello Alice",
    "error": None,
    "status": "succeeded",
    "data_removed": False,
    "created_at": "2023-09-08T16:19:34.765994Z",
    "started_at": "2023-09-08T16:19:34.779176Z",
    "completed_at": "2023-09-08T16:19:34.791859Z",
    "metrics": {"predict_time": 0.012683},
    "urls": {
        "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
        "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
    },
}


def rep(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "r8_tok", "base_url": emu.base_url("replicate"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.Client(providers={"replicate": {**cfg, **extra}})


def arep(emu: Emulator, **extra: Any) -> llmkit.AsyncClient:
    cfg = {"api_key": "r8_tok", "base_url": emu.base_url("replicate"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.AsyncClient(providers={"replicate": {**cfg, **extra}})


def calls(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.subpath) for r in emu.requests]


def test_create_with_prefer_wait_is_exact(emu: Emulator) -> None:
    with rep(emu, wait=30) as c:
        resp = c.chat(
            MODEL,
            [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello there"}],
            max_tokens=20,
            temperature=0.5,
            stop=["\n", "User:"],
            provider_options={"min_tokens": 2},
        )
    (req,) = emu.requests
    assert (req.method, req.path) == ("POST", "/replicate/v1/models/meta/meta-llama-3-8b-instruct/predictions")
    assert req.headers["prefer"] == "wait=30" and req.headers["authorization"] == "Bearer r8_tok"
    assert req.json() == {
        "input": {
            "prompt": "hello there",
            "system_prompt": "Be kind.",
            "max_tokens": 20,
            "temperature": 0.5,
            "stop_sequences": "\n,User:",
            "min_tokens": 2,
        }
    }
    assert resp.text == "You said: hello there" and resp.id.startswith("gm3qorzdhgbfurvjtvhg")
    assert (resp.finish_reason, resp.raw_finish_reason, resp.usage.input_tokens, resp.usage.output_tokens) == (
        "stop",
        "succeeded",
        4,
        4,
    )


def test_recorded_prediction_and_token_arrays(emu: Emulator) -> None:
    with rep(emu) as c:
        emu.queue_json("replicate", HELLO, 201)
        assert c.chat(MODEL, "hi").text == "hello Alice"
        emu.queue_json(
            "replicate",
            {**HELLO, "output": ["Hello", " world", "!"], "metrics": {"input_token_count": 7, "output_token_count": 3}},
            201,
        )
        resp = c.chat(MODEL, "hi")
    assert (resp.text, resp.usage.input_tokens, resp.usage.output_tokens) == ("Hello world!", 7, 3)


def test_multi_turn_becomes_a_transcript(emu: Emulator) -> None:
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How are you?"},
    ]
    with rep(emu) as c:
        assert c.chat(MODEL, history).text == "You said: How are you?"
    assert emu.last_request.json()["input"]["prompt"] == "User: Hi\nAssistant: Hello!\nUser: How are you?\nAssistant:"


def test_polls_until_finished(emu: Emulator) -> None:
    latency(emu, 3)
    with rep(emu) as c:
        resp = c.chat(MODEL, "slow one")
    pid = resp.id
    assert (
        calls(emu)
        == [("POST", "/models/meta/meta-llama-3-8b-instruct/predictions")] + [("GET", f"/predictions/{pid}")] * 3
    )
    assert all(r.headers["authorization"] == "Bearer r8_tok" and "prefer" not in r.headers for r in emu.requests[1:])
    assert resp.text == "You said: slow one"


def test_cancels_on_timeout_and_never_retries(emu: Emulator) -> None:
    latency(emu, -1)
    with rep(emu, job_timeout=0.02, max_retries=2) as c, pytest.raises(TimeoutError, match="cancelled") as info:
        c.chat(MODEL, "never")
    assert info.value.code == DEADLINE_CODE
    pid = emu.last_request.subpath.split("/")[2]
    assert calls(emu)[0][0] == "POST" and calls(emu)[-1] == ("POST", f"/predictions/{pid}/cancel")
    assert [m for m, p in calls(emu) if p.endswith("/predictions")] == ["POST"]  # one job, not three
    listing = llmkit.Client(providers={"replicate": {"api_key": "r8_tok", "base_url": emu.base_url("replicate")}})
    assert listing.native("replicate").get_prediction(pid).status == "canceled"
    listing.close()


def test_failed_and_canceled_predictions_raise(emu: Emulator) -> None:
    with rep(emu) as c:
        emu.queue_json("replicate", {**HELLO, "status": "failed", "output": None, "error": "CUDA out of memory"}, 201)
        with pytest.raises(APIError, match="CUDA out of memory") as info:
            c.chat(MODEL, "x")
        assert info.value.code == "failed" and info.value.request_id == HELLO["id"]
        emu.queue_json("replicate", {**HELLO, "status": "canceled", "output": None}, 201)
        with pytest.raises(APIError, match="ended canceled"):
            c.chat(MODEL, "x")


def test_version_ids_use_the_predictions_endpoint(emu: Emulator) -> None:
    version = "meta/meta-llama-3-8b-instruct:" + "a" * 64
    with rep(emu) as c:
        c.chat(f"replicate/{version}", "hi")
    assert emu.last_request.subpath == "/predictions" and emu.last_request.json()["version"] == version


def test_stream_follows_the_stream_url(emu: Emulator) -> None:
    with rep(emu) as c, c.chat(MODEL, "hello there", stream=True) as s:
        events = list(s)
        final = s.get_final_response()
    create, stream = emu.requests
    assert create.json()["stream"] is True and "prefer" not in create.headers
    assert stream.subpath.endswith("/stream") and stream.headers["accept"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-store" and stream.headers["authorization"] == "Bearer r8_tok"
    assert events == [
        TextDelta(text="You "),
        TextDelta(text="said: "),
        TextDelta(text="hello "),
        TextDelta(text="there"),
        FinishEvent(finish_reason="stop", raw_finish_reason="succeeded"),
    ]
    assert final.text == "You said: hello there"


def _created_with_stream(emu: Emulator, url: str) -> dict[str, Any]:
    return {**HELLO, "status": "starting", "output": None, "urls": {**HELLO["urls"], "stream": url}}


def test_stream_text_events_multi_line_error_and_cut(emu: Emulator) -> None:
    url = emu.base_url("replicate") + "/predictions/x/stream"
    with rep(emu) as c:
        emu.queue_json("replicate", _created_with_stream(emu, url), 201)
        emu.queue_stream(
            "replicate",
            [
                b"event: output\nid: 1690212292:0\ndata: Once upon\ndata: a time\n\n",
                b"event: logs\ndata: step 1\n\nevent: done\ndata: {}\n\n",
            ],
        )
        with c.chat(MODEL, "x", stream=True) as s:
            assert s.get_final_response().text == "Once upon\na time"
        emu.queue_json("replicate", _created_with_stream(emu, url), 201)
        emu.queue_stream(
            "replicate", [b"event: output\ndata: Hi\n\n", b'event: error\ndata: {"detail": "model crashed"}\n\n']
        )
        with pytest.raises(APIError, match="model crashed"), c.chat(MODEL, "x", stream=True) as s:
            list(s)
        emu.queue_json("replicate", _created_with_stream(emu, url), 201)
        emu.queue_stream("replicate", [b"event: output\ndata: Hi\n\n"])
        with pytest.raises(StreamError, match="event: done"), c.chat(MODEL, "x", stream=True) as s:
            list(s)


def test_token_is_not_sent_to_a_foreign_stream_host(emu: Emulator) -> None:
    foreign = f"http://localhost:{emu.port}/replicate/v1/predictions/x/stream"  # another host name
    with rep(emu) as c:
        emu.queue_json("replicate", _created_with_stream(emu, foreign), 201)
        emu.queue_stream("replicate", [b"event: output\ndata: ok\n\nevent: done\ndata: {}\n\n"])
        with c.chat(MODEL, "x", stream=True) as s:
            assert s.get_final_response().text == "ok"
    assert "authorization" not in emu.last_request.headers


def test_problem_details_and_missing_features(emu: Emulator) -> None:
    with rep(emu) as c:
        emu.queue_json(
            "replicate",
            {"detail": "- input: prompt is required", "status": 422, "title": "Input validation failed"},
            422,
        )
        with pytest.raises(BadRequestError, match="prompt is required"):
            c.chat(MODEL, "x")
        n = len(emu.requests)
        tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        with pytest.raises(UnsupportedFeatureError, match="tool calling"):
            c.chat(MODEL, "x", tools=[tool])
        with pytest.raises(UnsupportedFeatureError, match="JSON mode"):
            c.chat(MODEL, "x", response_format={"type": "json_object"})
        assert len(emu.requests) == n
        with pytest.raises(llmkit.NotFoundError, match="not found"):
            c.chat("replicate/acme/nothing", "x")
    with rep(emu, api_key="bad") as c:
        emu.require_key = "r8_tok"
        with pytest.raises(llmkit.AuthenticationError, match="valid authentication token"):
            c.chat(MODEL, "x")


def test_async_polling_and_stream(emu: Emulator) -> None:
    latency(emu, 2)

    async def run() -> tuple[str, str]:
        async with arep(emu) as ac:
            plain = await ac.chat(MODEL, "async slow")
            stream = await ac.chat(MODEL, "async stream", stream=True)
            return plain.text, (await stream.get_final_response()).text

    assert asyncio.run(run()) == ("You said: async slow", "You said: async stream")
    assert [m for m, _ in calls(emu)][:3] == ["POST", "GET", "GET"]


def test_native_prediction_operations(emu: Emulator) -> None:
    latency(emu, -1)  # a long job: still running when it is cancelled
    with rep(emu) as c:
        native = c.native("replicate")
        pred = native.create_model_prediction("meta/meta-llama-3-8b-instruct", {"input": {"prompt": "hi"}})
        assert emu.last_request.path == "/replicate/v1/models/meta/meta-llama-3-8b-instruct/predictions"
        assert pred.status == "starting"  # no Prefer: wait on a native create: the caller decides
        assert native.get_prediction(pred.id).status == "processing"
        assert native.cancel_prediction(pred.id).status == "canceled"
        assert [p.id for p in native.list_predictions().results] == [pred.id]
