"""Bedrock's ConverseStream through the native client: a SigV4-signed POST to
/model/{id}/converse-stream, AWS event-stream frames decoded (CRC-checked) into typed
ConverseStreamOutput events, split frames, and in-stream exceptions as typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import llmkit
from llmkit.generated.wire import bedrock_converse as wire
from llmkit.testing._bedrock_emu import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    _verify_sigv4,
    event_frame,
    exception_frame,
)

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
PATH = "/bedrock/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
BODY = {"messages": [{"role": "user", "content": [{"text": "hello there"}]}], "inferenceConfig": {"maxTokens": 50}}
ES = "application/vnd.amazon.eventstream"


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _settings(emu: Any) -> dict[str, Any]:
    return {
        "base_url": emu.base_url("bedrock"),
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        "region": "us-west-2",
        "max_retries": 0,
    }


@pytest.fixture
def bc(emu: Any) -> Iterator[llmkit.Client]:
    c = llmkit.Client(providers={"bedrock": _settings(emu)})
    yield c
    c.close()


def _assert_signed_request(emu: Any) -> None:
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", PATH, {})
    assert req.json() == BODY
    assert req.headers["accept"] == ES
    auth = req.headers["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY_ID}/")
    assert "/us-west-2/bedrock/aws4_request" in auth
    _verify_sigv4(req, auth)  # the emulator's own check: raises unless the signature is right


def test_converse_stream_is_signed_and_yields_typed_events(emu: Any, bc: llmkit.Client) -> None:
    events = list(bc.native("bedrock").converse_stream(SONNET, BODY))
    _assert_signed_request(emu)  # served by the emulator's strict handler, which verified SigV4
    assert all(isinstance(e, wire.ConverseStreamOutput) for e in events)
    assert events[0].message_start == wire.MessageStartEvent(role="assistant")
    deltas = [e.content_block_delta for e in events if e.content_block_delta is not None]
    assert "".join(d.delta.text or "" for d in deltas) == "You said: hello there"
    assert all(d.content_block_index == 0 for d in deltas)
    assert deltas[0].additional_properties == {}  # Bedrock's random `p` padding is dropped
    stops = [e.message_stop for e in events if e.message_stop is not None]
    assert [s.stop_reason for s in stops] == ["end_turn"]
    meta = events[-1].metadata
    assert meta is not None and meta.usage.output_tokens > 0 and meta.usage.input_tokens > 0
    # Each event sets exactly the member its `:event-type` header named.
    for e in events:
        members = [e.message_start, e.content_block_start, e.content_block_delta]
        members += [e.content_block_stop, e.message_stop, e.metadata]
        assert sum(m is not None for m in members) == 1


def test_frames_split_across_chunks_decode_in_order(emu: Any, bc: llmkit.Client) -> None:
    frames = b"".join(
        [
            event_frame("messageStart", {"role": "assistant", "p": "abcdef"}),
            event_frame(
                "contentBlockStart",
                {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}},
            ),
            event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"city":'}}}),
            event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '"Paris"}'}}}),
            event_frame("contentBlockStop", {"contentBlockIndex": 0}),
            event_frame("messageStop", {"stopReason": "tool_use"}),
            event_frame(
                "metadata",
                {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {"latencyMs": 5}},
            ),
        ]
    )
    emu.queue_stream("bedrock", [frames[i : i + 5] for i in range(0, len(frames), 5)], content_type=ES)
    events = list(bc.native("bedrock").converse_stream(SONNET, BODY))
    _assert_signed_request(emu)
    start = events[1].content_block_start
    assert start is not None and start.start.tool_use == wire.ToolUseBlockStart(tool_use_id="t1", name="get_weather")
    args = "".join(e.content_block_delta.delta.tool_use.input for e in events[2:4])  # type: ignore[union-attr]
    assert args == '{"city":"Paris"}'
    assert events[4].content_block_stop == wire.ContentBlockStopEvent(content_block_index=0)
    assert events[5].message_stop is not None and events[5].message_stop.stop_reason == "tool_use"
    assert events[6].metadata is not None and events[6].metadata.usage.total_tokens == 13
    assert len(events) == 7


@pytest.mark.parametrize(
    ("kind", "error", "status"),
    [
        ("throttlingException", llmkit.RateLimitError, 429),
        ("validationException", llmkit.BadRequestError, 400),
        ("modelStreamErrorException", llmkit.ServerError, 424),
    ],
)
def test_an_exception_event_raises_typed(
    emu: Any, bc: llmkit.Client, kind: str, error: type[llmkit.APIError], status: int
) -> None:
    emu.queue_stream(
        "bedrock",
        [
            event_frame("messageStart", {"role": "assistant"}),
            exception_frame(kind, "Too many requests, please wait before trying again."),
            event_frame("messageStop", {"stopReason": "end_turn"}),
        ],
        content_type=ES,
    )
    got: list[wire.ConverseStreamOutput] = []
    with pytest.raises(error) as ei:
        for event in bc.native("bedrock").converse_stream(SONNET, BODY):
            got.append(event)
    assert [e.message_start for e in got] == [wire.MessageStartEvent(role="assistant")]  # events before it arrived
    assert ei.value.status == status and ei.value.provider == "bedrock"
    assert f"{kind}: Too many requests" in str(ei.value)


def test_a_corrupt_or_cut_stream_raises(emu: Any, bc: llmkit.Client) -> None:
    good = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})
    emu.queue_stream("bedrock", [good[:-1] + bytes([good[-1] ^ 0xFF])], content_type=ES)
    with pytest.raises(llmkit.StreamError, match="message CRC32 mismatch"):
        list(bc.native("bedrock").converse_stream(SONNET, BODY))
    emu.queue_stream("bedrock", [good, good[:10]], content_type=ES)
    with pytest.raises(llmkit.StreamError, match="ended inside a message"):
        list(bc.native("bedrock").converse_stream(SONNET, BODY))


def test_http_error_before_the_stream_is_typed(emu: Any, bc: llmkit.Client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="model identifier is invalid") as ei:
        list(bc.native("bedrock").converse_stream("anthropic.claude-nonexistent-v1:0", BODY))
    assert ei.value.code == "ValidationException"


def test_async_converse_stream(emu: Any) -> None:
    async def main() -> list[wire.ConverseStreamOutput]:
        async with llmkit.AsyncClient(providers={"bedrock": _settings(emu)}) as ac:
            return [e async for e in ac.native("bedrock").converse_stream(SONNET, BODY)]

    events = asyncio.run(main())
    _assert_signed_request(emu)
    text = "".join(e.content_block_delta.delta.text or "" for e in events if e.content_block_delta is not None)
    assert text == "You said: hello there"
    assert events[-1].metadata is not None
