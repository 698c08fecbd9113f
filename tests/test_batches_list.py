"""client.batches.list against the strict emulator: the exact listing request of OpenAI
(`GET /v1/batches?after=&limit=`) and Anthropic (`GET /v1/messages/batches?after_id=&
before_id=&limit=`), pages newest first as typed statuses, the native operations the specs
now declare, the emulators' own refusals, and bad input refused before any request. Sync and
async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._batches import BatchPage
from llmkit.testing import Emulator

USER = [{"role": "user", "content": "one"}]


def _submit(client: llmkit.Client, model: str, n: int) -> list[str]:
    return [client.batches.submit(model, [USER]).id for _ in range(n)]


def test_openai_list_pages_newest_first(emu: Emulator) -> None:
    client = emu.client()
    ids = _submit(client, "openai/gpt-4o-mini", 3)
    done = client.batches.submit("openai/gpt-4o-mini", [USER])
    done.wait(sleep=lambda s: None)  # the newest one has completed
    ids.append(done.id)
    start = len(emu.requests)
    page = client.batches.list("openai", limit=2)
    req = emu.requests[start]
    assert (req.method, req.path, req.query) == ("GET", "/openai/v1/batches", {"limit": "2"})
    assert req.headers["authorization"] == f"Bearer {emu.api_key}" and req.body == b""
    assert isinstance(page, BatchPage) and page.provider == "openai"
    assert [b.id for b in page] == [ids[3], ids[2]] and len(page) == 2
    assert (page.has_more, page.first_id, page.last_id) == (True, ids[3], ids[2])
    newest, older = page.batches
    assert (newest.state, newest.total, newest.done, newest.succeeded) == ("completed", 1, 1, 1)
    assert (older.state, older.total, older.done) == ("in_progress", 1, 0)
    assert newest.raw["object"] == "batch" and newest.raw["output_file_id"].startswith("file-emu")

    rest = client.batches.list("openai", after=page.last_id)
    assert emu.requests[-1].query == {"after": ids[2]}  # no limit given: none sent (OpenAI's default, 20)
    assert [b.id for b in rest] == [ids[1], ids[0]] and rest.has_more is False


def test_anthropic_list_pages_both_ways(emu: Emulator) -> None:
    client = emu.client()
    ids = _submit(client, "anthropic/claude-haiku-4-5", 3)
    start = len(emu.requests)
    page = client.batches.list("anthropic", limit=1, after=ids[2])
    req = emu.requests[start]
    assert (req.method, req.path) == ("GET", "/anthropic/v1/messages/batches")
    assert req.query == {"after_id": ids[2], "limit": "1"}
    assert req.headers["x-api-key"] == emu.api_key and req.headers["anthropic-version"] == "2023-06-01"
    assert [(b.id, b.state, b.total) for b in page] == [(ids[1], "in_progress", 1)]
    assert (page.has_more, page.first_id, page.last_id) == (True, ids[1], ids[1])
    assert page.raw["data"][0]["type"] == "message_batch"

    back = client.batches.list("anthropic", before=ids[0], limit=5)
    assert emu.requests[-1].query == {"before_id": ids[0], "limit": "5"}
    assert [b.id for b in back] == [ids[2], ids[1]] and back.has_more is False

    everything = client.batches.list("anthropic")
    assert emu.requests[-1].query == {}
    assert [b.id for b in everything] == ids[::-1] and everything.last_id == ids[0]


def test_listing_is_a_free_batches_call(emu: Emulator) -> None:
    client = llmkit.Client(providers=emu.providers_config(), budget_usd=1e-12)
    client._orch.budget.adjust(1e-12)  # the budget is used up: a free call still goes
    events: list[llmkit.HookEvent] = []
    client.on("before_request", events.append)
    client.on("after_response", events.append)
    page = client.batches.list("openai")
    assert len(page) == 0 and page.has_more is False and page.first_id is None
    assert [(e.name, e.kind, e.operation) for e in events] == [
        ("before_request", "batches", "list_batches"),
        ("after_response", "batches", "list_batches"),
    ]
    assert client.usage.total.requests == 0  # a listing is not model usage
    client.close()


def test_native_list_operations_are_typed(emu: Emulator) -> None:
    client = emu.client()
    ids = _submit(client, "anthropic/claude-haiku-4-5", 2)
    out = client.native("anthropic").list_message_batches(limit=1)
    assert emu.requests[-1].query == {"limit": "1"}
    assert type(out).__name__ == "MessageBatchList"
    assert [b.id for b in out.data] == [ids[1]] and out.has_more is True
    _submit(client, "openai/gpt-4o-mini", 1)
    batches = client.native("openai").list_batches(limit=5)
    assert type(batches).__name__ == "BatchList" and len(batches.data) == 1
    assert emu.requests[-1].path == "/openai/v1/batches" and emu.requests[-1].query == {"limit": "5"}


def test_emulators_refuse_what_the_providers_refuse(emu: Emulator) -> None:
    client = emu.client()
    with pytest.raises(llmkit.BadRequestError, match="Expected a value <= 100, but got 101") as info:
        client.native("openai").list_batches(limit=101)
    assert info.value.status == 400 and emu.requests[-1].query == {"limit": "101"}
    with pytest.raises(llmkit.BadRequestError, match="less than or equal to 1000"):
        client.native("anthropic").list_message_batches(limit=1001)
    with pytest.raises(llmkit.BadRequestError, match="unknown message batch id 'msgbatch_nope'"):
        client.native("anthropic").list_message_batches(after_id="msgbatch_nope")
    with pytest.raises(llmkit.BadRequestError, match="Only one of before_id and after_id"):
        client.native("anthropic").list_message_batches(after_id="a", before_id="b")
    bad = llmkit.Client(providers=emu.providers_config(api_key="wrong"))
    emu.require_key = emu.api_key
    try:
        with pytest.raises(llmkit.AuthenticationError):
            bad.batches.list("anthropic")
        with pytest.raises(llmkit.AuthenticationError):
            bad.batches.list("openai")
    finally:
        emu.require_key = None
        bad.close()


@pytest.mark.parametrize(
    ("provider", "kwargs", "error", "match"),
    [
        ("openai", {"limit": 0}, llmkit.ConfigError, "openai lists 1 to 100 batches per page, got limit=0"),
        ("openai", {"limit": 101}, llmkit.ConfigError, "1 to 100"),
        ("anthropic", {"limit": 1001}, llmkit.ConfigError, "anthropic lists 1 to 1000"),
        ("openai", {"limit": "5"}, llmkit.ConfigError, "limit must be an integer, got '5'"),
        ("openai", {"limit": True}, llmkit.ConfigError, "limit must be an integer"),
        ("openai", {"before": "batch_1"}, llmkit.UnsupportedFeatureError, "forward only: use after="),
        ("anthropic", {"after": "a", "before": "b"}, llmkit.ConfigError, "not both"),
        ("anthropic", {"after": ""}, llmkit.ConfigError, "after must be a batch id"),
        ("groq", {}, llmkit.UnsupportedFeatureError, "groq does not support batches"),
        ("openai/gpt-4o-mini", {}, llmkit.ConfigError, "takes a provider id such as 'openai'"),
        ("nosuch", {}, llmkit.ConfigError, "nosuch"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    emu: Emulator, provider: str, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    client = emu.client()
    with pytest.raises(error, match=match):
        client.batches.list(provider, **kwargs)
    assert emu.requests == []


def test_async_list_twin(emu: Emulator) -> None:
    ids = _submit(emu.client(), "anthropic/claude-haiku-4-5", 2)

    async def run() -> tuple[BatchPage, BatchPage]:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as client:
            first = await client.batches.list("anthropic", limit=1)
            second = await client.batches.list("anthropic", limit=1, after=first.last_id)
            with pytest.raises(llmkit.ConfigError, match="1 to 1000"):
                await client.batches.list("anthropic", limit=0)
            return first, second

    first, second = asyncio.run(run())
    assert [b.id for b in first] == [ids[1]] and first.has_more is True
    assert [b.id for b in second] == [ids[0]] and second.has_more is False
    listing = [r for r in emu.requests if r.method == "GET"]
    assert [(r.path, r.query) for r in listing] == [
        ("/anthropic/v1/messages/batches", {"limit": "1"}),
        ("/anthropic/v1/messages/batches", {"after_id": ids[1], "limit": "1"}),
    ]
