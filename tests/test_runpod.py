"""RunPod on the wire: the worker-vllm OpenAI route for chat, the /runsync job flow (poll,
cancel on timeout), the native queue operations, auth and settings errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._errors import AuthenticationError, BadRequestError, ConfigError, NotFoundError, TimeoutError
from llmkit._events import TextDelta
from llmkit._transport import DEADLINE_CODE
from llmkit.testing import Emulator
from llmkit.testing._runpod_emu import ENDPOINT_ID, latency

MODEL = "runpod/meta-llama/Llama-3.1-8B-Instruct"
PREFIX = f"/runpod/v2/{ENDPOINT_ID}"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def rp(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "rpa_key", "base_url": emu.base_url("runpod"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.Client(providers={"runpod": {**cfg, **extra}})


def calls(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.subpath) for r in emu.requests]


def test_chat_goes_to_the_openai_route_with_a_bearer_key(emu: Emulator) -> None:
    with rp(emu) as c:
        resp = c.chat(MODEL, [{"role": "user", "content": "hello there"}], max_tokens=20, temperature=0.1)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", f"{PREFIX}/openai/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer rpa_key"
    assert req.json() == {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 20,
        "temperature": 0.1,
    }
    assert (resp.text, resp.provider, resp.finish_reason) == ("You said: hello there", "runpod", "stop")
    assert resp.usage.input_tokens is not None and resp.cost_usd is None


def test_chat_streams_and_calls_tools(emu: Emulator) -> None:
    with rp(emu) as c:
        with c.chat(MODEL, "stream me", stream=True) as stream:
            deltas = [e.text for e in stream if isinstance(e, TextDelta)]
            final = stream.get_final_response()
        body = emu.last_request.json()
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert "".join(deltas) == final.text == "You said: stream me"
        resp = c.chat(MODEL, "What's the weather in Paris?", tools=[WEATHER])
    assert emu.last_request.json()["tools"] == [WEATHER]
    (call,) = resp.tool_calls
    assert (call.name, call.arguments, resp.finish_reason) == ("get_weather", {"city": "Paris"}, "tool_calls")


def test_runsync_answered_finished_is_one_request(emu: Emulator) -> None:
    with rp(emu) as c:
        job = c.native("runpod").run_sync({"input": {"prompt": "hi"}, "policy": {"executionTimeout": 60000}})
    (req,) = emu.requests
    assert (req.method, req.path) == ("POST", f"{PREFIX}/runsync")
    assert req.json() == {"input": {"prompt": "hi"}, "policy": {"executionTimeout": 60000}}
    assert req.headers["authorization"] == "Bearer rpa_key"
    assert job.status == "COMPLETED" and job.id.startswith("sync-")
    assert job.output == [{"choices": [{"tokens": ["You said: hi"]}], "usage": {"input": 3, "output": 3}}]
    assert (job.delay_time, job.execution_time, job.worker_id) == (824, 3391, "emu-worker-1")


def test_runsync_unfinished_is_polled_at_status(emu: Emulator) -> None:
    latency(emu, 3)
    with rp(emu) as c:
        job = c.native("runpod").run_sync({"input": {"prompt": "slow"}})
    assert calls(emu) == [("POST", "/runsync")] + [("GET", f"/status/{job.id}")] * 3
    assert all(r.headers["authorization"] == "Bearer rpa_key" and r.body == b"" for r in emu.requests[1:])
    assert job.status == "COMPLETED" and job.output[0]["choices"][0]["tokens"] == ["You said: slow"]


def test_runsync_cancels_on_timeout_and_is_never_retried(emu: Emulator) -> None:
    latency(emu, -1)
    with rp(emu, job_timeout=0.02, max_retries=2) as c:
        with pytest.raises(TimeoutError, match="cancelled") as info:
            c.native("runpod").run_sync({"input": {"prompt": "never"}})
        assert info.value.code == DEADLINE_CODE
        job_id = emu.last_request.subpath.split("/")[2]
        assert calls(emu)[-1] == ("POST", f"/cancel/{job_id}")
        assert [p for _, p in calls(emu)].count("/runsync") == 1
        assert c.native("runpod").get_status(job_id).status == "CANCELLED"


def test_failed_runsync_job_is_returned_with_its_error(emu: Emulator) -> None:
    with rp(emu) as c:
        job = c.native("runpod").run_sync({"input": {"prompt": "x", "fail": True}})
        assert (job.status, job.error) == ("FAILED", "handler raised: emulated failure")
        again = c.native("runpod").retry_job(job.id)
        assert again.status == "IN_QUEUE"
        assert c.native("runpod").get_status(job.id).status == "COMPLETED"


def test_run_returns_at_once_then_status_stream_cancel_health(emu: Emulator) -> None:
    with rp(emu) as c:
        native = c.native("runpod")
        queued = native.run({"input": {"prompt": "one two"}, "webhook": "https://example.com/hook"})
        assert queued.status == "IN_QUEUE" and len(emu.requests) == 1
        pieces, status = [], "IN_QUEUE"
        while status != "COMPLETED":
            poll = native.stream_job(queued.id)
            status = poll.status
            pieces += [chunk.output["text"][0] for chunk in poll.stream or []]
        assert "".join(pieces) == "You said: one two"
        assert emu.last_request.path == f"{PREFIX}/stream/{queued.id}" and emu.last_request.method == "GET"
        other = native.run({"input": {"prompt": "later"}})
        health = native.health()
        assert (health.jobs.completed, health.jobs.in_queue) == (1, 1)
        assert native.cancel_job(other.id).status == "CANCELLED"
        assert emu.last_request.path == f"{PREFIX}/cancel/{other.id}" and emu.last_request.method == "POST"
        assert native.purge_queue().removed == 0


def test_job_ids_are_percent_encoded(emu: Emulator) -> None:
    with rp(emu) as c, pytest.raises(NotFoundError):
        c.native("runpod").get_status("a b/../c")
    assert emu.last_request.path == f"{PREFIX}/status/a%20b%2F..%2Fc"


def test_errors_are_typed(emu: Emulator) -> None:
    with rp(emu) as c:
        with pytest.raises(BadRequestError, match="'input' object"):
            c.native("runpod").run({"input": "nope"})
        with pytest.raises(NotFoundError, match="not found"):
            c.native("runpod").get_status("missing-job")
    with rp(emu, api_key="wrong") as c:
        emu.require_key = "rpa_key"
        with pytest.raises(AuthenticationError):
            c.native("runpod").health()


def test_settings_errors_before_any_request(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="has no default endpoint"):
        llmkit.Client(providers={"runpod": {"api_key": "k"}}).chat(MODEL, "hi")
    with pytest.raises(ConfigError, match="without /openai/v1"):
        llmkit.Client(providers={"runpod": {"api_key": "k", "base_url": emu.base_url("runpod") + "/openai/v1"}}).chat(
            MODEL, "hi"
        )
    with pytest.raises(ConfigError, match="no API key for 'runpod'"):
        llmkit.Client(providers={"runpod": {"base_url": emu.base_url("runpod")}}).chat(MODEL, "hi")
    with pytest.raises(ConfigError, match="job_timeout must be positive"):
        rp(emu, job_timeout=0).chat(MODEL, "hi")
    assert emu.requests == []


def test_async_runsync_polls_and_chat_streams(emu: Emulator) -> None:
    async def main() -> tuple[str, str]:
        cfg = {"api_key": "rpa_key", "base_url": emu.base_url("runpod"), "max_retries": 0, "poll_interval": 0.001}
        async with llmkit.AsyncClient(providers={"runpod": cfg}) as c:
            latency(emu, 2)
            job = await c.native("runpod").run_sync({"input": {"prompt": "async"}})
            resp = await c.chat(MODEL, "async chat")
            return job.status, resp.text

    assert asyncio.run(main()) == ("COMPLETED", "You said: async chat")
    assert [m for m, p in calls(emu)] == ["POST", "GET", "GET", "POST"]
    assert json.loads(emu.requests[0].body) == {"input": {"prompt": "async"}}


def test_key_never_in_repr(emu: Emulator) -> None:
    with rp(emu) as c:
        c.native("runpod").health()
        assert "rpa_key" not in repr(c)
