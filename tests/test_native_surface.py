"""Every operation of every spec has its native methods (sync and async), named by the rule,
documented, and typed with the wire models the spec names; plus the wire behaviour of the
methods this rule renamed or newly typed (Vertex partner routes, GigaChat's token-count array,
watsonx, YandexGPT and CLOVA streams)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
import typing
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import attrs
import pytest

import llmkit
from llmkit._native import AsyncNativeClient, NativeClient
from llmkit._registry import known_provider_ids, provider_spec
from llmkit._spec import Operation, ProviderSpec
from llmkit.generated.dispatch import PROVIDERS
from llmkit.generated.wire import anthropic_messages as am
from llmkit.generated.wire import gigachat as gw
from llmkit.generated.wire import openai_chat as oc

# An operation may answer without a wire model only when its answer has no fixed shape: audio
# or file bytes, a deployed model's own JSON; its description must say which. An empty answer
# (`empty_response` in the spec, "empty 200" in its description) is typed None.
FREE_FORM = re.compile(r"\bbytes\b|own JSON|free-form")


def _wire(spec: ProviderSpec, ref: str) -> Any:
    other, dot, name = ref.rpartition(".")
    module = (
        importlib.import_module(f"llmkit.generated.wire.{other}")
        if dot
        else importlib.import_module(str(spec.wire_module))
    )
    return getattr(module, name)


def _plain(spec: ProviderSpec, op: Operation) -> bool:
    """Whether the operation has a plain (non-streamed) method: it does not stream, or streaming
    is a `stream` flag of its request body (OpenAI-style), not an endpoint of its own."""
    if op.stream == "none":
        return True
    if op.request is None:
        return False
    return "stream" in attrs.fields_dict(_wire(spec, op.request))


def _expected_methods(spec: ProviderSpec, op: Operation) -> list[tuple[str, bool]]:
    """(method name, streamed) pairs: `name` and `name_stream` for an op with both forms;
    exactly `name` for an op that only streams."""
    plain = _plain(spec, op)
    out = [(op.name, False)] if plain else []
    if op.stream != "none":
        out.append((f"{op.name}_stream" if plain else op.name, True))
    return out


def _classes(module: ModuleType) -> tuple[type[NativeClient], type[AsyncNativeClient]]:
    sync = [v for v in vars(module).values() if isinstance(v, type) and v.__bases__ == (NativeClient,)]
    aio = [v for v in vars(module).values() if isinstance(v, type) and v.__bases__ == (AsyncNativeClient,)]
    assert len(sync) == 1 and len(aio) == 1, module.__name__
    return sync[0], aio[0]


CASES = [(pid, name) for pid in known_provider_ids() for name in sorted(provider_spec(pid).operations)]


def test_the_walk_covers_every_provider() -> None:
    assert {pid for pid, _ in CASES} == set(PROVIDERS) and len(PROVIDERS) >= 56
    assert len(CASES) > 150


@pytest.mark.parametrize(("pid", "op_name"), CASES, ids=[f"{p}.{o}" for p, o in CASES])
def test_every_operation_has_typed_documented_methods(pid: str, op_name: str) -> None:
    spec = provider_spec(pid)
    op = spec.operations[op_name]
    module = importlib.import_module(PROVIDERS[pid])
    sync_cls, async_cls = _classes(module)
    expected = _expected_methods(spec, op)
    assert expected, f"{pid}.{op_name} would have no method"
    for cls, is_async in ((sync_cls, False), (async_cls, True)):
        for name, streamed in expected:
            fn = getattr(cls, name, None)
            assert fn is not None, f"{cls.__name__} has no {name}() for operation {op_name}"
            assert fn.__doc__ and op.description.split(" ", 3)[0] in fn.__doc__, f"{pid}.{name} is undocumented"
            hints = typing.get_type_hints(fn)
            if streamed:
                assert op.stream_event is not None
                want: Any = (AsyncIterator if is_async else Iterator)[_wire(spec, op.stream_event)]
                assert not inspect.iscoroutinefunction(fn)  # an (async) iterator, not a coroutine
            else:
                assert inspect.iscoroutinefunction(fn) is is_async
                if op.response is not None:
                    want = _wire(spec, op.response)
                elif "empty 200" in op.description:
                    want = type(None)
                else:
                    want = Any
                    assert FREE_FORM.search(op.description), (
                        f"{pid}.{op_name} returns Any: type its answer or say in its description why it is free-form"
                    )
            assert hints["return"] == want, f"{pid}.{name} returns {hints['return']}, not {want}"
        # No doubled names: `x_stream_stream` would mean a stream-only op got a `_stream` suffix.
        assert not hasattr(cls, f"{op_name}_stream_stream")
        if not _plain(spec, op):
            assert not hasattr(cls, f"{op_name}_stream"), f"stream-only {pid}.{op_name} got a `_stream` suffix"


def test_the_rule_on_known_cases() -> None:
    names = {
        ("gemini", "stream_generate_content"): [("stream_generate_content", True)],
        ("watsonx", "text_chat_stream"): [("text_chat_stream", True)],
        ("yandex", "streamed_completion"): [("streamed_completion", True)],
        ("clova", "streamed_chat_completions"): [("streamed_chat_completions", True)],
        ("bedrock", "converse_stream"): [("converse_stream", True)],
        ("ollama", "pull"): [("pull", False), ("pull_stream", True)],
        ("openai", "create_chat_completion"): [
            ("create_chat_completion", False),
            ("create_chat_completion_stream", True),
        ],
        ("vertex", "openapi_chat_completions"): [
            ("openapi_chat_completions", False),
            ("openapi_chat_completions_stream", True),
        ],
        ("vertex", "stream_raw_predict"): [("stream_raw_predict", True)],
    }
    for (pid, op), want in names.items():
        spec = provider_spec(pid)
        assert _expected_methods(spec, spec.operations[op]) == want


# -- the newly typed and renamed methods, on the wire ----------------------------------------------

ROOT = "/vertex/v1/projects/proj-1/locations/us-east5"
TOKEN = "ya29.tok-given"


@pytest.fixture
def vx(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    emu.require_key = TOKEN
    settings = {"base_url": emu.base_url("vertex"), "project": "proj-1", "access_token": TOKEN, "max_retries": 0}
    with llmkit.Client(providers={"vertex": settings}) as c:
        yield c.native("vertex")


def test_vertex_claude_raw_predict_is_a_typed_message(emu: Any, vx: Any) -> None:
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
    msg = vx.raw_predict("proj-1", "us-east5", "claude-sonnet-4-5@20250929", body)
    req = emu.last_request
    # A native path parameter is one percent-encoded segment (`@` is %40; Vertex decodes it).
    assert (req.method, req.path) == (
        "POST",
        f"{ROOT}/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict",
    )
    assert req.json() == body and req.headers["authorization"] == f"Bearer {TOKEN}"
    assert isinstance(msg, am.Message) and msg.stop_reason == "end_turn"
    assert [b.text for b in msg.content] == ["You said: Hi"] and msg.usage.output_tokens > 0


def test_vertex_claude_stream_raw_predict_yields_typed_events(emu: Any, vx: Any) -> None:
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
    events = list(vx.stream_raw_predict("proj-1", "us-east5", "claude-haiku-4-5@20251001", body))
    req = emu.last_request
    assert req.path == f"{ROOT}/publishers/anthropic/models/claude-haiku-4-5%4020251001:streamRawPredict"
    assert req.json() == {**body, "stream": True}  # the method sets the flag the endpoint needs
    assert isinstance(events[0], am.MessageStartEvent) and isinstance(events[-1], am.MessageStopEvent)
    text = "".join(e.delta.text or "" for e in events if isinstance(e, am.ContentBlockDeltaEvent))
    assert text == "You said: Hi"


def test_vertex_mistral_raw_predict_both_forms(emu: Any, vx: Any) -> None:
    body = {"model": "mistral-small-2503", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 20}
    resp = vx.mistral_raw_predict("proj-1", "us-central1", "mistral-small-2503@001", body)
    assert emu.last_request.path == (
        "/vertex/v1/projects/proj-1/locations/us-central1/publishers/mistralai/models/mistral-small-2503%40001:rawPredict"
    )
    assert isinstance(resp, oc.CreateChatCompletionResponse) and resp.choices[0].message.content == "You said: Hi"
    chunks = list(vx.mistral_stream_raw_predict("proj-1", "us-central1", "mistral-small-2503@001", body))
    assert emu.last_request.path.endswith("/mistral-small-2503%40001:streamRawPredict")
    assert emu.last_request.json() == {**body, "stream": True}
    assert all(isinstance(c, oc.ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "You said: Hi"


def test_vertex_openapi_chat_completions_both_forms(emu: Any, vx: Any) -> None:
    path = "/vertex/v1/projects/proj-1/locations/us-central1/endpoints/openapi/chat/completions"
    body = {"model": "meta/llama-3.3-70b-instruct-maas", "messages": [{"role": "user", "content": "Hi"}]}
    resp = vx.openapi_chat_completions("proj-1", "us-central1", body)
    assert (emu.last_request.path, emu.last_request.json()) == (path, body)
    assert isinstance(resp, oc.CreateChatCompletionResponse) and resp.choices[0].message.content == "You said: Hi"
    chunks = list(vx.openapi_chat_completions_stream("proj-1", "us-central1", body))
    assert (emu.last_request.path, emu.last_request.json()) == (path, {**body, "stream": True})
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "You said: Hi"


def test_ollama_copy_and_delete_answer_none(emu: Any) -> None:
    with emu.client() as c:
        ollama = c.native("ollama")
        assert typing.get_type_hints(ollama.copy)["return"] is type(None)
        assert ollama.copy(source="llama3.2", destination="mine") is None
        assert (emu.last_request.method, emu.last_request.json()) == (
            "POST",
            {"source": "llama3.2", "destination": "mine"},
        )
        assert ollama.delete(model="mine") is None
        assert (emu.last_request.method, emu.last_request.path) == ("DELETE", "/ollama/api/delete")
        with pytest.raises(llmkit.NotFoundError, match="model 'mine' not found"):
            ollama.delete(model="mine")


def test_gigachat_count_tokens_is_a_typed_list(emu: Any) -> None:
    with emu.client() as c:
        counts = c.native("gigachat").count_tokens({"model": "GigaChat-2", "input": ["Привет", "Как дела?"]})
    req = emu.last_request
    assert (req.method, req.subpath, req.json()) == (
        "POST",
        "/tokens/count",
        {"model": "GigaChat-2", "input": ["Привет", "Как дела?"]},
    )
    assert isinstance(counts, list) and all(isinstance(x, gw.GigaTokensCount) for x in counts)
    assert [x.characters for x in counts] == [6, 9] and all(x.tokens > 0 for x in counts)


def test_renamed_stream_only_methods_on_the_wire(emu: Any) -> None:
    wx_base = emu.base_url("watsonx")
    providers = {
        "watsonx": {
            "api_key": emu.api_key,
            "base_url": wx_base,
            "auth_url": wx_base + "/identity/token",
            "max_retries": 0,
        },
        "clova": {"api_key": "nv-k", "base_url": emu.base_url("clova"), "max_retries": 0},
        "yandex": {
            "api_key": "y-key",
            "folder_id": "b1gemufolder",
            "base_url": emu.base_url("yandex"),
            "max_retries": 0,
        },
    }
    with llmkit.Client(providers=providers) as c:
        wx = list(
            c.native("watsonx").text_chat_stream(
                {
                    "model_id": "ibm/granite-3-8b-instruct",
                    "project_id": "p1",
                    "messages": [{"role": "user", "content": "Hi"}],
                }
            )
        )
        req = emu.last_request
        assert (req.path, req.query, req.headers["accept"]) == (
            "/watsonx/ml/v1/text/chat_stream",
            {"version": "2024-05-31"},
            "text/event-stream",
        )
        assert "".join(ch["delta"].get("content") or "" for e in wx for ch in e.choices or []) == "You said: Hi"
        assert wx[-1].usage is not None and wx[-1].usage["completion_tokens"] == 3

        cl = list(
            c.native("clova").streamed_chat_completions("HCX-005", {"messages": [{"role": "user", "content": "Hi"}]})
        )
        assert (emu.last_request.path, emu.last_request.headers["authorization"]) == (
            "/clova/v3/chat-completions/HCX-005",
            "Bearer nv-k",
        )
        # `token` deltas, then the `result` event with the whole answer; the `signal` [DONE] ends it.
        assert [e.message.content for e in cl] == ["You ", "said: ", "Hi", "You said: Hi"]
        assert cl[-1].finish_reason == "stop" and cl[-1].usage is not None

        body = {
            "modelUri": "gpt://b1gemufolder/yandexgpt/latest",
            "completionOptions": {"stream": True},
            "messages": [{"role": "user", "text": "Hi"}],
        }
        ya = list(c.native("yandex").streamed_completion(body))
        req = emu.last_request
        assert (req.path, req.headers["authorization"], req.json()) == (
            "/yandex/foundationModels/v1/completion",
            "Api-Key y-key",
            body,
        )
        assert ya[-1].result.alternatives[0].status == "ALTERNATIVE_STATUS_FINAL"
        assert ya[-1].result.alternatives[0].message.text == "You said: Hi"  # cumulative text


def test_async_twins_of_the_typed_methods(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    emu.require_key = TOKEN
    settings = {"base_url": emu.base_url("vertex"), "project": "proj-1", "access_token": TOKEN, "max_retries": 0}
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}

    async def main() -> tuple[am.Message, list[Any]]:
        async with llmkit.AsyncClient(providers={"vertex": settings}) as ac:
            vx = ac.native("vertex")
            msg = await vx.raw_predict("proj-1", "us-east5", "claude-sonnet-4-5@20250929", body)
            events = [e async for e in vx.stream_raw_predict("proj-1", "us-east5", "claude-sonnet-4-5@20250929", body)]
            return msg, events

    msg, events = asyncio.run(main())
    assert isinstance(msg, am.Message) and [b.text for b in msg.content] == ["You said: Hi"]
    assert json.loads(emu.last_request.body)["stream"] is True
    assert isinstance(events[-1], am.MessageStopEvent)
