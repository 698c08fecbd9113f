"""Fallback chains, the client's retry loop, hooks and OpenTelemetry spans, against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._fallback import context_window, next_model
from llmkit._hooks import HookEvent

CTX_MSG = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens."


def test_fallback_moves_on_after_retries_are_spent(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(max_retries=1))
    c._sleep = lambda s: None
    emu.queue_error("openai", 503, "down")
    emu.queue_error("openai", 503, "still down")
    resp = c.chat(["openai/gpt-4o", "anthropic/claude-haiku-4-5"], "hello")
    assert resp.provider == "anthropic" and resp.model.startswith("claude-haiku-4-5")
    assert [r.provider for r in emu.requests] == ["openai", "openai", "anthropic"]
    assert len(resp.errors) == 1 and isinstance(resp.errors[0], llmkit.ServerError)


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, llmkit.RateLimitError), (500, llmkit.ServerError), (529, llmkit.ServerError)],
)
def test_every_retryable_status_falls_back(emu, client, status, error) -> None:
    emu.queue_error("openai", status, "busy")
    resp = client.chat(["openai/gpt-4o", "openai/gpt-4o-mini"], "hi")
    assert resp.model == "gpt-4o-mini" and isinstance(resp.errors[0], error)
    assert len(emu.requests) == 2


def test_connection_error_falls_back(emu) -> None:
    from tests._redis import refused_port

    sock, port = refused_port()
    cfg = emu.providers_config()
    cfg["openai@dead"] = {**cfg["openai"], "base_url": f"http://127.0.0.1:{port}/v1"}
    c = llmkit.Client(providers=cfg)
    resp = c.chat(["openai@dead/gpt-4o", "openai/gpt-4o"], "hi")
    assert resp.text == "You said: hi"
    assert isinstance(resp.errors[0], llmkit.ConnectionError)
    assert len(emu.requests) == 1
    sock.close()


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_no_fallback_after_a_client_error(emu, client, status) -> None:
    emu.queue_error("openai", status, "your fault")
    with pytest.raises(llmkit.APIError):
        client.chat(["openai/gpt-4o", "anthropic/claude-haiku-4-5"], "hi")
    assert len(emu.requests) == 1


def test_context_length_falls_back_only_to_a_larger_window(emu, client) -> None:
    assert context_window("openai/gpt-4o") == 128000
    assert context_window("openai/gpt-4.1") == 1047576
    emu.queue_error("openai", 400, CTX_MSG)
    resp = client.chat(["openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4.1"], "long prompt")
    assert resp.model == "gpt-4.1"
    assert [r.json()["model"] for r in emu.requests] == ["gpt-4o", "gpt-4.1"]  # gpt-4o-mini is no larger
    assert isinstance(resp.errors[0], llmkit.ContextLengthError)


def test_context_length_without_a_larger_model_raises(emu, client) -> None:
    emu.queue_error("openai", 400, CTX_MSG)
    with pytest.raises(llmkit.ContextLengthError):
        client.chat(["openai/gpt-4.1", "openai/gpt-4o"], "long prompt")
    assert len(emu.requests) == 1


def test_next_model_rules() -> None:
    models = ["openai/gpt-4o", "nosuch/model", "openai/gpt-4.1"]
    ctx = llmkit.ContextLengthError("too long")
    assert next_model(ctx, models, 0) == 2
    assert next_model(ctx, ["nosuch/model", "openai/gpt-4.1"], 0) is None  # unknown window: no proof
    assert next_model(llmkit.ServerError("x"), models, 2) is None
    assert next_model(llmkit.StreamError("x"), models, 0) is None
    assert next_model(llmkit.BudgetExceededError("x"), models, 0) is None


def test_stream_falls_back_when_opening_fails(emu, client) -> None:
    emu.queue_error("openai", 503, "down")
    with client.chat(["openai/gpt-4o", "anthropic/claude-haiku-4-5"], "hi", stream=True) as s:
        final = s.get_final_response()
    assert final.provider == "anthropic" and final.text == "You said: hi"
    assert len(final.errors) == 1 and len(emu.requests) == 2


def test_no_fallback_once_stream_events_reached_the_caller(emu, client) -> None:
    chunk = '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}'
    emu.queue_stream("openai", [f"data: {chunk}\n\n"])  # cut: no finish, no [DONE]
    s = client.chat(["openai/gpt-4o", "anthropic/claude-haiku-4-5"], "hi", stream=True)
    got = []
    with pytest.raises(llmkit.StreamError):
        for ev in s:
            got.append(ev)
    assert [e.text for e in got if isinstance(e, llmkit.TextDelta)] == ["Hel"]
    assert [r.provider for r in emu.requests] == ["openai"]


def test_client_retries_fire_hooks_in_order(emu) -> None:
    events: list[HookEvent] = []
    c = llmkit.Client(
        providers=emu.providers_config(max_retries=2),
        hooks={name: events.append for name in ("before_request", "after_response", "on_retry", "on_error")},
    )
    waits: list[float] = []
    c._sleep = waits.append
    emu.queue_error("openai", 429, "slow", headers={"retry-after": "0.25"})
    emu.queue_error("openai", 503, "down", headers={"retry-after": "0.5"})
    resp = c.chat("openai/gpt-4o-mini", "hi", max_tokens=5)
    assert resp.text == "You said: hi"
    assert [e.name for e in events] == [
        "before_request",
        "on_retry",
        "before_request",
        "on_retry",
        "before_request",
        "after_response",
    ]
    assert [e.attempt for e in events if e.name == "before_request"] == [0, 1, 2]
    assert [e.wait for e in events if e.name == "on_retry"] == [0.25, 0.5]
    assert isinstance(events[1].error, llmkit.RateLimitError)
    assert events[-1].response is resp and events[-1].cached is False
    assert events[0].body["max_completion_tokens"] == 5 and events[0].model == "openai/gpt-4o-mini"
    assert 0.25 in waits and 0.5 in waits and len(emu.requests) == 3


def test_on_error_hook_and_decorator(emu, client) -> None:
    seen: list[HookEvent] = []

    @client.on("on_error")
    def note(event: HookEvent) -> None:
        seen.append(event)

    emu.queue_error("openai", 400, "bad")
    with pytest.raises(llmkit.BadRequestError):
        client.chat("openai/gpt-4o", "x")
    assert len(seen) == 1 and isinstance(seen[0].error, llmkit.BadRequestError)
    with pytest.raises(llmkit.ConfigError, match="unknown hook 'after'"):
        client.on("after", note)


def test_sync_client_refuses_async_hook(emu) -> None:
    async def hook(event: HookEvent) -> None:
        return None

    c = llmkit.Client(providers=emu.providers_config(), hooks={"before_request": hook})
    with pytest.raises(llmkit.ConfigError, match="async hooks need an AsyncClient"):
        c.chat("openai/gpt-4o", "x")


def test_async_fallback_retries_and_async_hooks(emu) -> None:
    names: list[str] = []

    async def hook(event: HookEvent) -> None:
        names.append(event.name)

    async def main() -> Any:
        async with llmkit.AsyncClient(
            providers=emu.providers_config(max_retries=1), hooks={"on_retry": hook, "after_response": hook}
        ) as c:

            async def no_sleep(s: float) -> None:
                return None

            c._sleep = no_sleep
            emu.queue_error("openai", 503, "a")
            emu.queue_error("openai", 503, "b")
            resp = await c.chat(["openai/gpt-4o", "gemini/gemini-2.5-flash"], "hi")
            emu.queue_error("openai", 500, "c")
            emu.queue_error("openai", 500, "d")
            stream = await c.chat(["openai/gpt-4o", "anthropic/claude-haiku-4-5"], "yo", stream=True)
            final = await stream.get_final_response()
            emu.queue_error("openai", 400, CTX_MSG)
            big = await c.chat(["openai/gpt-4o", "openai/gpt-4.1"], "long")
            return resp, final, big

    resp, final, big = asyncio.run(main())
    assert resp.provider == "gemini" and len(resp.errors) == 1
    assert final.provider == "anthropic" and final.text == "You said: yo" and len(final.errors) == 1
    assert big.model == "gpt-4.1" and isinstance(big.errors[0], llmkit.ContextLengthError)
    assert [r.provider for r in emu.requests] == ["openai", "openai", "gemini", "openai", "openai", "anthropic", "openai", "openai"]
    assert names == ["on_retry", "after_response", "on_retry", "after_response", "after_response"]


def test_opentelemetry_spans_follow_genai_conventions(emu) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    c = llmkit.Client(providers=emu.providers_config())
    c._orch.tracer = provider.get_tracer("test")
    resp = c.chat("openai/gpt-4o-mini", "hi", max_tokens=7, temperature=0.5)
    with c.chat("anthropic/claude-haiku-4-5", "hi", stream=True) as s:
        s.get_final_response()
    emu.queue_error("gemini", 400, "bad")
    with pytest.raises(llmkit.BadRequestError):
        c.chat("gemini/gemini-2.5-flash", "x")
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "chat claude-haiku-4-5", "chat gemini-2.5-flash"]
    a = dict(spans[0].attributes)
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.request.max_tokens"] == 7
    assert a["gen_ai.request.temperature"] == 0.5
    assert a["gen_ai.usage.input_tokens"] == resp.usage.input_tokens
    assert a["gen_ai.usage.output_tokens"] == resp.usage.output_tokens
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert dict(spans[1].attributes)["gen_ai.request.stream"] is True
    err = dict(spans[2].attributes)
    assert err["gen_ai.provider.name"] == "gcp.gemini" and err["error.type"] == "BadRequestError"
    assert spans[2].status.status_code.name == "ERROR"


def test_telemetry_off_means_no_tracer(emu) -> None:
    c = llmkit.Client(providers=emu.providers_config(), telemetry=False)
    assert c._orch.tracer is None
    assert c.chat("openai/gpt-4o", "hi").text == "You said: hi"


def test_total_timeout_is_checked_and_passed_to_the_transport(emu, client) -> None:
    with pytest.raises(llmkit.ConfigError, match="total_timeout must be a positive number"):
        client.chat("openai/gpt-4o", "hi", total_timeout=-1)
    assert client.chat("openai/gpt-4o", "hi", total_timeout=30).text == "You said: hi"
    assert len(emu.requests) == 1
